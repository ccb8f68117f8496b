/**
 * The serving analytics store: `<lake>/logs/serving.duckdb` (tables in log-schema.ts), held open by the server
 * (DuckDB allows one writer process; analytics inside the server connects to the same instance through
 * {@link ServingLogs.instance}).
 *
 * - Request rows are buffered (only each item's item_id, score and rank are written) and written in batches off the request path: a flush runs when `flushRows`
 *   rows are waiting or `flushMs` after the first waiting row, and at {@link ServingLogs.close}. Every string is
 *   made storable first (storable-text.ts). A failed batch is retried in halves down to single rows, so a row the
 *   store refuses is dropped alone and counted by reason ({@link DropReason}; the log never takes the API down,
 *   and one bad row never takes good rows with it).
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
import { DOUBLE, DuckDBInstance, VARCHAR, type DuckDBConnection, type DuckDBPreparedStatement, type DuckDBValue } from '@duckdb/node-api';
import type { LogStore } from './log-store.js';
import { RowBuffer } from './row-buffer.js';
import { storableOrNull, storableText } from './storable-text.js';
import { EVENTS_DDL, EVENTS_SESSION_COLUMN_DDL, REQUESTS_DDL, REQUESTS_ITEM_COLUMN_DDL, type EventRow, type RequestLogRow } from '../analytics/log-schema.js';
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

/** A string as a JSON string literal the store can take (lone surrogates → U+FFFD, storable-text.ts). */
const text = (s: string | null | undefined): string => JSON.stringify(s === null || s === undefined ? null : storableText(s));

/**
 * One row as an element of INSERT_BATCH's JSON array (items with item_id, score and rank only), one flat string
 * (Array#join, not a rope of `+` pieces). Every string is storable (no lone surrogate: DuckDB's JSON reader
 * rejects the whole batch over one).
 */
export function rowJson(r: RequestLogRow): string {
  return [
    '{"request_id":', text(r.request_id), ',"ts":', text(r.ts), ',"route":', text(r.route), ',"user_id":', text(r.user_id),
    ',"model_version":', text(r.model_version), ',"variant":', text(r.variant), ',"k":', JSON.stringify(r.k), ',"items":', loggedItemsJson(r.items),
    ',"latency_ms":', JSON.stringify(r.latency_ms), ',"status":', JSON.stringify(r.status), ',"item_id":', text(r.item_id), '}',
  ].join('');
}

/** The logged items as JSON [{item_id, score, rank}] (the same text as JSON.stringify with those fields, without the replacer's cost). */
export function loggedItemsJson(items: RequestLogRow['items']): string {
  const parts = new Array<string>(items.length);
  for (let j = 0; j < items.length; j++) {
    const it = items[j];
    parts[j] = `{"item_id":${text(it.item_id)},"score":${JSON.stringify(it.score)},"rank":${JSON.stringify(it.rank)}}`;
  }
  return `[${parts.join(',')}]`;
}

export interface ServingLogsOptions {
  flushRows: number;
  flushMs: number;
  /** Called with a flush error (rows dropped). */
  onError?: (err: unknown, rows: number) => void;
  /** DuckDB memory limit of the instance (analytics queries share it; default DuckDB's: 80 % of RAM). */
  memoryLimit?: string;
}

/**
 * Why request-log rows were dropped: `invalid_row` — the row failed alone while other rows of its batch were
 * written; `store_error` — no row of the batch could be written (the store failed); `unparseable_batch` — a batch
 * (from a cluster worker) that is not a JSON array, so its rows cannot be told apart.
 */
export type DropReason = 'invalid_row' | 'store_error' | 'unparseable_batch';

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
  /** Rows dropped so far (all reasons). */
  dropped = 0;
  /** Rows dropped so far by reason. */
  readonly droppedBy: Record<DropReason, number> = { invalid_row: 0, store_error: 0, unparseable_batch: 0 };

  private constructor(path: string, instance: DuckDBInstance, conn: DuckDBConnection, opts: ServingLogsOptions) {
    this.path = path;
    this.instance = instance;
    this.#conn = conn;
    this.#opts = opts;
    this.#pending = new RowBuffer({ flushRows: opts.flushRows, flushMs: opts.flushMs, flush: () => void this.flush() });
  }

  /** Opens (creating when missing) the log database at `path` (normally `lakePaths(lake).servingLog`). */
  static async open(path: string, opts: ServingLogsOptions): Promise<ServingLogs> {
    await mkdir(dirname(path), { recursive: true });
    const instance = await DuckDBInstance.create(path, { threads: '1', ...(opts.memoryLimit ? { memory_limit: opts.memoryLimit } : {}) });
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
    return this.#enqueue(() => this.#writeBatch(elements, rows));
  }

  /**
   * Writes one batch; when the batch statement fails, its rows are written in halves, recursively, so that one
   * row the store refuses costs only that row (at most ~2·log2(rows) extra statements per bad row; every row
   * when the store itself fails). Dropped rows are counted by {@link DropReason}.
   */
  async #writeBatch(elements: string, rows: number): Promise<void> {
    const firstError = await this.#tryInsert(`[${elements}]`);
    if (firstError === null) {
      this.written += rows;
      return;
    }
    let parsed: unknown[];
    try {
      parsed = JSON.parse(`[${elements}]`) as unknown[];
      if (!Array.isArray(parsed) || parsed.length !== rows) throw new Error(`${rows} rows announced, ${Array.isArray(parsed) ? parsed.length : 0} found`);
    } catch {
      this.#drop('unparseable_batch', rows, firstError);
      return;
    }
    if (rows === 1) {
      this.#drop('store_error', 1, firstError);
      return;
    }
    const single: { error: unknown }[] = [];
    const before = this.written;
    const split = async (part: string[]): Promise<void> => {
      const err = await this.#tryInsert(`[${part.join(',')}]`);
      if (err === null) this.written += part.length;
      else if (part.length === 1) single.push({ error: err });
      else {
        const mid = part.length >> 1;
        await split(part.slice(0, mid));
        await split(part.slice(mid));
      }
    };
    const all = parsed.map((r) => JSON.stringify(r));
    const mid = all.length >> 1;
    await split(all.slice(0, mid));
    await split(all.slice(mid));
    const reason: DropReason = this.written > before ? 'invalid_row' : 'store_error';
    for (const s of single) this.#drop(reason, 1, s.error);
  }

  /** Runs INSERT_BATCH over one JSON array; null when it succeeded, else the error. */
  async #tryInsert(batch: string): Promise<unknown> {
    try {
      this.#insert ??= await this.#conn.prepare(INSERT_BATCH);
      this.#insert.bindVarchar(1, batch);
      await this.#insert.run();
      return null;
    } catch (err) {
      return err;
    }
  }

  #drop(reason: DropReason, rows: number, err: unknown): void {
    this.dropped += rows;
    this.droppedBy[reason] += rows;
    this.#opts.onError?.(err, rows);
  }

  /** Inserts one event; resolves when it is stored. */
  insertEvent(e: EventRow): Promise<void> {
    return this.#enqueue(async () => {
      // Typed binds: an integral JS number is otherwise bound as BIGINT (1e19 → "bigint out of int64 range").
      await this.#conn.run(
        'INSERT INTO events (event_id, ts, request_id, user_id, item_id, type, value, variant, session_id) VALUES (?, CAST(? AS TIMESTAMP), ?, ?, ?, ?, ?, ?, ?)',
        [storableText(e.event_id), storableText(e.ts), storableOrNull(e.request_id), storableOrNull(e.user_id), storableOrNull(e.item_id), storableText(e.type), e.value, storableOrNull(e.variant), storableOrNull(e.session_id ?? null)],
        [VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR, DOUBLE, VARCHAR, VARCHAR],
      );
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
