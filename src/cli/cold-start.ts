import type { Command } from 'commander';
import { createProgress } from './progress.js';
import { loadConfig } from '../config/load.js';
import { ppError } from '../errors.js';
import { coldItemsReport, foldInReport, type ColdItemsReport, type FoldInReport } from '../orchestration/cold-start-report.js';
import type { ContentModality } from '../models/model.js';
import { runCommand, type GlobalOptions } from './output.js';

const f4 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(4));

const renderItems = (r: ColdItemsReport) => {
  const ks = Object.keys(r.results[0]?.metrics ?? {}).filter((k) => /^(recall|ndcg)@/.test(k));
  const lines = [
    `cold items of ${r.dataset}/${r.split}: ${r.cold_items} of ${r.items} items, ${r.users_evaluated} users with a cold test item (ranked among cold items; train+valid masked)`,
    `  ${'method'.padEnd(30)} ${ks.map((k) => k.padStart(10)).join(' ')}`,
    ...r.results.map((m) => `  ${m.method.padEnd(30)} ${ks.map((k) => f4(m.metrics[k]).padStart(10)).join(' ')}`),
  ];
  if (r.summary.model_over_random !== undefined) {
    lines.push(`  ${r.summary.key}: model / random = ${r.summary.model_over_random.toFixed(2)}×` + (r.summary.best_content ? `, model − ${r.summary.best_content} = ${f4(r.summary.model_minus_best_content)}` : ''));
  }
  lines.push('  random = the analytic expectation of a uniformly random ranking');
  if (r.path) lines.push(`  ${r.path}`);
  return lines.join('\n');
};

const renderFoldIn = (r: FoldInReport) => {
  const ks = Object.keys(r.learned).filter((k) => /^(recall|ndcg)@/.test(k));
  return [
    `fold-in vs learned users: ${r.model} run ${r.run_id} on ${r.dataset}/${r.split}, ${r.users_evaluated} test users (full ranking; history = train)`,
    `  ${'users'.padEnd(26)} ${ks.map((k) => k.padStart(10)).join(' ')}`,
    `  ${'learned'.padEnd(26)} ${ks.map((k) => f4(r.learned[k]).padStart(10)).join(' ')}`,
    `  ${'fold-in (mean)'.padEnd(26)} ${ks.map((k) => f4(r.fold_in[k]).padStart(10)).join(' ')}`,
    `  ${'fold-in (rating-weighted)'.padEnd(26)} ${ks.map((k) => f4(r.fold_in_rating_weighted[k]).padStart(10)).join(' ')}`,
  ].join('\n');
};

/** `plotpointe cold-start items` and `plotpointe cold-start fold-in`. */
export function registerColdStartCommands(program: Command, setExit: (code: number) => void): void {
  const cs = program.command('cold-start').description('cold-start evaluation: cold items (content) and new users (fold-in)');
  cs.command('items')
    .description('cold-item Recall/NDCG (ranking among items with no train interaction) of a run vs. random (analytic) vs. plain content similarity')
    .option('--run <id>', "a train run on a cold-item split (omit for the baselines only, with --name and --split)")
    .option('--lake <dir>', 'lake folder (config lake.dir)')
    .option('--name <name>', 'dataset name (config dataset.name; ignored with --run)')
    .option('--split <name>', 'a cold-item split (config split.name; ignored with --run)')
    .option('--modalities <list>', 'content-similarity baselines, comma-separated (default: every modality the lake has)')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, string | undefined>;
      setExit(
        await runCommand(
          o,
          () => {
            const c = loadConfig({ file: o.config, overrides: { 'lake.dir': o.lake, 'dataset.name': o.name, 'split.name': o.split } });
            const modalities = o.modalities?.split(',').map((m) => m.trim()) as ContentModality[] | undefined;
            for (const m of modalities ?? []) if (!['text', 'image', 'fused'].includes(m)) throw ppError('PP_USAGE', `unknown modality ${m}`);
            return coldItemsReport({
              lake: c['lake.dir'],
              runId: o.run,
              name: c['dataset.name'],
              split: c['split.name'],
              ks: [...c['eval.ks']],
              modalities,
              progress: createProgress,
            });
          },
          renderItems,
        ),
      );
    });
  cs.command('fold-in')
    .description("test metrics of a run's learned user vectors vs. users folded in from their train history (no retraining)")
    .requiredOption('--run <id>', 'a train run of an embedding model (mf, lightgcn, gat, mmgat …)')
    .option('--lake <dir>', 'lake folder (config lake.dir)')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, string | undefined>;
      setExit(
        await runCommand(
          o,
          () => {
            const c = loadConfig({ file: o.config, overrides: { 'lake.dir': o.lake } });
            return foldInReport({ lake: c['lake.dir'], runId: String(o.run), ks: [...c['eval.ks']] });
          },
          renderFoldIn,
        ),
      );
    });
}
