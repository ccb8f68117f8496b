/**
 * Exact k nearest neighbours (cosine or inner product) of a few query rows among all present rows, pruned by
 * the residual bound of a low-dim basis ({@link IvfScoreBasis}, src/graphs/ivf-knn.ts):
 *   s(q, j) ∈ [⟨y_q, y_j⟩ − b, ⟨y_q, y_j⟩ + b],  b = res_q·res_j + eps·nrm_q·nrm_j.
 * One pass over the rows in blocks: S = Y_Q·Y_blockᵀ (GEMM in r dims); per query, τ = the k-th largest lower
 * bound so far, and the rows whose upper bound reaches τ are kept (τ only grows, so nothing dropped can reach
 * the final τ). At the end the kept rows whose upper bound reaches the final τ are scored in the full dimension
 * (float64 sums) and the k best kept: at least k rows have a similarity ≥ τ, so the exact k best are among
 * them — the neighbours of brute force (exactKnn in knn-graph.ts) at ≈ r/d of its FLOPs when the basis holds most of
 * the rows' energy. Ties go to the lower row id, as in exactKnn. Used by the recall check of the item graphs.
 */
import { ppError } from '../errors.js';
import { matmulNT } from '../core/dense.js';
import { free, inHeap } from '../core/heap.js';
import { offerValue, scoreBasisOf, type IvfScoreBasis } from './ivf-knn.js';
import { offerTopK } from './top-k-row.js';

export interface BoundedExactOptions {
  metric?: 'cosine' | 'ip';
  /** [n] 1 where the row has a vector (default all) */
  present?: Uint8Array;
  /** a basis over the present rows (ascending) already built (e.g. the graph plan's); else one of `dim` dims */
  basis?: IvfScoreBasis | null;
  /** dimension of the basis built here (default 128) */
  dim?: number;
  /** rows per block of the r-dim pass (default 8,192) */
  block?: number;
}

/** exactKnn's result (src/graphs/knn-graph.ts ExactKnn, same fields), plus the rows scored in the full dimension. */
export interface BoundedExactKnn {
  k: number;
  queries: Int32Array;
  /** [q × k] neighbour ids, −1 padded */
  indices: Int32Array;
  /** [q × k] similarities, NaN padded */
  sims: Float32Array;
  /** [q] valid neighbours per query */
  counts: Int32Array;
  verified: number;
}

/** See the module comment. `queries` must be present rows. Needs a basis narrower than d (else PP_GRAPH_INVALID: use exactKnn; knnRecall does). */
export function exactKnnBounded(vectors: Float32Array, n: number, d: number, queries: Int32Array, k: number, opts: BoundedExactOptions = {}): BoundedExactKnn {
  if (vectors.length !== n * d) throw ppError('PP_GRAPH_INVALID', `vectors hold ${vectors.length} floats, expected ${n} × ${d}`);
  if (!Number.isInteger(k) || k < 1) throw ppError('PP_GRAPH_INVALID', `k must be a positive integer, got ${k}`);
  const metric = opts.metric ?? 'cosine';
  const present = opts.present;
  let m = 0;
  for (let i = 0; i < n; i++) if (!present || present[i]) m++;
  const ids = new Int32Array(m);
  for (let i = 0, t = 0; i < n; i++) if (!present || present[i]) ids[t++] = i;
  const nq = queries.length;
  const pos = new Int32Array(nq);
  for (let t = 0; t < nq; t++) {
    const i = queries[t];
    let lo = 0;
    let hi = m;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ids[mid] < i) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= m || ids[lo] !== i) throw ppError('PP_GRAPH_INVALID', `query row ${i} has no vector`);
    pos[t] = lo;
  }
  const basis = opts.basis !== undefined && opts.basis !== null ? opts.basis : scoreBasisOf(vectors, d, ids, { metric, dim: opts.dim ?? 128 });
  if (!basis) throw ppError('PP_GRAPH_INVALID', `no basis narrower than the ${d} dims: use exactKnn (brute force)`);
  if (basis.y.length !== m * basis.dim) throw ppError('PP_GRAPH_INVALID', 'the basis does not cover the present rows');

  // kept[t]: the rows (positions) whose upper bound reached the query's running τ
  const kept: number[][] = Array.from({ length: nq }, () => []);
  const keptUb: number[][] = Array.from({ length: nq }, () => []);
  const tau = new Float64Array(nq * k).fill(-Infinity);
  const { dim: r, y, res, nrm, eps } = basis;
  const yq = new Float32Array(nq * r);
  for (let t = 0; t < nq; t++) yq.set(y.subarray(pos[t] * r, pos[t] * r + r), t * r);
  const B = Math.max(16, Math.floor((opts.block ?? 8192) / 4) * 4);
  for (let b0 = 0; b0 < m; b0 += B) {
    const b1 = Math.min(m, b0 + B);
    const w = b1 - b0;
    const S = matmulNT(yq, y.subarray(b0 * r, b1 * r), nq, r, w);
    try {
      for (let t = 0; t < nq; t++) {
        const self = pos[t];
        const rq = res[self];
        const eq = eps * nrm[self];
        const base = t * k;
        const list = kept[t];
        const ubs = keptUb[t];
        const off = t * w;
        for (let x = 0; x < w; x++) {
          const p = b0 + x;
          if (p === self) continue;
          const bound = rq * res[p] + eq * nrm[p];
          const sc = S[off + x];
          if (sc - bound > tau[base + k - 1]) offerValue(tau, base, k, sc - bound);
          if (sc + bound >= tau[base + k - 1]) {
            list.push(p);
            ubs.push(sc + bound);
          }
        }
      }
    } finally {
      if (inHeap(S)) free(S);
    }
  }

  const indices = new Int32Array(nq * k).fill(-1);
  const sims = new Float32Array(nq * k).fill(NaN);
  const counts = new Int32Array(nq);
  const worst = new Float64Array(nq).fill(-Infinity);
  let verified = 0;
  const norm = (i: number): number => {
    let s = 0;
    for (let j = i * d, e = j + d; j < e; j++) s += vectors[j] * vectors[j];
    return Math.sqrt(s);
  };
  for (let t = 0; t < nq; t++) {
    const i = queries[t];
    const bar = tau[t * k + k - 1];
    const ni = metric === 'cosine' ? norm(i) : 1;
    const list = kept[t];
    const ubs = keptUb[t];
    for (let x = 0; x < list.length; x++) {
      if (ubs[x] < bar) continue;
      const j = ids[list[x]];
      let s = 0;
      for (let a = i * d, b = j * d, e = a + d; a < e; a++, b++) s += vectors[a] * vectors[b];
      verified++;
      if (metric === 'cosine') {
        const den = ni * norm(j);
        s = den > 0 ? s / den : 0;
      }
      const v = Math.fround(s);
      if (v > worst[t]) offerTopK(sims, indices, counts, worst, t, k, v, j);
    }
  }
  return { k, queries: queries.slice(), indices, sims, counts, verified };
}
