/** The worker side of ThreadedRunStore: one RunStore, method calls from the parent thread, one at a time in order. */
import { parentPort, workerData } from 'node:worker_threads';
import { errorToWire } from '../errors.js';
import { RunStore, type RunStoreOptions } from './run-store.js';

const { lake, options } = workerData as { lake: string; options: RunStoreOptions };
const opened = RunStore.open(lake, options);
const allowed = new Set(['ready', 'close', 'require', 'get', 'list', 'startRun', 'logEpoch', 'finishRun', 'failRun']);

parentPort!.on('message', async (m: { id: number; method: string; args: unknown[] }) => {
  try {
    if (!allowed.has(m.method)) throw new Error(`unknown run store method ${m.method}`);
    const store = await opened;
    let value: unknown = null;
    if (m.method === 'close') store.close();
    else if (m.method !== 'ready') value = await (store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[m.method](...m.args);
    parentPort!.postMessage({ id: m.id, ok: true, value });
  } catch (err) {
    parentPort!.postMessage({ id: m.id, ok: false, error: errorToWire(err) });
  }
});
