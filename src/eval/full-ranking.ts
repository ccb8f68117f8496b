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

interface Bucket {
  label: string;
  min: number;
  max: number | null;
  acc: RankingMetricsAccumulator;
}

function makeBuckets(edges: readonly number[], ks: readonly number[], needBelow: boolean): Bucket[] {
  for (let b = 0; b < edges.length; b++) {
    if (!Number.isInteger(edges[b]) || edges[b] < 0 || (b > 0 && edges[b] <= edges[b - 1])) {
      throw ppError('PP_EVAL_INVALID', `degree bucket edges must be ascending non-negative integers, got [${edges.join(', ')}]`);
    }
  }
  const buckets: Bucket[] = [];
  const range = (lo: number, hi: number | null) => (hi === null ? `${lo}+` : lo === hi ? `${lo}` : `${lo}-${hi}`);
  if (needBelow && edges.length > 0 && edges[0] > 0) {
    buckets.push({ label: range(0, edges[0] - 1), min: 0, max: edges[0] - 1, acc: new RankingMetricsAccumulator(ks) });
  }
  for (let b = 0; b < edges.length; b++) {
    const max = b + 1 < edges.length ? edges[b + 1] - 1 : null;
    buckets.push({ label: range(edges[b], max), min: edges[b], max, acc: new RankingMetricsAccumulator(ks) });
  }
  return buckets;
}

function bucketOf(buckets: Bucket[], degree: number): Bucket | null {
  for (let b = buckets.length - 1; b >= 0; b--) if (degree >= buckets[b].min) return buckets[b];
  return null;
}

/** Runs full-ranking evaluation; see the module comment for the definitions. */
export async function evaluateFullRanking(options: FullRankingOptions): Promise<FullRankingResult> {
  const started = performance.now();
  const { numUsers, numItems, train, test, scoreBatch } = options;
  checkCount('numUsers', numUsers);
  checkCount('numItems', numItems);
  const batchSize = options.batchSize ?? 256;
  checkCount('batchSize', batchSize);
  if (typeof scoreBatch !== 'function') throw ppError('PP_EVAL_INVALID', 'scoreBatch must be a function');
  validateCsr('train', train, numUsers, numItems);
  validateCsr('test', test, numUsers, numItems);
  const ks = normalizeKs(options.ks);
  const nk = ks.length;
  const maxK = ks[nk - 1];
  const maskTrain = options.maskTrain ?? true;
  const popularity = options.itemPopularity ?? columnCounts(train, numItems);
  if (popularity.length !== numItems) throw ppError('PP_EVAL_INVALID', 'itemPopularity must have numItems entries');

  const candidates = options.candidates != null ? prepareCandidates(options.candidates, numItems) : null;
  const rankAmong = candidates === null ? 'all' : (options.rankAmong ?? 'candidates');
  if (rankAmong !== 'all' && rankAmong !== 'candidates') {
    throw ppError('PP_EVAL_INVALID', `rankAmong must be 'candidates' or 'all', got ${String(rankAmong)}`);
  }
  let candidateMask: Uint8Array | null = null;
  if (candidates !== null) {
    candidateMask = new Uint8Array(numItems);
    for (let j = 0; j < candidates.length; j++) candidateMask[candidates[j]] = 1;
  }
  const rankedItems = rankAmong === 'candidates' && candidates !== null ? candidates.length : numItems;

  // Users to evaluate: those with ≥ 1 distinct relevant item; |R(u)| kept per evaluated user.
  const considered: ArrayLike<number> = options.users ?? { length: numUsers };
  const mark = new Uint8Array(numItems);
  const evalUsers = new Int32Array(considered.length);
  const numRelevant = new Int32Array(considered.length);
  let nEval = 0;
  for (let t = 0; t < considered.length; t++) {
    const u = options.users != null ? considered[t] : t;
    if (!Number.isInteger(u) || u < 0 || u >= numUsers) throw ppError('PP_EVAL_INVALID', `user ${u} is outside [0, ${numUsers})`);
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
    if (count > 0) {
      evalUsers[nEval] = u;
      numRelevant[nEval] = count;
      nEval++;
    }
  }
  const usersSkipped = considered.length - nEval;

  let needBelow = false;
  const edges = options.userDegreeBuckets ?? DEFAULT_DEGREE_BUCKETS;
  for (let t = 0; t < nEval && edges.length > 0; t++) {
    const u = evalUsers[t];
    if (train.indptr[u + 1] - train.indptr[u] < edges[0]) {
      needBelow = true;
      break;
    }
  }
  const buckets = makeBuckets(edges, ks, needBelow);

  const overall = new RankingMetricsAccumulator(ks);
  const selector = new TopKSelector(maxK);
  const rows = Math.min(batchSize, Math.max(nEval, 1));
  const scoreBuf = new Float32Array(rows * numItems);
  const userBuf = new Int32Array(rows);
  const topBuf = new Int32Array(rows * maxK);
  const hits = new Uint8Array(maxK);
  const userValues = new Float64Array(RANKING_METRICS.length * nk);
  const bestRank = new Int32Array(numItems).fill(maxK); // best (0-based) rank at which each item was recommended
  const popSum = new Float64Array(nk);
  const popCount = new Float64Array(nk);
  const selectCandidates = rankAmong === 'candidates' ? candidates : null;
  const exclusion = maskTrain ? { csr: train, rows: userBuf } : null;

  for (let done = 0; done < nEval; ) {
    const n = Math.min(rows, nEval - done);
    const users = n === rows ? userBuf : userBuf.subarray(0, n);
    users.set(evalUsers.subarray(done, done + n));
    const block = n === rows ? scoreBuf : scoreBuf.subarray(0, n * numItems);
    await scoreBatch(users, block);
    selector.selectBatch(block, n, { numItems, exclude: exclusion, candidates: selectCandidates, out: topBuf });

    for (let r = 0; r < n; r++) {
      const u = users[r];
      const t = done + r;
      // Mark R(u).
      const ts = test.indptr[u];
      const te = test.indptr[u + 1];
      for (let e = ts; e < te; e++) {
        const i = test.indices[e];
        if (candidateMask === null || candidateMask[i] !== 0) mark[i] = 1;
      }
      const base = r * maxK;
      let listLen = 0;
      let pop = 0;
      let j = 0;
      for (let p = 0; p < maxK; p++) {
        const item = topBuf[base + p];
        if (item >= 0) {
          hits[p] = mark[item];
          listLen = p + 1;
          pop += popularity[item];
          if (p < bestRank[item]) bestRank[item] = p;
        } else {
          hits[p] = 0;
        }
        while (j < nk && ks[j] === p + 1) {
          popSum[j] += pop;
          popCount[j] += listLen;
          j++;
        }
      }
      for (let e = ts; e < te; e++) mark[test.indices[e]] = 0;

      computeUserMetrics(hits, listLen, numRelevant[t], ks, userValues);
      overall.addComputed(userValues);
      const bucket = bucketOf(buckets, train.indptr[u + 1] - train.indptr[u]);
      if (bucket !== null) bucket.acc.addComputed(userValues);
    }
    done += n;
    options.onProgress?.(done, nEval);
  }

  const coverage: Record<string, number> = {};
  const avgPopularity: Record<string, number> = {};
  const covered = new Float64Array(nk);
  for (let i = 0; i < numItems; i++) {
    const best = bestRank[i];
    if (best >= maxK) continue;
    for (let j = 0; j < nk; j++) if (best < ks[j]) covered[j]++;
  }
  for (let j = 0; j < nk; j++) {
    coverage[metricKey('coverage', ks[j])] = rankedItems > 0 ? covered[j] / rankedItems : 0;
    avgPopularity[metricKey('avg_popularity', ks[j])] = popCount[j] > 0 ? popSum[j] / popCount[j] : 0;
  }

  const seconds = (performance.now() - started) / 1000;
  return {
    protocol: 'full-ranking',
    ks,
    maskTrain,
    numItems,
    rankedItems,
    candidateItems: candidates === null ? null : candidates.length,
    rankAmong,
    usersEvaluated: nEval,
    usersSkipped,
    metrics: overall.mean(),
    coverage,
    avgPopularity,
    byDegree: buckets.map((b) => ({
      bucket: b.label,
      minDegree: b.min,
      maxDegree: b.max,
      users: b.acc.count,
      metrics: b.acc.mean(),
    })),
    seconds,
    usersPerSecond: seconds > 0 ? nEval / seconds : 0,
  };
}
