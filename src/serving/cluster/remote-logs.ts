/**
 * A cluster worker's log store. Request rows go to the primary in batches: the rows of the responses of one
 * event-loop turn (one `log-rows` message at the turn's check phase, setImmediate), or at once when `batchRows`
 * are waiting; the primary appends them to the one DuckDB store (ServingLogs.appendRows). `logRequest` returns
 * a promise that resolves when its batch is handed to the IPC channel, and the app's onSend awaits it: the rows
 * of answered requests are in the kernel's pipe to the primary before the responses are written, so a worker
 * killed right after answering loses none (a batch held in the worker for flushMs once lost 771 rows of a killed
 * worker under load), and the cost per request is no longer one IPC message each (decision 090).
 * `flush` sends the waiting rows and resolves once the primary holds every row sent so far (messages are
 * ordered, so a round trip suffices); `close` (a worker's graceful exit) flushes. Events go to the primary one by
 * one (`event`) and resolve once stored there, so POST /v1/events still answers 2xx only after the event is
 * durable.
 */
import type { EventRow, RequestLogRow } from '../../analytics/log-schema.js';
import type { LogStore } from '../log-store.js';
import { rowJson } from '../request-log.js';
import type { IpcChannel } from './ipc.js';
import type { StoredEvent, StoredEventsQuery } from '../feedback/source.js';

export class RemoteLogs implements LogStore {
  readonly #channel: IpcChannel;
  readonly #onError?: (err: unknown, rows: number) => void;
  readonly #batchRows: number;
  #closed = false;
  /** Waiting rows (rowJson elements), and the resolvers of the requests that logged them. */
  #rows: string[] = [];
  #sent: (() => void)[] = [];
  #scheduled: NodeJS.Immediate | null = null;
  /** Rows that could not be sent (the channel was closed). */
  unsent = 0;
  /** Rows and messages sent so far (diagnostics: rows per message). */
  sentRows = 0;
  sentMessages = 0;

  constructor(channel: IpcChannel, opts: { onError?: (err: unknown, rows: number) => void; batchRows?: number } = {}) {
    this.#channel = channel;
    this.#onError = opts.onError;
    this.#batchRows = Math.max(1, opts.batchRows ?? 256);
  }

  /** Queues one row; resolves once its batch is handed to the channel (at the end of this loop turn at the latest). */
  logRequest(row: RequestLogRow): Promise<void> | void {
    if (this.#closed) return;
    this.#rows.push(rowJson(row));
    const sent = new Promise<void>((resolve) => this.#sent.push(resolve));
    if (this.#rows.length >= this.#batchRows) this.#send();
    else this.#scheduled ??= setImmediate(() => this.#send());
    return sent;
  }

  /** Hands the waiting rows to the channel as one `log-rows` message and releases their responses. */
  #send(): void {
    if (this.#scheduled) {
      clearImmediate(this.#scheduled);
      this.#scheduled = null;
    }
    const rows = this.#rows;
    const sent = this.#sent;
    if (rows.length === 0) return;
    this.#rows = [];
    this.#sent = [];
    if (this.#channel.notify('log-rows', { elements: rows.join(','), rows: rows.length })) {
      this.sentRows += rows.length;
      this.sentMessages++;
    } else {
      this.unsent += rows.length;
      this.#onError?.(new Error('cluster channel closed'), rows.length);
    }
    for (const f of sent) f();
  }

  /** Sends the waiting rows; resolves when the primary holds every row sent so far (one round trip behind them). */
  async flush(): Promise<void> {
    this.#send();
    await this.#channel.call('ping').catch((err) => this.#onError?.(err, 0));
  }

  insertEvent(e: EventRow): Promise<void> {
    return this.#channel.call('event', e).then(() => undefined);
  }

  /** Stored events, read by the primary from the one store. */
  recentEvents(q: StoredEventsQuery): Promise<StoredEvent[]> {
    return this.#channel.call<StoredEvent[]>('recent-events', q);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
  }
}
