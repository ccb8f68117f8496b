import { existsSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ppError } from '../errors.js';
import { dbOnConnection, openDb, sqlIdent, sqlString, type Db } from '../lake/duckdb.js';
import { assertName, datasetPaths, isName, lakePaths, type DatasetPaths } from '../lake/paths.js';
import { isLockError, openWithLockWait } from '../tracking/lock-wait.js';
import { MIGRATIONS } from '../tracking/schema.js';
import { EVENTS_DDL, REQUESTS_DDL } from './log-schema.js';

/**
 * An analytics session: one DuckDB connection on which the lake and the serving logs appear as plain views,
 * so that reports, drift and user queries are all SQL over the same names:
 *
 *   items            staging items (item_id, title, brand, categories, price, …) + staging iid
 *   interactions     staging interactions (user_id, item_id, rating, ts, split)
 *   train            the split's train part with string ids (user_id, item_id, rating, ts)       [split]
 *   split_users      user_id of the split's user map — users the trained model knows            [split]
 *   item_popularity  item_id, train_count (train interactions per catalog item, zeros included) [split]
 *   runs, run_metrics  a copy of the run store (<lake>/runs.duckdb) taken when the session opens
 *   datacard         the data card (one JSON column `json`)
 *   requests, events the serving logs (<lake>/logs/serving.duckdb, schema: src/analytics/log-schema.ts)
 *   recommendations  requests unnested: one row per served item (request_id, ts, route, user_id,
 *                    model_version, variant, status, latency_ms, item_id, score, rank)
 *   drift            the drift summaries (<lake>/logs/drift.parquet) when written
 *
 * Where the logs come from. DuckDB lets one process open a database file read-write, and while the server
 * holds serving.duckdb no other process can open it, not even read-only ("Conflicting lock is held").
 *  - `file` (the CLI, server not running): serving.duckdb is attached READ_ONLY for the session;
 *  - `server` (inside the server): the server hands its own DuckDB instance (`LogsHandle`), the session is a
 *    new connection on it, and the lake views are TEMP views of that connection (nothing is written into
 *    serving.duckdb). The CLI reaches this mode over HTTP (`--server URL`, routes/analytics.ts);
 *  - `none`: no log file yet — empty requests/events with the contract schema.
 * A locked file without `--server` is PP_ANALYTICS_LOGS_LOCKED, naming the holder.
 */

/** The serving logs' tables without `CREATE TABLE IF NOT EXISTS` (schema owned by src/analytics/log-schema.ts). */
export const LOG_TABLES_DDL: Readonly<Record<'requests' | 'events', string>> = {
  requests: REQUESTS_DDL.replace(/^CREATE TABLE IF NOT EXISTS /, ''),
  events: EVENTS_DDL.replace(/^CREATE TABLE IF NOT EXISTS /, ''),
};

/** The server's DuckDB instance holding serving.duckdb (anything that can open a connection on it). */
export interface LogsHandle {
  connect(): Promise<DuckDBConnection>;
}

export interface AnalyticsTarget {
  lake: string;
  name: string;
  /** Split whose train part defines popularity and known users; see `resolveSplit`. */
  split?: string;
}

export interface AnalyticsSession {
  db: Db;
  lake: string;
  name: string;
  split: string | null;
  logs: 'file' | 'server' | 'none';
  /** Names of the views/tables the session defines (lower case). */
  tables: string[];
  /** Things a reader should know (no split, no logs, …). */
  notes: string[];
  close(): void;
}

export interface OpenAnalyticsOptions {
  /** Inside the server: its DuckDB instance (serving.duckdb as the default catalog). */
  logs?: LogsHandle;
  threads?: number;
}

/** Opens a session; see the module comment for the three log modes. */
export async function openAnalytics(target: AnalyticsTarget, options: OpenAnalyticsOptions = {}): Promise<AnalyticsSession> {
  const paths = datasetPaths(target.lake, target.name);
  if (!existsSync(paths.stagingFiles.items)) {
    throw ppError('PP_LAKE_NOT_FOUND', `${paths.staging} (ingest the dataset first: plotpointe data ingest)`);
  }
  let db: Db;
  let mode: AnalyticsSession['logs'];
  const notes: string[] = [];
  if (options.logs) {
    const conn = await options.logs.connect();
    db = dbOnConnection(conn, () => conn.closeSync());
    mode = 'server';
  } else {
    db = await openDb({ threads: options.threads });
    const file = lakePaths(paths.lake).servingLog;
    mode = existsSync(file) ? 'file' : 'none';
    if (mode === 'file') {
      try {
        await db.run(`ATTACH ${sqlString(file)} AS pp_logs (READ_ONLY)`);
      } catch (err) {
        db.close();
        if (isLockError(err)) {
          const holder = /held in (.+?\(PID \d+\))/.exec((err as Error).message)?.[1] ?? 'another process';
          throw ppError('PP_ANALYTICS_LOGS_LOCKED', `${file} is held by ${holder}`, err);
        }
        throw ppError('PP_ANALYTICS_UNAVAILABLE', `cannot open ${file}: ${(err as Error).message}`, err);
      }
    }
  }
  const session: AnalyticsSession = { db, lake: paths.lake, name: target.name, split: null, logs: mode, tables: [], notes, close: () => db.close() };
  try {
    await defineViews(session, target, paths);
  } catch (err) {
    db.close();
    throw err;
  }
  return session;
}

async function defineViews(s: AnalyticsSession, target: AnalyticsTarget, paths: DatasetPaths): Promise<void> {
  const f = paths.stagingFiles;
  const pq = (file: string) => `read_parquet(${sqlString(file)})`;
  const view = async (name: string, sql: string) => {
    await s.db.run(`CREATE OR REPLACE TEMP VIEW ${sqlIdent(name)} AS ${sql}`);
    s.tables.push(name);
  };
  await view(
    'items',
    `SELECT i.*, m.iid FROM ${pq(f.items)} i LEFT JOIN ${pq(f.itemMap)} m USING (item_id)`,
  );
  await view('interactions', `SELECT * FROM ${pq(f.interactions)}`);
  const card = f.datacardJson;
  if (existsSync(card)) await view('datacard', `SELECT json FROM read_json_objects(${sqlString(card)})`);

  // Logs.
  if (s.logs === 'file') {
    for (const t of ['requests', 'events'] as const) await view(t, `SELECT * FROM pp_logs.main.${t}`);
  } else if (s.logs === 'none') {
    for (const t of ['requests', 'events'] as const) {
      await s.db.run(`CREATE OR REPLACE TEMP TABLE ${LOG_TABLES_DDL[t]}`);
      s.tables.push(t);
    }
    s.notes.push(`no serving logs at ${lakePaths(s.lake).servingLog}: requests and events are empty`);
  } else {
    s.tables.push('requests', 'events'); // the server's own tables
  }
  await view(
    'recommendations',
    `SELECT request_id, ts, route, user_id, model_version, variant, status, latency_ms,
            unnest(from_json(items, '[{"item_id":"VARCHAR","score":"DOUBLE","rank":"INTEGER"}]'), recursive := true)
       FROM requests WHERE items IS NOT NULL`,
  );
  const drift = lakePaths(s.lake).drift;
  if (existsSync(drift)) await view('drift', `SELECT * FROM ${pq(drift)}`);

  await copyRunStore(s);

  s.split = await resolveSplit(s, target, paths);
  if (s.split) {
    const sp = paths.split(s.split);
    await view(
      'train',
      `SELECT u.user_id, i.item_id, t.rating, t.ts FROM ${pq(sp.part('train'))} t
         JOIN ${pq(sp.userMap)} u USING (uid) JOIN ${pq(sp.itemMap)} i USING (iid)`,
    );
    await view('split_users', `SELECT user_id FROM ${pq(sp.userMap)}`);
    await view(
      'item_popularity',
      `SELECT i.item_id, coalesce(p.n, 0)::BIGINT AS train_count FROM (SELECT DISTINCT item_id FROM items) i
         LEFT JOIN (SELECT item_id, count(*) AS n FROM train GROUP BY item_id) p USING (item_id)`,
    );
  } else {
    s.notes.push('no split chosen (pass --split): popularity bias and unknown-user shares are not computed');
  }
}

/** Copies runs and run_metrics out of the run store (a short read-only attach, waiting out its writers). */
async function copyRunStore(s: AnalyticsSession): Promise<void> {
  const file = lakePaths(s.lake).runStore;
  const tables = ['runs', 'run_metrics'];
  if (existsSync(file)) {
    const alias = `pp_runs_${randomBytes(4).toString('hex')}`;
    try {
      await openWithLockWait(file, () => s.db.run(`ATTACH ${sqlString(file)} AS ${alias} (READ_ONLY)`), { timeoutMs: 5000, backoffMs: 25, maxBackoffMs: 250 });
      try {
        for (const t of tables) await s.db.run(`CREATE OR REPLACE TEMP TABLE ${t} AS SELECT * FROM ${alias}.main.${t}`);
        s.tables.push(...tables);
        return;
      } finally {
        await s.db.run(`DETACH ${alias}`);
      }
    } catch (err) {
      s.notes.push(`run store not read (${(err as Error).message.split('\n')[0]}): runs are empty`);
    }
  }
  for (const sql of MIGRATIONS[0]) {
    const m = /^CREATE TABLE (\w+)/.exec(sql);
    if (m && tables.includes(m[1])) await s.db.run(sql.replace(/^CREATE TABLE/, 'CREATE OR REPLACE TEMP TABLE'));
  }
  s.tables.push(...tables);
}

/** Splits of a dataset (folders under staging/<name>/splits/ with a train part). */
export function listSplits(paths: DatasetPaths): string[] {
  const dir = paths.splits;
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => (d.isDirectory() || d.isSymbolicLink()) && isName(d.name) && existsSync(paths.split(d.name).part('train')))
    .map((d) => d.name)
    .sort();
}

/**
 * The split of the session: the one asked for; else the split of the run most requests were served by
 * (requests.model_version = a run id in the run store); else the only split; else `default` when present;
 * else none.
 */
async function resolveSplit(s: AnalyticsSession, target: AnalyticsTarget, paths: DatasetPaths): Promise<string | null> {
  const splits = listSplits(paths);
  if (target.split) {
    assertName('split', target.split);
    if (!splits.includes(target.split)) throw ppError('PP_LAKE_NOT_FOUND', `split ${target.split} of ${target.name} (have: ${splits.join(', ') || 'none'})`);
    return target.split;
  }
  const served = await s.db.one<{ split: string }>(
    `SELECT r.split FROM (SELECT model_version, count(*) AS n FROM requests GROUP BY 1) q JOIN runs r ON r.id = q.model_version
      WHERE r.dataset = ${sqlString(s.name)} ORDER BY q.n DESC LIMIT 1`,
  );
  if (served && splits.includes(served.split)) return served.split;
  if (splits.length === 1) return splits[0];
  if (splits.includes('default')) return 'default';
  return null;
}
