import { ppError } from '../errors.js';

/**
 * Pure helpers over run metrics: metric selectors, the comparison table and the gate's decision. The
 * store (run-store.ts) reads the numbers; these functions only do arithmetic, so they are tested alone.
 */

export type MetricPart = 'valid' | 'test';
export type MetricDirection = 'higher' | 'lower';

/** Final metrics of a run by part. A value is null when the run recorded a non-number (NaN) or nothing. */
export interface PartMetrics {
  valid: Record<string, number>;
  test: Record<string, number>;
}

/** A metric column: `ndcg@20` (the test part) or `valid:ndcg@20` / `test:ndcg@20`. */
export interface MetricSelector {
  /** As the user wrote it; the column name in tables. */
  label: string;
  part: MetricPart;
  metric: string;
}

export function parseMetricSelector(spec: string, defaultPart: MetricPart = 'test'): MetricSelector {
  const s = spec.trim();
  const m = /^(valid|test):(.+)$/.exec(s);
  const sel: MetricSelector = m ? { label: s, part: m[1] as MetricPart, metric: m[2] } : { label: s, part: defaultPart, metric: s };
  if (!sel.metric) throw ppError('PP_USAGE', `empty metric name in "${spec}"`);
  return sel;
}

/** Orders metric names by base name, then numerically by cut-off: hit@5, hit@10, ndcg@5, ndcg@20, … */
export function compareMetricNames(a: string, b: string): number {
  const [an, ak] = splitAt(a);
  const [bn, bk] = splitAt(b);
  if (an !== bn) return an < bn ? -1 : 1;
  if (ak !== bk) return ak - bk;
  return a < b ? -1 : a > b ? 1 : 0;
}

function splitAt(name: string): [string, number] {
  const at = name.lastIndexOf('@');
  const k = at >= 0 ? Number(name.slice(at + 1)) : NaN;
  return at >= 0 && Number.isFinite(k) ? [name.slice(0, at), k] : [name, -1];
}

const LOWER_IS_BETTER = /(^|[^a-z])(loss|rmse|mse|mae|latency|seconds|rss)([^a-z]|$)/i;

/**
 * Whether a larger value of a metric is better. Ranking metrics (recall, ndcg, precision, hit, mrr, map,
 * coverage, auc) are; metrics named after a loss, an error (rmse, mse, mae), a latency, seconds or memory
 * are not. Pass the direction explicitly for anything else.
 */
export function metricDirection(metric: string): MetricDirection {
  return LOWER_IS_BETTER.test(metric) ? 'lower' : 'higher';
}

/** (value − base) / |base|; 0 when both are 0, ±Infinity when only the base is 0, null without numbers. */
export function relativeChange(value: number | null, base: number | null): number | null {
  if (value === null || base === null || Number.isNaN(value) || Number.isNaN(base)) return null;
  if (base === 0) return value === 0 ? 0 : value > 0 ? Infinity : -Infinity;
  return (value - base) / Math.abs(base);
}

export interface CompareInputRun {
  runId: string;
  model: string;
  dataset: string;
  split: string;
  status: string;
  wallSeconds: number | null;
  peakRssMb: number | null;
  metrics: PartMetrics;
}

export interface CompareRow {
  runId: string;
  model: string;
  dataset: string;
  split: string;
  status: string;
  wallSeconds: number | null;
  peakRssMb: number | null;
  /** Column label → value (null: the run has no such metric). */
  values: Record<string, number | null>;
  /** Column label → value − the first run's value (0 for the first run; null when either is missing). */
  deltas: Record<string, number | null>;
  /** Column label → relative change against the first run (see `relativeChange`). */
  relative: Record<string, number | null>;
}

export interface CompareTable {
  /** The first run: deltas are against it. */
  baseline: string;
  columns: string[];
  rows: CompareRow[];
}

/**
 * The comparison table: one row per run (in the given order), one column per selected metric, deltas
 * against the first run. Without selectors the columns are every test metric any run has, in
 * `compareMetricNames` order.
 */
export function compareTable(runs: CompareInputRun[], selectors?: MetricSelector[]): CompareTable {
  if (runs.length === 0) throw ppError('PP_USAGE', 'compare needs at least one run');
  const cols = selectors?.length
    ? selectors
    : [...new Set(runs.flatMap((r) => Object.keys(r.metrics.test)))].sort(compareMetricNames).map((m) => parseMetricSelector(m));
  const valueOf = (r: CompareInputRun, c: MetricSelector): number | null => {
    const v = r.metrics[c.part][c.metric];
    return v === undefined || v === null ? null : v;
  };
  const base = runs[0];
  const rows = runs.map((r): CompareRow => {
    const values: Record<string, number | null> = {};
    const deltas: Record<string, number | null> = {};
    const relative: Record<string, number | null> = {};
    for (const c of cols) {
      const v = valueOf(r, c);
      const b = valueOf(base, c);
      values[c.label] = v;
      deltas[c.label] = v === null || b === null ? null : v - b;
      relative[c.label] = relativeChange(v, b);
    }
    return {
      runId: r.runId,
      model: r.model,
      dataset: r.dataset,
      split: r.split,
      status: r.status,
      wallSeconds: r.wallSeconds,
      peakRssMb: r.peakRssMb,
      values,
      deltas,
      relative,
    };
  });
  return { baseline: base.runId, columns: cols.map((c) => c.label), rows };
}

export interface GateDecision {
  pass: boolean;
  delta: number;
  relative: number | null;
}

/**
 * The gate's rule. With `higher` is better, the candidate passes when
 *   value ≥ blessedValue − tolerance · |blessedValue|
 * (so tolerance 0 passes at equal or better, 0.01 allows a 1% drop); with `lower`, mirrored. A NaN
 * candidate value never passes. A tiny slack (1e-12 relative) absorbs float rounding of equal values.
 */
export function gateDecision(value: number, blessedValue: number, tolerance: number, direction: MetricDirection): GateDecision {
  if (!(tolerance >= 0) || !Number.isFinite(tolerance)) throw ppError('PP_USAGE', `tolerance must be a number ≥ 0, got ${tolerance}`);
  const delta = value - blessedValue;
  const relative = relativeChange(value, blessedValue);
  if (Number.isNaN(value) || Number.isNaN(blessedValue)) return { pass: false, delta, relative };
  const allowed = tolerance * Math.abs(blessedValue) + 1e-12 * Math.max(1, Math.abs(blessedValue));
  const pass = direction === 'higher' ? value >= blessedValue - allowed : value <= blessedValue + allowed;
  return { pass, delta, relative };
}
