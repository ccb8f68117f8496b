/**
 * The SAMPLED evaluation protocol ("1 + N"): for every test (user, item) pair, the positive item is ranked
 * against N random negative items only — not against the catalog. This is what the reference system (and
 * NCF-style papers: leave-one-out, N = 99) report. Outputs are labelled `protocol: 'sampled-1+N'`.
 *
 * WARNING — not comparable to full ranking. Ranking among N + 1 items instead of the whole catalog makes
 * every metric much higher (with N = 99, HR@10 of a random scorer is already 0.10, whereas its full-ranking
 * Recall@10 on Gowalla is ≈ 10/40,981), and the sampled metrics are not even guaranteed to order models the
 * same way as the full ones (Krichene & Rendle, "On Sampled Metrics for Item Recommendation", KDD 2020).
 * Use it only to compare with numbers published under the same protocol; report full ranking otherwise.
 *
 * For a pair (u, i⁺) with negatives j_1..j_N drawn uniformly WITHOUT replacement from
 * I \ (train(u) ∪ test(u)), and scores s:
 *
 *   rank = 1 + |{ n : s(j_n) > s(i⁺) }| + T,   T uniform in {0, …, |{ n : s(j_n) = s(i⁺) }|}
 *
 * (ties are broken uniformly at random — neither optimistically nor pessimistically — so a constant scorer
 * gets E[HR@K] = K / (N + 1), like a random one; NaN scores count as −∞). Then
 *
 *   HR@K   = [rank ≤ K]
 *   NDCG@K = [rank ≤ K] / log2(rank + 1)          (one relevant item, so IDCG = 1)
 *   MRR    = 1 / rank                              (over the whole 1 + N list)
 *
 * averaged over pairs (each test interaction weighs 1, as in leave-one-out evaluation). Negatives come
 * from a PRNG seeded with `seed` and depend only on the data, never on the scores, so every model is
 * evaluated on the same negatives; tie-breaking uses a second stream derived from the same seed. Pairs are
 * visited in (user, distinct test item) order. Users with fewer than N eligible negatives are skipped and
 * counted in `pairsSkipped`.
 */

import { ppError } from '../errors.js';
import { validateCsr, type CsrPattern } from '../core/csr-pattern.js';
import { dcgDiscount, metricKey, normalizeKs } from './metrics.js';
import { Prng } from './prng.js';

/**
 * Scores rows of candidate items: row r is user `userIds[r]` against items
 * `itemIds[r·width .. (r+1)·width)`; write the scores at the same positions of `out`.
 * Column 0 of each row is the positive item, columns 1..N the negatives.
 */
export type ScoreCandidatesFn = (
  userIds: Int32Array,
  itemIds: Int32Array,
  width: number,
  out: Float32Array,
) => void | Promise<void>;

export interface SampledOptions {
  readonly numUsers: number;
  readonly numItems: number;
  readonly train: CsrPattern;
  readonly test: CsrPattern;
  readonly scoreCandidates: ScoreCandidatesFn;
  /** N, negatives per positive (default 99). */
  readonly numNegatives?: number;
  /** Cut-offs for HR / NDCG (default [10]). */
  readonly ks?: readonly number[];
  /** PRNG seed (default 2020). */
  readonly seed?: number;
  /** Pairs per `scoreCandidates` call (default 1024). */
  readonly batchSize?: number;
  readonly onProgress?: (pairsDone: number) => void;
}

export interface SampledResult {
  readonly protocol: 'sampled-1+N';
  /** N. */
  readonly numNegatives: number;
  readonly seed: number;
  readonly ks: number[];
  readonly pairsEvaluated: number;
  /** Pairs of users with fewer than N eligible negatives. */
  readonly pairsSkipped: number;
  readonly usersEvaluated: number;
  /** "hit@10", "ndcg@10", "mrr". */
  readonly metrics: Record<string, number>;
  readonly note: string;
}

export const SAMPLED_PROTOCOL_NOTE =
  'sampled 1+N protocol: the positive is ranked among N random negatives only; it overestimates every metric ' +
  'and is not comparable to full-ranking results';

const TIE_STREAM = 0x9e3779b9;

/** Runs the sampled 1+N evaluation; see the module comment. */
export async function evaluateSampled(options: SampledOptions): Promise<SampledResult> {
  const { numUsers, numItems, train, test, scoreCandidates } = options;
  for (const [name, v] of [['numUsers', numUsers], ['numItems', numItems]] as const) {
    if (!Number.isInteger(v) || v < 1) throw ppError('PP_EVAL_INVALID', `${name} must be a positive integer, got ${v}`);
  }
  const numNegatives = options.numNegatives ?? 99;
  if (!Number.isInteger(numNegatives) || numNegatives < 1) {
    throw ppError('PP_EVAL_INVALID', `numNegatives must be a positive integer, got ${numNegatives}`);
  }
  const batchSize = options.batchSize ?? 1024;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw ppError('PP_EVAL_INVALID', `batchSize must be a positive integer, got ${batchSize}`);
  }
  validateCsr('train', train, numUsers, numItems);
  validateCsr('test', test, numUsers, numItems);
  const ks = normalizeKs(options.ks ?? [10]);
  const nk = ks.length;
  const seed = options.seed ?? 2020;
  const negRng = new Prng(seed);
  const tieRng = new Prng((seed ^ TIE_STREAM) >>> 0);

  const width = numNegatives + 1;
  const userBuf = new Int32Array(batchSize);
  const itemBuf = new Int32Array(batchSize * width);
  const scoreBuf = new Float32Array(batchSize * width);
  const mark = new Uint8Array(numItems); // 1 = train/test of the current user, 2 = already drawn
  let scratch: Int32Array | null = null; // eligible items, for users with few of them

  const hitSum = new Float64Array(nk);
  const ndcgSum = new Float64Array(nk);
  let mrrSum = 0;
  let pairs = 0;
  let skipped = 0;
  let usersEvaluated = 0;
  let fill = 0;

  const flush = async () => {
    if (fill === 0) return;
    const users = fill === batchSize ? userBuf : userBuf.subarray(0, fill);
    const items = fill === batchSize ? itemBuf : itemBuf.subarray(0, fill * width);
    const out = fill === batchSize ? scoreBuf : scoreBuf.subarray(0, fill * width);
    await scoreCandidates(users, items, width, out);
    for (let r = 0; r < fill; r++) {
      const base = r * width;
      let pos = out[base];
      if (pos !== pos) pos = -Infinity;
      let greater = 0;
      let ties = 0;
      for (let c = 1; c < width; c++) {
        let s = out[base + c];
        if (s !== s) s = -Infinity;
        if (s > pos) greater++;
        else if (s === pos) ties++;
      }
      const rank = 1 + greater + (ties > 0 ? tieRng.int(ties + 1) : 0);
      mrrSum += 1 / rank;
      for (let j = 0; j < nk; j++) {
        if (rank <= ks[j]) {
          hitSum[j] += 1;
          ndcgSum[j] += dcgDiscount(rank);
        }
      }
    }
    pairs += fill;
    fill = 0;
    options.onProgress?.(pairs);
  };

  for (let u = 0; u < numUsers; u++) {
    const ts = test.indptr[u];
    const te = test.indptr[u + 1];
    if (ts === te) continue;
    // Exclude train(u) ∪ test(u); count the distinct excluded items.
    let excluded = 0;
    for (let e = train.indptr[u]; e < train.indptr[u + 1]; e++) {
      const i = train.indices[e];
      if (mark[i] === 0) {
        mark[i] = 1;
        excluded++;
      }
    }
    for (let e = ts; e < te; e++) {
      const i = test.indices[e];
      if (mark[i] === 0) {
        mark[i] = 1;
        excluded++;
      }
    }
    const available = numItems - excluded;
    // Distinct test items of u (mark 1 → 3 while visited, restored below).
    let userPairs = 0;
    if (available < numNegatives) {
      for (let e = ts; e < te; e++) {
        const i = test.indices[e];
        if (mark[i] === 1) {
          mark[i] = 3;
          skipped++;
        }
      }
    } else {
      const useRejection = available >= 2 * numNegatives && available * 16 >= numItems;
      let eligibleCount = 0;
      if (!useRejection) {
        if (scratch === null) scratch = new Int32Array(numItems);
      }
      for (let e = ts; e < te; e++) {
        const positive = test.indices[e];
        if (mark[positive] !== 1) continue; // duplicate test entry
        mark[positive] = 3;
        if (fill === batchSize) await flush();
        userBuf[fill] = u;
        const base = fill * width;
        itemBuf[base] = positive;
        if (useRejection) {
          for (let c = 1; c < width; ) {
            const j = negRng.int(numItems);
            if (mark[j] !== 0) continue;
            mark[j] = 2;
            itemBuf[base + c++] = j;
          }
          for (let c = 1; c < width; c++) mark[itemBuf[base + c]] = 0;
        } else {
          // Enumerate the eligible items (once per user), then a partial Fisher–Yates shuffle.
          if (eligibleCount === 0) {
            for (let i = 0; i < numItems; i++) if (mark[i] === 0) scratch![eligibleCount++] = i;
          }
          for (let c = 0; c < numNegatives; c++) {
            const pick = c + negRng.int(eligibleCount - c);
            const tmp = scratch![c];
            scratch![c] = scratch![pick];
            scratch![pick] = tmp;
            itemBuf[base + 1 + c] = scratch![c];
          }
        }
        fill++;
        userPairs++;
      }
    }
    // Clear the marks of u.
    for (let e = train.indptr[u]; e < train.indptr[u + 1]; e++) mark[train.indices[e]] = 0;
    for (let e = ts; e < te; e++) mark[test.indices[e]] = 0;
    if (userPairs > 0) usersEvaluated++;
  }
  await flush();

  const metrics: Record<string, number> = {};
  const mean = (sum: number) => (pairs > 0 ? sum / pairs : 0);
  for (let j = 0; j < nk; j++) metrics[metricKey('hit', ks[j])] = mean(hitSum[j]);
  for (let j = 0; j < nk; j++) metrics[metricKey('ndcg', ks[j])] = mean(ndcgSum[j]);
  metrics.mrr = mean(mrrSum);
  return {
    protocol: 'sampled-1+N',
    numNegatives,
    seed,
    ks,
    pairsEvaluated: pairs,
    pairsSkipped: skipped,
    usersEvaluated,
    metrics,
    note: SAMPLED_PROTOCOL_NOTE,
  };
}
