import { readFile, stat } from 'node:fs/promises';
import { basename, relative, resolve } from 'node:path';
import { silentProgress, type Progress } from '../../core/progress.js';
import { ppError } from '../../errors.js';
import { openDb, sqlString, type Db } from '../../lake/duckdb.js';
import { buildIdMaps } from './idmap.js';
import { kcoreFilter } from './kcore.js';
import {
  SPLIT_MANIFEST_VERSION,
  splitHash,
  summaryFromManifest,
  temporalDetails,
  writeManifest,
  type PartCounts,
  type SplitManifest,
  type SplitSummary,
} from './manifest.js';
import { resolveSplitOptions, toSplitOptions, type SplitOptions } from './options.js';
import { writeSplitFiles } from './output.js';
import { writeDirAtomically } from '../../lake/atomic.js';
import { sha256File } from '../../lake/hash.js';
import { countRows, PART_NAMES, replaceTable, type PartName } from './sql.js';
import { assignParts, checkSource } from './strategies.js';
import { STAGING_FILES, stagingFiles } from '../../lake/paths.js';

/**
 * The engine of `plotpointe data split`: reads a staged dataset (`<lake>/staging/<name>/interactions.parquet`),
 * filters it (rating threshold, then iterative k-core), splits it by a strategy and writes the split folder:
 *
 *   train.parquet, valid.parquet, test.parquet   uid INTEGER, iid INTEGER, rating DOUBLE, ts BIGINT
 *                                                (+ cold BOOLEAN in valid/test for cold-item)
 *   user_map.parquet                             user_id VARCHAR, uid INTEGER
 *   item_map.parquet                             item_id VARCHAR, iid INTEGER, cold BOOLEAN
 *   manifest.json                                options, counts, source sha256, split_hash, timings
 *
 * All the work is DuckDB SQL; random choices use seeded MD5 keys, so a split is a pure function of the
 * staged data and the options. The folder is written to a temporary sibling and renamed at the end.
 *
 * Guarantees: the parts partition the filtered data (no row lost or duplicated, and since staging holds one
 * row per (user, item) pair, no pair is in two parts); with ratio, loo and given (carve-out) every user
 * keeps at least one train interaction. By design, two strategies let valid/test contain users or items
 * without any train interaction:
 * - temporal: users and items first seen after the train cut are kept in valid/test. They get dense ids
 *   like everyone else, are counted in `users`/`items`; such items are flagged `cold` in item_map and
 *   counted in `cold_items` and `cold_rows`, such users in `users_without_train`.
 * - cold-item: held-out items have no train interaction (that is the point), and a user whose
 *   interactions are all with held-out items has none either (`users_without_train`).
 * With given, the source decides: users without train rows in the source are kept and counted.
 *
 * Errors: PP_SPLIT_INVALID (bad options, a source the strategy cannot split),
 * PP_LAKE_NOT_FOUND (no staging folder or interactions.parquet), PP_SPLIT_EMPTY (the filters leave
 * nothing, or a part the strategy must fill is empty), PP_INPUT_UNREADABLE (a staging file DuckDB cannot read).
 */
export interface CreateSplitOptions extends SplitOptions {
  /** The staged dataset: `<lake>/staging/<name>`, or the dataset version folder it resolves to. */
  stagingDir: string;
  /** The path the manifest records as `source.staging_dir`: the dataset's stable path, so that two runs over the
   *  same data write the same manifest whatever version folder they read (default: stagingDir). */
  stagingLabel?: string;
  /** The split folder, e.g. `<lake>/staging/<name>/splits/<splitName>`; replaced only on success. */
  outDir: string;
  /** Ticks once per step (read, filter, k-core, split, ids, write); the caller owns it and stops it. */
  progress?: Progress;
  /** DuckDB settings (see `openDb`). */
  threads?: number;
  memoryLimit?: string;
  tempDirectory?: string;
}

const ENGINE_KEYS = ['stagingDir', 'stagingLabel', 'outDir', 'progress', 'threads', 'memoryLimit', 'tempDirectory'] as const;
const REQUIRED_COLUMNS = ['user_id', 'item_id', 'rating', 'ts', 'split', 'ord'];
const STEPS = ['read', 'filter', 'k-core', 'split', 'ids', 'write'] as const;

export async function createSplit(options: CreateSplitOptions): Promise<SplitSummary> {
  const started = performance.now();
  const opts = resolveSplitOptions(options, ENGINE_KEYS);
  if (typeof options.stagingDir !== 'string' || options.stagingDir === '') throw ppError('PP_SPLIT_INVALID', 'stagingDir is required');
  if (typeof options.outDir !== 'string' || options.outDir === '') throw ppError('PP_SPLIT_INVALID', 'outDir is required');
  const stagingDir = resolve(options.stagingDir);
  const stagingLabel = resolve(options.stagingLabel ?? options.stagingDir);
  const outDir = resolve(options.outDir);
  const rel = relative(outDir, stagingDir);
  if (rel === '' || !rel.startsWith('..')) {
    throw ppError('PP_SPLIT_INVALID', `the split folder ${outDir} would replace the staging folder ${stagingDir}`);
  }
  const interactionsPath = stagingFiles(stagingDir).interactions;
  if (!(await isDir(stagingDir))) throw ppError('PP_LAKE_NOT_FOUND', `no staging folder ${stagingDir}`);
  if (!(await isFile(interactionsPath))) throw ppError('PP_LAKE_NOT_FOUND', `${interactionsPath} is missing`);
  if ((await stat(outDir).catch(() => null))?.isDirectory() === false) {
    throw ppError('PP_SPLIT_INVALID', `${outDir} exists and is not a folder`);
  }

  const progress = options.progress ?? silentProgress;
  progress.setTotal(STEPS.length);
  const step = (name: (typeof STEPS)[number]) => progress.tick(1, { step: name });
  const sourceSha = sha256File(interactionsPath);
  sourceSha.catch(() => {}); // awaited below; avoid an unhandled rejection if we fail first
  const createdAt = new Date();

  const db = await openDb({ threads: options.threads, memoryLimit: options.memoryLimit, tempDirectory: options.tempDirectory });
  try {
    // 1. Read the staged interactions.
    await loadInteractions(db, interactionsPath, 'f');
    const rowsInput = await countRows(db, 'f');
    if (rowsInput === 0) throw ppError('PP_SPLIT_EMPTY', `${interactionsPath} has no interactions`);
    const repeatsDropped = await dropRepeatedPairs(db, 'f');
    const sourceFacts = await checkSource(db, opts, 'f');
    step('read');

    // 2. Rating threshold (implicit rows, rating NULL, are positives and stay).
    if (opts.minRating !== null) {
      await replaceTable(db, 'f', `SELECT * FROM f WHERE rating IS NULL OR rating >= ${JSON.stringify(opts.minRating)}`);
    }
    const rowsAfterMinRating = await countRows(db, 'f');
    if (rowsAfterMinRating === 0) throw ppError('PP_SPLIT_EMPTY', `no interaction has a rating ≥ ${opts.minRating}`);
    step('filter');

    // 3. Iterative k-core.
    const core = await kcoreFilter(db, 'f', opts.userK, opts.itemK);
    if (core.rowsAfter === 0) {
      throw ppError('PP_SPLIT_EMPTY', `the k-core (userK=${opts.userK}, itemK=${opts.itemK}) removes all ${core.rowsBefore} interactions`);
    }
    step('k-core');

    // 4. Assign parts.
    const strategy = await assignParts(db, opts, 'f', 'a', sourceFacts);
    await db.run('DROP TABLE f');
    step('split');

    // 5. Dense ids, the cold flag, counts and checks.
    const ids = await buildIdMaps(db, 'a', 'o');
    await db.run('DROP TABLE a');
    const counts = await partCounts(db, 'o');
    if (counts.interactions.total !== core.rowsAfter) {
      throw ppError('PP_INTERNAL', `the split has ${counts.interactions.total} rows, the filtered data ${core.rowsAfter}`);
    }
    for (const part of strategy.required) {
      if (counts.interactions[part] === 0) {
        throw ppError('PP_SPLIT_EMPTY', `${part} is empty: a ${opts.strategy} split of ${core.rowsAfter} interactions leaves no ${part} rows`);
      }
    }
    step('ids');

    // 6. Write the folder.
    const version = await db.one<{ v: string }>('SELECT version() AS v');
    const heldOutItems = strategy.coldItem?.heldOutItems ?? 0;
    let manifest: SplitManifest | undefined;
    await writeDirAtomically(outDir, async (tmp) => {
      const paths = await writeSplitFiles(db, tmp, 'o', opts.strategy === 'cold-item');
      const shas = {} as Record<PartName, string>;
      for (const p of PART_NAMES) shas[p] = await sha256File(paths[p]);
      const files: SplitManifest['files'] = {};
      for (const p of PART_NAMES) files[basename(paths[p])] = { rows: counts.interactions[p], sha256: shas[p] };
      files[STAGING_FILES.userMap] = { rows: ids.users };
      files[STAGING_FILES.itemMap] = { rows: ids.items };
      manifest = {
        manifest_version: SPLIT_MANIFEST_VERSION,
        kind: 'split',
        name: basename(outDir),
        strategy: opts.strategy,
        seed: opts.seed,
        options: toSplitOptions(opts),
        source: {
          staging_dir: stagingLabel,
          dataset: await datasetName(stagingDir, stagingLabel),
          interactions_file: STAGING_FILES.interactions,
          interactions_sha256: await sourceSha,
          interactions_rows: rowsInput,
        },
        filtering: {
          min_rating: opts.minRating,
          user_k: opts.userK,
          item_k: opts.itemK,
          rows_input: rowsInput,
          repeated_pairs_dropped: repeatsDropped,
          rows_after_min_rating: rowsAfterMinRating,
          rows_after_kcore: core.rowsAfter,
          kcore_iterations: core.iterations,
        },
        strategy_details: {
          ...(strategy.temporal && { temporal: temporalDetails(strategy.temporal) }),
          ...(strategy.given && {
            given: { valid_source: strategy.given.validSource, valid_share_applied: strategy.given.validShareApplied },
          }),
          ...(strategy.coldItem && {
            cold_item: {
              held_out_items: strategy.coldItem.heldOutItems,
              valid_items: strategy.coldItem.validItems,
              test_items: strategy.coldItem.testItems,
            },
          }),
        },
        counts: {
          users: ids.users,
          items: ids.items,
          interactions: counts.interactions,
          users_per_part: counts.usersPerPart,
          items_per_part: counts.itemsPerPart,
          cold_items: ids.coldItems,
          held_out_items: heldOutItems,
          cold_rows: counts.coldRows,
          users_without_train: counts.usersWithoutTrain,
        },
        id_order: { users: ids.userOrder, items: ids.itemOrder },
        files,
        split_hash: splitHash(shas),
        row_order: 'parts: uid, ts (nulls first), ingest order; maps: dense id',
        duckdb_version: version?.v ?? 'unknown',
        created_at: createdAt.toISOString(),
        duration_ms: Math.round(performance.now() - started),
      };
      await writeManifest(tmp, manifest);
    });
    step('write');
    return summaryFromManifest(manifest!, outDir);
  } finally {
    db.close();
  }
}

async function loadInteractions(db: Db, path: string, table: string): Promise<void> {
  const source = `read_parquet(${sqlString(path)})`;
  let columns: string[];
  try {
    columns = (await db.all<{ column_name: string }>(`DESCRIBE SELECT * FROM ${source}`)).map((r) => r.column_name);
  } catch (err) {
    throw ppError('PP_INPUT_UNREADABLE', `${path}: ${(err as Error).message}`, err);
  }
  const missing = REQUIRED_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length > 0) throw ppError('PP_INPUT_UNREADABLE', `${path} lacks the column(s) ${missing.join(', ')}`);
  await db.run(`CREATE TABLE ${table} AS
    SELECT CAST(user_id AS VARCHAR) AS user_id, CAST(item_id AS VARCHAR) AS item_id, CAST(rating AS DOUBLE) AS rating,
           CAST(ts AS BIGINT) AS ts, CAST(split AS VARCHAR) AS split, CAST(ord AS BIGINT) AS ord
    FROM ${source}`);
}

/**
 * A split holds one row per (user, item) pair. Staging already has one per pair, except for event-sequence
 * sources (e.g. UniSRec) where buying again is a real event: there the earliest occurrence (by ts, then ingest
 * order) is kept, so it decides the part, and the number dropped is recorded in the manifest.
 */
async function dropRepeatedPairs(db: Db, table: string): Promise<number> {
  const before = await countRows(db, table);
  await replaceTable(
    db,
    table,
    `SELECT * FROM ${table} QUALIFY row_number() OVER (PARTITION BY user_id, item_id ORDER BY ts NULLS FIRST, ord) = 1`,
  );
  return before - (await countRows(db, table));
}

async function partCounts(db: Db, table: string) {
  const r = await db.one<Record<string, number | bigint>>(`SELECT
      count(*) FILTER (WHERE part = 0) AS n0, count(*) FILTER (WHERE part = 1) AS n1, count(*) FILTER (WHERE part = 2) AS n2,
      count(DISTINCT uid) FILTER (WHERE part = 0) AS u0, count(DISTINCT uid) FILTER (WHERE part = 1) AS u1,
      count(DISTINCT uid) FILTER (WHERE part = 2) AS u2,
      count(DISTINCT iid) FILTER (WHERE part = 0) AS i0, count(DISTINCT iid) FILTER (WHERE part = 1) AS i1,
      count(DISTINCT iid) FILTER (WHERE part = 2) AS i2,
      count(*) FILTER (WHERE part = 1 AND cold) AS c1, count(*) FILTER (WHERE part = 2 AND cold) AS c2,
      (SELECT count(*) FROM (SELECT uid FROM ${table} GROUP BY uid HAVING NOT bool_or(part = 0))) AS nt
    FROM ${table}`);
  const n = (k: string) => Number(r![k]);
  const parts = (prefix: string): PartCounts => ({ train: n(`${prefix}0`), valid: n(`${prefix}1`), test: n(`${prefix}2`) });
  const interactions = parts('n');
  return {
    interactions: { ...interactions, total: interactions.train + interactions.valid + interactions.test },
    usersPerPart: parts('u'),
    itemsPerPart: parts('i'),
    coldRows: { valid: n('c1'), test: n('c2') },
    usersWithoutTrain: n('nt'),
  };
}

/** The dataset's name from the staging manifest when it has one, else the staging folder's name. */
async function datasetName(stagingDir: string, stagingLabel: string): Promise<string> {
  try {
    const m = JSON.parse(await readFile(stagingFiles(stagingDir).manifest, 'utf8')) as Record<string, unknown>;
    for (const k of ['name', 'dataset']) if (typeof m[k] === 'string' && m[k]) return m[k] as string;
  } catch {
    // no or unreadable staging manifest: fall back to the folder name
  }
  return basename(stagingLabel);
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}

async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}
