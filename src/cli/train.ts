import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { listModels } from '../models/index.js';
import { runEvaluation, runTraining, type TrainSummary } from '../orchestration/run-training.js';
import { parseCandidates, runAutoTraining, type AutoSummary } from '../orchestration/auto-training.js';
import { paramsFromSearch } from '../orchestration/search/run-search.js';
import { parseKeyValues } from './data.js';
import { ppError } from '../errors.js';
import { createProgress } from './progress.js';
import { parseSince } from '../train/live-events.js';
import { parseConsumeTypes } from '../serving/feedback/settings.js';
import { runCommand, type GlobalOptions } from './output.js';

const fmt = (m: Record<string, number>, keys = ['recall@20', 'ndcg@20']) => keys.map((k) => `${k} ${(m[k] ?? NaN).toFixed(4)}`).join(', ');

const renderTrain = (s: TrainSummary | AutoSummary) =>
  [
    ...('auto' in s
      ? [
          `auto: ${s.auto.candidates.length} candidates, selected by ${s.auto.selected_by}${s.auto.servable_only ? ' among servable models' : ''}:`,
          ...s.auto.candidates.map(
            (c) =>
              `  ${c.run_id === s.run_id ? '*' : ' '} ${[c.model, ...Object.entries(c.params).map(([k, v]) => `${k}=${v}`)].join(':').padEnd(28)} ` +
              (c.error ? `failed: ${c.error}` : `valid ndcg@20 ${(c.valid_ndcg20 ?? NaN).toFixed(4)}  fit ${(c.fit_seconds ?? NaN).toFixed(1)} s  run ${c.run_id}`),
          ),
        ]
      : []),
    `run ${s.run_id}: ${s.model} on ${s.dataset}/${s.split} (${s.epochs} epochs, best ${s.best_epoch ?? '-'}), fit ${s.fit_seconds.toFixed(1)} s, eval ${s.eval_seconds.toFixed(1)} s, peak RSS ${s.peak_rss_mb} MB`,
    `  valid: ${fmt(s.valid)}`,
    `  test:  ${fmt(s.test)}`,
    `  artifacts: ${s.artifacts.dir}`,
  ].join('\n');

/** `plotpointe train`, `plotpointe eval`, `plotpointe models`. */
export function registerTrainCommands(program: Command, setExit: (code: number) => void): void {
  program
    .command('train')
    .description('fit a model on a split (selecting on valid), evaluate it by full ranking and record the run')
    .option('--model <name>', "model name (see plotpointe models), or auto (fit --candidates, keep the best on valid NDCG@20); required unless --resume")
    .option('--candidates <list>', 'auto: models to try, comma-separated, each name or name:key=value:… (config train.auto_candidates)')
    .option('--servable', 'auto: only models that export embeddings (an ANN-served bundle) can win')
    .option('--params-from <search>', "the best trial's model and params of a search (plotpointe tune); --param overrides them")
    .option('--resume <run>', "continue an interrupted run from its last checkpoint (same model, params and seed)")
    .option('--lake <dir>', 'lake folder (config lake.dir)')
    .option('--name <name>', 'dataset name (config dataset.name)')
    .option('--split <name>', 'split name (config split.name)')
    .option('--param <key=value...>', "model hyperparameters, e.g. --param dim=64 lr=0.001")
    .option('--seed <n>', 'seed (config train.seed)')
    .option('--budget-min <m>', 'wall-clock budget for fitting in minutes (config train.budget_min)')
    .option('--valid-users <n>', 'users sampled from valid for the per-epoch validation, 0 = all (config train.valid_users); final metrics rank every user')
    .option('--since <time>', 'fold the serving events stored since this ISO time (types: config train.event_types) into the train part; valid/test stay held out')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, string | string[] | undefined>;
      setExit(
        await runCommand(
          o,
          async () => {
            if (!o.model && !o.resume && !o.paramsFrom) throw ppError('PP_USAGE', 'train needs --model (or --resume RUN, or --params-from SEARCH)');
            const c = loadConfig({
              file: o.config as string | undefined,
              overrides: {
                'lake.dir': o.lake,
                'dataset.name': o.name,
                'split.name': o.split,
                'train.seed': o.seed,
                'train.budget_min': o.budgetMin,
                'train.valid_users': o.validUsers,
              },
            });
            if (o.model === 'auto') {
              return runAutoTraining({
                lake: c['lake.dir'],
                name: c['dataset.name'],
                split: c['split.name'],
                candidates: parseCandidates(String(o.candidates ?? c['train.auto_candidates'])),
                servable: Boolean(o.servable),
                seed: c['train.seed'],
                budgetMinutes: c['train.budget_min'] > 0 ? c['train.budget_min'] : undefined,
                validUsers: c['train.valid_users'],
                ks: [...c['eval.ks']],
                progress: createProgress,
              });
            }
            const fromSearch = o.paramsFrom ? await paramsFromSearch(c['lake.dir'], String(o.paramsFrom)) : null;
            if (fromSearch && o.model && o.model !== fromSearch.model) {
              throw ppError('PP_USAGE', `--params-from ${String(o.paramsFrom)} searched ${fromSearch.model}, not ${String(o.model)}`);
            }
            return runTraining({
              lake: c['lake.dir'],
              name: c['dataset.name'],
              split: c['split.name'],
              model: fromSearch?.model ?? String(o.model ?? ''),
              resumeRunId: o.resume as string | undefined,
              params: { ...fromSearch?.params, ...parseKeyValues(o.param as string[] | undefined, '--param') },
              seed: c['train.seed'],
              budgetMinutes: c['train.budget_min'] > 0 ? c['train.budget_min'] : undefined,
              validUsers: c['train.valid_users'],
              ks: [...c['eval.ks']],
              eventsSince: o.since ? { since: parseSince(String(o.since)), types: parseConsumeTypes(c['train.event_types'], 'train.event_types') } : undefined,
              progress: createProgress,
            });
          },
          renderTrain,
        ),
      );
    });

  program
    .command('eval')
    .description("re-evaluate a trained run's saved model by full ranking (recorded as an eval run)")
    .requiredOption('--run <id>', 'the train run id')
    .option('--lake <dir>', 'lake folder (config lake.dir)')
    .option('--part <part>', 'valid | test', 'test')
    .option('--protocol <p>', 'full (ranking over all items) | sampled (1 positive + N negatives; labelled, not comparable)', 'full')
    .option('--negatives <n>', 'N of the sampled protocol', '99')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, string | undefined>;
      setExit(
        await runCommand(o, () => {
          const c = loadConfig({ file: o.config, overrides: { 'lake.dir': o.lake } });
          return runEvaluation({
            lake: c['lake.dir'],
            runId: String(o.run),
            part: o.part as 'valid' | 'test',
            ks: [...c['eval.ks']],
            protocol: o.protocol as 'full' | 'sampled',
            negatives: Number(o.negatives),
          });
        }),
      );
    });

  program
    .command('models')
    .description('list the models of the registry with their hyperparameters and defaults')
    .action(async (_o, cmd: Command) => {
      setExit(
        await runCommand(
          cmd.optsWithGlobals() as GlobalOptions,
          async () => ({
            models: listModels().map((m) => ({ name: m.name, kind: m.kind, description: m.description, params: m.params })),
          }),
          (r) =>
            r.models
              .map((m) => `${m.name} (${m.kind}): ${m.description}\n` + Object.entries(m.params).map(([k, p]) => `    ${k} = ${JSON.stringify(p.default)}  ${p.doc}`).join('\n'))
              .join('\n'),
        ),
      );
    });
}
