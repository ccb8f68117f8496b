import type { Recommender } from '../models/model.js';
import type { SplitData, PartCsr } from '../graphs/split-data.js';
import type { CsrPattern } from '../core/csr-pattern.js';
import { evaluateFullRankingParts, type FullRankingResult, type FullRankingTimings, type RankingPart } from './full-ranking.js';
import { evaluateSampled, type SampledResult } from './sampled.js';

/** Row-wise union of two per-user CSRs with the same number of rows. */
export function unionRows(a: CsrPattern, b: CsrPattern): CsrPattern {
  const n = a.indptr.length - 1;
  const indptr = new Int32Array(n + 1);
  for (let u = 0; u < n; u++) indptr[u + 1] = indptr[u] + (a.indptr[u + 1] - a.indptr[u]) + (b.indptr[u + 1] - b.indptr[u]);
  const indices = new Int32Array(indptr[n]);
  for (let u = 0; u < n; u++) {
    let at = indptr[u];
    indices.set(a.indices.subarray(a.indptr[u], a.indptr[u + 1]), at);
    at += a.indptr[u + 1] - a.indptr[u];
    indices.set(b.indices.subarray(b.indptr[u], b.indptr[u + 1]), at);
  }
  return { indptr, indices };
}

export interface EvaluateOptions {
  ks?: readonly number[];
  batchSize?: number;
  /** Evaluate only these users (default all; see FullRankingOptions.users). */
  users?: ArrayLike<number> | null;
  onProgress?: (done: number, total: number) => void;
}

/** What is masked and what is relevant for a part of the split: train for `valid`; train ∪ valid for `test`. */
export function splitPart(data: SplitData, part: 'valid' | 'test'): RankingPart {
  return { train: part === 'test' ? unionRows(data.train, data.valid) : data.train, test: data[part] };
}

/**
 * Full-ranking evaluation of a fitted model on one part of its split. What the user had already interacted
 * with is masked: train items for `valid`; train and valid items for `test` (valid is known at test time).
 * Metrics are averaged over users with at least one item in the part; never computed on training data.
 */
export async function evaluateRecommender(
  model: Recommender,
  data: SplitData,
  part: 'valid' | 'test',
  options: EvaluateOptions = {},
): Promise<FullRankingResult> {
  const [result] = await evaluateRecommenderParts(model, data, [part], options);
  return result;
}

/**
 * Several parts in one pass (e.g. ['valid', 'test']): every user is scored once and ranked per part from the
 * same scores, so the model's scoring cost is paid once; each result equals `evaluateRecommender` of its part.
 * Progress counts the users scored.
 */
export async function evaluateRecommenderParts(
  model: Recommender,
  data: SplitData,
  parts: readonly ('valid' | 'test')[],
  options: EvaluateOptions & { timings?: FullRankingTimings } = {},
): Promise<FullRankingResult[]> {
  return evaluateFullRankingParts(
    {
      numUsers: data.numUsers,
      numItems: data.numItems,
      scoreBatch: (users, out) => model.scoreUsers(users, out),
      ks: options.ks ?? [10, 20, 50],
      batchSize: options.batchSize ?? 256,
      users: options.users,
      onProgress: options.onProgress,
    },
    // test masks train ∪ valid: when valid is ranked too, test's top K comes from valid's selection.
    parts.map((p) => (p === 'test' && parts.includes('valid') ? { ...splitPart(data, p), derivedFrom: { part: parts.indexOf('valid'), extra: data.valid } } : splitPart(data, p))),
    { timings: options.timings },
  );
}

export interface SampledEvaluateOptions {
  numNegatives?: number;
  ks?: readonly number[];
  seed?: number;
}

/**
 * The sampled protocol (1 positive + N random negatives per test pair), what the reference system reported.
 * Labelled `sampled-1+N` in its result: it overestimates quality and is not comparable to full ranking.
 * Negatives avoid everything the user had seen (train, and valid for test) and the part's own items.
 */
export async function evaluateRecommenderSampled(
  model: Recommender,
  data: SplitData,
  part: 'valid' | 'test',
  options: SampledEvaluateOptions = {},
): Promise<SampledResult> {
  const seen = splitPart(data, part).train;
  const rowScores = new Float32Array(data.numItems);
  const one = new Int32Array(1);
  return evaluateSampled({
    numUsers: data.numUsers,
    numItems: data.numItems,
    train: seen,
    test: data[part],
    ks: options.ks ?? [10, 20],
    numNegatives: options.numNegatives ?? 99,
    seed: options.seed,
    batchSize: 256,
    // Rows come grouped by user: score each user's full row once and read the candidates from it.
    scoreCandidates: async (users, items, width, out) => {
      let current = -1;
      for (let r = 0; r < users.length; r++) {
        if (users[r] !== current) {
          current = users[r];
          one[0] = current;
          await model.scoreUsers(one, rowScores);
        }
        for (let c = 0; c < width; c++) out[r * width + c] = rowScores[items[r * width + c]];
      }
    },
  });
}
