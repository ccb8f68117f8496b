import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { ppError } from '../errors.js';
import { intFlag } from './embed-image.js';
import { mergeEvaluateShards, runEvaluateShard, type EvalShardOptions, type EvalShardSummary } from '../pipeline/shards/evaluate.js';
import { runCommand, type GlobalOptions } from './output.js';

/**
 * `plotpointe pipeline shard evaluate` / `pipeline merge evaluate`: the sharded form of the evaluate step
 * (src/pipeline/shards/evaluate.ts). Options as `eval` (`--run`, `--lake`, `--part`; K from eval.ks); only the
 * full-ranking protocol is sharded.
 */
function evalOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--run <id>', 'the train run id')
    .option('--lake <dir>', 'lake folder (config lake.dir)')
    .option('--part <part>', 'valid | test', 'test')
    .option('--protocol <p>', 'full (the only protocol with a sharded form)', 'full')
    .requiredOption('--of <n>', 'number of shards');
}

function options(o: GlobalOptions & Record<string, unknown>): EvalShardOptions & { of: number } {
  if (o.protocol !== 'full') throw ppError('PP_USAGE', `only --protocol full has a sharded form, got ${String(o.protocol)}`);
  const c = loadConfig({ file: o.config as string | undefined, overrides: { 'lake.dir': o.lake as string | undefined } });
  return { lake: c['lake.dir'], runId: String(o.run), part: o.part as 'valid' | 'test', ks: [...c['eval.ks']], of: intFlag(o.of, '--of')! };
}

export function registerEvaluateShardCommands(shard: Command, merge: Command, setExit: (code: number) => void): void {
  evalOptions(shard.command('evaluate').description('rank one shard (--shard i of --of n) of the users of a run by full ranking into a part file under <lake>/pipeline/shards/evaluate/'))
    .requiredOption('--shard <i>', 'this shard, 0-based')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
      setExit(
        await runCommand(
          o,
          () => runEvaluateShard({ ...options(o), shard: intFlag(o.shard, '--shard')! }),
          (s: EvalShardSummary) => `evaluate shard ${s.shard + 1}/${s.of}: users [${s.start}, ${s.end}), ${s.evaluated} evaluated in ${s.seconds.toFixed(1)} s\n  ${s.path}`,
        ),
      );
    });
  evalOptions(merge.command('evaluate').description('merge the --of evaluate part files into the eval run `eval` records')).action(async (_o, cmd: Command) => {
    const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
    setExit(await runCommand(o, () => mergeEvaluateShards(options(o)), (s) => `merged ${s.shards} shards: eval run ${s.run_id} of ${s.parent_run_id} on ${s.part}`));
  });
}
