import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { resolveSpace, parseSpace } from '../orchestration/search/space.js';
import { runSearch, type SearchSummary } from '../orchestration/search/run-search.js';
import { parseKeyValues } from './data.js';
import { createProgress } from './progress.js';
import { runCommand, type GlobalOptions } from './output.js';

const num = (v: number | null, d = 4) => (v === null ? '–' : v.toFixed(d));

const render = (s: SearchSummary) =>
  [
    `search ${s.search_id}: ${s.model} on ${s.dataset}/${s.split}, ${s.trials.length} trials (${s.sampler}), selected by ${s.selected_by}, ${s.seconds.toFixed(1)} s`,
    ...s.trials.map(
      (t) =>
        `  ${t.trial === s.best?.trial ? '*' : ' '} #${String(t.trial).padStart(2)} ${t.status.padEnd(8)} valid ndcg@20 ${num(t.valid_ndcg20)}  ` +
        `${Object.entries(t.params).map(([k, v]) => `${k}=${v}`).join(' ')}${t.error ? `  (${t.error})` : t.run_id ? `  run ${t.run_id}` : ''}`,
    ),
    s.best ? `best: trial ${s.best.trial}, run ${s.best.run_id}, valid ndcg@20 ${num(s.best.valid_ndcg20)}, test ndcg@20 ${num(s.best.test_ndcg20)}` : 'no trial finished',
    ...(s.train_command ? [`train it again: ${s.train_command}`] : []),
  ].join('\n');

/** `plotpointe tune`: a hyperparameter search (random or TPE, median pruning), every trial a tracked run. */
export function registerTuneCommands(program: Command, setExit: (code: number) => void): void {
  program
    .command('tune')
    .description("search a model's hyperparameters (TPE or random, bad trials pruned on their validation curve), each trial a tracked train run under one search run; the best on valid NDCG@20 wins")
    .requiredOption('--model <name>', 'model name (see plotpointe models)')
    .option('--trials <n>', 'number of trials (config tune.trials)')
    .option('--budget-min <m>', 'budget of the whole search in minutes (config tune.budget_min)')
    .option('--space <key=range...>', "search dimensions replacing the model's defaults: key=a,b,c | key=lo..hi[:log][:int]")
    .option('--sampler <s>', 'tpe | random (config tune.sampler)')
    .option('--no-prune', 'train every trial to its end (no median stopping)')
    .option('--param <key=value...>', 'fixed params of every trial (the searched ones override them)')
    .option('--lake <dir>', 'lake folder (config lake.dir)')
    .option('--name <name>', 'dataset name (config dataset.name)')
    .option('--split <name>', 'split name (config split.name)')
    .option('--seed <n>', 'seed of the sampler and of every trial (config train.seed)')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, string | string[] | boolean | undefined>;
      setExit(
        await runCommand(
          o,
          () => {
            const c = loadConfig({
              file: o.config as string | undefined,
              overrides: {
                'lake.dir': o.lake,
                'dataset.name': o.name,
                'split.name': o.split,
                'train.seed': o.seed,
                'tune.trials': o.trials,
                'tune.budget_min': o.budgetMin,
                'tune.sampler': o.sampler,
                ...(o.prune === false ? { 'tune.prune': false } : {}),
              },
            });
            const model = String(o.model);
            let bar: ReturnType<typeof createProgress> | null = null;
            const stop = () => {
              bar?.stop();
              bar = null;
            };
            return runSearch({
              lake: c['lake.dir'],
              name: c['dataset.name'],
              split: c['split.name'],
              model,
              space: resolveSpace(model, parseSpace(([] as string[]).concat((o.space as string[] | undefined) ?? []))),
              trials: c['tune.trials'],
              sampler: c['tune.sampler'] as 'tpe' | 'random',
              params: parseKeyValues(o.param as string[] | undefined, '--param'),
              budgetMinutes: c['tune.budget_min'] > 0 ? c['tune.budget_min'] : undefined,
              seed: c['train.seed'],
              ks: [...c['eval.ks']],
              prune: c['tune.prune'],
              onTrial: (done, total, t) => {
                bar ??= createProgress('tune', total, { unit: 'trials' });
                bar.update(done, { last: t.valid_ndcg20 ?? NaN, status: t.status });
                if (done >= total) stop();
              },
            }).finally(stop);
          },
          render,
        ),
      );
    });
}
