/** `plotpointe data split`'s engine: see create-split.ts for what a split folder holds and guarantees. */
export { createSplit, type CreateSplitOptions } from './create-split.js';
export { runSplit, splitOptionsFromConfig } from './run-split.js';
export type { SplitManifest, SplitSummary, PartCounts } from './manifest.js';
export {
  resolveSplitOptions,
  toSplitOptions,
  SPLIT_STRATEGIES,
  DEFAULT_RATIOS,
  DEFAULT_SEED,
  DEFAULT_LEAVE_OUT,
  DEFAULT_VALID_SHARE,
  DEFAULT_COLD_ITEM_SHARE,
  type SplitOptions,
  type SplitStrategy,
  type SplitRatios,
  type ResolvedSplitOptions,
} from './options.js';
