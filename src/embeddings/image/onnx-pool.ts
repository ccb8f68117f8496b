import { Worker } from 'node:worker_threads';
import { errorFromWire, ppError, type WireError } from '../../errors.js';
import type { ImagePreprocessSpec } from './preprocess.js';

/**
 * A pool of image-encoding threads for an ONNX vision model: each thread holds its own onnxruntime session
 * (`threadsPerWorker` intra-op threads, 1 by default, no spinning) and does a whole job — sharp decode +
 * resize + normalise of its images, then one session run — so decoding and the network use every core and
 * overlap across threads (onnxruntime-node's `run` is synchronous on the thread that calls it, so sessions in
 * one thread cannot). `run(images)` cuts a batch into jobs of at most `chunk` images (default 8: on MobileNetV2
 * at 128 px, 4–8 images per run gave the most images per CPU-second, 32 about 40 % fewer), at least one per
 * worker when the batch allows, queues them on idle threads and concatenates the outputs in input order.
 * A job's failure (PP_EMBED_IMAGE_DECODE for an undecodable picture) rejects the whole batch with its code.
 */
export interface OnnxPoolOptions {
  /** ONNX model bytes (e.g. built at run time) or a file path. */
  model: Uint8Array | string;
  /** Threads in the pool (default 2). */
  workers?: number;
  /** onnxruntime intra-op threads per pool thread (default 1). */
  threadsPerWorker?: number;
  /** Largest number of images per job (default 8). */
  chunk?: number;
  preprocess: ImagePreprocessSpec;
}

/** What a pool thread reports about its session once it is ready. */
export interface PoolModelInfo {
  inputNames: string[];
  outputNames: string[];
  outputShapes: Record<string, Array<number | string> | undefined>;
}

/** Parent → thread: encode `images`, or run `zeros` blank images (a probe). */
export interface PoolJob {
  id: number;
  input: string;
  output: string;
  images?: Uint8Array[];
  zeros?: number;
}

/** Thread → parent: id 0 is the ready message (with `info`) or a start-up failure. */
export interface PoolReply {
  id: number;
  ok: boolean;
  data?: Float32Array;
  info?: PoolModelInfo;
  error?: WireError;
}

/** The part of onnxruntime-node the pool threads use. */
export interface OrtModule {
  InferenceSession: {
    create(
      model: string | Uint8Array,
      opts: Record<string, unknown>,
    ): Promise<{
      inputNames: readonly string[];
      outputNames: readonly string[];
      outputMetadata?: ReadonlyArray<{ name: string; shape?: ReadonlyArray<number | string> }>;
      run(feeds: Record<string, unknown>, fetches?: readonly string[]): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>>;
      release(): Promise<void>;
    }>;
  };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
}

interface Pending {
  job: PoolJob;
  resolve: (v: Float32Array) => void;
  reject: (e: unknown) => void;
}

export class OnnxImagePool {
  private readonly idle: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly running = new Map<Worker, Pending>();
  private failure: Error | null = null;
  private nextId = 1;

  private constructor(
    private readonly workers: Worker[],
    readonly info: PoolModelInfo,
    private readonly chunk: number,
  ) {
    for (const w of workers) {
      w.on('message', (m: PoolReply) => this.onReply(w, m));
      w.on('error', (err) => this.fail(err));
      w.on('exit', (code) => this.fail(new Error(`image encoder thread exited (${code})`)));
      w.unref();
      this.idle.push(w);
    }
  }

  /** Starts the threads and waits until each has its session; rejects with the first thread's load error. */
  static async open(o: OnnxPoolOptions): Promise<OnnxImagePool> {
    const n = o.workers ?? 2;
    const chunk = o.chunk ?? 8;
    if (!Number.isInteger(n) || n < 1 || n > 64) throw ppError('PP_EMBED_INVALID', `image encoder threads must be in [1, 64], got ${n}`);
    if (!Number.isInteger(chunk) || chunk < 1) throw ppError('PP_EMBED_INVALID', `image encoder chunk must be a positive integer, got ${chunk}`);
    const url = new URL('./onnx-pool-thread.mjs', import.meta.url);
    const workers: Worker[] = [];
    const ready: Array<Promise<PoolModelInfo>> = [];
    for (let i = 0; i < n; i++) {
      const w = new Worker(url, { workerData: { model: o.model, threads: o.threadsPerWorker ?? 1, preprocess: o.preprocess } });
      workers.push(w);
      ready.push(
        new Promise<PoolModelInfo>((resolve, reject) => {
          // Named handlers, removed once ready (removeAllListeners on a Worker also drops Node's own and the
          // port stops delivering messages).
          const done = () => {
            w.off('message', onMessage);
            w.off('error', onError);
            w.off('exit', onExit);
          };
          const onMessage = (m: PoolReply) => {
            done();
            if (m.ok) resolve(m.info!);
            else reject(errorFromWire(m.error!));
          };
          const onError = (err: Error) => {
            done();
            reject(err);
          };
          const onExit = (code: number) => {
            done();
            reject(new Error(`image encoder thread exited (${code}) before it was ready`));
          };
          w.on('message', onMessage);
          w.on('error', onError);
          w.on('exit', onExit);
        }),
      );
    }
    let infos: PoolModelInfo[];
    try {
      infos = await Promise.all(ready);
    } catch (err) {
      // A thread that failed has already exited; the others are told to leave (see close()).
      await Promise.all(workers.map((w) => new Promise<void>((resolve) => {
        if (w.threadId < 0) return resolve();
        w.once('exit', () => resolve());
        w.postMessage({ close: true });
      })));
      throw err;
    }
    return new OnnxImagePool(workers, infos[0]!, chunk);
  }

  /** Encodes `images` (N encoded pictures) → the output's values, N rows in input order. */
  async run(images: readonly Uint8Array[], input: string, output: string): Promise<Float32Array> {
    if (images.length === 0) return new Float32Array(0);
    const size = Math.max(1, Math.min(this.chunk, Math.ceil(images.length / this.workers.length)));
    const parts: Array<Promise<Float32Array>> = [];
    for (let i = 0; i < images.length; i += size) parts.push(this.submit({ input, output, images: images.slice(i, i + size) }));
    const outs = await Promise.all(parts);
    if (outs.length === 1) return outs[0]!;
    const all = new Float32Array(outs.reduce((a, o) => a + o.length, 0));
    let at = 0;
    for (const o of outs) {
      all.set(o, at);
      at += o.length;
    }
    return all;
  }

  /** One run on `n` all-zero inputs (to read an output width the model leaves symbolic). */
  probe(n: number, input: string, output: string): Promise<Float32Array> {
    return this.submit({ input, output, zeros: n });
  }

  private submit(job: Omit<PoolJob, 'id'>): Promise<Float32Array> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { ...job, id: this.nextId++ }, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const p = this.queue.shift()!;
      this.running.set(w, p);
      // A busy thread keeps the process alive (an idle one does not: a pool left open never blocks exit).
      w.ref();
      w.postMessage(p.job);
    }
  }

  private onReply(w: Worker, m: PoolReply): void {
    const p = this.running.get(w);
    if (!p || p.job.id !== m.id) return;
    this.running.delete(w);
    w.unref();
    this.idle.push(w);
    if (m.ok) p.resolve(m.data!);
    else p.reject(errorFromWire(m.error!));
    this.pump();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of [...this.running.values(), ...this.queue]) p.reject(err);
    this.running.clear();
    this.queue.length = 0;
  }

  /** Ends the threads (each releases its session and leaves on its own: terminate() would abort the process). */
  async close(): Promise<void> {
    this.fail(new Error('image encoder pool closed'));
    const ws = this.workers.splice(0);
    await Promise.all(
      ws.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once('exit', () => resolve());
            w.ref();
            w.postMessage({ close: true });
          }),
      ),
    );
  }
}
