/**
 * A cluster worker's log store: each request row goes to the primary the moment it is logged — one one-way IPC
 * message (`log-row`), written to the channel before the response is written to the client's socket (the app
 * logs rows in onSend) — and the primary appends it to the one DuckDB store (ServingLogs.appendRows). A worker
 * killed right after answering has therefore already handed the rows of its answered requests to the kernel's
 * IPC pipe, which the primary still reads (a batch buffered in the worker for flushMs lost 771 rows of a killed
 * worker under load). `flush` resolves once the primary holds every row sent so far (messages are ordered, so a
 * round trip suffices). Events go to the primary one by one (`event`) and resolve once stored there, so
 * POST /v1/events still answers 2xx only after the event is durable.
 */
import type { EventRow, RequestLogRow } from '../../analytics/log-schema.js';
import type { LogStore } from '../log-store.js';
import { rowJson } from '../request-log.js';
import type { IpcChannel } from './ipc.js';
import type { StoredEvent, StoredEventsQuery } from '../feedback/source.js';

export class RemoteLogs implements LogStore {
  readonly #channel: IpcChannel;
  readonly #onError?: (err: unknown, rows: number) => void;
  #closed = false;
  /** Rows that could not be sent (the channel was closed). */
  unsent = 0;

  constructor(channel: IpcChannel, opts: { onError?: (err: unknown, rows: number) => void } = {}) {
    this.#channel = channel;
    this.#onError = opts.onError;
  }

  logRequest(row: RequestLogRow): void {
    if (this.#closed) return;
    if (!this.#channel.notify('log-row', rowJson(row))) {
      this.unsent++;
      this.#onError?.(new Error('cluster channel closed'), 1);
    }
  }

  /** Resolves when the primary holds every row sent so far (one round trip behind them). */
  async flush(): Promise<void> {
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
