/**
 * The run store driven from a worker thread, for processes that compute while they log (train, tune).
 *
 * A RunStore opens the DuckDB file for each call and closes it when the call's callbacks have run. In a
 * process whose main thread then computes synchronously for a long time (an epoch of 40 s), those callbacks
 * wait for the main thread, so a heartbeat or an epoch log that had just opened the file held it — and its
 * OS lock — for the whole epoch, and `plotpointe runs list` in another process failed with
 * PP_RUN_STORE_LOCKED. Here the RunStore lives in a worker thread with its own event loop: every call
 * opens, writes and closes the file in milliseconds whatever the main thread does, and the heartbeat keeps
 * beating during long synchronous work. The methods mirror RunStore's (arguments and results are cloned);
 * a PlotPointeError thrown in the worker is thrown again here with its code.
 */
import { Worker } from 'node:worker_threads';
import { errorFromWire, type WireError } from '../errors.js';
import type { RunStore, RunStoreOptions } from './run-store.js';

/** The RunStore methods a remote store forwards. */
type Forwarded = 'require' | 'get' | 'list' | 'startRun' | 'logEpoch' | 'finishRun' | 'failRun';
type Method<K extends Forwarded> = RunStore[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => Promise<R> : never;

export class ThreadedRunStore {
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private nextId = 1;
  private failure: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: WireError }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(errorFromWire(m.error!));
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`run store thread exited (${code})`)));
  }

  /** Opens `<lake>/runs.duckdb` (as RunStore.open) in a new worker thread. */
  static async open(lake: string, options: RunStoreOptions = {}): Promise<ThreadedRunStore> {
    const worker = new Worker(new URL('./run-store-thread.mjs', import.meta.url), { workerData: { lake, options } });
    const store = new ThreadedRunStore(worker);
    await store.call('ready', []);
    return store;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private call(method: string, args: unknown[]): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, method, args });
    });
  }

  private forward<K extends Forwarded>(name: K): Method<K> {
    return ((...args: unknown[]) => this.call(name, args)) as Method<K>;
  }

  readonly require = this.forward('require');
  readonly get = this.forward('get');
  readonly list = this.forward('list');
  readonly startRun = this.forward('startRun');
  readonly logEpoch = this.forward('logEpoch');
  readonly finishRun = this.forward('finishRun');
  readonly failRun = this.forward('failRun');

  /** Closes the store (stops heartbeats) and ends the thread. */
  async close(): Promise<void> {
    if (this.failure) return;
    await this.call('close', []);
    this.failure = new Error('the run store is closed');
    await this.worker.terminate();
  }
}

