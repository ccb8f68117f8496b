import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import { createSplit, type SplitOptions, type SplitSummary } from '../data/split/index.js';
import { openDataset } from '../lake/dataset.js';
import { datasetPaths } from '../lake/paths.js';
import { createProgress } from './progress.js';

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

/** Runs a split of a staged dataset into `<lake>/staging/<name>/splits/<split>/` with a progress bar. */
export async function runSplit(lake: string, name: string, splitName: string, options: SplitOptions): Promise<SplitSummary> {
  // Resolved once: the split reads and is written into the dataset version current now, whatever a
  // concurrent ingest publishes meanwhile; opening also cleans what a killed split left.
  const paths = await openDataset(lake, name);
  const progress = createProgress(`split ${name}/${splitName}`, 6);
  try {
    return await createSplit({ ...options, stagingDir: paths.staging, stagingLabel: datasetPaths(lake, name).staging, outDir: paths.split(splitName).dir, progress });
  } finally {
    progress.stop();
  }
}

export const renderSplit = (s: SplitSummary) =>
  [
    `split ${s.name} (${s.strategy}, seed ${s.seed}) in ${(s.durationMs / 1000).toFixed(1)} s: ${s.users.toLocaleString('en-US')} users, ${s.items.toLocaleString('en-US')} items`,
    `  train ${s.interactions.train.toLocaleString('en-US')}, valid ${s.interactions.valid.toLocaleString('en-US')}, test ${s.interactions.test.toLocaleString('en-US')}` +
      (s.heldOutItems ? ` (${s.heldOutItems} cold items held out)` : ''),
    `  folder: ${s.outDir}`,
  ].join('\n');

export type SplitFlags = { split?: string; strategy?: string; ratio?: string; leaveK?: string; kcore?: string; validShare?: string; coldShare?: string; seed?: string };

/** Registers `plotpointe data split` on the `data` command group. */
export function registerSplitCommand(data: Command, run: (cmd: Command) => Promise<void>): void {
  data
    .command('split')
    .description('split a staged dataset into train/valid/test (ratio, loo, temporal, given, cold-item) with k-core filtering')
    .requiredOption('--lake <dir>', 'lake folder')
    .requiredOption('--name <name>', 'dataset name in the lake')
    .option('--split <name>', 'split folder name (config split.name)')
    .option('--strategy <s>', 'ratio | loo | temporal | given | cold-item (config split.strategy)')
    .option('--ratio <a:b:c>', 'train:valid:test shares, e.g. 8:1:1 or 0.8:0.1:0.1 (normalised to sum to 1; config split.ratio)')
    .option('--leave-k <k>', 'loo: interactions per user held out for test and again for valid (config split.leave_k)')
    .option('--kcore <k>', 'iterative k-core on users and items before splitting (config split.kcore)')
    .option('--valid-share <x>', "given: share of each user's train rows held out for validation (config split.valid_share)")
    .option('--cold-share <x>', 'cold-item: share of items held out of training (config split.cold_share)')
    .option('--valid-from <ts>', 'temporal: first timestamp of valid (unix seconds or ISO date)')
    .option('--test-from <ts>', 'temporal: first timestamp of test (unix seconds or ISO date)')
    .option('--min-rating <r>', 'keep only interactions rated at least r (implicit ones stay)')
    .option('--seed <n>', 'seed (config split.seed)')
    .action(async (_o, cmd: Command) => run(cmd));
}
