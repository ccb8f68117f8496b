import { Worker, type Job } from 'bullmq';
import { STEP_QUEUE, checkRedis, connectionOf, type StepJobData } from './executors/bullmq.js';
import { killRunningSteps, runStepProcess, type StepOutcome } from './executors/local.js';
import { SharedFsStorage } from './storage.js';
import type { StepUsage } from './cache.js';

/**
 * `plotpointe worker --redis URL`: takes step and shard jobs from `<prefix>:pipeline-steps` and runs each as
 * a `plotpointe` child process (the same code path as the local executor), `concurrency` at a time; the parent
 * job of a sharded step runs its merge, once every shard completed, unless a shard failed. The lake is reached
 * through the storage interface (shared file system). SIGINT/SIGTERM close the worker: running steps are
 * stopped and their jobs, no longer locked, are retried by another worker after the lock expires.
 */
export interface WorkerOptions {
  redis: string;
  prefix: string;
  concurrency: number;
  /** BullMQ lockDuration: a worker that stops renewing the lock this long loses the job (stalled → retried). */
  lockMs: number;
  /** BullMQ stalledInterval. */
  stalledMs: number;
  /** Exit after this many jobs (0 = until a signal). */
  maxJobs: number;
  log?: (line: string) => void;
}

export interface WorkerSummary {
  jobs: number;
  failed_steps: number;
  seconds: number;
}

/**
 * Usage of a sharded step: CPU summed over its shards and merge, peak RSS the largest of them, wall time the
 * slowest shard plus the merge (shards run side by side on the workers).
 */
function combinedUsage(shards: readonly StepOutcome[], merge: StepOutcome | null): StepUsage {
  const all = merge ? [...shards, merge] : [...shards];
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    wall_s: round(Math.max(0, ...shards.map((c) => c.usage.wall_s)) + (merge?.usage.wall_s ?? 0)),
    cpu_s: round(all.reduce((sum, c) => sum + c.usage.cpu_s, 0)),
    peak_rss_mb: Math.max(0, ...all.map((c) => c.usage.peak_rss_mb)),
  };
}

export async function runWorker(o: WorkerOptions): Promise<WorkerSummary> {
  await checkRedis(o.redis);
  const log = o.log ?? (() => {});
  const started = performance.now();
  let done = 0;
  let failedSteps = 0;
  const processor = async (job: Job<StepJobData>): Promise<StepOutcome> => {
    const { task } = job.data;
    const shard = job.data.kind === 'shard';
    // The merge of a sharded step: its shards (the flow's children) have all completed; skip it when one failed.
    const shardOutcomes = !shard && task.shards?.length ? Object.values(await job.getChildrenValues<StepOutcome>()) : [];
    const failedShard = shardOutcomes.find((c) => c.exitCode !== 0);
    if (failedShard) {
      failedSteps++;
      log(`${job.name}: not merged, a shard failed: ${failedShard.error}`);
      return { ...failedShard, usage: combinedUsage(shardOutcomes, null), error: `a shard of ${task.step} failed: ${failedShard.error}` };
    }
    if (task.lake && task.inputs?.length) await new SharedFsStorage(task.lake).pull(task.inputs);
    const argv = shard ? job.data.argv! : task.argv;
    log(`${job.name} (job ${job.id}, attempt ${job.attemptsStarted}): plotpointe ${argv.slice(0, 4).join(' ')} …`);
    const outcome = await runStepProcess({ ...task, argv, logPath: shard ? `${task.logPath}.${job.data.part}` : task.logPath });
    if (outcome.exitCode !== 0) failedSteps++;
    log(`${job.name}: exit ${outcome.exitCode ?? outcome.signal} in ${outcome.usage.wall_s.toFixed(1)} s`);
    return shardOutcomes.length ? { ...outcome, usage: combinedUsage(shardOutcomes, outcome) } : outcome;
  };
  const worker = new Worker<StepJobData, StepOutcome>(STEP_QUEUE, processor, {
    connection: connectionOf(o.redis),
    prefix: o.prefix,
    concurrency: o.concurrency,
    lockDuration: o.lockMs,
    stalledInterval: o.stalledMs,
    maxStalledCount: 2,
  });
  worker.on('error', (err) => log(`error: ${err.message}`));
  await worker.waitUntilReady();
  log(`ready: queue ${o.prefix}:${STEP_QUEUE}, concurrency ${o.concurrency}, lock ${o.lockMs} ms`);
  await new Promise<void>((resolveStop) => {
    const stop = (why: string) => {
      log(`${why}: closing`);
      killRunningSteps();
      resolveStop();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    worker.on('completed', () => {
      done++;
      if (o.maxJobs > 0 && done >= o.maxJobs) stop(`${done} jobs`);
    });
  });
  await worker.close();
  return { jobs: done, failed_steps: failedSteps, seconds: (performance.now() - started) / 1000 };
}
