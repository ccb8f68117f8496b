/**
 * A split of a staged dataset in the lake: the options the config asks for, and the run that resolves the
 * dataset's current version once and writes `<lake>/staging/<name>/splits/<split>/` (create-split.ts).
 * `plotpointe data split`, the pipeline and the tests' lakes all split through here.
 */
import type { Config } from '../../config/schema.js';
import { silentProgressFactory, type ProgressFactory } from '../../core/progress.js';
import { openDataset } from '../../lake/dataset.js';
import { datasetPaths } from '../../lake/paths.js';
import { createSplit } from './create-split.js';
import type { SplitSummary } from './manifest.js';
import type { SplitOptions } from './options.js';

/** Split options from the config: only the keys the strategy uses (the split engine refuses the others). */
export function splitOptionsFromConfig(c: Config, extra: { validFrom?: string; testFrom?: string; minRating?: number } = {}): SplitOptions {
  const strategy = c['split.strategy'] as SplitOptions['strategy'];
  const ratios = c['split.ratio'] as unknown as SplitOptions['ratios'];
  const common = { strategy, seed: c['split.seed'], kcore: c['split.kcore'], minRating: extra.minRating };
  switch (strategy) {
    case 'ratio':
      return { ...common, ratios };
    case 'loo':
      return { ...common, leaveOut: c['split.leave_k'] };
    case 'temporal':
      return extra.validFrom !== undefined || extra.testFrom !== undefined
        ? { ...common, validFrom: extra.validFrom, testFrom: extra.testFrom }
        : { ...common, ratios };
    case 'given':
      return { ...common, validShare: c['split.valid_share'] };
    case 'cold-item':
      return { ...common, ratios, coldItemShare: c['split.cold_share'] };
  }
}

/** Runs a split of a staged dataset into `<lake>/staging/<name>/splits/<split>/`; `progress` draws its steps (default silent). */
export async function runSplit(lake: string, name: string, splitName: string, options: SplitOptions, progress: ProgressFactory = silentProgressFactory): Promise<SplitSummary> {
  // Resolved once: the split reads and is written into the dataset version current now, whatever a
  // concurrent ingest publishes meanwhile; opening also cleans what a killed split left.
  const paths = await openDataset(lake, name);
  const bar = progress(`split ${name}/${splitName}`, 6);
  try {
    return await createSplit({ ...options, stagingDir: paths.staging, stagingLabel: datasetPaths(lake, name).staging, outDir: paths.split(splitName).dir, progress: bar });
  } finally {
    bar.stop();
  }
}
