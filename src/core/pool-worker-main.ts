/**
 * The loop of one pool worker: sleep on the control block's SEQ slot, take chunks of the posted job
 * until none are left, acknowledge, sleep again. No data is ever sent by message: kernels read and
 * write the shared heap.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ChunkRunner, readJob, SEQ, NEXT, DONE, IDLE, SHUTDOWN, READY, ERROR, WORKER_CHUNKS, ARGS_BYTE, MAX_ARGS } from './pool-runner.js';

interface PoolWorkerData {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  control: SharedArrayBuffer;
  spin: number;
}

const { memory, module, control, spin } = workerData as PoolWorkerData;
const ctl = new Int32Array(control, 0, ARGS_BYTE / 4);
const args = new Float64Array(control, ARGS_BYTE, MAX_ARGS);
const runner = new ChunkRunner(memory, module);

let seen = Atomics.load(ctl, SEQ);
Atomics.add(ctl, READY, 1);
parentPort?.postMessage('ready');

for (;;) {
  // brief spin for back-to-back jobs, then sleep
  let s = Atomics.load(ctl, SEQ);
  for (let k = 0; k < spin && s === seen; k++) s = Atomics.load(ctl, SEQ);
  while (s === seen) {
    Atomics.wait(ctl, SEQ, seen);
    s = Atomics.load(ctl, SEQ);
  }
  seen = s;
  if (Atomics.load(ctl, SHUTDOWN)) break;
  const job = readJob(ctl, args);
  runner.refresh();
  for (;;) {
    const c = Atomics.add(ctl, NEXT, 1);
    if (c >= job.nChunks) break;
    try {
      runner.runChunk(job, c);
    } catch (err) {
      Atomics.store(ctl, ERROR, 1);
      console.error('core pool worker: chunk failed:', err);
    }
    Atomics.add(ctl, WORKER_CHUNKS, 1);
    if (Atomics.add(ctl, DONE, 1) + 1 === job.nChunks) Atomics.notify(ctl, DONE);
  }
  Atomics.add(ctl, IDLE, 1);
  Atomics.notify(ctl, IDLE);
}
