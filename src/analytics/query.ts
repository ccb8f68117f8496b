import { ppError, isPlotPointeError } from '../errors.js';
import type { AnalyticsSession } from './source.js';
import { assertReadOnlySql } from './sql-guard.js';

/**
 * `plotpointe analytics query "SQL"`: one read-only statement (sql-guard.ts) over the session's views
 * (source.ts). Rows come back as JSON-safe objects: timestamps as ISO strings, BIGINTs beyond 2^53 and
 * DECIMALs as strings, nested values as they are. At most `maxRows` rows are returned (`truncated` says
 * when more existed).
 */

export interface QueryResult {
  columns: Array<{ name: string; type: string }>;
  rows: Array<Record<string, unknown>>;
  row_count: number;
  truncated: boolean;
  seconds: number;
}

export interface QueryOptions {
  maxRows?: number;
  /** Only the session's tables may be referenced (the HTTP route). */
  sandbox?: boolean;
}

export async function analyticsQuery(s: AnalyticsSession, sql: string, options: QueryOptions = {}): Promise<QueryResult> {
  const maxRows = Math.max(1, Math.floor(options.maxRows ?? 10_000));
  await assertReadOnlySql(s.db.conn, sql, options.sandbox ? { sandboxTables: new Set(s.tables.map((t) => t.toLowerCase())) } : {});
  const t0 = performance.now();
  const rows: Array<Record<string, unknown>> = [];
  let columns: QueryResult['columns'] = [];
  let truncated = false;
  try {
    const result = await s.db.conn.stream(sql.replace(/;\s*$/, ''));
    const names = result.deduplicatedColumnNames();
    const types = result.columnTypes();
    columns = names.map((name, i) => ({ name, type: types[i].toString() }));
    for await (const chunkRows of result.yieldRowObjectJs()) {
      for (const row of chunkRows) {
        if (rows.length >= maxRows) {
          truncated = true;
          break;
        }
        rows.push(jsonSafe(row) as Record<string, unknown>);
      }
      if (truncated) break;
    }
  } catch (err) {
    if (isPlotPointeError(err)) throw err;
    throw ppError('PP_ANALYTICS_SQL_ERROR', (err as Error).message, err);
  }
  return { columns, rows, row_count: rows.length, truncated, seconds: (performance.now() - t0) / 1000 };
}

/** Values JSON can carry: Date → ISO, unsafe bigint → string, safe bigint → number. */
export function jsonSafe(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = jsonSafe(x);
    return out;
  }
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return v;
}

/** Rows as CSV (RFC 4180: fields with , " or newlines quoted, quotes doubled; nested values as JSON). */
export function toCsv(result: QueryResult): string {
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return '';
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [result.columns.map((c) => cell(c.name)).join(',')];
  for (const row of result.rows) lines.push(result.columns.map((c) => cell(row[c.name])).join(','));
  return lines.join('\n');
}

/** Rows as an aligned text table (cells cut at 40 characters). */
export function toTable(result: QueryResult): string {
  const text = (v: unknown) => {
    const s = v === null || v === undefined ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return s.length > 40 ? s.slice(0, 39) + '…' : s;
  };
  const cols = result.columns.map((c) => c.name);
  const cells = result.rows.map((r) => cols.map((c) => text(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  const out = [line(cols), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  out.push(`(${result.row_count} row${result.row_count === 1 ? '' : 's'}${result.truncated ? ', truncated' : ''})`);
  return out.join('\n');
}
