/**
 * A cluster worker's log store: request rows are buffered like the primary's store does (RowBuffer, off the JS
 * heap) and shipped to the primary in batches (`log-rows`: flushRows rows, or flushMs after the first waiting
 * row, and at close); the primary appends them to the one DuckDB store (ServingLogs.appendRows). Events go to the
 * primary one by one (`event`) and resolve once stored there, so POST /v1/events still answers 2xx only after
 * the event is durable.
 */
import type { EventRow, RequestLogRow } from '../log-schema.js';
import type { LogStore } from '../log-store.js';
import { rowJson } from '../request-log.js';
import { RowBuffer } from '../row-buffer.js';
import type { IpcChannel } from './ipc.js';
import type { StoredEvent, StoredEventsQuery } from '../feedback/source.js';

export class RemoteLogs implements LogStore {
  readonly #channel: IpcChannel;
  readonly #onError?: (err: unknown, rows: number) => void;
  readonly #pending: RowBuffer;
  #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(channel: IpcChannel, opts: { flushRows: number; flushMs: number; onError?: (err: unknown, rows: number) => void }) {
    this.#channel = channel;
    this.#onError = opts.onError;
    this.#pending = new RowBuffer({ flushRows: opts.flushRows, flushMs: opts.flushMs, flush: () => void this.flush() });
  }

  logRequest(row: RequestLogRow): void {
    if (this.#closed) return;
    this.#pending.append(rowJson(row), 1);
  }

  /**
   * Ships the waiting rows; resolves when the primary holds every batch shipped so far (in its store's buffer:
   * written within its flushMs, before any analytics request, and at shutdown).
   */
  async flush(): Promise<void> {
    if (this.#pending.rows > 0) {
      const { elements, rows } = this.#pending.take();
      const shipped = this.#channel.call('log-rows', { elements, rows }).then(
        () => undefined,
        (err) => this.#onError?.(err, rows),
      );
      this.#inFlight.add(shipped);
      void shipped.finally(() => this.#inFlight.delete(shipped));
    }
    await Promise.all(this.#inFlight);
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
