import type { EventEmitter } from 'node:events';
import { EventEmitter as Emitter } from 'node:events';
import type { IpcEndpoint } from './ipc.js';

/** Test helper of the cluster IPC tests: two connected in-memory ends with Node IPC's behaviour (JSON-serialised, asynchronous, ordered delivery). */
export function pair(): [IpcEndpoint & EventEmitter, IpcEndpoint & EventEmitter] {
  const a = new Emitter() as IpcEndpoint & EventEmitter;
  const b = new Emitter() as IpcEndpoint & EventEmitter;
  const link = (from: typeof a, to: typeof b) => {
    from.send = (m: unknown, cb?: (err: Error | null) => void) => {
      const copy = JSON.parse(JSON.stringify(m));
      setImmediate(() => {
        to.emit('message', copy);
        cb?.(null);
      });
      return true;
    };
  };
  link(a, b);
  link(b, a);
  return [a, b];
}
