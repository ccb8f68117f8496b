/**
 * Settings of the demo catalog generator: the typed options with their defaults, the presets, and
 * validation (any bad value raises PP_DEMO_INVALID naming the option, the allowed range and the value).
 */
import { ppError } from '../../errors.js';
import { MAX_REVIEWS_PER_USER, MIN_REVIEWS_PER_USER } from './users.js';

export type DemoFormat = 'amazon2018' | 'amazon2014';
export type DemoPreset = 'default' | 'reference';

export interface DemoOptions {
  /** Output folder (created when missing). Required. */
  out: string;
  /** Seed of every random choice; the same seed gives the same bytes. Non-negative safe integer. Default 42. */
  seed?: number;
  /**
   * Size preset: `default` (1,500 users, 2,000 items, ~30K reviews) or `reference`, the size of the
   * reference system's data (192,403 users, 63,001 reviewed items, 498,196 catalog items, 1,689,188
   * reviews). Explicit size options override the preset's.
   */
  preset?: DemoPreset;
  /** Number of users (reviewers). Default 1,500. */
  users?: number;
  /** Number of items that receive reviews (every one gets at least one). Default 2,000. */
  items?: number;
  /** Catalog size, ≥ items; the extra items are never reviewed (cold start, scale). Default = items. */
  catalogItems?: number;
  /** Mean reviews per user (≥ 5, every user has at least 5). Default 20. Ignored when `reviews` is set. */
  meanReviewsPerUser?: number;
  /** Exact total number of reviews; overrides `meanReviewsPerUser`. Default round(users × mean). */
  reviews?: number;
  /** Render a PNG per product into `<out>/images/`. Default true; false leaves image URLs empty. */
  images?: boolean;
  /** Output format: McAuley/Ni `amazon2018` (JSON lines) or `amazon2014` (Python-literal meta). Default amazon2018. */
  format?: DemoFormat;
  /** Report progress on stderr (default true; the CLI's global progress mode still applies). */
  progress?: boolean;
}

export interface ResolvedDemoOptions {
  out: string;
  seed: number;
  preset: DemoPreset;
  users: number;
  items: number;
  catalogItems: number;
  reviews: number;
  images: boolean;
  format: DemoFormat;
  progress: boolean;
}

export const DEMO_DEFAULTS = {
  seed: 42,
  preset: 'default' as DemoPreset,
  users: 1500,
  items: 2000,
  meanReviewsPerUser: 20,
  images: true,
  format: 'amazon2018' as DemoFormat,
} as const;

interface PresetSize {
  users: number;
  items: number;
  catalogItems?: number;
  reviews?: number;
}

export const DEMO_PRESETS: Readonly<Record<DemoPreset, PresetSize>> = {
  default: { users: DEMO_DEFAULTS.users, items: DEMO_DEFAULTS.items },
  reference: { users: 192_403, items: 63_001, catalogItems: 498_196, reviews: 1_689_188 },
};

export const DEMO_LIMITS = {
  users: 5_000_000,
  items: 5_000_000,
  catalogItems: 10_000_000,
  reviews: 100_000_000,
} as const;

const KNOWN_KEYS = new Set([
  'out', 'seed', 'preset', 'users', 'items', 'catalogItems', 'meanReviewsPerUser', 'reviews', 'images', 'format', 'progress',
]);

function invalid(detail: string): never {
  throw ppError('PP_DEMO_INVALID', detail);
}

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function int(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    invalid(`${name} must be an integer from ${min} to ${max} (got ${show(v)})`);
  }
  return v;
}

/** Applies the preset and defaults and validates everything. */
export function resolveDemoOptions(options: DemoOptions): ResolvedDemoOptions {
  if (options === null || typeof options !== 'object') invalid('options must be an object');
  for (const k of Object.keys(options)) {
    if (!KNOWN_KEYS.has(k)) invalid(`unknown option "${k}" (known: ${[...KNOWN_KEYS].join(', ')})`);
  }
  const o = options as unknown as Record<string, unknown>;
  if (typeof o.out !== 'string' || o.out.trim() === '') invalid(`out must be a non-empty folder path (got ${show(o.out)})`);
  const preset = o.preset ?? DEMO_DEFAULTS.preset;
  if (preset !== 'default' && preset !== 'reference') invalid(`preset must be "default" or "reference" (got ${show(preset)})`);
  const format = o.format ?? DEMO_DEFAULTS.format;
  if (format !== 'amazon2018' && format !== 'amazon2014') invalid(`format must be "amazon2018" or "amazon2014" (got ${show(format)})`);
  const images = o.images ?? DEMO_DEFAULTS.images;
  if (typeof images !== 'boolean') invalid(`images must be true or false (got ${show(images)})`);
  const progress = o.progress ?? true;
  if (typeof progress !== 'boolean') invalid(`progress must be true or false (got ${show(progress)})`);
  const seed = int('seed', o.seed ?? DEMO_DEFAULTS.seed, 0, Number.MAX_SAFE_INTEGER);

  const p = DEMO_PRESETS[preset as DemoPreset];
  const users = int('users', o.users ?? p.users, 1, DEMO_LIMITS.users);
  const items = int('items', o.items ?? p.items, MIN_REVIEWS_PER_USER, DEMO_LIMITS.items);
  const catalogItems = int('catalogItems', o.catalogItems ?? Math.max(p.catalogItems ?? items, items), items, DEMO_LIMITS.catalogItems);

  const perUserMax = Math.min(items, MAX_REVIEWS_PER_USER);
  const minTotal = Math.max(users * MIN_REVIEWS_PER_USER, items);
  const maxTotal = Math.min(users * perUserMax, DEMO_LIMITS.reviews);
  let reviews: number;
  if (o.reviews !== undefined) {
    reviews = int('reviews', o.reviews, 1, DEMO_LIMITS.reviews);
  } else if (o.meanReviewsPerUser !== undefined) {
    const m = o.meanReviewsPerUser;
    if (typeof m !== 'number' || !Number.isFinite(m) || m < MIN_REVIEWS_PER_USER || m > MAX_REVIEWS_PER_USER) {
      invalid(`meanReviewsPerUser must be a number from ${MIN_REVIEWS_PER_USER} to ${MAX_REVIEWS_PER_USER} (got ${show(m)})`);
    }
    reviews = Math.round(users * m);
  } else if (p.reviews !== undefined) {
    // The preset's total, or its mean per user when the user count was changed.
    reviews = o.users === undefined ? p.reviews : Math.round((users * p.reviews) / p.users);
  } else {
    reviews = Math.round(users * DEMO_DEFAULTS.meanReviewsPerUser);
  }
  if (minTotal > maxTotal) {
    invalid(
      `${users} users need at least ${minTotal} reviews but at most ${maxTotal} are possible ` +
        `(each user reviews ${MIN_REVIEWS_PER_USER} to ${perUserMax} distinct items): use more items or fewer users`,
    );
  }
  if (reviews < minTotal || reviews > maxTotal) {
    invalid(
      `reviews must be from ${minTotal} to ${maxTotal} for ${users} users and ${items} items ` +
        `(every user ≥ ${MIN_REVIEWS_PER_USER}, every item ≥ 1, each user ≤ ${perUserMax}) (got ${reviews})`,
    );
  }
  return {
    out: o.out as string,
    seed,
    preset: preset as DemoPreset,
    users,
    items,
    catalogItems,
    reviews,
    images: images as boolean,
    format: format as DemoFormat,
    progress: progress as boolean,
  };
}
