import { Worker, type Job } from 'bullmq';
import { STEP_QUEUE, checkRedis, connectionOf, type StepJobData } from './executors/bullmq.js';
import { killRunningSteps, runStepProcess, type StepOutcome } from './executors/local.js';
import { SharedFsStorage } from './storage.js';

/**
 * `plotpointe worker --redis URL`: takes step and shard jobs from `<prefix>:pipeline-steps` and runs each as
 * a `plotpointe` child process (the same code path as the local executor), `concurrency` at a time. The lake
 * is reached through the storage interface (shared file system). SIGINT/SIGTERM close the worker: running
 * steps are stopped and their jobs, no longer locked, are retried by another worker after the lock expires.
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

export async function runWorker(o: WorkerOptions): Promise<WorkerSummary> {
  await checkRedis(o.redis);
  const log = o.log ?? (() => {});
  const started = performance.now();
  let done = 0;
  let failedSteps = 0;
  const processor = async (job: Job<StepJobData>): Promise<StepOutcome> => {
    const { task } = job.data;
    if (task.lake && task.inputs?.length) await new SharedFsStorage(task.lake).pull(task.inputs);
    const argv = job.data.kind === 'shard' ? [...job.data.argv!, '--json', '--quiet'] : task.argv;
    log(`${job.name} (job ${job.id}, attempt ${job.attemptsStarted}): plotpointe ${argv.slice(0, 4).join(' ')} …`);
    const outcome = await runStepProcess({ ...task, argv, logPath: job.data.kind === 'shard' ? `${task.logPath}.${job.name.split('#')[1]}` : task.logPath });
    if (outcome.exitCode !== 0) failedSteps++;
    log(`${job.name}: exit ${outcome.exitCode ?? outcome.signal} in ${outcome.usage.wall_s.toFixed(1)} s`);
    return outcome;
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
