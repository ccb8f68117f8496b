/**
 * The serving analytics store: `<lake>/logs/serving.duckdb` (tables in log-schema.ts), held open by the server
 * (DuckDB allows one writer process; analytics inside the server connects to the same instance through
 * {@link ServingLogs.instance}).
 *
 * - Request rows are buffered (only each item's item_id, score and rank are written) and written in batches off the request path: a flush runs when `flushRows`
 *   rows are waiting or `flushMs` after the first waiting row, and at {@link ServingLogs.close}. A failed flush
 *   is logged and its rows are dropped (the log must never take the API down).
 *   A batch is one INSERT with one parameter, the rows as a JSON array unpacked inside DuckDB (its thread, not
 *   the event loop). Each row is turned into its JSON when it is logged (~10 µs after its response) and
 *   appended to a RowBuffer (row-buffer.ts: outside the JS heap); a flush decodes the buffer once and binds the
 *   string to a statement prepared once. Cluster workers' rows arrive in batches through `appendRows`. Measured alternatives: a multi-row INSERT
 *   binding 11 parameters per row cost ~20 % of the server CPU of a similar request at 4,500 req/s
 *   (bench:serve profile: binding and destroying the values); DuckDB's appender is synchronous, and its
 *   flushSync commits on the event loop: 500 rows blocked it 12 ms at p50 and 219 ms at a WAL checkpoint.
 * - Events are written at once: `insertEvent` resolves after the row is in the database (the route answers
 *   2xx only then).
 * All writes go through one queue, one statement at a time.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBPreparedStatement, type DuckDBValue } from '@duckdb/node-api';
import type { LogStore } from './log-store.js';
import { RowBuffer } from './row-buffer.js';
import { EVENTS_DDL, EVENTS_SESSION_COLUMN_DDL, REQUESTS_DDL, REQUESTS_ITEM_COLUMN_DDL, type EventRow, type RequestLogRow } from './log-schema.js';
import { readStoredEvents, type StoredEvent, type StoredEventsQuery } from './feedback/source.js';

/**
 * One statement per batch with one parameter: the rows as a JSON array, unpacked by DuckDB (from_json +
 * unnest) on its own thread. Named columns, so that a table with more columns than these still takes the rows.
 */
const INSERT_BATCH =
  'INSERT INTO requests (request_id, ts, route, user_id, model_version, variant, k, items, latency_ms, status, item_id) ' +
  'SELECT r.request_id, CAST(r.ts AS TIMESTAMP), r.route, r.user_id, r.model_version, r.variant, r.k, r.items, r.latency_ms, r.status, r.item_id ' +
  `FROM (SELECT unnest(from_json(CAST(? AS JSON), '[{"request_id":"VARCHAR","ts":"VARCHAR","route":"VARCHAR","user_id":"VARCHAR","model_version":"VARCHAR",` +
  `"variant":"VARCHAR","k":"INTEGER","items":"JSON","latency_ms":"DOUBLE","status":"INTEGER","item_id":"VARCHAR"}]')) AS r)`;

/** One row as an element of INSERT_BATCH's JSON array (items with item_id, score and rank only), one flat string (Array#join, not a rope of `+` pieces). */
export function rowJson(r: RequestLogRow): string {
  return [
    '{"request_id":', JSON.stringify(r.request_id), ',"ts":', JSON.stringify(r.ts), ',"route":', JSON.stringify(r.route), ',"user_id":', JSON.stringify(r.user_id),
    ',"model_version":', JSON.stringify(r.model_version), ',"variant":', JSON.stringify(r.variant), ',"k":', JSON.stringify(r.k), ',"items":', loggedItemsJson(r.items),
    ',"latency_ms":', JSON.stringify(r.latency_ms), ',"status":', JSON.stringify(r.status), ',"item_id":', JSON.stringify(r.item_id ?? null), '}',
  ].join('');
}

/** The batch parameter of INSERT_BATCH: the rows as one JSON array. */
export function batchJson(rows: readonly RequestLogRow[]): string {
  return `[${rows.map(rowJson).join(',')}]`;
}

/** The logged items as JSON [{item_id, score, rank}] (the same text as JSON.stringify with those fields, without the replacer's cost). */
export function loggedItemsJson(items: RequestLogRow['items']): string {
  const parts = new Array<string>(items.length);
  for (let j = 0; j < items.length; j++) {
    const it = items[j];
    parts[j] = `{"item_id":${JSON.stringify(it.item_id)},"score":${JSON.stringify(it.score)},"rank":${JSON.stringify(it.rank)}}`;
  }
  return `[${parts.join(',')}]`;
}

export interface ServingLogsOptions {
  flushRows: number;
  flushMs: number;
  /** Called with a flush error (rows dropped). */
  onError?: (err: unknown, rows: number) => void;
}

export class ServingLogs implements LogStore {
  readonly path: string;
  readonly instance: DuckDBInstance;
  readonly #conn: DuckDBConnection;
  readonly #opts: ServingLogsOptions;
  /** Waiting rows (off the JS heap until their batch). */
  readonly #pending: RowBuffer;
  /** INSERT_BATCH, prepared once (created with the first flush). */
  #insert: DuckDBPreparedStatement | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Rows written so far (a diagnostic, also exported as a metric). */
  written = 0;
  dropped = 0;

  private constructor(path: string, instance: DuckDBInstance, conn: DuckDBConnection, opts: ServingLogsOptions) {
    this.path = path;
    this.instance = instance;
    this.#conn = conn;
    this.#opts = opts;
    this.#pending = new RowBuffer({ flushRows: opts.flushRows, flushMs: opts.flushMs, flush: () => void this.flush() });
  }

  /** Opens (creating when missing) the log database at `path` (normally `servingLogsPath(lake)`). */
  static async open(path: string, opts: ServingLogsOptions): Promise<ServingLogs> {
    await mkdir(dirname(path), { recursive: true });
    const instance = await DuckDBInstance.create(path, { threads: '1' });
    const conn = await instance.connect();
    await conn.run(REQUESTS_DDL);
    await conn.run(REQUESTS_ITEM_COLUMN_DDL);
    await conn.run(EVENTS_DDL);
    await conn.run(EVENTS_SESSION_COLUMN_DDL);
    return new ServingLogs(path, instance, conn, opts);
  }

  #enqueue<T>(job: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(job, job);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Buffers one request row (never blocks the request). */
  logRequest(row: RequestLogRow): void {
    if (this.#closed) return;
    // Serialised now, a few µs after the response, into the off-heap buffer: a flush then only decodes it
    // (one long main-thread stall per batch otherwise), and no row object or string waits in the heap.
    this.appendRows(rowJson(row), 1);
  }

  /**
   * Buffers `rows` rows given as comma-separated rowJson elements (a cluster worker's batch, cluster/primary.ts);
   * flushes when flushRows are waiting, else within flushMs.
   */
  appendRows(elements: string, rows: number): void {
    if (this.#closed) return;
    this.#pending.append(elements, rows);
  }

  /** Writes the waiting request rows now. */
  flush(): Promise<void> {
    if (this.#pending.rows === 0) return this.#queue.then(() => undefined);
    const { elements, rows } = this.#pending.take();
    const batch = `[${elements}]`;
    return this.#enqueue(async () => {
      try {
        this.#insert ??= await this.#conn.prepare(INSERT_BATCH);
        this.#insert.bindVarchar(1, batch);
        await this.#insert.run();
        this.written += rows;
      } catch (err) {
        this.dropped += rows;
        this.#opts.onError?.(err, rows);
      }
    });
  }

  /** Inserts one event; resolves when it is stored. */
  insertEvent(e: EventRow): Promise<void> {
    return this.#enqueue(async () => {
      await this.#conn.run('INSERT INTO events (event_id, ts, request_id, user_id, item_id, type, value, variant, session_id) VALUES (?, CAST(? AS TIMESTAMP), ?, ?, ?, ?, ?, ?, ?)', [
        e.event_id,
        e.ts,
        e.request_id,
        e.user_id,
        e.item_id,
        e.type,
        e.value,
        e.variant,
        e.session_id ?? null,
      ]);
    });
  }

  /** Stored events for live feedback (feedback/source.ts), read on the server's connection behind the writes. */
  recentEvents(q: StoredEventsQuery): Promise<StoredEvent[]> {
    return readStoredEvents((sql, params) => this.query(sql, params), q);
  }

  /** Rows of a read query on the server's connection (queued behind writes). */
  query(sql: string, params: DuckDBValue[] = []): Promise<Record<string, unknown>[]> {
    return this.#enqueue(async () => (await this.#conn.runAndReadAll(sql, params)).getRowObjectsJS() as Record<string, unknown>[]);
  }

  /** Flushes the waiting rows and closes the database. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    await this.#queue;
    this.#insert?.destroySync();
    this.#conn.closeSync();
    this.instance.closeSync();
  }
}
