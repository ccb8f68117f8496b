/**
 * How far a text encoder agrees with a reference encoder (USE lite) on a set of texts: for sampled query rows,
 * recall@k of the encoder's exact cosine kNN against the reference's (|N_enc(q) ∩ N_ref(q)| / k, averaged).
 */
import { exactKnn, sampleRows } from '../../src/graphs/knn-graph.js';

export interface Agreement {
  k: number;
  queries: number;
  /** mean |N_enc ∩ N_ref| / k */
  recall: number;
}

export function knnAgreement(enc: Float32Array, encDim: number, ref: Float32Array, refDim: number, n: number, k = 20, queries = 1000, seed = 7): Agreement {
  const q = sampleRows(n, queries, { seed });
  const a = exactKnn(enc, n, encDim, q, k);
  const b = exactKnn(ref, n, refDim, q, k);
  let hits = 0;
  for (let t = 0; t < q.length; t++) {
    const mine = new Set(a.indices.subarray(t * k, t * k + k));
    for (const j of b.indices.subarray(t * k, t * k + k)) if (j >= 0 && mine.has(j)) hits++;
  }
  return { k, queries: q.length, recall: hits / (q.length * k) };
}
