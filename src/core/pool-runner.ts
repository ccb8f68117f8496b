/**
 * What the main thread and every pool worker share: the control-block layout and the chunk runner
 * that executes one chunk of a job with the wasm or the JS kernel. Used by {@link ./pool.ts} and
 * {@link ./pool-worker-main.ts}.
 *
 * Control block (Int32Array over a SharedArrayBuffer), one job at a time:
 *
 * | slot | meaning |
 * |---|---|
 * | SEQ | job sequence number; workers `Atomics.wait` on it |
 * | NEXT | next chunk to take (`Atomics.add`) — dynamic scheduling, robust to a busy core |
 * | DONE | chunks finished; the last finisher notifies |
 * | IDLE | workers that have finished with the current job (a new job is posted only when all are) |
 * | KERNEL, BACKEND | kernel index in {@link KERNEL_NAMES}, 0 = wasm / 1 = js |
 * | NCHUNKS, CHUNK_KIND, TOTAL, CHUNK | chunking: kind 0 = uniform chunks of CHUNK items over [0, TOTAL); kind 1 = bounds array at byte offset CHUNK |
 * | NARGS, OUT_ARG, OUT_STRIDE | arguments (Float64 slots from byte {@link ARGS_BYTE}); if OUT_ARG ≥ 0, chunk c adds c·OUT_STRIDE to that argument (per-chunk partial outputs) |
 * | SHUTDOWN, READY, ERROR | lifecycle and error flag |
 * | WORKER_CHUNKS | statistics: chunks run by workers |
 */
import type { KernelExports } from './wasm-kernels.js';
import { JS_KERNELS, type HeapViews } from './kernels-js.js';
import { MATH_KERNEL_NAMES } from './wasm-math.js';

export const KERNEL_NAMES = ['spmm', 'sddmm', 'gemm_nn', 'gemm_tn', 'gemm_nt', 'axpby', 'adam', ...MATH_KERNEL_NAMES] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];
export type BackendName = 'wasm' | 'js';

export const SEQ = 0;
export const NEXT = 1;
export const DONE = 2;
export const IDLE = 3;
export const KERNEL = 4;
export const BACKEND = 5;
export const NCHUNKS = 6;
export const CHUNK_KIND = 7;
export const TOTAL = 8;
export const CHUNK = 9;
export const NARGS = 10;
export const OUT_ARG = 11;
export const OUT_STRIDE = 12;
export const SHUTDOWN = 13;
export const READY = 14;
export const ERROR = 15;
/** chunks run by workers since the pool started (statistics) */
export const WORKER_CHUNKS = 16;
export const ARGS_BYTE = 128;
export const MAX_ARGS = 16;
export const CONTROL_BYTES = ARGS_BYTE + 8 * MAX_ARGS;

/** A job as the runner sees it. */
export interface Job {
  kernel: number;
  backend: number;
  nChunks: number;
  chunkKind: number;
  total: number;
  chunk: number;
  args: number[];
  outArg: number;
  outStride: number;
}

/** Executes chunks of jobs against one wasm instance and the JS kernels on the shared heap. */
export class ChunkRunner {
  private readonly wasmFns: ((...a: number[]) => void)[];
  private views: HeapViews;

  constructor(
    private readonly memory: WebAssembly.Memory,
    module: WebAssembly.Module,
  ) {
    const inst = new WebAssembly.Instance(module, { env: { memory } });
    const ex = inst.exports as unknown as KernelExports;
    const all = ex as unknown as Record<string, (...a: number[]) => void>;
    this.wasmFns = KERNEL_NAMES.map((n) => {
      const f = all[n];
      if (typeof f !== 'function') throw new Error(`wasm kernel ${n} missing from the module`);
      return f;
    });
    this.views = this.makeViews();
  }

  private makeViews(): HeapViews {
    const buf = this.memory.buffer;
    return { f32: new Float32Array(buf), i32: new Int32Array(buf) };
  }

  /** Bounds of chunk c of a job. */
  chunkRange(job: Job, c: number): [number, number] {
    if (job.chunkKind === 0) return [c * job.chunk, Math.min(job.total, (c + 1) * job.chunk)];
    const b = this.views.i32;
    const at = (job.chunk >>> 2) + c;
    return [b[at], b[at + 1]];
  }

  /** Refreshes the JS views if the heap grew since they were made. */
  refresh(): void {
    if (this.views.f32.buffer.byteLength !== this.memory.buffer.byteLength) this.views = this.makeViews();
  }

  runChunk(job: Job, c: number): void {
    const [r0, r1] = this.chunkRange(job, c);
    if (r1 <= r0) return;
    let args = job.args;
    if (job.outArg >= 0) {
      args = args.slice();
      args[job.outArg] += c * job.outStride;
    }
    const js = job.backend === 1 ? JS_KERNELS[KERNEL_NAMES[job.kernel]] : undefined;
    // kernels without a JS twin always run in wasm
    if (js) js(this.views, ...args, r0, r1);
    else this.wasmFns[job.kernel](...args, r0, r1);
  }
}

/** Reads the job posted in the control block. */
export function readJob(ctl: Int32Array, args: Float64Array): Job {
  const n = ctl[NARGS];
  const a: number[] = new Array(n);
  for (let i = 0; i < n; i++) a[i] = args[i];
  return {
    kernel: ctl[KERNEL],
    backend: ctl[BACKEND],
    nChunks: ctl[NCHUNKS],
    chunkKind: ctl[CHUNK_KIND],
    total: ctl[TOTAL],
    chunk: ctl[CHUNK],
    args: a,
    outArg: ctl[OUT_ARG],
    outStride: ctl[OUT_STRIDE],
  };
}

/** Writes a job into the control block (not yet published: the caller bumps SEQ). */
export function writeJob(ctl: Int32Array, args: Float64Array, job: Job): void {
  if (job.args.length > MAX_ARGS) throw new Error(`too many kernel arguments: ${job.args.length}`);
  ctl[KERNEL] = job.kernel;
  ctl[BACKEND] = job.backend;
  ctl[NCHUNKS] = job.nChunks;
  ctl[CHUNK_KIND] = job.chunkKind;
  ctl[TOTAL] = job.total;
  ctl[CHUNK] = job.chunk;
  ctl[NARGS] = job.args.length;
  ctl[OUT_ARG] = job.outArg;
  ctl[OUT_STRIDE] = job.outStride;
  for (let i = 0; i < job.args.length; i++) args[i] = job.args[i];
}
