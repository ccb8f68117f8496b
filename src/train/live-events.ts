/**
 * `plotpointe train --since <time>`: the serving events stored since <time> (`<lake>/logs/serving.duckdb`, table
 * events; what live feedback served from) folded into the split's train part for the next training run.
 *
 *   added = {(u, i) : an event of a type in `types` since <time>, u and i in the split's id maps}
 *           − valid(u) − test(u)          held out: never leaked into train
 *           − train(u)                    already there
 * Each added pair is one train entry (rating NaN, ts of its latest event); cold-item flags are recomputed.
 * Events of users or items the split does not know are counted, not added (a new user needs a new split).
 * The log is attached read-only: a running server holds it (PP_TRAIN_EVENTS_LOCKED; stop it, or copy the file).
 */
import { existsSync } from 'node:fs';
import { ppError } from '../errors.js';
import { openDb, sqlString } from '../lake/duckdb.js';
import { lakePaths, splitFiles } from '../lake/paths.js';
import type { PartCsr, SplitData } from '../graphs/split-data.js';
import { isLockError } from '../tracking/lock-wait.js';

export interface LiveEventsSummary {
  since: string;
  types: string[];
  /** events since <time> of those types */
  events: number;
  /** distinct (user, item) pairs among them the split knows */
  pairs: number;
  added: number;
  /** pairs in the user's valid or test part (not added) */
  held_out: number;
  already_in_train: number;
  /** events whose user or item the split does not know */
  unknown: number;
}

/** One (user, item) pair added to train: split ids, ts of its latest event (unix seconds, NaN unknown). */
export interface AddedPair {
  uid: number;
  iid: number;
  ts: number;
}

/** Parses --since (ISO 8601 date or date-time). */
export function parseSince(since: string): Date {
  const d = new Date(since);
  if (!/^\d{4}-\d{2}-\d{2}/.test(since) || Number.isNaN(d.getTime())) throw ppError('PP_USAGE', `--since: not an ISO 8601 date or date-time: ${since}`);
  return d;
}

/** The split's train part with the stored events since `since` added (see the module comment). */
export async function foldLiveEvents(lake: string, data: SplitData, since: Date, types: string[]): Promise<{ data: SplitData; summary: LiveEventsSummary; added: AddedPair[] }> {
  const { added, summary } = await collectLiveEvents(lake, data, since, types);
  return { data: addTrainPairs(data, added), summary, added };
}

/** The (user, item) pairs the stored events since `since` add to the split's train part, in (user, item) order. */
export async function collectLiveEvents(lake: string, data: SplitData, since: Date, types: string[]): Promise<{ added: AddedPair[]; summary: LiveEventsSummary }> {
  const file = lakePaths(lake).servingLog;
  const summary: LiveEventsSummary = { since: since.toISOString(), types, events: 0, pairs: 0, added: 0, held_out: 0, already_in_train: 0, unknown: 0 };
  if (!existsSync(file) || types.length === 0) return { added: [], summary };
  const db = await openDb();
  let rows: { uid: number | null; iid: number | null; n: bigint | number; ts: bigint | number | null }[];
  try {
    try {
      await db.run(`ATTACH ${sqlString(file)} AS pp_logs (READ_ONLY)`);
    } catch (err) {
      if (isLockError(err)) throw ppError('PP_TRAIN_EVENTS_LOCKED', `${file}: ${(err as Error).message.split('\n')[0]}`, err);
      throw err;
    }
    rows = await db.all(
      `SELECT m.uid, i.iid, count(*) AS n, max(epoch(e.ts)) AS ts FROM pp_logs.events e ` +
        `LEFT JOIN read_parquet(${sqlString(splitFiles(data.dir).userMap)}) m ON m.user_id = e.user_id ` +
        `LEFT JOIN read_parquet(${sqlString(splitFiles(data.dir).itemMap)}) i ON i.item_id = e.item_id ` +
        `WHERE e.ts >= CAST(${sqlString(since.toISOString().replace('T', ' ').replace('Z', ''))} AS TIMESTAMP) AND e.type IN (${types.map(sqlString).join(', ')}) ` +
        `GROUP BY ALL`,
    );
  } finally {
    db.close();
  }
  const added: AddedPair[] = [];
  const inPart = (p: PartCsr, u: number, i: number) => {
    for (let e = p.indptr[u]; e < p.indptr[u + 1]; e++) if (p.indices[e] === i) return true;
    return false;
  };
  for (const r of rows) {
    summary.events += Number(r.n);
    if (r.uid === null || r.iid === null) {
      summary.unknown += Number(r.n);
      continue;
    }
    const u = Number(r.uid);
    const i = Number(r.iid);
    summary.pairs++;
    if (inPart(data.valid, u, i) || inPart(data.test, u, i)) summary.held_out++;
    else if (inPart(data.train, u, i)) summary.already_in_train++;
    else {
      summary.added++;
      added.push({ uid: u, iid: i, ts: r.ts === null ? NaN : Number(r.ts) });
    }
  }
  added.sort((a, b) => a.uid - b.uid || a.iid - b.iid);
  return { added, summary };
}

/** `data` with `added` appended to each user's train entries (rating NaN; cold-item flags recomputed); `data` itself when none. */
export function addTrainPairs(data: SplitData, added: readonly AddedPair[]): SplitData {
  if (added.length === 0) return data;
  const byUser = new Map<number, AddedPair[]>();
  for (const a of added) {
    if (a.uid < 0 || a.uid >= data.numUsers || a.iid < 0 || a.iid >= data.numItems) throw ppError('PP_MODEL_LOAD', `added train pair (${a.uid}, ${a.iid}) outside the split's ${data.numUsers} users × ${data.numItems} items`);
    const list = byUser.get(a.uid) ?? [];
    list.push(a);
    byUser.set(a.uid, list);
  }
  const t = data.train;
  const n = t.indices.length + added.length;
  const indptr = new Int32Array(data.numUsers + 1);
  const indices = new Int32Array(n);
  const ratings = new Float32Array(n);
  const ts = new Float64Array(n);
  let at = 0;
  for (let u = 0; u < data.numUsers; u++) {
    for (let e = t.indptr[u]; e < t.indptr[u + 1]; e++, at++) {
      indices[at] = t.indices[e];
      ratings[at] = t.ratings[e];
      ts[at] = t.ts[e];
    }
    for (const a of (byUser.get(u) ?? []).sort((x, y) => x.iid - y.iid)) {
      indices[at] = a.iid;
      ratings[at] = NaN;
      ts[at++] = a.ts;
    }
    indptr[u + 1] = at;
  }
  const coldItems = new Uint8Array(data.numItems).fill(1);
  for (let e = 0; e < n; e++) coldItems[indices[e]] = 0;
  return { ...data, train: { indptr, indices, ratings, ts }, coldItems };
}
