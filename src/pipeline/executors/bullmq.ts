import { FlowProducer, Queue, QueueEvents, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { ppError } from '../../errors.js';
import type { Executor, StepOutcome, StepTask } from './local.js';

/**
 * The distributed executor: each step becomes a BullMQ job on `<prefix>:pipeline-steps`, taken by any
 * `plotpointe worker` sharing the Redis and the lake (see storage.ts). A step run sharded (its `sharded` form,
 * `pipeline.shards` > 0) is a BullMQ flow: the shard jobs are the children, spread over the workers, and the
 * merge command the parent, which BullMQ starts only when every child completed; a shard whose command fails
 * makes the worker skip the merge, and a shard job that fails outright fails the parent (failParentOnFailure).
 * The DAG between steps is kept by the runner (run.ts), which dispatches a step when its
 * dependencies are done: BullMQ flows are trees (one parent per job) and this DAG has diamonds
 * (train needs split and the embeddings, which both need ingest).
 *
 * A worker that dies mid-job stops renewing its lock; after `lockDuration` the job is stalled and moved back
 * to waiting, and another worker runs it again (the step's outputs are written atomically, so a half-run is
 * harmless). A step command that fails is not an exception: the worker returns its outcome, so the runner
 * reports the coded error instead of BullMQ retrying a deterministic failure.
 */
export const STEP_QUEUE = 'pipeline-steps';

export interface BullmqExecutorOptions {
  redis: string;
  prefix: string;
  /** How long the runner waits for one job (default: a day). */
  timeoutMs?: number;
  /** Unused by the runner; kept for symmetry with the worker's lock settings. */
  lockMs?: number;
}

/** The job payload. */
export interface StepJobData {
  kind: 'step' | 'shard';
  task: StepTask;
  /** For shards: the command line of this shard (with the global --config/--json/--quiet). */
  argv?: string[];
  /** For shards: its index. */
  part?: number;
}

/** Connects with a short timeout and PINGs; PP_PIPELINE_QUEUE when Redis is unreachable. */
export async function checkRedis(url: string, timeoutMs = 2000): Promise<void> {
  const r = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
  } catch (err) {
    throw ppError('PP_PIPELINE_QUEUE', `cannot reach Redis at ${url}: ${(err as Error).message}`, err);
  } finally {
    r.disconnect();
  }
}

export const connectionOf = (url: string) => ({ url, maxRetriesPerRequest: null });

export class BullmqExecutor implements Executor {
  readonly kind = 'bullmq' as const;
  private queue: Queue | null = null;
  private events: QueueEvents | null = null;
  private flows: FlowProducer | null = null;
  private ready: Promise<void> | null = null;
  private readonly jobs = new Set<Job>();

  constructor(private readonly o: BullmqExecutorOptions) {}

  private async init(): Promise<void> {
    await checkRedis(this.o.redis);
    const connection = connectionOf(this.o.redis);
    this.queue = new Queue(STEP_QUEUE, { connection, prefix: this.o.prefix });
    this.events = new QueueEvents(STEP_QUEUE, { connection, prefix: this.o.prefix });
    this.flows = new FlowProducer({ connection, prefix: this.o.prefix });
    await this.events.waitUntilReady();
  }

  async run(task: StepTask): Promise<StepOutcome> {
    this.ready ??= this.init();
    await this.ready;
    const jobId = `${task.step}-${randomBytes(6).toString('hex')}`;
    const opts = { jobId, removeOnComplete: { age: 3600 }, removeOnFail: { age: 24 * 3600 } };
    let job: Job;
    if (task.shards?.length) {
      const node = await this.flows!.add({
        name: task.step,
        queueName: STEP_QUEUE,
        data: { kind: 'step', task } satisfies StepJobData,
        opts,
        children: task.shards.map((argv, i) => ({
          name: `${task.step}#${i}`,
          queueName: STEP_QUEUE,
          data: { kind: 'shard', task, argv, part: i } satisfies StepJobData,
          opts: { jobId: `${jobId}-s${i}`, removeOnComplete: { age: 3600 }, removeOnFail: { age: 24 * 3600 }, failParentOnFailure: true },
        })),
      });
      job = node.job;
    } else {
      job = await this.queue!.add(task.step, { kind: 'step', task } satisfies StepJobData, opts);
    }
    this.jobs.add(job);
    try {
      return (await job.waitUntilFinished(this.events!, this.o.timeoutMs ?? 24 * 3600 * 1000)) as StepOutcome;
    } catch (err) {
      return {
        exitCode: null,
        signal: 'job-failed',
        result: null,
        usage: { wall_s: 0, cpu_s: 0, peak_rss_mb: 0 },
        error: `BullMQ job ${jobId} failed: ${(err as Error).message}`,
      };
    } finally {
      this.jobs.delete(job);
    }
  }

  /** Removes this runner's jobs that have not started; running ones finish on their workers. */
  async abort(): Promise<void> {
    for (const j of this.jobs) await j.remove().catch(() => {});
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.events?.close(), this.queue?.close(), this.flows?.close()]);
  }
}
