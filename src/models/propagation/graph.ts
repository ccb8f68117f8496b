/**
 * The graphs the propagation models run on, built once here: the symmetric user–item graph of a split's train
 * part and the item–item (content kNN) graph, both over N = U + I nodes (node u = user u, node U + i = item i),
 * as heap CSRs whose row n lists the sources j of the edges n ← j (columns ascending), with per-edge constants:
 *
 *     user–item   A = [[0, R], [Rᵀ, 0]]  (R binary: a repeated (u, i) pair is one edge; optional self-loops)
 *     calibration c_nj = sqrt(deg_n / max(deg_j, 1)) · extra_nj   (uniform attention · c = D^-1/2 A D^-1/2)
 *     uniform     α_nj = 1 / deg_n
 *     item–item   row U + i ← U + j for the kNN neighbours j of i (fitted to k neighbours, union-symmetrised)
 *
 * Shapes: A [N × N] with nnz = 2·pairs (+ N self-loops); per-edge arrays [nnz].
 */
import { allocF32, allocI32, free, normalizeSymmetric, transpose, type Csr, type CsrTransposed } from '../../core/index.js';
import { ppError } from '../../errors.js';
import type { SplitData } from '../../graphs/split-data.js';
import { buildKnnGraph, csrFromEdges, exactKnn, unionGraph, type KnnGraph } from '../../graphs/knn-graph.js';

/** The user–item graph with, per edge, the (user, item) pair it comes from (for ratings). */
export interface UserItemGraph {
  a: Csr;
  at: CsrTransposed;
  numUsers: number;
  numItems: number;
  /** distinct (user, item) pairs, user-major, items ascending */
  pairs: number;
  /** train entries of pair p: pairEntries[pairPtr[p] .. pairPtr[p + 1]), ascending */
  pairPtr: Int32Array;
  pairEntries: Int32Array;
  /** pair of each edge of `a`, −1 for a self-loop */
  edgePair: Int32Array;
}

/** Frees a heap CSR (and the permutation of a transposed one). */
export function freeCsr(a: Csr): void {
  free(a.indptr);
  free(a.indices);
  free(a.values);
  if ('perm' in a) free((a as CsrTransposed).perm);
}

/** The symmetric user–item graph of `data.train` (values 1), with self-loops n ← n when asked. */
export function userItemGraph(data: SplitData, opts: { selfLoops?: boolean } = {}): UserItemGraph {
  const selfLoops = opts.selfLoops ?? false;
  const U = data.numUsers;
  const I = data.numItems;
  const N = U + I;
  const { indptr: tp, indices: ti } = data.train;
  // distinct pairs, user-major, items ascending; each pair's train entries ascending
  const pairStart: number[] = [];
  const pairEntries = new Int32Array(ti.length);
  const pairItem: number[] = [];
  const userPairs = new Int32Array(U + 1);
  const deg = new Int32Array(N);
  let at = 0;
  for (let u = 0; u < U; u++) {
    const ents: number[] = [];
    for (let e = tp[u]; e < tp[u + 1]; e++) ents.push(e);
    ents.sort((x, y) => ti[x] - ti[y] || x - y);
    for (let k = 0; k < ents.length; k++) {
      if (k === 0 || ti[ents[k]] !== ti[ents[k - 1]]) {
        pairStart.push(at);
        pairItem.push(ti[ents[k]]);
        deg[u]++;
        deg[U + ti[ents[k]]]++;
      }
      pairEntries[at++] = ents[k];
    }
    userPairs[u + 1] = pairItem.length;
  }
  pairStart.push(at);
  const pairs = pairItem.length;
  if (selfLoops) for (let n = 0; n < N; n++) deg[n]++;
  const indptr = allocI32(N + 1);
  for (let n = 0; n < N; n++) indptr[n + 1] = indptr[n] + deg[n];
  const nnz = indptr[N];
  const indices = allocI32(nnz, false);
  const values = allocF32(nnz, false).fill(1);
  const edgePair = new Int32Array(nnz);
  // user rows: (self-loop u <) items U + i, ascending
  for (let u = 0; u < U; u++) {
    let e = indptr[u];
    if (selfLoops) {
      indices[e] = u;
      edgePair[e++] = -1;
    }
    for (let p = userPairs[u]; p < userPairs[u + 1]; p++) {
      indices[e] = U + pairItem[p];
      edgePair[e++] = p;
    }
  }
  // item rows: users ascending (filled in user order), then the self-loop U + i
  const fill = indptr.slice(U, N);
  for (let u = 0; u < U; u++) {
    for (let p = userPairs[u]; p < userPairs[u + 1]; p++) {
      const i = pairItem[p];
      indices[fill[i]] = u;
      edgePair[fill[i]++] = p;
    }
  }
  if (selfLoops) {
    for (let i = 0; i < I; i++) {
      indices[fill[i]] = U + i;
      edgePair[fill[i]] = -1;
    }
  }
  const a: Csr = { rows: N, cols: N, indptr, indices, values };
  return { a, at: transpose(a), numUsers: U, numItems: I, pairs, pairPtr: Int32Array.from(pairStart), pairEntries, edgePair };
}

/** One value per pair, from its train entries (e.g. the mean of their ratings). */
export function perPair(g: UserItemGraph, f: (entries: Int32Array) => number): Float64Array {
  const out = new Float64Array(g.pairs);
  for (let p = 0; p < g.pairs; p++) out[p] = f(g.pairEntries.subarray(g.pairPtr[p], g.pairPtr[p + 1]));
  return out;
}

/** The pair values spread over the edges of `g.a` (both directions), `selfLoop` on self-loops. */
export function perEdge(g: UserItemGraph, pairValues: ArrayLike<number>, selfLoop: number): Float64Array {
  const out = new Float64Array(g.edgePair.length);
  for (let e = 0; e < out.length; e++) out[e] = g.edgePair[e] >= 0 ? pairValues[g.edgePair[e]] : selfLoop;
  return out;
}

/** Mean of the finite ratings of each pair (NaN when none is finite). */
export function meanPairRatings(g: UserItemGraph, ratings: Float32Array): Float64Array {
  return perPair(g, (ents) => {
    let s = 0;
    let n = 0;
    for (const e of ents) {
      if (Number.isFinite(ratings[e])) {
        s += ratings[e];
        n++;
      }
    }
    return n ? s / n : NaN;
  });
}

/** c_nj = sqrt(deg_n / max(deg_j, 1)) · extra(e) per edge (deg = row lengths of `a`). */
export function degreeCalibration(a: Csr, extra?: (e: number) => number): Float32Array {
  const N = a.rows;
  const out = allocF32(a.indices.length, false);
  for (let n = 0; n < N; n++) {
    const dn = a.indptr[n + 1] - a.indptr[n];
    for (let e = a.indptr[n]; e < a.indptr[n + 1]; e++) {
      const j = a.indices[e];
      const c = Math.sqrt(dn / Math.max(a.indptr[j + 1] - a.indptr[j], 1));
      out[e] = extra ? c * extra(e) : c;
    }
  }
  return out;
}

/** α_nj = 1/deg_n on every edge of row n (uniform attention). */
export function uniformWeights(a: Csr): Float32Array {
  const out = allocF32(a.indices.length, false);
  for (let n = 0; n < a.rows; n++) out.fill(1 / (a.indptr[n + 1] - a.indptr[n]), a.indptr[n], a.indptr[n + 1]);
  return out;
}

/**
 * LightGCN's Â = D^-1/2 A D^-1/2 over the user–item graph: binary, or with A_ui = Σ over the pair's train
 * entries of its rating (NaN → 1) when `ratingWeighted` and the split has a finite rating.
 */
export function normalizedUserItemAdjacency(data: SplitData, ratingWeighted: boolean): { adj: Csr; weighted: boolean } {
  const g = userItemGraph(data);
  const ratings = data.train.ratings;
  let weighted = false;
  if (ratingWeighted) for (let e = 0; e < ratings.length && !weighted; e++) weighted = Number.isFinite(ratings[e]);
  if (weighted) {
    const sums = perPair(g, (ents) => {
      let s = 0;
      for (const e of ents) {
        const r = ratings[e];
        if (!(Number.isFinite(r) ? r >= 0 : true)) throw ppError('PP_MODEL_PARAM', `lightgcn.rating_weighted: rating ${r} of train entry ${e} is negative`);
        s += Number.isFinite(r) ? r : 1;
      }
      return s;
    });
    g.a.values.set(perEdge(g, sums, 0));
  }
  const adj = normalizeSymmetric(g.a);
  free(g.a.values);
  freeCsr(g.at);
  return { adj, weighted };
}

/**
 * The item–item graph to propagate over: each row's `k` most similar neighbours (ties: lower id first) of a
 * stored or built kNN graph, union-symmetrised (j ∈ N(i) ⇒ i ∈ N(j), the larger similarity kept). A stored
 * graph built with another k, or not symmetrised, is brought to the model's `ii_k` this way.
 */
export function fitItemGraph(g: KnnGraph, k: number): KnnGraph {
  const src: number[] = [];
  const dst: number[] = [];
  const w: number[] = [];
  for (let i = 0; i < g.rows; i++) {
    const row: number[] = [];
    for (let e = g.indptr[i]; e < g.indptr[i + 1]; e++) if (g.indices[e] !== i) row.push(e);
    row.sort((x, y) => g.weights[y] - g.weights[x] || g.indices[x] - g.indices[y]);
    for (const e of row.slice(0, k)) {
      src.push(i);
      dst.push(g.indices[e]);
      w.push(g.weights[e]);
    }
  }
  return unionGraph(csrFromEdges(g.rows, g.cols, Int32Array.from(src), Int32Array.from(dst), Float32Array.from(w)));
}

/** Item–item kNN graph over split item ids from one modality's vectors (exact up to 50,000 items, HNSW above), union-symmetrised. */
export function knnItemGraph(vectors: Float32Array, present: Uint8Array, n: number, d: number, k: number): KnnGraph {
  if (n > 50000) return buildKnnGraph(vectors, n, d, { k, present, symmetrize: 'union', threads: 1 });
  const queries: number[] = [];
  for (let i = 0; i < n; i++) if (present[i]) queries.push(i);
  const src: number[] = [];
  const dst: number[] = [];
  const w: number[] = [];
  const block = 2048;
  for (let s = 0; s < queries.length; s += block) {
    const q = Int32Array.from(queries.slice(s, s + block));
    const r = exactKnn(vectors, n, d, q, k, { present });
    for (let t = 0; t < q.length; t++) {
      for (let c = 0; c < r.counts[t]; c++) {
        src.push(q[t]);
        dst.push(r.indices[t * k + c]);
        w.push(r.sims[t * k + c]);
      }
    }
  }
  return unionGraph(csrFromEdges(n, n, Int32Array.from(src), Int32Array.from(dst), Float32Array.from(w)));
}

/** The item–item kNN graph lifted into node space: row U + i lists U + j (heap CSR, values 1). */
export function liftItemGraph(g: KnnGraph, numUsers: number): Csr {
  const U = numUsers;
  const N = U + g.rows;
  const indptr = allocI32(N + 1);
  for (let n = U; n < N; n++) indptr[n + 1] = indptr[n] + g.indptr[n - U + 1] - g.indptr[n - U];
  const indices = allocI32(g.indices.length, false);
  for (let e = 0; e < indices.length; e++) indices[e] = U + g.indices[e];
  return { rows: N, cols: N, indptr, indices, values: allocF32(indices.length, false).fill(1) };
}

/** The selection S [N × rows] with S[offset + r, r] = 1 (lifts a user or item table into node rows), and Sᵀ. */
export function liftRows(N: number, rows: number, offset: number): { s: Csr; st: CsrTransposed } {
  const indptr = allocI32(N + 1);
  for (let n = 0; n < N; n++) indptr[n + 1] = indptr[n] + (n >= offset && n < offset + rows ? 1 : 0);
  const indices = allocI32(rows, false);
  for (let c = 0; c < rows; c++) indices[c] = c;
  const s: Csr = { rows: N, cols: rows, indptr, indices, values: allocF32(rows, false).fill(1) };
  return { s, st: transpose(s) };
}

/** The [N × N] selection of `rows` (1 at (n, n) for n in rows, sorted ascending) and its transpose: A·X keeps those rows of X, zero elsewhere. */
export function selectRows(N: number, rows: Int32Array): { s: Csr; st: CsrTransposed } {
  const indptr = allocI32(N + 1);
  for (const n of rows) indptr[n + 1] = 1;
  for (let n = 0; n < N; n++) indptr[n + 1] += indptr[n];
  const indices = allocI32(rows.length, false);
  indices.set(rows);
  const s: Csr = { rows: N, cols: N, indptr, indices, values: allocF32(rows.length, false).fill(1) };
  return { s, st: transpose(s) };
}
