import type { Recommender } from '../models/model.js';
import type { SplitData, PartCsr } from '../graphs/split-data.js';
import type { Csr } from './csr.js';
import { evaluateFullRanking, type FullRankingResult } from './full-ranking.js';

/** Row-wise union of two per-user CSRs with the same number of rows. */
export function unionRows(a: Csr, b: Csr): Csr {
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
  onProgress?: (done: number, total: number) => void;
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
  const relevant: PartCsr = data[part];
  const seen = part === 'test' ? unionRows(data.train, data.valid) : data.train;
  return evaluateFullRanking({
    numUsers: data.numUsers,
    numItems: data.numItems,
    scoreBatch: (users, out) => model.scoreUsers(users, out),
    train: seen,
    test: relevant,
    ks: options.ks ?? [10, 20, 50],
    batchSize: options.batchSize ?? 256,
    onProgress: options.onProgress,
  });
}
