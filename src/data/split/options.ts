import { ppError } from '../../errors.js';

/**
 * The options of `plotpointe data split`, their defaults and their validation. `resolveSplitOptions` turns
 * what a user gave (CLI flags, a config file, a test) into a fully resolved, strategy-specific record or
 * throws PP_SPLIT_INVALID with a message naming the offending option. The resolved record is what the
 * split's manifest stores under `options`, so passing it back to `createSplit` reproduces the split.
 */

export const SPLIT_STRATEGIES = ['ratio', 'loo', 'temporal', 'given', 'cold-item'] as const;

/**
 * - `ratio`: per user, a random (seeded) share of their interactions goes to train/valid/test (`ratios`).
 *   A user keeps at least one interaction in train.
 * - `loo`: per user, chronological leave-last-k: the last `leaveOut` interactions by (ts, ord) go to test,
 *   the `leaveOut` before them to valid. Users with fewer than 2k+1 interactions keep everything in train.
 * - `temporal`: a global time cut: ts < validFrom → train, validFrom ≤ ts < testFrom → valid,
 *   ts ≥ testFrom → test. The cut-offs are explicit (`validFrom`/`testFrom`) or quantiles of ts (`ratios`).
 * - `given`: the source's own split column. When the source has no valid rows, `validShare` of each user's
 *   train rows (seeded) become valid; test rows are never touched.
 * - `cold-item`: `coldItemShare` of the items are held out of training: half of them (rounded down) give
 *   all their interactions to valid, the rest to test. Warm items' interactions are split per user by `ratios`.
 */
export type SplitStrategy = (typeof SPLIT_STRATEGIES)[number];

/** Shares of train, valid and test; each ≥ 0, train > 0, summing to 1. */
export type SplitRatios = readonly [train: number, valid: number, test: number];

/** The options a caller gives. Options that do not apply to the chosen strategy must be left undefined. */
export interface SplitOptions {
  strategy: SplitStrategy;
  /**
   * ratio, cold-item (the warm items' interactions) and temporal without explicit cut-offs (shares of the
   * interactions by time: [0.8, 0.1, 0.1] puts the last 10% of interactions in time in test, the 10%
   * before in valid). Default [0.8, 0.1, 0.1].
   */
  ratios?: SplitRatios;
  /** loo: how many of each user's last interactions go to test (and as many before them to valid). Default 1. */
  leaveOut?: number;
  /** temporal: first timestamp of valid, unix seconds or an ISO-8601 date. Give both cut-offs or neither. */
  validFrom?: number | string;
  /** temporal: first timestamp of test, unix seconds or an ISO-8601 date; must be ≥ validFrom. */
  testFrom?: number | string;
  /**
   * given: when the source has no valid rows, the share of each user's train rows moved to valid
   * (a user keeps at least one train row). 0 leaves valid empty. Ignored (and reported) when the source has
   * valid rows. Default 0.1.
   */
  validShare?: number;
  /** cold-item: share of the (filtered) items held out of training, in (0, 1). Default 0.2. */
  coldItemShare?: number;
  /** Iterative k-core: sets both `userK` and `itemK` (each may be overridden). 0 or 1 = off. Default 0. */
  kcore?: number;
  /** k-core: minimum interactions per user, repeated with `itemK` until stable. Default `kcore`. */
  userK?: number;
  /** k-core: minimum interactions per item. Default `kcore`. */
  itemK?: number;
  /**
   * Keep only interactions with rating ≥ minRating (explicit → implicit positives), applied before the
   * k-core. Interactions without a rating (implicit feedback) are positives already and are kept.
   * Default: no threshold.
   */
  minRating?: number | null;
  /** Seed of every random choice (hash-based, so independent of DuckDB's threads). Default 42. */
  seed?: number;
}

export const DEFAULT_RATIOS: SplitRatios = [0.8, 0.1, 0.1];
export const DEFAULT_SEED = 42;
export const DEFAULT_LEAVE_OUT = 1;
export const DEFAULT_VALID_SHARE = 0.1;
export const DEFAULT_COLD_ITEM_SHARE = 0.2;

interface CommonResolved {
  seed: number;
  /** null = no rating threshold. */
  minRating: number | null;
  /** 0 = no user filter. */
  userK: number;
  /** 0 = no item filter. */
  itemK: number;
}

export type StrategyConfig =
  | { strategy: 'ratio'; ratios: SplitRatios }
  | { strategy: 'loo'; leaveOut: number }
  | { strategy: 'temporal'; cutoffs: 'timestamps'; validFrom: number; testFrom: number }
  | { strategy: 'temporal'; cutoffs: 'quantiles'; ratios: SplitRatios }
  | { strategy: 'given'; validShare: number }
  | { strategy: 'cold-item'; coldItemShare: number; ratios: SplitRatios };

/** Fully resolved options: defaults applied, only what the strategy uses. */
export type ResolvedSplitOptions = CommonResolved & StrategyConfig;

const COMMON_KEYS = ['strategy', 'kcore', 'userK', 'itemK', 'minRating', 'seed'] as const;
const STRATEGY_KEYS: Record<SplitStrategy, readonly string[]> = {
  ratio: ['ratios'],
  loo: ['leaveOut'],
  temporal: ['ratios', 'validFrom', 'testFrom'],
  given: ['validShare'],
  'cold-item': ['coldItemShare', 'ratios'],
};
const ALL_KEYS = new Set<string>([...COMMON_KEYS, ...Object.values(STRATEGY_KEYS).flat()]);

function invalid(detail: string): never {
  throw ppError('PP_SPLIT_INVALID', detail);
}

/**
 * Validates and resolves split options. Throws PP_SPLIT_INVALID for an unknown strategy or option, an
 * option the strategy does not use, ratios with a zero train share, negative or fractional k, etc.
 * Keys with the value `undefined` count as absent; keys in `ignoreKeys` (the engine's own settings such as
 * `stagingDir`) are skipped.
 */
export function resolveSplitOptions(input: SplitOptions, ignoreKeys: readonly string[] = []): ResolvedSplitOptions {
  if (input === null || typeof input !== 'object') invalid('options must be an object');
  const given = Object.entries(input as unknown as Record<string, unknown>).filter(
    ([k, v]) => v !== undefined && !ignoreKeys.includes(k),
  );
  const strategy = input.strategy;
  if (!SPLIT_STRATEGIES.includes(strategy)) {
    invalid(`unknown strategy ${JSON.stringify(strategy)} (expected one of ${SPLIT_STRATEGIES.join(', ')})`);
  }
  for (const [k] of given) {
    if (!ALL_KEYS.has(k)) invalid(`unknown option "${k}"`);
    if (!(COMMON_KEYS as readonly string[]).includes(k) && !STRATEGY_KEYS[strategy].includes(k)) {
      invalid(`option "${k}" does not apply to strategy "${strategy}"`);
    }
  }

  const seed = input.seed ?? DEFAULT_SEED;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) invalid(`seed must be an integer, got ${String(seed)}`);
  const kcore = nonNegativeInt('kcore', input.kcore ?? 0);
  const userK = nonNegativeInt('userK', input.userK ?? kcore);
  const itemK = nonNegativeInt('itemK', input.itemK ?? kcore);
  const minRating = input.minRating ?? null;
  if (minRating !== null && (typeof minRating !== 'number' || !Number.isFinite(minRating))) {
    invalid(`minRating must be a finite number, got ${String(minRating)}`);
  }
  const common: CommonResolved = { seed, minRating, userK, itemK };

  switch (strategy) {
    case 'ratio':
      return { ...common, strategy, ratios: checkRatios(input.ratios ?? DEFAULT_RATIOS) };
    case 'loo': {
      const leaveOut = nonNegativeInt('leaveOut', input.leaveOut ?? DEFAULT_LEAVE_OUT);
      if (leaveOut < 1) invalid('leaveOut must be at least 1');
      return { ...common, strategy, leaveOut };
    }
    case 'temporal': {
      const hasV = input.validFrom !== undefined;
      const hasT = input.testFrom !== undefined;
      if (hasV || hasT) {
        if (!hasV || !hasT) invalid('temporal cut-offs need both validFrom and testFrom (or neither, to cut by ratios)');
        if (input.ratios !== undefined) invalid('give either ratios or validFrom/testFrom for a temporal split, not both');
        const validFrom = parseTimestamp('validFrom', input.validFrom!);
        const testFrom = parseTimestamp('testFrom', input.testFrom!);
        if (validFrom > testFrom) invalid(`validFrom (${validFrom}) is after testFrom (${testFrom})`);
        return { ...common, strategy, cutoffs: 'timestamps', validFrom, testFrom };
      }
      return { ...common, strategy, cutoffs: 'quantiles', ratios: checkRatios(input.ratios ?? DEFAULT_RATIOS) };
    }
    case 'given': {
      const validShare = input.validShare ?? DEFAULT_VALID_SHARE;
      if (typeof validShare !== 'number' || !(validShare >= 0 && validShare < 1)) {
        invalid(`validShare must be in [0, 1), got ${String(validShare)}`);
      }
      return { ...common, strategy, validShare };
    }
    case 'cold-item': {
      const coldItemShare = input.coldItemShare ?? DEFAULT_COLD_ITEM_SHARE;
      if (typeof coldItemShare !== 'number' || !(coldItemShare > 0 && coldItemShare < 1)) {
        invalid(`coldItemShare must be in (0, 1), got ${String(coldItemShare)}`);
      }
      return { ...common, strategy, coldItemShare, ratios: checkRatios(input.ratios ?? DEFAULT_RATIOS) };
    }
  }
}

function nonNegativeInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) invalid(`${name} must be a non-negative integer, got ${String(v)}`);
  return v;
}

function checkRatios(r: unknown): SplitRatios {
  if (!Array.isArray(r) || r.length !== 3) invalid(`ratios must be three numbers [train, valid, test], got ${JSON.stringify(r)}`);
  for (const x of r) {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) invalid(`ratios must be non-negative numbers, got ${JSON.stringify(r)}`);
  }
  const [train, valid, test] = r as number[];
  const sum = train + valid + test;
  if (train <= 0) invalid('the train ratio must be greater than 0');
  // shares: 8:1:1 and 0.8:0.1:0.1 are the same split (normalised to sum to 1)
  return [train / sum, valid / sum, test / sum];
}

/** Unix seconds from a number (seconds) or a string: digits (seconds) or an ISO-8601 date. */
function parseTimestamp(name: string, v: number | string): number {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) invalid(`${name} must be whole unix seconds, got ${v}`);
    return v;
  }
  if (typeof v === 'string') {
    const s = v.trim();
    if (/^-?\d+$/.test(s)) return parseTimestamp(name, Number(s));
    const ms = Date.parse(s);
    if (Number.isNaN(ms)) invalid(`${name} is neither unix seconds nor an ISO-8601 date: ${JSON.stringify(v)}`);
    return Math.floor(ms / 1000);
  }
  invalid(`${name} must be unix seconds or an ISO-8601 date, got ${String(v)}`);
}

/**
 * The resolved options back in the form `createSplit` takes (defaults made explicit), as stored in a split's
 * manifest: `resolveSplitOptions(toSplitOptions(r))` gives `r` again.
 */
export function toSplitOptions(r: ResolvedSplitOptions): SplitOptions {
  const common = { seed: r.seed, minRating: r.minRating, userK: r.userK, itemK: r.itemK };
  switch (r.strategy) {
    case 'ratio':
      return { strategy: r.strategy, ratios: r.ratios, ...common };
    case 'loo':
      return { strategy: r.strategy, leaveOut: r.leaveOut, ...common };
    case 'temporal':
      return r.cutoffs === 'timestamps'
        ? { strategy: r.strategy, validFrom: r.validFrom, testFrom: r.testFrom, ...common }
        : { strategy: r.strategy, ratios: r.ratios, ...common };
    case 'given':
      return { strategy: r.strategy, validShare: r.validShare, ...common };
    case 'cold-item':
      return { strategy: r.strategy, coldItemShare: r.coldItemShare, ratios: r.ratios, ...common };
  }
}
