/**
 * The serving analytics store: `<lake>/logs/serving.duckdb` (tables in log-schema.ts), held open by the server
 * (DuckDB allows one writer process; analytics inside the server connects to the same instance through
 * {@link ServingLogs.instance}).
 *
 * - Request rows are buffered (holding the response's item objects; only item_id, score and rank are written) and written in batches off the request path: a flush runs when `flushRows`
 *   rows are waiting or `flushMs` after the first waiting row, and at {@link ServingLogs.close}. A failed flush
 *   is logged and its rows are dropped (the log must never take the API down).
 *   Rows go through DuckDB's appender when the table has the server's layout (REQUESTS_DDL + item_id): a
 *   multi-row INSERT binding 11 parameters per row cost ~20 % of the server CPU of a similar request at 4,500
 *   req/s (bench:serve profile: prepared-statement binding and destruction), the appender a fraction of it. A
 *   table of another layout (more columns) gets the INSERT with named columns.
 * - Events are written at once: `insertEvent` resolves after the row is in the database (the route answers
 *   2xx only then).
 * All writes go through one queue, one statement at a time.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DuckDBInstance, DuckDBTimestampValue, type DuckDBAppender, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { EVENTS_DDL, REQUESTS_DDL, REQUESTS_ITEM_COLUMN_DDL, type EventRow, type RequestLogRow } from './log-schema.js';

/** The fields of a served item kept in the log (the response objects carry more: title, explanation). */
const LOGGED_ITEM_FIELDS = ['item_id', 'score', 'rank'];
/** Named, so that a table with more columns than these still takes the rows. */
const REQUEST_COLUMNS = 'request_id, ts, route, user_id, model_version, variant, k, items, latency_ms, status, item_id';
/** The requests table as REQUESTS_DDL + REQUESTS_ITEM_COLUMN_DDL make it: the appender's column order. */
const APPENDER_LAYOUT = 'request_id VARCHAR,ts TIMESTAMP,route VARCHAR,user_id VARCHAR,model_version VARCHAR,variant VARCHAR,k INTEGER,items JSON,latency_ms DOUBLE,status INTEGER,item_id VARCHAR';

/** The logged items as JSON [{item_id, score, rank}] (the same text as JSON.stringify with those fields, without the replacer's cost). */
export function loggedItemsJson(items: RequestLogRow['items']): string {
  let out = '[';
  for (let j = 0; j < items.length; j++) {
    const it = items[j];
    if (j > 0) out += ',';
    out += `{"item_id":${JSON.stringify(it.item_id)},"score":${JSON.stringify(it.score)},"rank":${JSON.stringify(it.rank)}}`;
  }
  return out + ']';
}

export interface ServingLogsOptions {
  flushRows: number;
  flushMs: number;
  /** Called with a flush error (rows dropped). */
  onError?: (err: unknown, rows: number) => void;
}

export class ServingLogs {
  readonly path: string;
  readonly instance: DuckDBInstance;
  readonly #conn: DuckDBConnection;
  readonly #opts: ServingLogsOptions;
  /** Set when the requests table has APPENDER_LAYOUT; dropped after a failed append (later batches INSERT). */
  #appender: DuckDBAppender | null;
  #pending: RequestLogRow[] = [];
  #timer: NodeJS.Timeout | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Rows written so far (a diagnostic, also exported as a metric). */
  written = 0;
  dropped = 0;

  private constructor(path: string, instance: DuckDBInstance, conn: DuckDBConnection, opts: ServingLogsOptions, appender: DuckDBAppender | null) {
    this.path = path;
    this.instance = instance;
    this.#conn = conn;
    this.#opts = opts;
    this.#appender = appender;
  }

  /** Opens (creating when missing) the log database at `path` (normally `servingLogsPath(lake)`). */
  static async open(path: string, opts: ServingLogsOptions): Promise<ServingLogs> {
    await mkdir(dirname(path), { recursive: true });
    const instance = await DuckDBInstance.create(path, { threads: '1' });
    const conn = await instance.connect();
    await conn.run(REQUESTS_DDL);
    await conn.run(REQUESTS_ITEM_COLUMN_DDL);
    await conn.run(EVENTS_DDL);
    const columns = (
      await conn.runAndReadAll("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'requests' AND table_schema = 'main' ORDER BY ordinal_position")
    ).getRows() as [string, string][];
    const layout = columns.map(([name, type]) => `${name} ${type}`).join(',');
    const appender = layout === APPENDER_LAYOUT ? await conn.createAppender('requests') : null;
    return new ServingLogs(path, instance, conn, opts, appender);
  }

  #enqueue<T>(job: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(job, job);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Buffers one request row (never blocks the request). */
  logRequest(row: RequestLogRow): void {
    if (this.#closed) return;
    this.#pending.push(row);
    if (this.#pending.length >= this.#opts.flushRows) void this.flush();
    else if (!this.#timer) {
      this.#timer = setTimeout(() => void this.flush(), this.#opts.flushMs);
      this.#timer.unref();
    }
  }

  /** Writes the waiting request rows now. */
  flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const rows = this.#pending;
    if (rows.length === 0) return this.#queue.then(() => undefined);
    this.#pending = [];
    return this.#enqueue(async () => {
      try {
        if (this.#appender) this.#append(this.#appender, rows);
        else {
          const params: DuckDBValue[] = [];
          const values: string[] = [];
          for (const r of rows) {
            values.push('(?, CAST(? AS TIMESTAMP), ?, ?, ?, ?, ?, CAST(? AS JSON), ?, ?, ?)');
            params.push(r.request_id, r.ts, r.route, r.user_id, r.model_version, r.variant, r.k, JSON.stringify(r.items, LOGGED_ITEM_FIELDS), r.latency_ms, r.status, r.item_id ?? null);
          }
          await this.#conn.run(`INSERT INTO requests (${REQUEST_COLUMNS}) VALUES ${values.join(', ')}`, params);
        }
        this.written += rows.length;
      } catch (err) {
        if (this.#appender) {
          // A half-appended row leaves the appender unusable: give it up, later batches use the INSERT.
          try {
            this.#appender.closeSync();
          } catch {
            /* already broken */
          }
          this.#appender = null;
        }
        this.dropped += rows.length;
        this.#opts.onError?.(err, rows.length);
      }
    });
  }

  /** Appends the rows and flushes the appender (all or none: a failed flush drops the batch). */
  #append(a: DuckDBAppender, rows: RequestLogRow[]): void {
    const text = (v: string | null | undefined) => (v == null ? a.appendNull() : a.appendVarchar(v));
    for (const r of rows) {
        a.appendVarchar(r.request_id);
        a.appendTimestamp(new DuckDBTimestampValue(BigInt(Date.parse(r.ts)) * 1000n));
        a.appendVarchar(r.route);
        text(r.user_id);
        a.appendVarchar(r.model_version);
        a.appendVarchar(r.variant);
        a.appendInteger(r.k);
        a.appendVarchar(loggedItemsJson(r.items));
        a.appendDouble(r.latency_ms);
        a.appendInteger(r.status);
        text(r.item_id);
        a.endRow();
    }
    a.flushSync();
  }

  /** Inserts one event; resolves when it is stored. */
  insertEvent(e: EventRow): Promise<void> {
    return this.#enqueue(async () => {
      await this.#conn.run('INSERT INTO events VALUES (?, CAST(? AS TIMESTAMP), ?, ?, ?, ?, ?, ?)', [
        e.event_id,
        e.ts,
        e.request_id,
        e.user_id,
        e.item_id,
        e.type,
        e.value,
        e.variant,
      ]);
    });
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
    this.#appender?.closeSync();
    this.#conn.closeSync();
    this.instance.closeSync();
  }
}
