/**
 * Test helpers for the split engine: build a small staging folder with DuckDB, read a split back, and check
 * the invariants every split must satisfy. Used by the `*.test.ts` files of this folder only.
 */
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { isPlotPointeError, type ErrorCode } from '../../errors.js';
import { openDb, sqlString } from '../../lake/duckdb.js';
import { datasetPaths, splitFiles, stagingFiles, type SplitPart } from '../../lake/paths.js';
import type { SplitManifest } from './manifest.js';
import { roundShare } from './sql.js';

export interface FixtureRow {
  user_id: string;
  item_id: string;
  rating?: number | null;
  ts?: number | null;
  split?: 'train' | 'valid' | 'test' | null;
  /** Defaults to the row's index. */
  ord?: number;
}

export interface Lake {
  root: string;
  stagingDir: string;
  /** `<staging>/splits`: where the splits of the fixture dataset go. */
  splitsDir: string;
  /** `<staging>/splits/<name>`. */
  splitDir(name?: string): string;
  cleanup(): Promise<void>;
}

/** A temp lake with `staging/<name>/` holding interactions.parquet (from rows), items.parquet and manifest.json. */
export async function makeStaging(rows: readonly FixtureRow[], name = 'fixture'): Promise<Lake> {
  const root = await mkdtemp(join(tmpdir(), 'pp-split-'));
  const stagingDir = datasetPaths(root, name).staging;
  await mkdir(stagingDir, { recursive: true });
  const json = join(root, 'rows.ndjson');
  await writeFile(
    json,
    rows
      .map((r, i) =>
        JSON.stringify({ user_id: r.user_id, item_id: r.item_id, rating: r.rating ?? null, ts: r.ts ?? null, split: r.split ?? null, ord: r.ord ?? i }),
      )
      .join('\n') + '\n',
  );
  await writeStagingFrom(
    stagingDir,
    `SELECT user_id, item_id, rating, ts, split, ord, 'fixture.jsonl' AS src_file, ord + 1 AS src_line
     FROM read_json(${sqlString(json)}, format = 'newline_delimited',
       columns = {user_id: 'VARCHAR', item_id: 'VARCHAR', rating: 'DOUBLE', ts: 'BIGINT', split: 'VARCHAR', ord: 'BIGINT'})`,
  );
  await rm(json);
  return lake(root, name);
}

/** Like makeStaging, from a SELECT giving user_id, item_id, rating, ts, split, ord (for larger synthetic data). */
export async function makeStagingFromSql(select: string, name = 'fixture'): Promise<Lake> {
  const root = await mkdtemp(join(tmpdir(), 'pp-split-'));
  const stagingDir = datasetPaths(root, name).staging;
  await mkdir(stagingDir, { recursive: true });
  await writeStagingFrom(
    stagingDir,
    `SELECT CAST(user_id AS VARCHAR) AS user_id, CAST(item_id AS VARCHAR) AS item_id, CAST(rating AS DOUBLE) AS rating,
            CAST(ts AS BIGINT) AS ts, CAST(split AS VARCHAR) AS split, CAST(ord AS BIGINT) AS ord,
            'synthetic' AS src_file, CAST(ord AS BIGINT) + 1 AS src_line
     FROM (${select})`,
  );
  return lake(root, name);
}

function lake(root: string, dataset: string): Lake {
  const p = datasetPaths(root, dataset);
  return {
    root,
    stagingDir: p.staging,
    splitsDir: p.splits,
    splitDir: (name = 'default') => p.split(name).dir,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

async function writeStagingFrom(stagingDir: string, select: string): Promise<void> {
  const f = stagingFiles(stagingDir);
  const db = await openDb();
  try {
    await db.run(`COPY (${select} ORDER BY ord) TO ${sqlString(f.interactions)} (FORMAT parquet)`);
    await db.run(`COPY (SELECT DISTINCT item_id, NULL::VARCHAR AS title FROM read_parquet(${sqlString(f.interactions)}) ORDER BY item_id)
      TO ${sqlString(f.items)} (FORMAT parquet)`);
  } finally {
    db.close();
  }
  await writeFile(f.manifest, JSON.stringify({ name: 'fixture' }) + '\n');
}

/** An interaction of a split part, with the original ids joined back. */
export interface SplitRow {
  uid: number;
  iid: number;
  user_id: string;
  item_id: string;
  rating: number | null;
  ts: number | null;
  cold?: boolean;
}

export interface ReadSplit {
  train: SplitRow[];
  valid: SplitRow[];
  test: SplitRow[];
  userMap: { user_id: string; uid: number }[];
  itemMap: { item_id: string; iid: number; cold: boolean }[];
  manifest: SplitManifest;
  /** Column name → DuckDB type, per file. */
  schema: Record<string, Record<string, string>>;
}

export async function readSplit(dir: string): Promise<ReadSplit> {
  const db = await openDb();
  try {
    const files = splitFiles(dir);
    const p = (path: string) => sqlString(path);
    const schema: Record<string, Record<string, string>> = {};
    const tables = { train: files.part('train'), valid: files.part('valid'), test: files.part('test'), user_map: files.userMap, item_map: files.itemMap };
    for (const [f, path] of Object.entries(tables)) {
      const cols = await db.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet(${p(path)})`);
      schema[f] = Object.fromEntries(cols.map((c) => [c.column_name, c.column_type]));
    }
    const part = async (name: SplitPart) =>
      db.all<SplitRow>(`SELECT t.*, u.user_id, i.item_id FROM read_parquet(${p(files.part(name))}) t
        JOIN read_parquet(${p(files.userMap)}) u USING (uid) JOIN read_parquet(${p(files.itemMap)}) i USING (iid)
        ORDER BY uid, iid`);
    return {
      train: await part('train'),
      valid: await part('valid'),
      test: await part('test'),
      userMap: await db.all(`SELECT * FROM read_parquet(${p(files.userMap)}) ORDER BY uid`),
      itemMap: await db.all(`SELECT * FROM read_parquet(${p(files.itemMap)}) ORDER BY iid`),
      manifest: JSON.parse(await readFile(files.manifest, 'utf8')) as SplitManifest,
      schema,
    };
  } finally {
    db.close();
  }
}

export const pairKey = (r: { user_id: string; item_id: string }) => `${r.user_id}\u0000${r.item_id}`;

/** Groups rows by user_id. */
export function byUser<T extends { user_id: string }>(rows: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) {
    const list = m.get(r.user_id);
    if (list) list.push(r);
    else m.set(r.user_id, [r]);
  }
  return m;
}

/**
 * Invariants of every split: the parts partition `expected` (same pairs, ratings and timestamps, no pair
 * twice), the maps are dense 0..n-1 over exactly the users/items present, the manifest counts match, and
 * item_map.cold is "no train interaction".
 */
export function checkPartition(s: ReadSplit, expected: readonly FixtureRow[]): void {
  const all = [...s.train, ...s.valid, ...s.test];
  const seen = new Map<string, SplitRow>();
  for (const r of all) {
    assert.ok(!seen.has(pairKey(r)), `pair ${r.user_id}/${r.item_id} appears in two parts`);
    seen.set(pairKey(r), r);
  }
  assert.equal(all.length, expected.length, 'the parts hold exactly the filtered interactions');
  for (const e of expected) {
    const r = seen.get(pairKey(e));
    assert.ok(r, `interaction ${e.user_id}/${e.item_id} is missing from the split`);
    assert.equal(r.rating, e.rating ?? null);
    assert.equal(r.ts, e.ts ?? null);
  }
  const users = new Set(expected.map((e) => e.user_id));
  const items = new Set(expected.map((e) => e.item_id));
  assert.deepEqual(s.userMap.map((u) => u.uid), [...Array(users.size).keys()], 'uids are dense 0..n-1');
  assert.deepEqual(s.itemMap.map((i) => i.iid), [...Array(items.size).keys()], 'iids are dense 0..n-1');
  assert.deepEqual(new Set(s.userMap.map((u) => u.user_id)), users);
  assert.deepEqual(new Set(s.itemMap.map((i) => i.item_id)), items);
  const trainItems = new Set(s.train.map((r) => r.item_id));
  for (const i of s.itemMap) assert.equal(i.cold, !trainItems.has(i.item_id), `item ${i.item_id}: cold = no train interaction`);
  const c = s.manifest.counts;
  assert.deepEqual(
    { users: c.users, items: c.items, ...c.interactions },
    { users: users.size, items: items.size, train: s.train.length, valid: s.valid.length, test: s.test.length, total: expected.length },
  );
}

/** Users present in valid or test without any train interaction. */
export function usersWithoutTrain(s: ReadSplit): Set<string> {
  const train = new Set(s.train.map((r) => r.user_id));
  return new Set([...s.valid, ...s.test].map((r) => r.user_id).filter((u) => !train.has(u)));
}

/**
 * A synthetic data set in SQL: `users` users, user u has 1 + (u mod maxPerUser) interactions with distinct
 * items out of `items` (item (7u + 13j) mod items, so `items` must be coprime with 13), ratings 1..5,
 * timestamps spread over time, and a given split (each user's last ~20% by j in test).
 */
export function syntheticSql(users = 200, maxPerUser = 30, items = 150, ids: 'text' | 'numeric' = 'text'): string {
  const u = ids === 'text' ? `'u' || u` : `CAST(u * 3 + 5 AS VARCHAR)`;
  const i = ids === 'text' ? `'i' || ((u * 7 + j * 13) % ${items})` : `CAST(((u * 7 + j * 13) % ${items}) * 2 + 1 AS VARCHAR)`;
  return `SELECT ${u} AS user_id, ${i} AS item_id, CAST(1 + (u * j + u) % 5 AS DOUBLE) AS rating,
      1600000000 + (j * 86400) + (u * 977 % 86400) AS ts,
      CASE WHEN j >= n - floor(n / 5) AND n >= 5 THEN 'test' ELSE 'train' END AS split,
      u * 1000 + j AS ord
    FROM (SELECT u, 1 + (u % ${maxPerUser}) AS n FROM range(${users}) r(u)) us, LATERAL (SELECT j FROM range(n) s(j))`;
}

/** The rows of a staging folder's interactions.parquet as fixture rows. */
export async function readStagingRows(stagingDir: string): Promise<FixtureRow[]> {
  const db = await openDb();
  try {
    return await db.all<FixtureRow>(
      `SELECT user_id, item_id, rating, ts, split, ord FROM read_parquet(${sqlString(stagingFiles(stagingDir).interactions)}) ORDER BY ord`,
    );
  } finally {
    db.close();
  }
}

/** Expected per-user part sizes of a ratio split (the documented rule, via the same rounding). */
export function expectedRatioSizes(n: number, ratios: readonly [number, number, number]): [number, number, number] {
  const trainEnd = Math.max(1, roundShare(n, ratios[0]));
  const validEnd = Math.max(trainEnd, roundShare(n, ratios[0] + ratios[1]));
  return [trainEnd, validEnd - trainEnd, n - validEnd];
}

/** Asserts that `promise` rejects with a PlotPointeError of `code` (and a message matching `message`). */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isPlotPointeError(err), `expected a PlotPointeError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** Whether a path exists. */
export function exists(path: string): boolean {
  return existsSync(path);
}
