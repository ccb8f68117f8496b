/**
 * Request/response calls over a cluster IPC channel (a worker's `process`, or the primary's `Worker` handle):
 * `call(op, args)` sends `{pp: 'call', id, op, args}` and resolves with the other side's handler result, which
 * answers `{pp: 'done', id, ok, result | error}`. Handler errors cross as `{code, message}` and are rethrown as a
 * PlotPointeError with the same code and message (anything that is not one becomes PP_INTERNAL), so a worker's
 * route maps an error raised in the primary to the same HTTP status as a local one.
 *
 * `notify(op, args)` sends `{pp: 'note', op, args}` one way (no answer). Messages are serialised by Node's IPC
 * (JSON) and arrive in the order sent; other messages on the channel (cluster internals) are ignored.
 * When the channel closes, pending calls reject with PP_SERVE_UNAVAILABLE.
 */
import { ERRORS, isPlotPointeError, ppError, type ErrorCode } from '../../errors.js';

/** The two ends Node gives: `process` in a worker, a cluster `Worker` in the primary. */
export interface IpcEndpoint {
  send(message: unknown, callback?: (err: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

export type IpcHandler = (args: any) => Promise<unknown> | unknown; // eslint-disable-line @typescript-eslint/no-explicit-any

interface CallMessage {
  pp: 'call';
  id: number;
  op: string;
  args: unknown;
}

/** A one-way message (no answer): `notify`. */
interface NoteMessage {
  pp: 'note';
  op: string;
  args: unknown;
}

interface DoneMessage {
  pp: 'done';
  id: number;
  ok: boolean;
  result?: unknown;
  error?: { code: string; message: string };
}

/** A PlotPointeError with exactly the code and message of one raised on the other side. */
export function reviveError(e: { code: string; message: string }): Error {
  if (!(e.code in ERRORS)) return ppError('PP_INTERNAL', e.message);
  const err = ppError(e.code as ErrorCode);
  err.message = e.message;
  return err;
}

export class IpcChannel {
  readonly #end: IpcEndpoint;
  readonly #handlers: Record<string, IpcHandler>;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #next = 1;
  #closed = false;
  readonly #onMessage = (m: unknown): void => this.#receive(m);

  constructor(end: IpcEndpoint, handlers: Record<string, IpcHandler> = {}) {
    this.#end = end;
    this.#handlers = handlers;
    end.on('message', this.#onMessage);
    end.on('disconnect', () => this.close('the other process disconnected'));
  }

  /** Calls `op` on the other side. */
  call<T = unknown>(op: string, args: unknown = null): Promise<T> {
    if (this.#closed) return Promise.reject(ppError('PP_SERVE_UNAVAILABLE', `cluster channel closed (${op})`));
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#send({ pp: 'call', id, op, args } satisfies CallMessage, (err) => {
        if (err && this.#pending.delete(id)) reject(ppError('PP_SERVE_UNAVAILABLE', `cluster call ${op} could not be sent: ${err.message}`));
      });
    });
  }

  /**
   * Sends `op` one way (no answer; a handler error on the other side is dropped): handed to the channel at once,
   * ahead of any later message. Returns false when the channel is closed.
   */
  notify(op: string, args: unknown = null): boolean {
    if (this.#closed) return false;
    this.#send({ pp: 'note', op, args } satisfies NoteMessage);
    return true;
  }

  /** Rejects the pending calls and stops listening. */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#end.off('message', this.#onMessage);
    for (const p of this.#pending.values()) p.reject(ppError('PP_SERVE_UNAVAILABLE', `cluster channel closed: ${reason}`));
    this.#pending.clear();
  }

  #send(m: CallMessage | DoneMessage | NoteMessage, callback?: (err: Error | null) => void): void {
    try {
      this.#end.send(m, callback ?? (() => undefined));
    } catch (err) {
      callback?.(err as Error);
    }
  }

  #receive(m: unknown): void {
    if (!m || typeof m !== 'object') return;
    const msg = m as CallMessage | DoneMessage | NoteMessage;
    if (msg.pp === 'done') {
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(reviveError(msg.error ?? { code: 'PP_INTERNAL', message: 'cluster call failed' }));
    } else if (msg.pp === 'call') {
      void this.#answer(msg);
    } else if (msg.pp === 'note') {
      try {
        void Promise.resolve(this.#handlers[msg.op]?.(msg.args)).catch(() => undefined);
      } catch {
        // one-way: nobody to tell
      }
    }
  }

  async #answer(msg: CallMessage): Promise<void> {
    const handler = this.#handlers[msg.op];
    let done: DoneMessage;
    try {
      if (!handler) throw ppError('PP_INTERNAL', `no cluster handler for ${msg.op}`);
      done = { pp: 'done', id: msg.id, ok: true, result: (await handler(msg.args)) ?? null };
    } catch (err) {
      const error = isPlotPointeError(err) ? { code: err.code, message: err.message } : { code: 'PP_INTERNAL', message: (err as Error)?.message ?? String(err) };
      done = { pp: 'done', id: msg.id, ok: false, error };
    }
    if (!this.#closed) this.#send(done);
  }
}
