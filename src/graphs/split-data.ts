import { readFile } from 'node:fs/promises';
import { ppError } from '../errors.js';
import { openDb, sqlString } from '../lake/duckdb.js';
import { splitFiles, type SplitFiles, type SplitPart } from '../lake/paths.js';
import { csrFromPairs, type CsrPattern } from '../core/csr-pattern.js';

/** One part of a split as per-user CSR rows, with the rating of each entry (NaN where implicit). */
export interface PartCsr extends CsrPattern {
  /** rating of indices[e], NaN for implicit feedback. */
  readonly ratings: Float32Array;
  /** unix seconds of indices[e], NaN where unknown. */
  readonly ts: Float64Array;
}

/** A split loaded into memory: the input every model and evaluator takes. */
export interface SplitData {
  dir: string;
  numUsers: number;
  numItems: number;
  train: PartCsr;
  valid: PartCsr;
  test: PartCsr;
  /** 1 where the item has no train interaction. */
  coldItems: Uint8Array;
  /** The split's manifest (strategy, counts, split_hash …). */
  manifest: Record<string, unknown> & { split_hash: string };
}

/** Rows of a part file, sorted by (uid, ts, ingest order) as the split wrote them. */
async function loadPart(db: Awaited<ReturnType<typeof openDb>>, files: SplitFiles, part: SplitPart, numUsers: number): Promise<PartCsr> {
  const reader = await db.conn.runAndReadAll(
    `SELECT uid, iid, rating, ts FROM read_parquet(${sqlString(files.part(part))})`,
  );
  const columns = reader.getColumnsJS();
  // An empty part has no chunks, hence no columns.
  const [uids, iids, ratings, ts] = (columns.length ? columns : [[], [], [], []]) as [
    number[],
    number[],
    (number | null)[],
    (bigint | number | null)[],
  ];
  const csr = csrFromPairs(numUsers, uids, iids);
  // csrFromPairs is a stable counting sort by row: recompute the same permutation for the side arrays.
  const fill = csr.indptr.slice(0, numUsers);
  const r = new Float32Array(uids.length);
  const t = new Float64Array(uids.length);
  for (let e = 0; e < uids.length; e++) {
    const at = fill[uids[e]]++;
    r[at] = ratings[e] ?? NaN;
    t[at] = ts[e] === null ? NaN : Number(ts[e]);
  }
  return { indptr: csr.indptr, indices: csr.indices, ratings: r, ts: t };
}

/** Loads a split (`dataset.split(s)`, or a bare split folder) into memory. */
export async function loadSplit(split: SplitFiles | string): Promise<SplitData> {
  const files = typeof split === 'string' ? splitFiles(split) : split;
  const dir = files.dir;
  let manifest: SplitData['manifest'];
  try {
    manifest = JSON.parse(await readFile(files.manifest, 'utf8'));
  } catch (err) {
    throw ppError('PP_LAKE_NOT_FOUND', `no split in ${dir}; run plotpointe data split first`, err);
  }
  const db = await openDb();
  try {
    const sizes = await db.one<{ users: number; items: number }>(`SELECT
      (SELECT count(*) FROM read_parquet(${sqlString(files.userMap)})) AS users,
      (SELECT count(*) FROM read_parquet(${sqlString(files.itemMap)})) AS items`);
    const numUsers = Number(sizes!.users);
    const numItems = Number(sizes!.items);
    const [train, valid, test] = [
      await loadPart(db, files, 'train', numUsers),
      await loadPart(db, files, 'valid', numUsers),
      await loadPart(db, files, 'test', numUsers),
    ];
    const coldItems = new Uint8Array(numItems).fill(1);
    for (let e = 0; e < train.indices.length; e++) coldItems[train.indices[e]] = 0;
    return { dir, numUsers, numItems, train, valid, test, coldItems, manifest };
  } finally {
    db.close();
  }
}
