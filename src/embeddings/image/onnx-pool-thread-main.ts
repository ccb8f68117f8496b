/**
 * One thread of OnnxImagePool (onnx-pool.ts): its own onnxruntime session (model bytes or path from
 * workerData), decoding and normalising each job's images with sharp (preprocess.ts), then one session run.
 * Jobs come one at a time from the parent; the answer is the output tensor's values (transferred).
 * `{ close: true }` releases the session and ends the thread.
 */
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { errorToWire } from '../../errors.js';
import { preprocessBatch, type ImagePreprocessSpec } from './preprocess.js';
import type { OrtModule, PoolJob, PoolReply } from './onnx-pool.js';

const require = createRequire(import.meta.url);
const { model, threads, preprocess } = workerData as { model: Uint8Array | string; threads: number; preprocess: ImagePreprocessSpec };

async function main(): Promise<void> {
  const ort = require('onnxruntime-node') as OrtModule;
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // No busy-waiting between operators: on a shared machine spinning threads burn CPU the other thread needs.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  const ready: PoolReply = {
    id: 0,
    ok: true,
    info: {
      inputNames: [...session.inputNames],
      outputNames: [...session.outputNames],
      outputShapes: Object.fromEntries((session.outputMetadata ?? []).map((m) => [m.name, m.shape ? [...m.shape] : undefined])),
    },
  };
  parentPort!.postMessage(ready);
  const s = preprocess.size;
  parentPort!.on('message', async (job: PoolJob | { close: true }) => {
    if ('close' in job) {
      // Leave by emptying the event loop: terminate() while onnxruntime is loaded aborts the process
      // ("terminate called after throwing an instance of 'Napi::Error'").
      await session.release();
      parentPort!.close();
      return;
    }
    try {
      const n = job.images ? job.images.length : job.zeros!;
      const pixels = job.images ? await preprocessBatch(job.images, preprocess) : new Float32Array(n * 3 * s * s);
      const dims = preprocess.layout === 'nchw' ? [n, 3, s, s] : [n, s, s, 3];
      const out = (await session.run({ [job.input]: new ort.Tensor('float32', pixels, dims) }, [job.output]))[job.output]!;
      const data = Float32Array.from(out.data);
      const reply: PoolReply = { id: job.id, ok: true, data };
      parentPort!.postMessage(reply, [data.buffer]);
    } catch (err) {
      const reply: PoolReply = { id: job.id, ok: false, error: errorToWire(err) };
      parentPort!.postMessage(reply);
    }
  });
}

main().catch((err: unknown) => {
  const reply: PoolReply = { id: 0, ok: false, error: errorToWire(err) };
  parentPort!.postMessage(reply);
});
