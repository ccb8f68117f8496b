import type { Command } from 'commander';
import { ppError } from '../errors.js';
import { loadConfig } from '../config/load.js';
import type { ConfigKey } from '../config/schema.js';
import { resolvePipeline } from '../pipeline/resolve.js';
import { runPipeline } from '../pipeline/run.js';
import { renderReport, type PipelineReport } from '../pipeline/report.js';
import { LocalExecutor, type Executor } from '../pipeline/executors/local.js';
import { BullmqExecutor, checkRedis } from '../pipeline/executors/bullmq.js';
import { runWorker } from '../pipeline/worker.js';
import { runDemo, renderDemo } from '../pipeline/demo-job.js';
import { registerShardCommands } from './worker-shards.js';
import { runCommand, type GlobalOptions } from './output.js';

/** The pipeline file reader moved to the pipeline layer with the rest of the resolution; kept importable from here. */
export { readPipelineFile } from '../pipeline/resolve.js';

function rootOf(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

export function makeExecutor(config: Record<string, unknown>, opts: { lockMs?: number } = {}): Executor {
  if (config['pipeline.executor'] === 'bullmq') {
    return new BullmqExecutor({ redis: String(config['pipeline.redis']), prefix: String(config['pipeline.queue_prefix']), lockMs: opts.lockMs });
  }
  return new LocalExecutor();
}

const int = (v: unknown, flag: string) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw ppError('PP_USAGE', `${flag} expects a non-negative integer, got "${String(v)}"`);
  return n;
};

/**
 * What `plotpointe demo` trains unless the config says otherwise: auto — the best on valid NDCG@20 of a few
 * candidates, among those that export embeddings (served); the dashboard shows the candidates and why.
 * Train step on the default demo: ≈ 25 CPU-s against 11 for LightGCN alone (docs/decisions/160-tune-and-served-winner.md).
 */
export const DEMO_DEFAULTS: Partial<Record<ConfigKey, unknown>> = {
  'pipeline.model': 'auto',
  'pipeline.model_params': 'epochs=30,eval_every=5',
  'train.auto_candidates': 'pop,itemknn,ease:variant=lowrank:rank=128,lightgcn:epochs=30:eval_every=5',
};

/** `plotpointe pipeline run|steps`, `plotpointe worker`, `plotpointe demo`. */
export function registerPipelineCommands(program: Command, setExit: (code: number) => void): void {
  const pipeline = program.command('pipeline').description('the DAG of stages: parallel, cached, resumable; local or on BullMQ workers');
  const flagsOf = (o: Record<string, unknown>): Partial<Record<ConfigKey, unknown>> => ({
    'lake.dir': o.lake,
    'dataset.name': o.name,
    'pipeline.jobs': o.jobs,
    'pipeline.io_jobs': o.ioJobs,
    'pipeline.executor': o.executor,
    'pipeline.redis': o.redis,
    'pipeline.queue_prefix': o.prefix,
  });

  pipeline
    .command('run')
    .description('run the pipeline DAG (ingest → split → embeddings → graphs → train → evaluate → index → publish): unchanged steps are skipped, an interrupted run resumes')
    .option('--lake <dir>', 'lake folder (config lake.dir)')
    .option('--name <name>', 'dataset name (config dataset.name)')
    .option('--jobs <n>', 'CPU budget: cpu-class steps at once, 0 = cores (config pipeline.jobs)')
    .option('--io-jobs <n>', 'io-class steps beside them (config pipeline.io_jobs)')
    .option('--executor <e>', 'local | bullmq (config pipeline.executor)')
    .option('--redis <url>', 'Redis URL for bullmq (config pipeline.redis)')
    .option('--prefix <p>', 'BullMQ key prefix (config pipeline.queue_prefix)')
    .option('--only <steps...>', 'run these steps and what they need')
    .option('--force', 'ignore the cache: run every step again')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
      setExit(
        await runCommand(
          o,
          async () => {
            const p = resolvePipeline(rootOf(cmd), o.config as string | undefined, flagsOf(o), (o.only as string[] | undefined) ?? []);
            if (p.config['pipeline.executor'] === 'bullmq') await checkRedis(String(p.config['pipeline.redis']));
            const executor = makeExecutor(p.config);
            try {
              return await runPipeline({
                lake: String(p.config['lake.dir']),
                name: String(p.config['dataset.name']),
                config: p.config,
                steps: p.steps,
                leftOut: p.leftOut,
                stepArgs: p.args,
                jobs: int(p.config['pipeline.jobs'], '--jobs'),
                ioJobs: int(p.config['pipeline.io_jobs'], '--io-jobs'),
                executor,
                force: Boolean(o.force),
                log: o.quiet ? undefined : (l) => process.stderr.write(`pipeline: ${l}\n`),
              });
            } finally {
              await executor.close();
            }
          },
          (r: PipelineReport) => renderReport(r),
        ),
      );
    });

  registerShardCommands(pipeline, setExit);

  pipeline
    .command('steps')
    .description('list the DAG of this checkout: each step with its needs, resource class, config keys, and the steps left out')
    .option('--lake <dir>', 'lake folder (config lake.dir)')
    .option('--name <name>', 'dataset name (config dataset.name)')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
      setExit(
        await runCommand(
          o,
          async () => {
            const p = resolvePipeline(rootOf(cmd), o.config as string | undefined, flagsOf(o));
            return {
              steps: p.steps.map((s) => ({ id: s.id, title: s.title, needs: s.needs, resource: s.resource, config_keys: s.configKeys })),
              left_out: p.leftOut,
            };
          },
          (r) =>
            [
              ...r.steps.map((s) => `${s.id.padEnd(12)} ${s.resource}  needs ${s.needs.length ? s.needs.join(', ') : '-'}  · ${s.title}`),
              ...r.left_out.map((l) => `(left out) ${l.step}: ${l.reason}`),
            ].join('\n'),
        ),
      );
    });

  program
    .command('worker')
    .description('a distributed pipeline worker: takes step jobs from BullMQ (Redis) and runs them as plotpointe processes')
    .option('--redis <url>', 'Redis URL (config pipeline.redis)')
    .option('--prefix <p>', 'BullMQ key prefix (config pipeline.queue_prefix)')
    .option('--concurrency <n>', 'jobs at once', '1')
    .option('--lock-ms <n>', 'job lock duration: a job whose worker stops renewing it for this long is stalled and retried', '30000')
    .option('--stalled-ms <n>', 'how often to look for stalled jobs', '30000')
    .option('--max-jobs <n>', 'exit after this many jobs (0 = run until SIGINT/SIGTERM)', '0')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
      setExit(
        await runCommand(o, async () => {
          const c = loadConfig({ file: o.config as string | undefined, overrides: { 'pipeline.redis': o.redis, 'pipeline.queue_prefix': o.prefix } });
          return runWorker({
            redis: c['pipeline.redis'],
            prefix: c['pipeline.queue_prefix'],
            concurrency: Math.max(1, int(o.concurrency, '--concurrency') ?? 1),
            lockMs: int(o.lockMs, '--lock-ms') ?? 30000,
            stalledMs: int(o.stalledMs, '--stalled-ms') ?? 30000,
            maxJobs: int(o.maxJobs, '--max-jobs') ?? 0,
            log: o.quiet ? undefined : (l) => process.stderr.write(`worker: ${l}\n`),
          });
        }),
      );
    });

  program
    .command('demo')
    .description('npm start: generate the demo catalog, run the whole pipeline on it, start the server and dashboard and print the URL')
    .option('--lake <dir>', 'lake folder (config lake.dir)')
    .option('--jobs <n>', 'CPU budget of the pipeline (config pipeline.jobs)')
    .option('--no-serve', 'stop after the pipeline (CI, tests)')
    .option('--port <n>', 'server port (config serve.port when present)')
    .option('--host <h>', 'server host (config serve.host when present)')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
      setExit(
        await runCommand(
          o,
          async () => {
            const p = resolvePipeline(rootOf(cmd), o.config as string | undefined, {
              'lake.dir': o.lake,
              'pipeline.jobs': o.jobs,
              'pipeline.source': 'demo',
              'pipeline.executor': 'local',
            }, [], DEMO_DEFAULTS);
            return runDemo({
              root: rootOf(cmd),
              resolved: p,
              serve: o.serve !== false,
              port: o.port as string | undefined,
              host: o.host as string | undefined,
              globals: { json: Boolean(o.json), quiet: Boolean(o.quiet), config: o.config as string | undefined },
              log: o.quiet ? undefined : (l) => process.stderr.write(`${l}\n`),
            });
          },
          renderDemo,
        ),
      );
    });

}
