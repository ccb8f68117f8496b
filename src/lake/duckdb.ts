import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/**
 * Thin helpers over @duckdb/node-api. DuckDB does the columnar work of the lake: Parquet in and out,
 * validation, the data card, splits and analytics SQL.
 */
export interface Db {
  conn: DuckDBConnection;
  /** Runs one or more statements. */
  run(sql: string): Promise<void>;
  /** Runs a query and returns rows as plain objects (BIGINT → number when safe, else bigint). */
  all<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** First row or undefined. */
  one<T = Record<string, unknown>>(sql: string): Promise<T | undefined>;
  close(): void;
}

export interface OpenDbOptions {
  /** Database file; in-memory by default. */
  path?: string;
  /** DuckDB worker threads (default: 2, this project's target machine). */
  threads?: number;
  /** DuckDB memory limit, e.g. "2GB". */
  memoryLimit?: string;
  /** Folder for DuckDB's spill files. */
  tempDirectory?: string;
}

export async function openDb(options: OpenDbOptions = {}): Promise<Db> {
  const config: Record<string, string> = { threads: String(options.threads ?? 2) };
  if (options.memoryLimit) config.memory_limit = options.memoryLimit;
  if (options.tempDirectory) config.temp_directory = options.tempDirectory;
  const instance = await DuckDBInstance.create(options.path ?? ':memory:', config);
  const conn = await instance.connect();
  return dbOnConnection(conn, () => {
    conn.closeSync();
    instance.closeSync();
  });
}

/** A Db over a connection opened elsewhere (e.g. on another process's instance); `close` releases what the caller owns. */
export function dbOnConnection(conn: DuckDBConnection, close: () => void): Db {
  const db: Db = {
    conn,
    async run(sql) {
      await conn.run(sql);
    },
    async all<T>(sql: string) {
      const reader = await conn.runAndReadAll(sql);
      return reader.getRowObjectsJS().map(normaliseRow) as T[];
    },
    async one<T>(sql: string) {
      return (await db.all<T>(sql))[0];
    },
    close,
  };
  return db;
}

function normaliseRow(row: Record<string, unknown>): Record<string, unknown> {
  for (const k of Object.keys(row)) row[k] = normaliseValue(row[k]);
  return row;
}

function normaliseValue(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (Array.isArray(v)) return v.map(normaliseValue);
  return v;
}

/** A SQL string literal: 'it''s'. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A quoted identifier: "my col". */
export function sqlIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}
