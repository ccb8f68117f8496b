/**
 * What a key's live feedback does to one request: the consumed items to exclude and the serving user vector.
 *
 *   w_e = weight[type_e] · 2^(−age_e / half-life)          age_e = now − ts_e (≥ 0); a rating below min_rating → 0
 *   f   = foldInUser(E, {i_e}, {w_e})                       unit weighted mean of the recent events' item vectors
 *   u'  = (1−α)·u + α·‖u‖·f  = ‖u‖·((1−α)·û + α·f)           learned vector u (null for a user the model never saw
 *                                                            or an anonymous session: u' = f)
 * Items the served model does not know are skipped (a reload to a run without them). Shapes: u, f, u' [dim];
 * E the bundle's item embeddings [numItems × dim].
 */
import { foldInUser } from '../../models/fold-in.js';
import type { EventType } from '../../analytics/log-schema.js';
import type { ServedModel } from '../served-model.js';
import type { FeedbackSettings } from './settings.js';
import type { FeedbackEntry } from './store.js';

export interface RecentEvent {
  iid: number;
  type: EventType;
  /** epoch ms */
  ts: number;
  /** w_e > 0 */
  weight: number;
}

export interface LiveProfile {
  /** Consumed items the model knows, sorted split ids. */
  consumed: Int32Array;
  /** f, or null when no recent event has weight > 0. */
  foldIn: Float32Array | null;
  /** The events f was made of. */
  recent: RecentEvent[];
}

const HOUR_MS = 3_600_000;

/** The fold-in weight of one event at time `now` (see the module comment). */
export function eventWeight(s: FeedbackSettings, type: EventType, value: number | null, ts: number, now: number): number {
  const w = s.weights[type] ?? 0;
  if (w <= 0) return 0;
  if (type === 'rating' && value !== null && value < s.minRating) return 0;
  return w * 2 ** (-Math.max(0, now - ts) / (s.halfLifeHours * HOUR_MS));
}

export function liveProfile(model: ServedModel, entry: FeedbackEntry, s: FeedbackSettings, now: number): LiveProfile {
  const consumed: number[] = [];
  for (const id of entry.consumed) {
    const iid = model.itemIndex.get(id);
    if (iid !== undefined) consumed.push(iid);
  }
  const recent: RecentEvent[] = [];
  for (let e = 0; e < entry.items.length; e++) {
    const iid = model.itemIndex.get(entry.items[e]);
    if (iid === undefined) continue;
    const weight = eventWeight(s, entry.types[e], entry.values[e], entry.ts[e], now);
    if (weight > 0) recent.push({ iid, type: entry.types[e], ts: entry.ts[e], weight });
  }
  const foldIn =
    recent.length > 0
      ? foldInUser(
          model.bundle.items,
          model.dim,
          recent.map((r) => r.iid),
          { weights: recent.map((r) => r.weight) },
        )
      : null;
  return { consumed: Int32Array.from(consumed).sort(), foldIn: foldIn && foldIn.some((x) => x !== 0) ? foldIn : null, recent };
}

/** u' = (1−α)·u + α·‖u‖·f; f alone without u (or with ‖u‖ = 0); u alone without f. */
export function blendVector(learned: Float32Array | null, foldIn: Float32Array | null, alpha: number): Float32Array | null {
  if (!foldIn) return learned;
  let n = 0;
  if (learned) for (let j = 0; j < learned.length; j++) n += learned[j] * learned[j];
  n = Math.sqrt(n);
  if (!learned || n === 0) return foldIn;
  const out = new Float32Array(learned.length);
  for (let j = 0; j < out.length; j++) out[j] = (1 - alpha) * learned[j] + alpha * n * foldIn[j];
  return out;
}

/** The sorted union of two sorted id lists (either may be empty). */
export function mergeSorted(a: Int32Array, b: Int32Array): Int32Array {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out = new Int32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length || j < b.length) {
    const x = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i++] : b[j++];
    if (n === 0 || out[n - 1] !== x) out[n++] = x;
  }
  return out.subarray(0, n);
}
