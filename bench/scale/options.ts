/**
 * bench:scale options: the size of the generated catalog (the reference preset scaled by `--scale`, or explicit
 * counts) and the folder where the generated source is kept, keyed by everything that shapes its bytes.
 *
 *   users = round(192,403 s), items = round(63,001 s), catalog = round(498,196 s), reviews = round(1,689,188 s)
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { DEMO_PRESETS } from '../../src/data/demo/options.js';

export interface ScaleSize {
  users: number;
  items: number;
  catalogItems: number;
  reviews: number;
  images: boolean;
  seed: number;
}

/** The reference preset times `scale` (at least 10 users/items, 5 reviews per user), explicit counts winning. */
export function scaleSize(scale: number, over: Partial<ScaleSize> = {}): ScaleSize {
  if (!(scale > 0 && scale <= 1)) throw new Error(`--scale must be in (0, 1], got ${scale}`);
  const ref = DEMO_PRESETS.reference;
  const users = over.users ?? Math.max(10, Math.round(ref.users * scale));
  const items = over.items ?? Math.max(10, Math.round(ref.items * scale));
  const catalogItems = over.catalogItems ?? Math.max(items, Math.round(ref.catalogItems! * scale));
  const reviews = over.reviews ?? Math.max(users * 5, items, Math.round(ref.reviews! * scale));
  return { users, items, catalogItems, reviews, images: over.images ?? true, seed: over.seed ?? 42 };
}

/** `<work>/sources/<key>`: the generated catalog of this size (reused while the key matches). */
export function sourceDir(work: string, size: ScaleSize): string {
  const key = createHash('sha256').update(JSON.stringify(size)).digest('hex').slice(0, 12);
  return join(work, 'sources', `${size.catalogItems}-${size.reviews}-${key}`);
}
