import { StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { ppError } from '../errors.js';

/**
 * The read-only gate of `analytics query`. A query is accepted only when all of these hold:
 *  1. its first keyword (after comments) is SELECT, WITH, FROM (DuckDB's FROM-first SELECT), VALUES,
 *     DESCRIBE, SHOW, SUMMARIZE or `PRAGMA table_info|show_tables` — everything else (INSERT, COPY, ATTACH,
 *     SET, CREATE, other PRAGMAs, …) is refused before DuckDB sees it;
 *  2. DuckDB's own parser finds exactly one statement in it;
 *  3. (sandbox, below, checked here — before binding, which already touches files)
 *  4. DuckDB's planner types that statement as SELECT (DESCRIBE/SHOW/PRAGMA table_info are rewritten to
 *     SELECTs), so `WITH x AS (…) INSERT …` is caught even though it starts with WITH.
 * Refusals throw PP_ANALYTICS_SQL_REJECTED; a query that passes the gate but fails to bind/run is
 * PP_ANALYTICS_SQL_ERROR.
 *
 * Sandbox (the HTTP route). A SELECT can still read arbitrary files (`FROM read_text('/etc/passwd')`,
 * `FROM '/x.csv'`). With `sandboxTables`, the statement's syntax tree (DuckDB's `json_serialize_sql`) is
 * walked and every table reference must be one of those tables/views or a CTE of the query, in the default
 * or temp catalog; table functions are limited to `SANDBOX_TABLE_FUNCTIONS` (unnest, range,
 * generate_series). DESCRIBE/SHOW/SUMMARIZE/PRAGMA take only a listed table name there.
 */

export const SANDBOX_TABLE_FUNCTIONS: ReadonlySet<string> = new Set(['unnest', 'range', 'generate_series']);

const LEADING = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;

/** The SQL without leading whitespace and comments. */
export function stripLeadingComments(sql: string): string {
  return sql.replace(LEADING, '');
}

/** The statement kinds the gate admits, by first keyword. */
export function firstKeywordAllowed(sql: string): boolean {
  const body = stripLeadingComments(sql);
  if (/^PRAGMA\b/i.test(body)) return /^PRAGMA\s+(table_info\s*\(|show_tables\b)/i.test(body);
  return /^(SELECT|WITH|FROM|VALUES|DESCRIBE|SHOW|SUMMARIZE)\b/i.test(body) || /^\(/.test(body);
}

export interface GuardOptions {
  /** Restrict table references to these names (lower case) — the HTTP sandbox. */
  sandboxTables?: ReadonlySet<string>;
}

/** Checks `sql` against the gate on `conn` (which must already hold the analytics views); throws on refusal. */
export async function assertReadOnlySql(conn: DuckDBConnection, sql: string, options: GuardOptions = {}): Promise<void> {
  if (!sql.trim()) throw ppError('PP_ANALYTICS_SQL_REJECTED', 'the query is empty');
  if (!firstKeywordAllowed(sql)) {
    const word = /^\S+(\s+\S+)?/.exec(stripLeadingComments(sql))?.[0] ?? '';
    throw ppError('PP_ANALYTICS_SQL_REJECTED', `"${word.slice(0, 40)}" is not a read-only statement`);
  }
  let count: number;
  let extracted;
  try {
    extracted = await conn.extractStatements(sql);
    count = extracted.count;
  } catch (err) {
    throw ppError('PP_ANALYTICS_SQL_ERROR', (err as Error).message, err);
  }
  if (count !== 1) throw ppError('PP_ANALYTICS_SQL_REJECTED', `one statement at a time (found ${count})`);
  // Before preparing: binding already touches files (read_parquet globs its pattern).
  if (options.sandboxTables) await assertSandboxed(conn, sql, options.sandboxTables);
  let type: StatementType;
  try {
    type = (await extracted.prepare(0)).statementType;
  } catch (err) {
    throw ppError('PP_ANALYTICS_SQL_ERROR', (err as Error).message, err);
  }
  if (type !== StatementType.SELECT) {
    throw ppError('PP_ANALYTICS_SQL_REJECTED', `a ${StatementType[type] ?? 'non-SELECT'} statement is not read-only`);
  }
}

async function assertSandboxed(conn: DuckDBConnection, sql: string, tables: ReadonlySet<string>): Promise<void> {
  const body = stripLeadingComments(sql).replace(/;\s*$/, '').trim();
  const ident = '"?([A-Za-z_][A-Za-z0-9_]*)"?';
  const meta =
    new RegExp(`^(?:DESCRIBE|SHOW|SUMMARIZE)\\s+${ident}$`, 'i').exec(body) ??
    new RegExp(`^PRAGMA\\s+table_info\\s*\\(\\s*'([A-Za-z_][A-Za-z0-9_]*)'\\s*\\)$`, 'i').exec(body);
  if (/^SHOW\s+(ALL\s+)?TABLES$/i.test(body) || /^PRAGMA\s+show_tables$/i.test(body)) return;
  if (/^(DESCRIBE|SHOW|SUMMARIZE|PRAGMA)\b/i.test(body)) {
    if (meta && tables.has(meta[1].toLowerCase())) return;
    throw ppError('PP_ANALYTICS_SQL_REJECTED', `here DESCRIBE/SHOW/SUMMARIZE/PRAGMA table_info take one of: ${[...tables].sort().join(', ')}`);
  }
  const reader = await conn.runAndReadAll(`SELECT json_serialize_sql(${"'" + sql.replace(/'/g, "''") + "'"})::VARCHAR AS tree`);
  const tree = JSON.parse(String(reader.getRowObjectsJS()[0]?.tree ?? '{}')) as { error?: boolean; error_message?: string };
  if (tree.error) throw ppError('PP_ANALYTICS_SQL_REJECTED', `cannot check the query: ${tree.error_message ?? 'unsupported statement'}`);
  const ctes = new Set<string>();
  const refs: Array<{ kind: 'table' | 'function'; name: string; catalog?: string; schema?: string }> = [];
  walk(tree, (node) => {
    const cteMap = node.cte_map as { map?: Array<{ key?: string }> } | undefined;
    for (const entry of cteMap?.map ?? []) if (typeof entry.key === 'string') ctes.add(entry.key.toLowerCase());
    if (node.type === 'BASE_TABLE') {
      refs.push({ kind: 'table', name: String(node.table_name), catalog: String(node.catalog_name ?? ''), schema: String(node.schema_name ?? '') });
    } else if (node.type === 'TABLE_FUNCTION') {
      const fn = node.function as { function_name?: string } | undefined;
      refs.push({ kind: 'function', name: String(fn?.function_name ?? '') });
    }
  });
  for (const ref of refs) {
    const name = ref.name.toLowerCase();
    if (ref.kind === 'function') {
      if (!SANDBOX_TABLE_FUNCTIONS.has(name)) throw ppError('PP_ANALYTICS_SQL_REJECTED', `the table function ${ref.name}() is not allowed here`);
      continue;
    }
    const qualifiedOk = (ref.catalog === '' || ref.catalog === 'temp') && (ref.schema === '' || ref.schema === 'main');
    if (!qualifiedOk || !(tables.has(name) || ctes.has(name))) {
      throw ppError('PP_ANALYTICS_SQL_REJECTED', `"${ref.name}" is not an analytics table here (use: ${[...tables].sort().join(', ')})`);
    }
  }
}

function walk(value: unknown, visit: (node: Record<string, unknown>) => void): void {
  if (Array.isArray(value)) {
    for (const v of value) walk(v, visit);
  } else if (value !== null && typeof value === 'object') {
    visit(value as Record<string, unknown>);
    for (const v of Object.values(value)) walk(v, visit);
  }
}
