/**
 * Full-ranking evaluation: every evaluated user's scores over the WHOLE catalog (or a candidate pool) are
 * ranked, the user's train items are removed from the ranking (by default), and the top K is compared
 * with the user's test items — the protocol of LightGCN-PyTorch (`Procedure.Test`, which sets train-item
 * scores to −1024 before `torch.topk`) and of RecBole's full-sort evaluation.
 *
 * For the evaluated users U (users with ≥ 1 relevant test item) and a cut-off K:
 *
 *   metric@K          = (1 / |U|) Σ_{u ∈ U} metric_u@K                  (see metrics.ts for each metric)
 *   coverage@K        = |⋃_{u ∈ U} TopK(u)| / |P|                       P = the ranked pool (all items or
 *                                                                        the candidates), the "catalog"
 *   avg_popularity@K  = Σ_{u ∈ U} Σ_{i ∈ TopK(u)} pop(i) / Σ_{u ∈ U} |TopK(u)|
 *                       pop(i) = train interaction count of item i unless given; |TopK(u)| < K only when
 *                       fewer than K items are eligible.
 *   byDegree          = the metric@K means restricted to users whose train degree deg(u) lies in each
 *                       bucket [e_b, e_{b+1} − 1] (last bucket e_last+), with the bucket's user count; the
 *                       bucket counts sum to |U| and Σ_b |U_b| · metric_b = |U| · metric.
 *
 * Relevant set. R(u) = distinct test items of u; with a candidate pool C, R(u) = test(u) ∩ C and users with
 * R(u) = ∅ are skipped. A test item that is also a train item stays in R(u) but cannot be retrieved while
 * train items are masked — as in LightGCN's evaluator.
 *
 * Ties between equal scores go to the lower item id (top-k.ts); `torch.topk` does not specify tie order,
 * so results can differ from LightGCN's only on exactly tied scores.
 */

import { allocF32, free } from '../core/heap.js';
import { ppError } from '../errors.js';
import { columnCounts, validateCsr, type CsrPattern } from '../core/csr-pattern.js';
import { computeUserMetrics, metricKey, normalizeKs, RANKING_METRICS, RankingMetricsAccumulator } from './metrics.js';
import { prepareCandidates, TopKSelector } from './top-k.js';

/** Fills `out` (row-major, userIds.length × numItems) with the scores of those users for every item. */
export type ScoreBatchFn = (userIds: Int32Array, out: Float32Array) => void | Promise<void>;

/** Default lower edges of the train-degree buckets: 1–5, 6–10, 11–20, 21–50, 51+. */
export const DEFAULT_DEGREE_BUCKETS: readonly number[] = [1, 6, 11, 21, 51];

export interface FullRankingOptions {
  readonly numUsers: number;
  readonly numItems: number;
  /**
   * Scores a batch of users against ALL `numItems` items; must write every one of the
   * `userIds.length × numItems` values of `out` (the buffer is reused between batches).
   */
  readonly scoreBatch: ScoreBatchFn;
  /** Per-user train items (CSR, numUsers rows): masked out of the ranking and the source of deg(u). */
  readonly train: CsrPattern;
  /** Per-user relevant (test) items (CSR, numUsers rows). */
  readonly test: CsrPattern;
  /** Cut-offs, e.g. [10, 20, 50]. */
  readonly ks: readonly number[];
  /** Users scored per `scoreBatch` call (default 256). Memory: batchSize × numItems × 4 bytes. */
  readonly batchSize?: number;
  /** Remove each user's train items from its ranking (default true). */
  readonly maskTrain?: boolean;
  /** pop(i) for avg_popularity@K (default: train counts from `train`). */
  readonly itemPopularity?: Float32Array;
  /** Ascending lower edges of the train-degree buckets (default `DEFAULT_DEGREE_BUCKETS`). */
  readonly userDegreeBuckets?: readonly number[];
  /** Restrict the relevant items (and by default the ranking) to these items, e.g. cold items (cold-start.ts). */
  readonly candidates?: ArrayLike<number> | null;
  /**
   * With `candidates`: rank only among the candidates ('candidates', default) or among all items
   * ('all'; R(u) is still restricted to the candidates, so other items only take places in the top K).
   */
  readonly rankAmong?: 'candidates' | 'all';
  /** Evaluate only these users (default: all users); users without relevant items are still skipped. */
  readonly users?: ArrayLike<number> | null;
  /** Called after every batch. */
  readonly onProgress?: (usersDone: number, usersTotal: number) => void;
}

export interface DegreeBucketResult {
  /** "1-5", "6-10", …, "51+". */
  readonly bucket: string;
  readonly minDegree: number;
  /** Inclusive upper edge; null for the open last bucket. */
  readonly maxDegree: number | null;
  /** Evaluated users in the bucket. */
  readonly users: number;
  /** Means over the bucket's users, same keys as `metrics`; zeros for an empty bucket. */
  readonly metrics: Record<string, number>;
}

export interface FullRankingResult {
  readonly protocol: 'full-ranking';
  readonly ks: number[];
  readonly maskTrain: boolean;
  readonly numItems: number;
  /** Items the ranking was over: numItems, or the candidate count when ranking among candidates. */
  readonly rankedItems: number;
  /** Number of candidate items, null when no candidate pool was given. */
  readonly candidateItems: number | null;
  readonly rankAmong: 'all' | 'candidates';
  /** Users averaged over (≥ 1 relevant item). */
  readonly usersEvaluated: number;
  /** Users considered but skipped for having no relevant item. */
  readonly usersSkipped: number;
  /** "recall@20", "ndcg@20", "precision@20", "hit@20", "mrr@20", "map@20", … */
  readonly metrics: Record<string, number>;
  /** "coverage@20": share of the ranked pool recommended to at least one evaluated user. */
  readonly coverage: Record<string, number>;
  /** "avg_popularity@20": mean pop(i) over all recommended (user, item) slots. */
  readonly avgPopularity: Record<string, number>;
  readonly byDegree: DegreeBucketResult[];
  readonly seconds: number;
  readonly usersPerSecond: number;
}

function checkCount(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw ppError('PP_EVAL_INVALID', `${name} must be a positive integer, got ${v}`);
}

function checkEdges(edges: readonly number[]): void {
  for (let b = 0; b < edges.length; b++) {
    if (!Number.isInteger(edges[b]) || edges[b] < 0 || (b > 0 && edges[b] <= edges[b - 1])) {
      throw ppError('PP_EVAL_INVALID', `degree bucket edges must be ascending non-negative integers, got [${edges.join(', ')}]`);
    }
  }
}

const NUM_METRICS = RANKING_METRICS.length;

/** Floats per user row: the metric values (metric-major, see computeUserMetrics), Σ pop over TopK, |TopK| per K. */
export function rowWidth(numKs: number): number {
  return NUM_METRICS * numKs + 2 * numKs;
}

/**
 * What one part's evaluation produced per user, in evaluation order: what a shard of a sharded evaluation
 * returns. Replaying the rows of consecutive user ranges in order ({@link FullRankingTally.replay}) adds the
 * same numbers in the same order as one local pass, so the merged result is bit-identical.
 */
export interface FullRankingRows {
  readonly ks: number[];
  /** Users considered (evaluated + skipped). */
  readonly considered: number;
  /** Evaluated users, in evaluation order. */
  readonly users: Int32Array;
  /** deg(u) of each evaluated user (row length of the part's `train`). */
  readonly degrees: Int32Array;
  /** users.length × rowWidth(ks.length) values. */
  readonly values: Float64Array;
  /** Per item: best (0-based) rank at which it was recommended, maxK if never. */
  readonly bestRank: Int32Array;
}

interface Bucket {
  label: string;
  min: number;
  max: number | null;
  acc: RankingMetricsAccumulator;
}

/**
 * The running totals of one part: metric sums overall and per degree bucket, Σ pop and slot counts per K,
 * the best rank of every item; optionally the per-user rows themselves (for shards).
 */
export class FullRankingTally {
  readonly ks: number[];
  private readonly nk: number;
  private readonly maxK: number;
  private readonly overall: RankingMetricsAccumulator;
  private readonly buckets: Bucket[];
  /** The bucket below the first edge exists only if a user falls in it (index 0 when edges[0] > 0). */
  private readonly hasBelow: boolean;
  private readonly popSum: Float64Array;
  private readonly popCount: Float64Array;
  readonly bestRank: Int32Array;
  considered = 0;
  private rec: { users: Int32Array; degrees: Int32Array; values: Float64Array; n: number } | null = null;

  constructor(ks: readonly number[], edges: readonly number[], numItems: number) {
    this.ks = normalizeKs(ks);
    this.nk = this.ks.length;
    this.maxK = this.ks[this.nk - 1];
    checkEdges(edges);
    this.overall = new RankingMetricsAccumulator(this.ks);
    const range = (lo: number, hi: number | null) => (hi === null ? `${lo}+` : lo === hi ? `${lo}` : `${lo}-${hi}`);
    this.buckets = [];
    this.hasBelow = edges.length > 0 && edges[0] > 0;
    if (this.hasBelow) this.buckets.push({ label: range(0, edges[0] - 1), min: 0, max: edges[0] - 1, acc: new RankingMetricsAccumulator(this.ks) });
    for (let b = 0; b < edges.length; b++) {
      const max = b + 1 < edges.length ? edges[b + 1] - 1 : null;
      this.buckets.push({ label: range(edges[b], max), min: edges[b], max, acc: new RankingMetricsAccumulator(this.ks) });
    }
    this.popSum = new Float64Array(this.nk);
    this.popCount = new Float64Array(this.nk);
    this.bestRank = new Int32Array(numItems).fill(this.maxK);
  }

  /** Keep every added row (room for `capacity` users) so that {@link rows} can return them. */
  record(capacity: number): void {
    this.rec = { users: new Int32Array(capacity), degrees: new Int32Array(capacity), values: new Float64Array(capacity * rowWidth(this.nk)), n: 0 };
  }

  get evaluated(): number {
    return this.overall.count;
  }

  /** Adds one evaluated user's row (`row[offset .. offset + rowWidth)`). */
  addRow(user: number, degree: number, row: Float64Array, offset = 0): void {
    const values = offset === 0 ? row : row.subarray(offset, offset + rowWidth(this.nk));
    this.overall.addComputed(values);
    for (let b = this.buckets.length - 1; b >= 0; b--) {
      if (degree >= this.buckets[b].min) {
        this.buckets[b].acc.addComputed(values);
        break;
      }
    }
    const nk = this.nk;
    const at = NUM_METRICS * nk;
    for (let j = 0; j < nk; j++) {
      this.popSum[j] += values[at + j];
      this.popCount[j] += values[at + nk + j];
    }
    const rec = this.rec;
    if (rec !== null) {
      rec.users[rec.n] = user;
      rec.degrees[rec.n] = degree;
      rec.values.set(values, rec.n * rowWidth(nk));
      rec.n++;
    }
  }

  /** The recorded rows (after {@link record}). */
  rows(): FullRankingRows {
    const rec = this.rec;
    if (rec === null) throw ppError('PP_INTERNAL', 'rows() without record()');
    return {
      ks: this.ks,
      considered: this.considered,
      users: rec.users.subarray(0, rec.n),
      degrees: rec.degrees.subarray(0, rec.n),
      values: rec.values.subarray(0, rec.n * rowWidth(this.nk)),
      bestRank: this.bestRank,
    };
  }

  /** Adds the rows of a shard (user ranges must be replayed in evaluation order). */
  replay(rows: FullRankingRows): void {
    if (rows.ks.length !== this.nk || rows.ks.some((k, j) => k !== this.ks[j])) throw ppError('PP_EVAL_INVALID', 'rows were computed with other ks');
    if (rows.bestRank.length !== this.bestRank.length) throw ppError('PP_EVAL_INVALID', 'rows were computed over another item count');
    const w = rowWidth(this.nk);
    for (let t = 0; t < rows.users.length; t++) this.addRow(rows.users[t], rows.degrees[t], rows.values, t * w);
    for (let i = 0; i < this.bestRank.length; i++) if (rows.bestRank[i] < this.bestRank[i]) this.bestRank[i] = rows.bestRank[i];
    this.considered += rows.considered;
  }

  /** The result (see the module comment); `seconds` is the wall time to report. */
  result(meta: { maskTrain: boolean; rankedItems: number; candidateItems: number | null; rankAmong: 'all' | 'candidates'; seconds: number }): FullRankingResult {
    const { ks, nk, maxK } = this;
    const coverage: Record<string, number> = {};
    const avgPopularity: Record<string, number> = {};
    const covered = new Float64Array(nk);
    for (let i = 0; i < this.bestRank.length; i++) {
      const best = this.bestRank[i];
      if (best >= maxK) continue;
      for (let j = 0; j < nk; j++) if (best < ks[j]) covered[j]++;
    }
    for (let j = 0; j < nk; j++) {
      coverage[metricKey('coverage', ks[j])] = meta.rankedItems > 0 ? covered[j] / meta.rankedItems : 0;
      avgPopularity[metricKey('avg_popularity', ks[j])] = this.popCount[j] > 0 ? this.popSum[j] / this.popCount[j] : 0;
    }
    const buckets = this.hasBelow && this.buckets[0].acc.count === 0 ? this.buckets.slice(1) : this.buckets;
    const nEval = this.overall.count;
    return {
      protocol: 'full-ranking',
      ks: [...ks],
      maskTrain: meta.maskTrain,
      numItems: this.bestRank.length,
      rankedItems: meta.rankedItems,
      candidateItems: meta.candidateItems,
      rankAmong: meta.rankAmong,
      usersEvaluated: nEval,
      usersSkipped: this.considered - nEval,
      metrics: this.overall.mean(),
      coverage,
      avgPopularity,
      byDegree: buckets.map((b) => ({ bucket: b.label, minDegree: b.min, maxDegree: b.max, users: b.acc.count, metrics: b.acc.mean() })),
      seconds: meta.seconds,
      usersPerSecond: meta.seconds > 0 ? nEval / meta.seconds : 0,
    };
  }
}

/** One part of a joint pass: its masked items (and deg(u)), its relevant items, pop(i). See FullRankingOptions. */
export interface RankingPart {
  readonly train: CsrPattern;
  readonly test: CsrPattern;
  readonly itemPopularity?: Float32Array;
  /**
   * This part masks what an earlier part `part` masks plus `extra(u)` (its `train` must be that union, e.g.
   * test masks train ∪ valid = valid's mask + the valid items). Its top K is then read off that part's
   * selection, extended to K + |extra(u)| ranks, instead of a second pass over the scores: with the extra
   * items removed from the extended list, its first K entries are exactly the top K under the larger mask.
   */
  readonly derivedFrom?: { readonly part: number; readonly extra: CsrPattern };
}

/** The options every part of a joint pass shares. */
export type FullRankingCommon = Omit<FullRankingOptions, 'train' | 'test' | 'itemPopularity'>;

/** Seconds spent per phase of a pass (added to, so one object can sum several passes). */
export interface FullRankingTimings {
  score: number;
  select: number;
  metrics: number;
}

/** The outcome of {@link rankFullRankingParts}: one tally per part and what their results share. */
export interface RankedParts {
  readonly tallies: FullRankingTally[];
  readonly maskTrain: boolean;
  readonly rankedItems: number;
  readonly candidateItems: number | null;
  readonly rankAmong: 'all' | 'candidates';
  readonly seconds: number;
}

/**
 * Ranks every considered user once for all `parts`: each batch of users is scored once, then each part
 * selects its own top K from the same score rows (its own exclusions) and adds its users' metrics. A user is
 * scored if any part evaluates it. `record` keeps the per-user rows (shards).
 */
export async function rankFullRankingParts(
  common: FullRankingCommon,
  parts: readonly RankingPart[],
  opts: { record?: boolean; timings?: FullRankingTimings } = {},
): Promise<RankedParts> {
  const started = performance.now();
  const { numUsers, numItems, scoreBatch } = common;
  checkCount('numUsers', numUsers);
  checkCount('numItems', numItems);
  const batchSize = common.batchSize ?? 256;
  checkCount('batchSize', batchSize);
  if (typeof scoreBatch !== 'function') throw ppError('PP_EVAL_INVALID', 'scoreBatch must be a function');
  if (parts.length < 1) throw ppError('PP_EVAL_INVALID', 'at least one part is needed');
  const ks = normalizeKs(common.ks);
  const nk = ks.length;
  const maxK = ks[nk - 1];
  const maskTrain = common.maskTrain ?? true;
  const edges = common.userDegreeBuckets ?? DEFAULT_DEGREE_BUCKETS;
  checkEdges(edges);
  const popularity: Float32Array[] = [];
  for (const part of parts) {
    validateCsr('train', part.train, numUsers, numItems);
    validateCsr('test', part.test, numUsers, numItems);
    const pop = part.itemPopularity ?? columnCounts(part.train, numItems);
    if (pop.length !== numItems) throw ppError('PP_EVAL_INVALID', 'itemPopularity must have numItems entries');
    popularity.push(pop);
  }
  const derived = parts.map((part, p) => {
    const d = part.derivedFrom;
    if (d === undefined) return -1;
    if (!Number.isInteger(d.part) || d.part < 0 || d.part >= p || parts[d.part].derivedFrom !== undefined) {
      throw ppError('PP_EVAL_INVALID', `part ${p} can only derive from an earlier, non-derived part, got ${d.part}`);
    }
    validateCsr('extra', d.extra, numUsers, numItems);
    return d.part;
  });

  const candidates = common.candidates != null ? prepareCandidates(common.candidates, numItems) : null;
  const rankAmong = candidates === null ? 'all' : (common.rankAmong ?? 'candidates');
  if (rankAmong !== 'all' && rankAmong !== 'candidates') {
    throw ppError('PP_EVAL_INVALID', `rankAmong must be 'candidates' or 'all', got ${String(rankAmong)}`);
  }
  let candidateMask: Uint8Array | null = null;
  if (candidates !== null) {
    candidateMask = new Uint8Array(numItems);
    for (let j = 0; j < candidates.length; j++) candidateMask[candidates[j]] = 1;
  }
  const rankedItems = rankAmong === 'candidates' && candidates !== null ? candidates.length : numItems;

  // Per part and considered user: |R(u)| (distinct relevant items), 0 = skipped.
  const considered: ArrayLike<number> = common.users ?? { length: numUsers };
  const nc = considered.length;
  const mark = new Uint8Array(numItems);
  const numRelevant = parts.map(() => new Int32Array(nc));
  const scored = new Int32Array(nc); // users scored (in any part), in considered order
  const scoredAt = new Int32Array(nc); // their index in `considered`
  const perPart = new Int32Array(parts.length);
  let nScored = 0;
  for (let t = 0; t < nc; t++) {
    const u = common.users != null ? considered[t] : t;
    if (!Number.isInteger(u) || u < 0 || u >= numUsers) throw ppError('PP_EVAL_INVALID', `user ${u} is outside [0, ${numUsers})`);
    let any = false;
    for (let p = 0; p < parts.length; p++) {
      const test = parts[p].test;
      let count = 0;
      const start = test.indptr[u];
      const end = test.indptr[u + 1];
      for (let e = start; e < end; e++) {
        const i = test.indices[e];
        if (mark[i] === 0 && (candidateMask === null || candidateMask[i] !== 0)) {
          mark[i] = 1;
          count++;
        }
      }
      for (let e = start; e < end; e++) mark[test.indices[e]] = 0;
      numRelevant[p][t] = count;
      if (count > 0) {
        any = true;
        perPart[p]++;
      }
    }
    if (any) {
      scored[nScored] = u;
      scoredAt[nScored] = t;
      nScored++;
    }
  }

  const tallies = parts.map((_, p) => {
    const tally = new FullRankingTally(ks, edges, numItems);
    tally.considered = nc;
    if (opts.record) tally.record(perPart[p]);
    return tally;
  });

  // Extended selections: base part p ranks K + max |extra(u)| entries when a derived part needs more.
  let cap = maxK;
  parts.forEach((part, q) => {
    if (derived[q] < 0) return;
    const ip = part.derivedFrom!.extra.indptr;
    for (let t = 0; t < nScored; t++) cap = Math.max(cap, maxK + ip[scored[t] + 1] - ip[scored[t]]);
  });
  const selectors = new Map<number, TopKSelector>();
  const selectorFor = (k: number) => {
    let sel = selectors.get(k);
    if (sel === undefined) selectors.set(k, (sel = new TopKSelector(k)));
    return sel;
  };
  const rows = Math.min(batchSize, Math.max(nScored, 1));
  // In the shared heap: a model scoring with the core kernels writes it in place (no staging copy).
  const scoreBuf = allocF32(rows * numItems, false);
  const userBuf = new Int32Array(rows);
  const topOf = parts.map((_, p) => (derived[p] < 0 ? new Int32Array(rows * cap) : new Int32Array(rows * maxK)));
  const strideOf = parts.map((_, p) => (derived[p] < 0 ? cap : maxK));
  const hits = new Uint8Array(maxK);
  const row = new Float64Array(rowWidth(nk));
  const selectCandidates = rankAmong === 'candidates' ? candidates : null;
  const timings = opts.timings;
  try {
    for (let done = 0; done < nScored; ) {
      const n = Math.min(rows, nScored - done);
      const users = n === rows ? userBuf : userBuf.subarray(0, n);
      users.set(scored.subarray(done, done + n));
      const block = n === rows ? scoreBuf : scoreBuf.subarray(0, n * numItems);
      let t0 = performance.now();
      await scoreBatch(users, block);
      let t1 = performance.now();
      if (timings) timings.score += (t1 - t0) / 1000;
      t0 = t1;

      // Selection: one pass over each row per base part, long enough for the parts derived from it.
      for (let p = 0; p < parts.length; p++) {
        if (derived[p] >= 0) continue;
        const train = parts[p].train;
        const top = topOf[p];
        for (let r = 0; r < n; r++) {
          const t = scoredAt[done + r];
          let k = numRelevant[p][t] > 0 ? maxK : 0;
          for (let q = p + 1; q < parts.length; q++) {
            if (derived[q] !== p || numRelevant[q][t] === 0) continue;
            const ip = parts[q].derivedFrom!.extra.indptr;
            k = Math.max(k, maxK + ip[users[r] + 1] - ip[users[r]]);
          }
          if (k === 0) continue;
          selectorFor(k).selectRow(block, r * numItems, numItems, maskTrain ? maskRow(train, users[r], mark) : null, selectCandidates, top, r * cap);
          if (maskTrain) clearRow(train, users[r], mark);
        }
      }
      for (let q = 0; q < parts.length; q++) {
        const p = derived[q];
        if (p < 0) continue;
        const extra = parts[q].derivedFrom!.extra;
        const from = topOf[p];
        const to = topOf[q];
        for (let r = 0; r < n; r++) {
          if (numRelevant[q][scoredAt[done + r]] === 0) continue;
          const u = users[r];
          if (maskTrain) maskRow(extra, u, mark);
          let m = 0;
          for (let e = r * cap, end = r * cap + cap; e < end && m < maxK; e++) {
            const item = from[e];
            if (item < 0) break;
            if (!maskTrain || mark[item] === 0) to[r * maxK + m++] = item;
          }
          for (; m < maxK; m++) to[r * maxK + m] = -1;
          if (maskTrain) clearRow(extra, u, mark);
        }
      }
      t1 = performance.now();
      if (timings) timings.select += (t1 - t0) / 1000;
      t0 = t1;

      for (let p = 0; p < parts.length; p++) {
        const { train, test } = parts[p];
        const rel = numRelevant[p];
        const pop = popularity[p];
        const tally = tallies[p];
        const bestRank = tally.bestRank;
        const topBuf = topOf[p];
        const stride = strideOf[p];
        for (let r = 0; r < n; r++) {
          const nRel = rel[scoredAt[done + r]];
          if (nRel === 0) continue;
          const u = users[r];
          // Mark R(u).
          const ts = test.indptr[u];
          const te = test.indptr[u + 1];
          for (let e = ts; e < te; e++) {
            const i = test.indices[e];
            if (candidateMask === null || candidateMask[i] !== 0) mark[i] = 1;
          }
          const base = r * stride;
          let listLen = 0;
          let popTotal = 0;
          let j = 0;
          for (let q = 0; q < maxK; q++) {
            const item = topBuf[base + q];
            if (item >= 0) {
              hits[q] = mark[item];
              listLen = q + 1;
              popTotal += pop[item];
              if (q < bestRank[item]) bestRank[item] = q;
            } else {
              hits[q] = 0;
            }
            while (j < nk && ks[j] === q + 1) {
              row[NUM_METRICS * nk + j] = popTotal;
              row[NUM_METRICS * nk + nk + j] = listLen;
              j++;
            }
          }
          for (let e = ts; e < te; e++) mark[test.indices[e]] = 0;
          computeUserMetrics(hits, listLen, nRel, ks, row);
          tally.addRow(u, train.indptr[u + 1] - train.indptr[u], row);
        }
      }
      if (timings) timings.metrics += (performance.now() - t0) / 1000;
      done += n;
      common.onProgress?.(done, nScored);
    }
  } finally {
    free(scoreBuf);
  }
  return {
    tallies,
    maskTrain,
    rankedItems,
    candidateItems: candidates === null ? null : candidates.length,
    rankAmong,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Sets mask[i] = 1 for the items of CSR row u; returns the mask, or null for an empty row. */
function maskRow(csr: CsrPattern, u: number, mask: Uint8Array): Uint8Array | null {
  const start = csr.indptr[u];
  const end = csr.indptr[u + 1];
  if (start === end) return null;
  const idx = csr.indices;
  for (let e = start; e < end; e++) mask[idx[e]] = 1;
  return mask;
}

function clearRow(csr: CsrPattern, u: number, mask: Uint8Array): void {
  const idx = csr.indices;
  for (let e = csr.indptr[u]; e < csr.indptr[u + 1]; e++) mask[idx[e]] = 0;
}

/** The results of {@link rankFullRankingParts}, one per part (each reports the joint pass's wall time). */
export function rankedResults(ranked: RankedParts): FullRankingResult[] {
  return ranked.tallies.map((t) => t.result(ranked));
}

/**
 * Full-ranking evaluation of several parts over the same scores (e.g. valid and test of one model: the user
 * vectors are the same, only the masked and relevant items differ) in one pass: each user is scored once.
 * Each result equals what {@link evaluateFullRanking} gives for that part alone.
 */
export async function evaluateFullRankingParts(
  common: FullRankingCommon,
  parts: readonly RankingPart[],
  opts: { timings?: FullRankingTimings } = {},
): Promise<FullRankingResult[]> {
  return rankedResults(await rankFullRankingParts(common, parts, opts));
}

/** Runs full-ranking evaluation; see the module comment for the definitions. */
export async function evaluateFullRanking(options: FullRankingOptions, opts: { timings?: FullRankingTimings } = {}): Promise<FullRankingResult> {
  const { train, test, itemPopularity, ...common } = options;
  const [result] = await evaluateFullRankingParts(common, [{ train, test, itemPopularity }], opts);
  return result;
}
