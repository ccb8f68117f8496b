/**
 * The persistent worker pool: `threads − 1` worker_threads plus the calling thread run the chunks
 * of one kernel call at a time over the shared heap ({@link ./heap.ts}). Dispatch is a few
 * `Atomics` operations on a shared control block ({@link ./pool-runner.ts}) — no messages, no
 * copies. Chunks are taken dynamically (`Atomics.add`), so a core stolen by another process slows
 * a call down instead of stalling it on a fixed partition. Each chunk writes disjoint outputs, so
 * results are bitwise identical whatever thread ran which chunk and whatever the thread count.
 *
 * The pool starts lazily on the first parallel call (calls run on the calling thread until the
 * workers report ready) or explicitly with {@link startPool}; {@link shutdownPool} stops it (tests
 * must call it, or `node --test` waits). Workers are `unref`'d, so a script that forgets still exits.
 *
 * Configuration: `PLOTPOINTE_CORE_THREADS` (default: available cores, at most 8; 1 = no workers),
 * `PLOTPOINTE_CORE_BACKEND` = `wasm` (default) | `js`.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { heapMemory, MAX_PAGES } from './heap.js';
import { kernelModuleBytes } from './wasm-kernels.js';
import {
  ChunkRunner,
  KERNEL_NAMES,
  writeJob,
  type BackendName,
  type Job,
  type KernelName,
  SEQ,
  NEXT,
  DONE,
  IDLE,
  SHUTDOWN,
  READY,
  ERROR,
  WORKER_CHUNKS,
  ARGS_BYTE,
  MAX_ARGS,
  CONTROL_BYTES,
} from './pool-runner.js';

export type { BackendName, KernelName } from './pool-runner.js';

/** How a call is cut into chunks. */
export type Chunking =
  /** chunks of `size` items over [0, total) */
  | { kind: 'uniform'; total: number; size: number }
  /** chunk c = [bounds[c], bounds[c+1]); `bounds` must live in the heap */
  | { kind: 'bounds'; bounds: Int32Array };

export interface RunOptions {
  /** per-chunk output: argument index that gets `chunkIndex · outStride` added */
  outArg?: number;
  outStride?: number;
  /** force the backend of this call (default: the configured one) */
  backend?: BackendName;
  /** false = run on the calling thread only */
  parallel?: boolean;
}

const defaultThreads = (): number => {
  const env = Number(process.env.PLOTPOINTE_CORE_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  return Math.max(1, Math.min(8, availableParallelism()));
};

const config = {
  threads: defaultThreads(),
  backend: (process.env.PLOTPOINTE_CORE_BACKEND === 'js' ? 'js' : 'wasm') as BackendName,
  spin: 2000,
};

/** A call whose workers make no progress for this long fails (see {@link runKernel}). */
const STALL_MS = 60_000;

let module: WebAssembly.Module | null = null;
let mainRunner: ChunkRunner | null = null;

interface PoolState {
  workers: Worker[];
  control: SharedArrayBuffer;
  ctl: Int32Array;
  args: Float64Array;
  ready: boolean;
  failure: unknown;
  readyPromise: Promise<void>;
}
let pool: PoolState | null = null;

function kernelModule(): WebAssembly.Module {
  if (!module) module = new WebAssembly.Module(kernelModuleBytes(MAX_PAGES));
  return module;
}

function runner(): ChunkRunner {
  if (!mainRunner) mainRunner = new ChunkRunner(heapMemory(), kernelModule());
  return mainRunner;
}

/** Current configuration: total threads (calling thread included) and default backend. */
export function coreConfig(): { threads: number; backend: BackendName } {
  return { threads: config.threads, backend: config.backend };
}

/**
 * Changes the thread count and/or default backend. Changing the thread count stops the running
 * pool; the next parallel call (or {@link startPool}) starts one of the new size.
 */
export async function configureCore(opts: { threads?: number; backend?: BackendName }): Promise<void> {
  if (opts.backend) config.backend = opts.backend;
  if (opts.threads !== undefined && opts.threads !== config.threads) {
    if (!(Number.isInteger(opts.threads) && opts.threads >= 1)) throw new Error(`threads must be a positive integer, got ${opts.threads}`);
    await shutdownPool();
    config.threads = opts.threads;
  }
}

function spawn(): PoolState {
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const ctl = new Int32Array(control, 0, ARGS_BYTE / 4);
  const args = new Float64Array(control, ARGS_BYTE, MAX_ARGS);
  const n = config.threads - 1;
  const workers: Worker[] = [];
  const state: PoolState = { workers, control, ctl, args, ready: false, failure: null, readyPromise: Promise.resolve() };
  const url = new URL('./pool-worker.mjs', import.meta.url);
  const started: Promise<void>[] = [];
  for (let w = 0; w < n; w++) {
    const worker = new Worker(url, { workerData: { memory: heapMemory(), module: kernelModule(), control, spin: config.spin } });
    worker.unref();
    started.push(
      new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`core pool worker exited (${code}) before it was ready`)));
      }),
    );
    worker.on('error', (err) => {
      console.error('core pool worker error:', err);
    });
    workers.push(worker);
  }
  // all workers idle at start
  Atomics.store(ctl, IDLE, n);
  state.readyPromise = (async () => {
    await Promise.all(started);
    if (Atomics.load(ctl, READY) < n) throw new Error('core pool: a worker did not start');
    state.ready = true;
  })().catch((err: unknown) => {
    // calls keep running on the calling thread; startPool() reports the failure
    state.failure = err;
  });
  return state;
}

/** Starts the workers (if threads > 1) and resolves when they are ready. */
export async function startPool(): Promise<void> {
  if (config.threads <= 1) return;
  if (!pool) pool = spawn();
  await pool.readyPromise;
  if (pool.failure) throw pool.failure;
}

/** Stops the workers. Safe to call when no pool runs. */
export async function shutdownPool(): Promise<void> {
  const p = pool;
  if (!p) return;
  pool = null;
  await p.readyPromise;
  if (p.ready) waitIdle(p);
  Atomics.store(p.ctl, SHUTDOWN, 1);
  Atomics.add(p.ctl, SEQ, 1);
  Atomics.notify(p.ctl, SEQ);
  await Promise.all(p.workers.map((w) => w.terminate()));
}

function waitIdle(p: PoolState): void {
  const n = p.workers.length;
  for (;;) {
    const v = Atomics.load(p.ctl, IDLE);
    if (v >= n) return;
    Atomics.wait(p.ctl, IDLE, v, 50);
  }
}

/** Pool statistics: parallel jobs dispatched and chunks run by worker threads since it started. */
export function poolStats(): { workers: number; jobs: number; workerChunks: number } {
  if (!pool) return { workers: 0, jobs: 0, workerChunks: 0 };
  return { workers: pool.workers.length, jobs: Atomics.load(pool.ctl, SEQ), workerChunks: Atomics.load(pool.ctl, WORKER_CHUNKS) };
}

/** True when calls are currently spread over worker threads. */
export function poolActive(): boolean {
  return pool !== null && pool.ready;
}

/**
 * Runs kernel `name` with `args` (its arguments before the trailing `r0, r1`) over the chunks,
 * spread over the pool when it is ready and there is more than one chunk. Returns when every chunk
 * is done; throws if any failed.
 */
export function runKernel(name: KernelName, args: number[], chunking: Chunking, opts: RunOptions = {}): void {
  const kernel = KERNEL_NAMES.indexOf(name);
  if (kernel < 0) throw new Error(`unknown kernel ${name}`);
  const backend = (opts.backend ?? config.backend) === 'wasm' ? 0 : 1;
  const nChunks = chunking.kind === 'uniform' ? Math.ceil(chunking.total / chunking.size) : chunking.bounds.length - 1;
  if (nChunks <= 0) return;
  const job: Job = {
    kernel,
    backend,
    nChunks,
    chunkKind: chunking.kind === 'uniform' ? 0 : 1,
    total: chunking.kind === 'uniform' ? chunking.total : 0,
    chunk: chunking.kind === 'uniform' ? chunking.size : chunking.bounds.byteOffset,
    args,
    outArg: opts.outArg ?? -1,
    outStride: opts.outStride ?? 0,
  };
  const r = runner();
  r.refresh();
  const parallel = opts.parallel !== false && config.threads > 1 && nChunks > 1;
  if (parallel && !pool) pool = spawn();
  const p = pool;
  // workers announce themselves in shared memory too, so a caller that never yields to the event
  // loop (a synchronous training loop) still gets the pool once it is up
  if (p && !p.ready && !p.failure && Atomics.load(p.ctl, READY) >= p.workers.length) p.ready = true;
  if (!parallel || !p || !p.ready) {
    for (let c = 0; c < nChunks; c++) r.runChunk(job, c);
    return;
  }
  const { ctl } = p;
  waitIdle(p);
  writeJob(ctl, p.args, job);
  Atomics.store(ctl, NEXT, 0);
  Atomics.store(ctl, DONE, 0);
  Atomics.store(ctl, IDLE, 0);
  Atomics.store(ctl, ERROR, 0);
  Atomics.add(ctl, SEQ, 1);
  Atomics.notify(ctl, SEQ);
  let failure: unknown = null;
  for (;;) {
    const c = Atomics.add(ctl, NEXT, 1);
    if (c >= nChunks) break;
    try {
      r.runChunk(job, c);
    } catch (err) {
      failure = err;
    }
    Atomics.add(ctl, DONE, 1);
  }
  // wait for the chunks still running on workers; a worker that makes no progress for a minute
  // (it died: kernels themselves never block) fails the call instead of hanging the process
  let last = Atomics.load(ctl, DONE);
  let since = performance.now();
  for (;;) {
    const v = Atomics.load(ctl, DONE);
    if (v >= nChunks) break;
    if (v !== last) {
      last = v;
      since = performance.now();
    } else if (performance.now() - since > STALL_MS) {
      pool = null;
      for (const w of p.workers) void w.terminate();
      throw new Error(`kernel ${name}: pool workers stalled (${nChunks - v} chunks unfinished); the pool was stopped`);
    }
    Atomics.wait(ctl, DONE, v, 50);
  }
  if (failure) throw failure;
  if (Atomics.load(ctl, ERROR)) throw new Error(`kernel ${name} failed in a pool worker`);
}
