import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { ppError } from '../errors.js';
import { parseGrid, runAblation, ablationMarkdown, type AblationReport } from '../orchestration/ablation.js';
import { parseKeyValues } from './data.js';
import { createProgress } from './progress.js';
import { runCommand, type GlobalOptions } from './output.js';

const render = (r: AblationReport) => `${ablationMarkdown(r)}\n${r.paths.md}\n${r.paths.json}`;

/** `plotpointe ablate`: a grid of a model's params × seeds, each a tracked run, summarised as a table. */
export function registerAblateCommands(program: Command, setExit: (code: number) => void): void {
  program
    .command('ablate')
    .description('train a grid of model params × seeds (each a tracked run) and write a table of full-ranking test metrics (mean ± sd) and fit times')
    .requiredOption('--model <name>', 'model name (see plotpointe models)')
    .requiredOption('--grid <key=v1,v2...>', 'param value lists, e.g. --grid features=none,text,image,fused item_edges=true,false layers=1,2')
    .option('--lake <dir>', 'lake folder (config lake.dir)')
    .option('--name <name>', 'dataset name (config dataset.name)')
    .option('--split <name>', 'split name (config split.name)')
    .option('--param <key=value...>', 'params shared by every cell (the grid overrides them)')
    .option('--seeds <n>', 'seeds per cell (config ablate.seeds)')
    .option('--seed <n>', 'first seed; the others follow (config train.seed)')
    .option('--budget-min <m>', 'fit budget per run in minutes (config train.budget_min)')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, string | string[] | undefined>;
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
                'train.budget_min': o.budgetMin,
                'ablate.seeds': o.seeds,
              },
            });
            const gridItems = ([] as string[]).concat(o.grid ?? []);
            if (gridItems.length === 0) throw ppError('PP_USAGE', 'ablate needs --grid key=v1,v2 …');
            let bar: ReturnType<typeof createProgress> | null = null;
            return runAblation({
              lake: c['lake.dir'],
              name: c['dataset.name'],
              split: c['split.name'],
              model: String(o.model),
              grid: parseGrid(gridItems),
              params: parseKeyValues(o.param as string[] | undefined, '--param'),
              seeds: c['ablate.seeds'],
              firstSeed: c['train.seed'],
              budgetMinutes: c['train.budget_min'] > 0 ? c['train.budget_min'] : undefined,
              ks: [...c['eval.ks']],
              progress: createProgress,
              onRun: (done, total, cell, seed, result) => {
                bar ??= createProgress('ablate', total, { unit: 'runs' });
                bar.update(done, { cell: Object.values(cell).join('/'), seed, last: result instanceof Error ? 'error' : (result.test['ndcg@20'] ?? NaN) });
                if (done >= total) bar.stop();
              },
            });
          },
          render,
        ),
      );
    });
}
