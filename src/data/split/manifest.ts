import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { SplitOptions, SplitStrategy } from './options.js';
import { PART_NAMES, type PartName } from './sql.js';
import type { StrategyResult } from './strategies.js';
import { splitFiles } from '../../lake/paths.js';

/**
 * The split's `manifest.json` and the summary `createSplit` returns. The manifest's `options` are all the
 * options with defaults made explicit (camelCase, as `createSplit` takes them), so a split can be
 * reproduced from its manifest; the other keys are snake_case like the rest of the lake's metadata.
 */

export const SPLIT_MANIFEST_VERSION = 1;

/** Per-part row counts. */
export interface PartCounts {
  train: number;
  valid: number;
  test: number;
}

/** What `createSplit` returns: the manifest's counts in camelCase. */
export interface SplitSummary {
  /** Split name (the output folder's name). */
  name: string;
  outDir: string;
  strategy: SplitStrategy;
  seed: number;
  /** Users and items that remain after filtering (the sizes of user_map and item_map). */
  users: number;
  items: number;
  /** Interactions per part; `total` = train + valid + test = the filtered data. */
  interactions: PartCounts & { total: number };
  /** Items without any train interaction (item_map.cold). */
  coldItems: number;
  /** cold-item: the items held out of training by design (0 for other strategies). */
  heldOutItems: number;
  /** valid/test rows whose item is cold. */
  coldRows: { valid: number; test: number };
  /** Users with valid/test interactions but none in train (0 by construction for ratio, loo, and given's carve-out). */
  usersWithoutTrain: number;
  /** Interactions read, after the rating threshold, after the k-core; and the k-core's rounds. */
  filtering: { input: number; afterMinRating: number; afterKcore: number; kcoreIterations: number };
  /** temporal: the cut-offs used, unix seconds (null: that part is empty). */
  cutoffs?: { validFrom: number | null; testFrom: number | null };
  /** given: where valid came from. */
  validSource?: 'source' | 'carved' | 'none';
  /** sha256 of the staging interactions.parquet the split read. */
  sourceSha256: string;
  /** sha256 over the three part files' sha256 (see `splitHash`). */
  splitHash: string;
  durationMs: number;
}

export interface SplitManifest {
  manifest_version: number;
  kind: 'split';
  name: string;
  strategy: SplitStrategy;
  seed: number;
  /** Every option with its default made explicit, as `createSplit` takes them. */
  options: SplitOptions;
  source: {
    staging_dir: string;
    dataset: string | null;
    interactions_file: string;
    interactions_sha256: string;
    interactions_rows: number;
  };
  filtering: {
    min_rating: number | null;
    user_k: number;
    item_k: number;
    rows_input: number;
    /** Repeated (user, item) events of sequence sources, of which only the earliest is kept. */
    repeated_pairs_dropped: number;
    rows_after_min_rating: number;
    rows_after_kcore: number;
    kcore_iterations: number;
  };
  strategy_details: {
    temporal?: { cutoffs: 'timestamps' | 'quantiles'; valid_from: number | null; test_from: number | null; valid_from_iso: string | null; test_from_iso: string | null };
    given?: { valid_source: 'source' | 'carved' | 'none'; valid_share_applied: number | null };
    cold_item?: { held_out_items: number; valid_items: number; test_items: number };
  };
  counts: {
    users: number;
    items: number;
    interactions: PartCounts & { total: number };
    users_per_part: PartCounts;
    items_per_part: PartCounts;
    cold_items: number;
    held_out_items: number;
    cold_rows: { valid: number; test: number };
    users_without_train: number;
  };
  id_order: { users: 'numeric' | 'first-appearance'; items: 'numeric' | 'first-appearance' };
  files: Record<string, { rows: number; sha256?: string }>;
  /** sha256 of "train.parquet <sha256>\nvalid.parquet <sha256>\ntest.parquet <sha256>\n". */
  split_hash: string;
  /** Rows of each part file are ordered by uid, then chronologically (ts, then ingest order). */
  row_order: string;
  duckdb_version: string;
  created_at: string;
  duration_ms: number;
}


/** The split's content hash: sha256 over the part files' names and sha256, in train, valid, test order. */
export function splitHash(partSha256: Record<PartName, string>): string {
  const text = PART_NAMES.map((p) => `${p}.parquet ${partSha256[p]}\n`).join('');
  return createHash('sha256').update(text).digest('hex');
}

export function temporalDetails(t: NonNullable<StrategyResult['temporal']>): NonNullable<SplitManifest['strategy_details']['temporal']> {
  const iso = (s: number | null) => (s === null ? null : new Date(s * 1000).toISOString());
  return { cutoffs: t.cutoffs, valid_from: t.validFrom, test_from: t.testFrom, valid_from_iso: iso(t.validFrom), test_from_iso: iso(t.testFrom) };
}

export async function writeManifest(dir: string, manifest: SplitManifest): Promise<void> {
  await writeFile(splitFiles(dir).manifest, JSON.stringify(manifest, null, 2) + '\n');
}

export function summaryFromManifest(m: SplitManifest, outDir: string): SplitSummary {
  const s: SplitSummary = {
    name: m.name,
    outDir,
    strategy: m.strategy,
    seed: m.seed,
    users: m.counts.users,
    items: m.counts.items,
    interactions: { ...m.counts.interactions },
    coldItems: m.counts.cold_items,
    heldOutItems: m.counts.held_out_items,
    coldRows: { ...m.counts.cold_rows },
    usersWithoutTrain: m.counts.users_without_train,
    filtering: {
      input: m.filtering.rows_input,
      afterMinRating: m.filtering.rows_after_min_rating,
      afterKcore: m.filtering.rows_after_kcore,
      kcoreIterations: m.filtering.kcore_iterations,
    },
    sourceSha256: m.source.interactions_sha256,
    splitHash: m.split_hash,
    durationMs: m.duration_ms,
  };
  const t = m.strategy_details.temporal;
  if (t) s.cutoffs = { validFrom: t.valid_from, testFrom: t.test_from };
  if (m.strategy_details.given) s.validSource = m.strategy_details.given.valid_source;
  return s;
}
