/**
 * Per-user top-K ranking metrics with binary relevance, and their average over users.
 *
 * Notation, for one user: the model's ranked list L = (l_1, l_2, …) (best first), the relevant set R
 * (the user's test items, |R| ≥ 1), and the hit indicator rel_i = 1 if l_i ∈ R else 0. For a cut-off K:
 *
 *   hits@K      = Σ_{i=1..K} rel_i
 *   Recall@K    = hits@K / |R|
 *                 LightGCN-PyTorch `RecallPrecision_ATk` (right_pred / len(test_data[i])) and
 *                 RecBole `Recall` (cumsum(pos_index) / pos_len). Note: divided by |R|, not min(|R|, K).
 *   Precision@K = hits@K / K
 *                 LightGCN `RecallPrecision_ATk` (right_pred / k) and RecBole `Precision`. Always divided
 *                 by K, even when the list is shorter than K (fewer candidates than K).
 *   NDCG@K      = DCG@K / IDCG@K, with
 *                 DCG@K  = Σ_{i=1..K} rel_i / log2(i + 1)
 *                 IDCG@K = Σ_{i=1..min(|R|, K)} 1 / log2(i + 1)
 *                 LightGCN `NDCGatK_r` (test_matrix[i, :min(k, len(items))] = 1) and RecBole `NDCG`
 *                 (idcg_len = min(pos_len, K)). Binary gains, so 2^rel − 1 = rel.
 *   Hit@K       = 1 if hits@K > 0 else 0 (the hit rate, "HR@K") — RecBole `Hit`.
 *   MRR@K       = 1 / r* where r* = min{ i ≤ K : rel_i = 1 }, and 0 when there is no hit within K —
 *                 RecBole `MRR`. (LightGCN-PyTorch's `MRRatK_r` is not used by its evaluator and divides
 *                 by log2(1/i); it is not matched.)
 *   MAP@K       = (1 / min(|R|, K)) · Σ_{i=1..K} rel_i · Precision@i — RecBole `MAP`
 *                 (sum_pre / min(pos_len, K)).
 *
 * The reported value is the arithmetic mean over evaluated users (each user weighs 1), as both evaluators
 * do: LightGCN sums per-user values over batches and divides by the number of test users; RecBole averages
 * the per-user matrix rows. Keys are `${metric}@${K}`, e.g. "recall@20", "ndcg@20", "hit@10".
 */

import { ppError } from '../errors.js';

/** The metrics computed for every K, in output order. */
export const RANKING_METRICS = ['recall', 'ndcg', 'precision', 'hit', 'mrr', 'map'] as const;
export type RankingMetric = (typeof RANKING_METRICS)[number];

const NUM_METRICS = RANKING_METRICS.length;
const M_RECALL = 0;
const M_NDCG = 1;
const M_PRECISION = 2;
const M_HIT = 3;
const M_MRR = 4;
const M_MAP = 5;

/** `${metric}@${k}` — the key used in every result object. */
export function metricKey(metric: string, k: number): string {
  return `${metric}@${k}`;
}

/** Validates a list of cut-offs and returns them sorted ascending, de-duplicated. */
export function normalizeKs(ks: readonly number[]): number[] {
  if (!Array.isArray(ks) || ks.length === 0) throw ppError('PP_EVAL_INVALID', 'ks must be a non-empty list');
  for (const k of ks) {
    if (!Number.isInteger(k) || k < 1) throw ppError('PP_EVAL_INVALID', `K must be a positive integer, got ${k}`);
  }
  return [...new Set(ks)].sort((a, b) => a - b);
}

// discount[i] = 1 / log2(i + 2): the DCG weight of rank i + 1. idcgPrefix[n] = Σ_{i<n} discount[i].
let discount = new Float64Array(0);
let idcgPrefix = new Float64Array(1);

/** Makes sure the discount tables cover ranks 1..n. */
function ensureDiscounts(n: number): void {
  if (discount.length >= n) return;
  const size = Math.max(n, discount.length * 2, 64);
  discount = new Float64Array(size);
  idcgPrefix = new Float64Array(size + 1);
  for (let i = 0; i < size; i++) {
    discount[i] = 1 / Math.log2(i + 2);
    idcgPrefix[i + 1] = idcgPrefix[i] + discount[i];
  }
}

/** 1 / log2(rank + 1) for a 1-based rank. */
export function dcgDiscount(rank: number): number {
  return 1 / Math.log2(rank + 1);
}

/** IDCG@K for |R| relevant items: Σ_{i=1..min(|R|, K)} 1 / log2(i + 1). */
export function idealDcg(numRelevant: number, k: number): number {
  const n = Math.min(numRelevant, k);
  ensureDiscounts(n);
  return idcgPrefix[n];
}

/**
 * Computes every metric at every K for one user into `out` (layout: out[m * ks.length + j] = metric m at
 * ks[j], with m in `RANKING_METRICS` order). `hits[i]` is rel_{i+1} (non-zero = relevant) for i < length;
 * ranks beyond `length` are non-hits. `ks` must be sorted ascending. No allocation: this is the inner step
 * of full-ranking evaluation. A user with |R| = 0 gets all zeros (the evaluators skip such users).
 */
export function computeUserMetrics(
  hits: ArrayLike<number>,
  length: number,
  numRelevant: number,
  ks: readonly number[],
  out: Float64Array,
): void {
  const nk = ks.length;
  const maxK = ks[nk - 1];
  ensureDiscounts(maxK);
  if (numRelevant <= 0) {
    out.fill(0, 0, NUM_METRICS * nk);
    return;
  }
  const n = Math.min(length, maxK);
  let hitCount = 0;
  let dcg = 0;
  let firstHit = 0; // 1-based rank of the first hit, 0 = none yet
  let apSum = 0; // Σ rel_i · Precision@i
  let j = 0;
  for (let i = 0; i < maxK; i++) {
    if (i < n && hits[i]) {
      hitCount++;
      dcg += discount[i];
      if (firstHit === 0) firstHit = i + 1;
      apSum += hitCount / (i + 1);
    }
    const rank = i + 1;
    while (j < nk && ks[j] === rank) {
      const k = rank;
      const idealLen = numRelevant < k ? numRelevant : k;
      out[M_RECALL * nk + j] = hitCount / numRelevant;
      out[M_NDCG * nk + j] = dcg / idcgPrefix[idealLen];
      out[M_PRECISION * nk + j] = hitCount / k;
      out[M_HIT * nk + j] = hitCount > 0 ? 1 : 0;
      out[M_MRR * nk + j] = firstHit > 0 ? 1 / firstHit : 0;
      out[M_MAP * nk + j] = apSum / idealLen;
      j++;
    }
    // Past the end of the list nothing changes any more: fill the remaining cut-offs at once.
    if (i >= n && j < nk && hitCount === 0) {
      for (; j < nk; j++) for (let m = 0; m < NUM_METRICS; m++) out[m * nk + j] = 0;
      return;
    }
  }
}

/** Turns a flat per-metric-per-K vector into `{ "recall@20": …, … }`. */
function toRecord(values: Float64Array, ks: readonly number[], divisor: number): Record<string, number> {
  const out: Record<string, number> = {};
  const nk = ks.length;
  for (let m = 0; m < NUM_METRICS; m++) {
    for (let j = 0; j < nk; j++) out[metricKey(RANKING_METRICS[m], ks[j])] = divisor > 0 ? values[m * nk + j] / divisor : 0;
  }
  return out;
}

/**
 * All metrics for one user from a ranked list of item ids and the relevant set. Entries of `ranked` that are
 * negative (padding) never hit. Relevant ids are de-duplicated (|R| counts distinct items).
 *
 * Example: ranked [3, 1, 7, 2], relevant {1, 2, 9}, K = 3 → hits (0, 1, 0): recall 1/3, precision 1/3,
 * ndcg = (1/log2 3) / (1 + 1/log2 3 + 1/log2 4), mrr 1/2, map (1/2) / 3.
 */
export function userRankingMetrics(
  ranked: ArrayLike<number>,
  relevant: Iterable<number>,
  ks: readonly number[],
): Record<string, number> {
  const sortedKs = normalizeKs(ks);
  const rel = relevant instanceof Set ? (relevant as Set<number>) : new Set(relevant);
  const hits = new Uint8Array(ranked.length);
  for (let i = 0; i < ranked.length; i++) hits[i] = rel.has(ranked[i]) ? 1 : 0;
  const out = new Float64Array(NUM_METRICS * sortedKs.length);
  computeUserMetrics(hits, ranked.length, rel.size, sortedKs, out);
  return toRecord(out, sortedKs, 1);
}

/**
 * Sums per-user metrics and reports their mean over users: mean = (1 / |U|) Σ_u metric(u). Allocation-free
 * per user; one instance per group (all users, each degree bucket, …).
 */
export class RankingMetricsAccumulator {
  /** Cut-offs, ascending and unique. */
  readonly ks: readonly number[];
  readonly maxK: number;
  /** Number of users added. */
  count = 0;
  private readonly sums: Float64Array;
  private readonly scratch: Float64Array;

  constructor(ks: readonly number[]) {
    this.ks = normalizeKs(ks);
    this.maxK = this.ks[this.ks.length - 1];
    this.sums = new Float64Array(NUM_METRICS * this.ks.length);
    this.scratch = new Float64Array(NUM_METRICS * this.ks.length);
    ensureDiscounts(this.maxK);
  }

  /** Adds one user: hit flags for ranks 1..length (see `computeUserMetrics`) and |R|. */
  addUser(hits: ArrayLike<number>, length: number, numRelevant: number): void {
    computeUserMetrics(hits, length, numRelevant, this.ks, this.scratch);
    this.addComputed(this.scratch);
  }

  /** Adds a vector produced by `computeUserMetrics` with the same ks (lets several groups share one computation). */
  addComputed(values: Float64Array): void {
    const s = this.sums;
    for (let t = 0; t < s.length; t++) s[t] += values[t];
    this.count++;
  }

  /** Adds another accumulator's users (same ks). */
  merge(other: RankingMetricsAccumulator): void {
    if (other.ks.length !== this.ks.length || other.ks.some((k, j) => k !== this.ks[j])) {
      throw ppError('PP_EVAL_INVALID', 'cannot merge accumulators with different ks');
    }
    for (let t = 0; t < this.sums.length; t++) this.sums[t] += other.sums[t];
    this.count += other.count;
  }

  /** Per-metric sums Σ_u metric(u), keyed like `mean()`. */
  sum(): Record<string, number> {
    return toRecord(this.sums, this.ks, 1);
  }

  /** Per-metric means over the users added; all zeros when no user was added. */
  mean(): Record<string, number> {
    return toRecord(this.sums, this.ks, this.count);
  }
}
