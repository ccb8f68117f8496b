import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { ppError } from '../errors.js';
import { embeddingFiles, loadEmbeddings } from '../embeddings/store.js';
import { tempSibling } from '../lake/atomic.js';
import { openDb, sqlString } from '../lake/duckdb.js';
import { datasetPaths, lakePaths } from '../lake/paths.js';
import type { Config } from '../config/schema.js';
import type { AnalyticsSession } from './source.js';
import { psi, sqlTimestamp, thresholdStatus, type DriftStatus } from './stats.js';

/**
 * Drift summaries of the serving logs, one row per (time bucket, metric), each with an ok / warn / alert
 * status against thresholds from the config (`drift.<metric>.warn|alert`; ≥ alert → alert, ≥ warn → warn;
 * fewer than `drift.min_count` samples → na). Buckets are `time_bucket(window, ts)` (UTC, aligned to whole
 * hours for 1h). Metrics:
 *
 *  not_found_share     requests answered 404 / requests                          (n = requests)
 *  unknown_user_share  requests whose user_id is not in the split's user map / requests with a user_id
 *                      — users the trained model has no row for                  (n = those requests)
 *  unknown_item_share  events on items with no train interaction in the split / events with an item_id
 *                                                                                (n = those events)
 *  score_psi           PSI (stats.ts) of the served scores of the bucket against the reference window —
 *                      the first `drift.reference` of the log (or `referenceFrom`..`referenceTo`), binned
 *                      at the reference's B-quantiles (B = drift.psi_bins)       (n = scores in the bucket)
 *  embedding_gap       new items = distinct items recommended or interacted with in the bucket that have no
 *                      train interaction and have a content vector (text, else image embeddings). With
 *                      c = the centroid of the train items' unit vectors, gap = mean_{trained i} cos(v_i, c)
 *                      − mean_{new i} cos(v_i, c): how much farther from the catalog the new items sit than
 *                      the trained items themselves. Needs ≥ 1 new item (n = new items; min_count does not
 *                      apply — a handful of new items per hour is normal; read n).
 *
 * All variants are pooled unless `variant` is given — with A/B variants serving different models, the score
 * distribution is a mixture whose shape moves with the traffic split, so compare one variant at a time.
 *
 * The rows go to `<lake>/logs/drift.parquet` (writeDriftTable): a Parquet file, not a table of
 * serving.duckdb, because the server holds that file while it runs; re-running replaces the rows of the same
 * (dataset, variant, bucket, metric). The `drift` view of `analytics query` reads it.
 */

export const DRIFT_METRICS = ['not_found_share', 'unknown_user_share', 'unknown_item_share', 'score_psi', 'embedding_gap'] as const;
export type DriftMetric = (typeof DRIFT_METRICS)[number];

export interface Thresholds {
  warn: number;
  alert: number;
}

export interface DriftOptions {
  /** Bucket width (ms). */
  windowMs: number;
  /** Reference window length from the first logged request (ms); ignored when referenceFrom/To are given. */
  referenceMs: number;
  referenceFrom?: Date;
  referenceTo?: Date;
  /** Only buckets starting at or after this instant. */
  since?: Date;
  minCount: number;
  psiBins: number;
  thresholds: Record<DriftMetric, Thresholds>;
  modality?: 'text' | 'image';
  /** Only this A/B variant's requests and events (variants serving different models score differently). */
  variant?: string;
}

export interface DriftRow {
  dataset: string;
  /** The A/B variant the row covers; '*' = all variants pooled. */
  variant: string;
  bucket_start: string;
  bucket_end: string;
  metric: DriftMetric;
  value: number | null;
  n: number;
  warn: number;
  alert: number;
  status: DriftStatus;
  reference_from: string | null;
  reference_to: string | null;
  computed_at: string;
}

export interface DriftResult {
  dataset: string;
  split: string | null;
  window_ms: number;
  variant: string | null;
  reference: { from: string | null; to: string | null; scores: number };
  buckets: number;
  rows: DriftRow[];
  /** Worst status per metric over the buckets. */
  worst: Record<string, DriftStatus>;
  notes: string[];
}

/** The thresholds and settings of the config. */
export function driftOptionsFromConfig(c: Config, windowMs: number, referenceMs: number): DriftOptions {
  const t = (k: 'not_found' | 'unknown_user' | 'unknown_item' | 'score_psi' | 'embedding_gap'): Thresholds => {
    const warn = c[`drift.${k}.warn`];
    const alert = c[`drift.${k}.alert`];
    if (alert < warn) throw ppError('PP_CONFIG_INVALID', `drift.${k}.alert (${alert}) must be ≥ drift.${k}.warn (${warn})`);
    return { warn, alert };
  };
  return {
    windowMs,
    referenceMs,
    minCount: c['drift.min_count'],
    psiBins: c['drift.psi_bins'],
    thresholds: {
      not_found_share: t('not_found'),
      unknown_user_share: t('unknown_user'),
      unknown_item_share: t('unknown_item'),
      score_psi: t('score_psi'),
      embedding_gap: t('embedding_gap'),
    },
  };
}

const SEVERITY: Record<DriftStatus, number> = { na: 0, ok: 1, warn: 2, alert: 3 };
const isoOf = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

export async function computeDrift(s: AnalyticsSession, o: DriftOptions): Promise<DriftResult> {
  const db = s.db;
  const notes = [...s.notes];
  const ms = Math.round(o.windowMs);
  const bucket = (col: string) => `time_bucket(to_milliseconds(${ms}), ${col})`;
  // One filter for every query over requests, events and recommendations: the buckets asked for, one variant.
  const variant = o.variant !== undefined ? ` AND variant = ${sqlString(o.variant)}` : '';
  const sinceOnly = o.since ? ` AND ${bucket('ts')} >= ${bucket(sqlTimestamp(o.since))}` : '';
  const since = sinceOnly + variant;
  const computedAt = new Date().toISOString();

  // The served scores, unnested from the JSON once (the recommendations view would parse it per query).
  const served = `pp_served_${randomBytes(4).toString('hex')}`;
  await db.run(`CREATE TEMP TABLE ${served} AS SELECT ts, item_id, score FROM recommendations WHERE status BETWEEN 200 AND 299${variant}`);
  try {
    return await driftOver(s, o, served, { ms, bucket, since, sinceOnly, variant, notes, computedAt });
  } finally {
    await db.run(`DROP TABLE IF EXISTS ${served}`);
  }
}

interface DriftContext {
  ms: number;
  bucket: (col: string) => string;
  /** Bucket filter + variant filter (requests, events); the bucket filter alone (the served-scores table). */
  since: string;
  sinceOnly: string;
  variant: string;
  notes: string[];
  computedAt: string;
}

async function driftOver(s: AnalyticsSession, o: DriftOptions, servedTable: string, c: DriftContext): Promise<DriftResult> {
  const db = s.db;
  const { ms, bucket, since, sinceOnly, variant, notes, computedAt } = c;
  // Reference window.
  const first = await db.one<{ t: unknown }>(`SELECT min(ts) AS t FROM requests WHERE true${variant}`);
  const refFrom = o.referenceFrom ?? (first?.t ? new Date(isoOf(first.t)) : null);
  const refTo = o.referenceTo ?? (refFrom ? new Date(refFrom.getTime() + o.referenceMs) : null);

  type Acc = { value: number | null; n: number };
  const perBucket = new Map<string, Partial<Record<DriftMetric, Acc>>>();
  const put = (b: unknown, m: DriftMetric, acc: Acc) => {
    const key = isoOf(b);
    const e = perBucket.get(key) ?? {};
    e[m] = acc;
    perBucket.set(key, e);
  };
  const shareRows = async (m: DriftMetric, sql: string) => {
    for (const r of await db.all<{ b: unknown; n: unknown; v: unknown }>(sql)) put(r.b, m, { value: r.v === null ? null : Number(r.v), n: Number(r.n) });
  };

  // All buckets with traffic, so that every metric gets a row (na when it has no data).
  for (const r of await db.all<{ b: unknown }>(`SELECT DISTINCT ${bucket('ts')} AS b FROM requests WHERE ts IS NOT NULL${since} UNION SELECT DISTINCT ${bucket('ts')} FROM events WHERE ts IS NOT NULL${since}`)) {
    perBucket.set(isoOf(r.b), perBucket.get(isoOf(r.b)) ?? {});
  }

  await shareRows('not_found_share', `SELECT ${bucket('ts')} AS b, count(*) AS n, avg((status = 404)::INTEGER) AS v FROM requests WHERE true${since} GROUP BY 1`);
  if (s.split) {
    await shareRows(
      'unknown_user_share',
      `SELECT ${bucket('ts')} AS b, count(*) AS n, avg((user_id NOT IN (SELECT user_id FROM split_users))::INTEGER) AS v
         FROM requests WHERE user_id IS NOT NULL${since} GROUP BY 1`,
    );
    await shareRows(
      'unknown_item_share',
      `SELECT ${bucket('ts')} AS b, count(*) AS n, avg((item_id NOT IN (SELECT DISTINCT item_id FROM train))::INTEGER) AS v
         FROM events WHERE item_id IS NOT NULL${since} GROUP BY 1`,
    );
  }

  // Score PSI against the reference window.
  let refScores = 0;
  if (refFrom && refTo) {
    const served = `FROM ${servedTable} WHERE score IS NOT NULL`;
    const inRef = `ts >= ${sqlTimestamp(refFrom)} AND ts < ${sqlTimestamp(refTo)}`;
    const bins = Math.max(2, Math.floor(o.psiBins));
    const qs = Array.from({ length: bins - 1 }, (_, i) => (i + 1) / bins);
    const ref = await db.one<{ n: unknown; edges: unknown }>(`SELECT count(*) AS n, quantile_cont(score, [${qs.join(', ')}]) AS edges ${served} AND ${inRef}`);
    refScores = Number(ref?.n ?? 0);
    if (refScores >= o.minCount && Array.isArray(ref?.edges)) {
      const edges = (ref.edges as unknown[]).map(Number);
      const binOf = `CASE ${edges.map((e, i) => `WHEN score <= ${e} THEN ${i}`).join(' ')} ELSE ${edges.length} END`;
      const refCounts = new Array<number>(bins).fill(0);
      for (const r of await db.all<{ bin: unknown; n: unknown }>(`SELECT ${binOf} AS bin, count(*) AS n ${served} AND ${inRef} GROUP BY 1`)) refCounts[Number(r.bin)] = Number(r.n);
      const cur = new Map<string, number[]>();
      for (const r of await db.all<{ b: unknown; bin: unknown; n: unknown }>(`SELECT ${bucket('ts')} AS b, ${binOf} AS bin, count(*) AS n ${served}${sinceOnly} GROUP BY 1, 2`)) {
        const key = isoOf(r.b);
        const counts = cur.get(key) ?? new Array<number>(bins).fill(0);
        counts[Number(r.bin)] = Number(r.n);
        cur.set(key, counts);
      }
      for (const [key, counts] of cur) put(key, 'score_psi', { value: psi(counts, refCounts), n: counts.reduce((a, b) => a + b, 0) });
    } else {
      notes.push(`score_psi: the reference window holds ${refScores} scores (< drift.min_count ${o.minCount})`);
    }
  }

  // Embedding gap of new items.
  if (s.split) await embeddingGap(s, o, servedTable, bucket, since, sinceOnly, put, notes);

  const rows: DriftRow[] = [];
  const metrics = DRIFT_METRICS.filter((m) => s.split || (m !== 'unknown_user_share' && m !== 'unknown_item_share' && m !== 'embedding_gap'));
  for (const key of [...perBucket.keys()].sort()) {
    const values = perBucket.get(key)!;
    for (const m of metrics) {
      const acc = values[m] ?? { value: null, n: 0 };
      rows.push({
        dataset: s.name,
        variant: o.variant ?? '*',
        bucket_start: key,
        bucket_end: new Date(new Date(key).getTime() + ms).toISOString(),
        metric: m,
        value: acc.value,
        n: acc.n,
        // warn, alert and status are set by applyThresholds below.
        warn: 0,
        alert: 0,
        status: 'na',
        reference_from: m === 'score_psi' && refFrom ? refFrom.toISOString() : null,
        reference_to: m === 'score_psi' && refTo ? refTo.toISOString() : null,
        computed_at: computedAt,
      });
    }
  }
  return applyThresholds(
    {
      dataset: s.name,
      split: s.split,
      window_ms: ms,
      variant: o.variant ?? null,
      reference: { from: refFrom?.toISOString() ?? null, to: refTo?.toISOString() ?? null, scores: refScores },
      buckets: perBucket.size,
      rows,
      worst: {},
      notes,
    },
    o,
  );
}

/**
 * Sets each row's thresholds and status (min_count does not apply to embedding_gap) and the worst status per
 * metric: for rows just computed, and again with the CLI's own config when the server computed the values
 * (`--server`), so the statuses stored follow the config of whoever stores them.
 */
export function applyThresholds(result: DriftResult, o: Pick<DriftOptions, 'thresholds' | 'minCount'>): DriftResult {
  const worst: Record<string, DriftStatus> = {};
  const rows = result.rows.map((r) => {
    const th = o.thresholds[r.metric];
    const status = thresholdStatus(r.value, r.n, r.metric === 'embedding_gap' ? 1 : o.minCount, th.warn, th.alert);
    if (!worst[r.metric] || SEVERITY[status] > SEVERITY[worst[r.metric]]) worst[r.metric] = status;
    return { ...r, warn: th.warn, alert: th.alert, status };
  });
  return { ...result, rows, worst };
}

async function embeddingGap(
  s: AnalyticsSession,
  o: DriftOptions,
  servedTable: string,
  bucket: (col: string) => string,
  since: string,
  sinceOnly: string,
  put: (b: unknown, m: DriftMetric, acc: { value: number | null; n: number }) => void,
  notes: string[],
): Promise<void> {
  const ds = datasetPaths(s.lake, s.name);
  const dir = ds.embeddings;
  const stored = (m: 'text' | 'image') => existsSync(embeddingFiles(ds.embeddingOf(m).dir, ds.embeddingOf(m).file).json);
  const modality = o.modality ?? (stored('text') ? 'text' : stored('image') ? 'image' : null);
  if (!modality || !stored(modality)) {
    notes.push(`embedding_gap: no ${o.modality ?? 'text or image'} embeddings in ${dir}`);
    return;
  }
  const emb = await loadEmbeddings(ds.embeddingOf(modality).dir, ds.embeddingOf(modality).file);
  const iidOf = new Map<string, number>();
  for (const r of await s.db.all<{ item_id: string; iid: number }>(`SELECT item_id, iid FROM items WHERE iid IS NOT NULL`)) iidOf.set(r.item_id, Number(r.iid));
  // Sorted, so that the float sums below run in one order: DISTINCT/UNION results come in hash order, which
  // varies between runs and would move the last bits of the gap (and its status at a threshold).
  const trained = new Set((await s.db.all<{ item_id: string }>(`SELECT DISTINCT item_id FROM train ORDER BY item_id`)).map((r) => r.item_id));
  const unit = (iid: number): Float64Array | null => {
    if (iid < 0 || iid >= emb.count || !emb.present[iid]) return null;
    const v = Float64Array.from(emb.data.subarray(iid * emb.dim, (iid + 1) * emb.dim));
    const norm = Math.hypot(...v);
    if (!(norm > 0)) return null;
    for (let d = 0; d < v.length; d++) v[d] /= norm;
    return v;
  };
  // Centroid of trained items' unit vectors.
  const centroid = new Float64Array(emb.dim);
  const trainedVecs: Float64Array[] = [];
  for (const id of trained) {
    const v = iidOf.has(id) ? unit(iidOf.get(id)!) : null;
    if (!v) continue;
    trainedVecs.push(v);
    for (let d = 0; d < emb.dim; d++) centroid[d] += v[d];
  }
  const cn = Math.hypot(...centroid);
  if (trainedVecs.length === 0 || !(cn > 0)) {
    notes.push('embedding_gap: no trained item has a content vector');
    return;
  }
  for (let d = 0; d < emb.dim; d++) centroid[d] /= cn;
  const cos = (v: Float64Array) => v.reduce((acc, x, d) => acc + x * centroid[d], 0);
  const baseline = trainedVecs.reduce((a, v) => a + cos(v), 0) / trainedVecs.length;

  const seen = await s.db.all<{ b: unknown; item_id: string }>(
    `SELECT DISTINCT ${bucket('ts')} AS b, item_id FROM ${servedTable} WHERE true${sinceOnly}
     UNION SELECT DISTINCT ${bucket('ts')} AS b, item_id FROM events WHERE item_id IS NOT NULL${since}
     ORDER BY b, item_id`,
  );
  const perBucket = new Map<string, { sum: number; n: number; b: unknown }>();
  for (const r of seen) {
    if (trained.has(r.item_id) || !iidOf.has(r.item_id)) continue;
    const v = unit(iidOf.get(r.item_id)!);
    if (!v) continue;
    const key = isoOf(r.b);
    const acc = perBucket.get(key) ?? { sum: 0, n: 0, b: r.b };
    acc.sum += cos(v);
    acc.n++;
    perBucket.set(key, acc);
  }
  for (const [, acc] of perBucket) put(acc.b, 'embedding_gap', { value: baseline - acc.sum / acc.n, n: acc.n });
}

/**
 * Merges `rows` into `<lake>/logs/drift.parquet` (rows of the same dataset, variant, bucket and metric are
 * replaced) through a temporary file and a rename. Returns the file and its row count.
 */
export async function writeDriftTable(lake: string, rows: DriftRow[]): Promise<{ path: string; rows: number }> {
  const { drift: path, logs } = lakePaths(lake);
  await mkdir(logs, { recursive: true });
  const tmp = tempSibling(path) + '.parquet';
  const db = await openDb({ threads: 1 });
  try {
    await db.run(`CREATE TABLE fresh (dataset VARCHAR, variant VARCHAR, bucket_start TIMESTAMP, bucket_end TIMESTAMP, metric VARCHAR, value DOUBLE, n BIGINT,
      warn DOUBLE, alert DOUBLE, status VARCHAR, reference_from TIMESTAMP, reference_to TIMESTAMP, computed_at TIMESTAMP)`);
    const ts = (v: string | null) => (v === null ? 'NULL' : sqlTimestamp(new Date(v)));
    for (let i = 0; i < rows.length; i += 500) {
      const values = rows.slice(i, i + 500).map(
        (r) =>
          `(${sqlString(r.dataset)}, ${sqlString(r.variant ?? '*')}, ${ts(r.bucket_start)}, ${ts(r.bucket_end)}, ${sqlString(r.metric)}, ${r.value === null || !Number.isFinite(r.value) ? 'NULL' : r.value}, ${r.n},
            ${r.warn}, ${r.alert}, ${sqlString(r.status)}, ${ts(r.reference_from)}, ${ts(r.reference_to)}, ${ts(r.computed_at)})`,
      );
      if (values.length) await db.run(`INSERT INTO fresh VALUES ${values.join(',')}`);
    }
    if (existsSync(path)) {
      const cols = new Set((await db.all<{ column_name: string }>(`DESCRIBE SELECT * FROM read_parquet(${sqlString(path)})`)).map((c) => c.column_name));
      // Files written before the variant column existed hold pooled rows.
      await db.run(`CREATE TABLE old AS SELECT *${cols.has('variant') ? '' : ", '*' AS variant"} FROM read_parquet(${sqlString(path)})`);
      await db.run(`INSERT INTO fresh BY NAME SELECT o.* FROM old o ANTI JOIN fresh f ON o.dataset = f.dataset AND o.variant = f.variant AND o.bucket_start = f.bucket_start AND o.metric = f.metric`);
    }
    await db.run(`COPY (SELECT * FROM fresh ORDER BY dataset, variant, bucket_start, metric) TO ${sqlString(tmp)} (FORMAT parquet)`);
    const count = await db.one<{ n: unknown }>(`SELECT count(*) AS n FROM read_parquet(${sqlString(tmp)})`);
    await rename(tmp, path);
    return { path, rows: Number(count?.n ?? 0) };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  } finally {
    db.close();
  }
}
