/**
 * Item–item kNN graphs per modality (text, image, fused), built with the ANN index ({@link AnnIndex}), checked
 * against exact search on a sample, and summarised by {@link graphStats}.
 *
 * A graph is a CSR over items: row i holds i's neighbours j (columns sorted ascending, unique, no self-loops)
 * with weight = cosine similarity cos(x_i, x_j) (or ⟨x_i, x_j⟩ with metric 'ip'). With `symmetrize`:
 * - 'none'  : row i = the k nearest neighbours of i (directed; in-degrees vary),
 * - 'union' : A ∪ Aᵀ (j in row i if j ∈ kNN(i) or i ∈ kNN(j)); degree ≥ k,
 * - 'mutual': A ∩ Aᵀ (j ∈ kNN(i) and i ∈ kNN(j)); degree ≤ k.
 * Rows whose `present` flag is 0 (the item has no vector for this modality) are not indexed: they have no
 * edges and receive none.
 *
 * Build: HNSW index of the present rows → each row searched for k + 1 (itself dropped) → *repair*: rows whose
 * own vector is missing from their results (the greedy descent ended in the wrong cluster; recall ≈ 0) are
 * searched again with wider beams, then exactly → *refine*: row i keeps the k most similar of its results and
 * the rows that found i → symmetrise. Weights are exact similarities with f16 storage (`rescore`).
 *
 * `asCoreCsr` exposes a graph as the core's `Csr` (values = weights) for message passing.
 */
import { AnnIndex, type AnnQuantization } from './ann-index.js';
import { ppError } from '../errors.js';
import { matmulNT } from '../core/dense.js';
import { free, inHeap } from '../core/heap.js';
import type { Csr } from '../core/csr.js';
import { SplitMix } from './synthetic-vectors.js';
import { ivfPlan, ivfSearch, type IvfOptions, type IvfScoreBasis } from './ivf-knn.js';
import { exactKnnBounded } from './exact-knn-bounded.js';
import { offerTopK } from './top-k-row.js';

/** An item–item graph in CSR form. */
export interface KnnGraph {
  rows: number;
  cols: number;
  /** [rows + 1] */
  indptr: Int32Array;
  /** [nnz] neighbour ids, ascending within a row */
  indices: Int32Array;
  /** [nnz] similarity of the edge */
  weights: Float32Array;
}

export type KnnMetric = 'cosine' | 'ip';
export type Symmetrize = 'none' | 'union' | 'mutual';

export interface KnnGraphOptions {
  /** neighbours per row (default 20) */
  k?: number;
  /** default 'cosine' */
  metric?: KnnMetric;
  /** threads for the index build and search (default: all hardware threads) */
  threads?: number;
  /** [n] 1 where the row has a vector for this modality; other rows get no edges (default: all present) */
  present?: Uint8Array;
  /** default 'none' */
  symmetrize?: Symmetrize;
  /** HNSW settings (see {@link AnnIndex}); defaults: connectivity 16, expansionAdd 128, expansionSearch 64 */
  connectivity?: number;
  expansionAdd?: number;
  expansionSearch?: number;
  /** index precision (default f32) */
  quantization?: AnnQuantization;
  /** recompute the edge weights exactly from the vectors (default: true with f16, false with f32) */
  rescore?: boolean;
  /**
   * Re-search the rows whose own vector was not among their ANN results (on clustered data the greedy HNSW
   * descent sometimes ends in the wrong cluster; such rows have recall ≈ 0): with beams of 8(k+1), 32(k+1)
   * and 128(k+1), then exactly (O(rows · n · d)) for the few still not found. Default true.
   */
  repair?: boolean;
  /**
   * Reverse-neighbour refinement: row i keeps the k most similar of its ANN neighbours and the rows that
   * found i (similarity is symmetric, so no new dot products). Fixes rows whose own search went astray
   * while their true neighbours found them. Default true.
   */
  refine?: boolean;
  /** rows per add / search call (default 16,384) */
  batch?: number;
  onProgress?: (phase: 'add' | 'search', done: number, total: number) => void;
}

export interface KnnBuildInfo {
  addSeconds: number;
  searchSeconds: number;
  /** re-search of the lost rows (wider beams, then exact) */
  repairSeconds: number;
  assembleSeconds: number;
  /** rows whose ANN search did not return the row itself (repaired when `repair`) */
  lostRows: number;
  /** their row ids */
  lostIds: Int32Array;
  /** lost rows that wider ANN searches did not find either, searched exactly */
  exactRepaired: number;
}

function check(cond: boolean, msg: string): void {
  if (!cond) throw ppError('PP_GRAPH_INVALID', msg);
}

function checkInputs(vectors: Float32Array, n: number, d: number, present?: Uint8Array): void {
  check(Number.isInteger(n) && n >= 0 && Number.isInteger(d) && d >= 1, `bad shape ${n} × ${d}`);
  check(vectors.length === n * d, `vectors hold ${vectors.length} floats, expected ${n} × ${d} = ${n * d}`);
  if (present) check(present.length === n, `present has ${present.length} entries, expected ${n}`);
}

/** {@link checkInputs}, then k, metric and symmetrize with their defaults (20, cosine, none), checked. */
function checkGraphInputs(
  vectors: Float32Array,
  n: number,
  d: number,
  opts: Pick<KnnGraphOptions, 'k' | 'metric' | 'present' | 'symmetrize'>,
): { k: number; metric: KnnMetric; symmetrize: Symmetrize } {
  checkInputs(vectors, n, d, opts.present);
  const k = opts.k ?? 20;
  check(Number.isInteger(k) && k >= 1, `k must be a positive integer, got ${k}`);
  const metric = opts.metric ?? 'cosine';
  check(metric === 'cosine' || metric === 'ip', `metric must be cosine or ip, got ${String(metric)}`);
  const symmetrize = opts.symmetrize ?? 'none';
  check(['none', 'union', 'mutual'].includes(symmetrize), `symmetrize must be none, union or mutual, got ${String(symmetrize)}`);
  return { k, metric, symmetrize };
}

/** The core's CSR view of a graph (values = weights); columns are sorted and unique as the core requires. */
export function asCoreCsr(g: KnnGraph): Csr {
  return { rows: g.rows, cols: g.cols, indptr: g.indptr, indices: g.indices, values: g.weights };
}

/** Row ids with present[i] = 1 (all rows without a mask). */
function presentRows(n: number, present?: Uint8Array): Int32Array {
  if (!present) return Int32Array.from({ length: n }, (_, i) => i);
  let m = 0;
  for (let i = 0; i < n; i++) if (present[i]) m++;
  const out = new Int32Array(m);
  for (let i = 0, t = 0; i < n; i++) if (present[i]) out[t++] = i;
  return out;
}

/** Gathers rows `ids` of an [n × d] matrix (no copy when ids are 0..n−1; pass n = −1 to always copy). */
function gatherRows(vectors: Float32Array, d: number, ids: Int32Array, n: number): Float32Array {
  if (ids.length === n) return vectors;
  const out = new Float32Array(ids.length * d);
  for (let t = 0; t < ids.length; t++) out.set(vectors.subarray(ids[t] * d, ids[t] * d + d), t * d);
  return out;
}

function rowNorms(vectors: Float32Array, n: number, d: number): Float32Array {
  const norms = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * d;
    for (let j = 0; j < d; j++) s += vectors[o + j] * vectors[o + j];
    norms[i] = Math.sqrt(s);
  }
  return norms;
}

function similarity(vectors: Float32Array, d: number, i: number, j: number, norms: Float32Array | null): number {
  let s = 0;
  const a = i * d;
  const b = j * d;
  for (let t = 0; t < d; t++) s += vectors[a + t] * vectors[b + t];
  if (!norms) return s;
  const den = norms[i] * norms[j];
  return den > 0 ? s / den : 0;
}

/**
 * Builds the kNN graph (see the module comment for the steps). Returns the graph, the index (save it to serve
 * the same vectors) and timings / repair counts.
 */
export function buildKnnGraphWithIndex(
  vectors: Float32Array,
  n: number,
  d: number,
  opts: KnnGraphOptions = {},
): { graph: KnnGraph; index: AnnIndex; info: KnnBuildInfo } {
  const { k, metric, symmetrize } = checkGraphInputs(vectors, n, d, opts);
  const quantization = opts.quantization ?? 'f32';
  const rescore = opts.rescore ?? quantization !== 'f32';
  const batch = opts.batch ?? 16384;
  const repair = opts.repair ?? true;
  const refine = opts.refine ?? true;

  const ids = presentRows(n, opts.present);
  const compact = gatherRows(vectors, d, ids, n);
  const index = new AnnIndex({
    dimensions: d,
    metric: metric === 'cosine' ? 'cos' : 'ip',
    quantization,
    connectivity: opts.connectivity,
    expansionAdd: opts.expansionAdd,
    // a search for k + 1 needs ef ≥ k + 1; usearch uses max(ef, wanted) anyway
    expansionSearch: opts.expansionSearch,
    threads: opts.threads,
  });
  let t0 = performance.now();
  index.add(compact, { keys: ids, batch, onProgress: (done, total) => opts.onProgress?.('add', done, total) });
  const addSeconds = (performance.now() - t0) / 1000;

  t0 = performance.now();
  const m = ids.length;
  // directed edges, k per present row, −1 padded
  const nbr = new Int32Array(m * k).fill(-1);
  const sim = new Float32Array(m * k);
  const cnt = new Int32Array(n);
  /**
   * Searches the rows at positions `qs` (into ids) for `wanted` ≥ k + 1 results, fills their k best non-self
   * neighbours and returns the positions whose own vector was not found.
   */
  const searchRows = (qs: Int32Array | null, wanted: number, onDone?: (done: number, total: number) => void): number[] => {
    const missing: number[] = [];
    const total = qs ? qs.length : m;
    // keep the result arrays (rows · wanted · 12 bytes) under ~50 MB for the wide beams
    const step = Math.max(1, Math.min(batch, Math.floor(4_194_304 / wanted)));
    for (let s = 0; s < total; s += step) {
      const e = Math.min(total, s + step);
      const queries = qs ? gatherRows(compact, d, qs.subarray(s, e), -1) : compact.subarray(s * d, e * d);
      const res = index.search(queries, wanted);
      for (let x = s; x < e; x++) {
        const q = qs ? qs[x] : x;
        const self = ids[q];
        const base = (x - s) * wanted;
        let c = 0;
        let foundSelf = false;
        for (let t = 0; t < res.counts[x - s]; t++) {
          const j = res.keys[base + t];
          if (j === self) foundSelf = true;
          if (j === self || j < 0 || c === k) continue;
          nbr[q * k + c] = j;
          sim[q * k + c] = 1 - res.distances[base + t];
          c++;
        }
        cnt[self] = c;
        if (!foundSelf) missing.push(q);
      }
      onDone?.(e, total);
    }
    return missing;
  };
  const lost = m > 0 ? searchRows(null, k + 1, (done, total) => opts.onProgress?.('search', done, total)) : [];
  const searchSeconds = (performance.now() - t0) / 1000;

  // Repair: a wider beam first (usearch searches with ef = max(expansionSearch, wanted)), then exact search
  // for the rows still not found.
  t0 = performance.now();
  const rowsLost = Int32Array.from(lost, (q) => ids[q]);
  let pending = lost;
  let exactRepaired = 0;
  if (repair) {
    for (const wide of [8 * (k + 1), 32 * (k + 1), 128 * (k + 1)]) {
      if (pending.length === 0 || wide > m) break;
      pending = searchRows(Int32Array.from(pending), wide);
    }
    if (pending.length > 0) {
      const rows = Int32Array.from(pending, (q) => ids[q]);
      const ex = exactKnn(vectors, n, d, rows, k, { metric, present: opts.present });
      for (let t = 0; t < pending.length; t++) {
        const q = pending[t];
        nbr.set(ex.indices.subarray(t * k, t * k + k), q * k);
        sim.set(ex.sims.subarray(t * k, t * k + k), q * k);
        cnt[ids[q]] = ex.counts[t];
      }
      exactRepaired = pending.length;
    }
  }
  const repairSeconds = (performance.now() - t0) / 1000;

  t0 = performance.now();
  const norms = metric === 'cosine' ? rowNorms(vectors, n, d) : null;
  const indptr = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) indptr[i + 1] = indptr[i] + cnt[i];
  const indices = new Int32Array(indptr[n]);
  const weights = new Float32Array(indptr[n]);
  for (let q = 0; q < m; q++) {
    const i = ids[q];
    const o = indptr[i];
    const c = cnt[i];
    for (let t = 0; t < c; t++) {
      const j = nbr[q * k + t];
      indices[o + t] = j;
      weights[o + t] = rescore ? similarity(vectors, d, i, j, norms) : sim[q * k + t];
    }
    sortRow(indices, weights, o, o + c);
  }
  const graph = finishGraph({ rows: n, cols: n, indptr, indices, weights }, k, refine, symmetrize);
  const assembleSeconds = (performance.now() - t0) / 1000;
  return { graph, index, info: { addSeconds, searchSeconds, repairSeconds, assembleSeconds, lostRows: lost.length, lostIds: rowsLost, exactRepaired } };
}

/** Reverse-neighbour refinement (top k of A ∪ Aᵀ per row) and symmetrisation of a directed kNN graph. */
function finishGraph(g: KnnGraph, k: number, refine: boolean, symmetrize: Symmetrize): KnnGraph {
  let graph = g;
  if (refine) graph = topKPerRow(unionGraph(graph), k);
  if (symmetrize === 'union') graph = unionGraph(graph);
  else if (symmetrize === 'mutual') graph = mutualGraph(graph);
  return graph;
}

/**
 * The graph of per-row neighbour lists (row `rows[t]` has `counts[t]` neighbours `indices[t·k …]` with
 * similarities `sims[t·k …]`), refined and symmetrised as {@link buildKnnGraphWithIndex} does. Rows not in
 * `rows` get no edges of their own.
 */
export function graphFromNeighbours(
  n: number,
  k: number,
  rows: Int32Array,
  nb: { indices: Int32Array; sims: Float32Array; counts: Int32Array },
  opts: { refine?: boolean; symmetrize?: Symmetrize } = {},
): KnnGraph {
  const cnt = new Int32Array(n);
  for (let t = 0; t < rows.length; t++) cnt[rows[t]] = nb.counts[t];
  const indptr = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) indptr[i + 1] = indptr[i] + cnt[i];
  const indices = new Int32Array(indptr[n]);
  const weights = new Float32Array(indptr[n]);
  for (let t = 0; t < rows.length; t++) {
    const o = indptr[rows[t]];
    const c = nb.counts[t];
    indices.set(nb.indices.subarray(t * k, t * k + c), o);
    weights.set(nb.sims.subarray(t * k, t * k + c), o);
    sortRow(indices, weights, o, o + c);
  }
  return finishGraph({ rows: n, cols: n, indptr, indices, weights }, k, opts.refine ?? true, opts.symmetrize ?? 'none');
}

export interface IvfGraphInfo {
  /** wall seconds of each phase, and the CPU seconds of the process (all threads) */
  planSeconds: number;
  planCpuSeconds: number;
  searchCpuSeconds: number;
  assembleCpuSeconds: number;
  searchSeconds: number;
  assembleSeconds: number;
  clusters: number;
  probes: number;
  pcaDim: number;
  /** dimension of the candidate scoring (= d without a scoring basis) */
  scoreDim: number;
  /** candidate similarities computed, and their mean per row */
  scored: number;
  candidatesPerRow: number;
  /** candidates scored in the full dimension, per row */
  verifiedPerRow: number;
}

/**
 * The kNN graph by cluster-probe search ({@link ivfPlan}, {@link ivfSearch}): exact similarities within each
 * row's probed clusters (GEMMs on the core's kernels), then the same refinement and symmetrisation as the
 * HNSW build. Deterministic: same vectors and options → same graph bytes, for any thread count.
 */
export function buildKnnGraphIvf(
  vectors: Float32Array,
  n: number,
  d: number,
  opts: Pick<KnnGraphOptions, 'k' | 'metric' | 'present' | 'symmetrize' | 'refine'> & IvfOptions & { onProgress?: (done: number, total: number) => void } = {},
): { graph: KnnGraph; info: IvfGraphInfo; basis: IvfScoreBasis | null } {
  const { k, metric, symmetrize } = checkGraphInputs(vectors, n, d, opts);
  const cpu = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1e6;
  let t0 = performance.now();
  let c0 = process.cpuUsage();
  const plan = ivfPlan(vectors, n, d, { ...opts, metric });
  const planSeconds = (performance.now() - t0) / 1000;
  const planCpuSeconds = cpu(process.cpuUsage(c0));
  t0 = performance.now();
  c0 = process.cpuUsage();
  const nb = ivfSearch(vectors, plan, k, 0, plan.ids.length, opts.onProgress);
  const searchSeconds = (performance.now() - t0) / 1000;
  const searchCpuSeconds = cpu(process.cpuUsage(c0));
  t0 = performance.now();
  c0 = process.cpuUsage();
  const graph = graphFromNeighbours(n, k, plan.ids, nb, { refine: opts.refine, symmetrize });
  const assembleSeconds = (performance.now() - t0) / 1000;
  const assembleCpuSeconds = cpu(process.cpuUsage(c0));
  const m = plan.ids.length;
  return {
    graph,
    basis: plan.score,
    info: { planSeconds, planCpuSeconds, searchSeconds, searchCpuSeconds, assembleSeconds, assembleCpuSeconds, clusters: plan.clusters, probes: plan.probes, pcaDim: plan.pcaDim, scoreDim: plan.score?.dim ?? d, scored: nb.scored, candidatesPerRow: m ? nb.scored / m : 0, verifiedPerRow: m ? nb.verified / m : 0 },
  };
}

/** {@link buildKnnGraphWithIndex} without the index. */
export function buildKnnGraph(vectors: Float32Array, n: number, d: number, opts: KnnGraphOptions = {}): KnnGraph {
  return buildKnnGraphWithIndex(vectors, n, d, opts).graph;
}

/** Keeps the k largest-weight entries of each row (columns stay sorted). */
export function topKPerRow(g: KnnGraph, k: number): KnnGraph {
  const indptr = new Int32Array(g.rows + 1);
  for (let i = 0; i < g.rows; i++) indptr[i + 1] = indptr[i] + Math.min(k, g.indptr[i + 1] - g.indptr[i]);
  const indices = new Int32Array(indptr[g.rows]);
  const weights = new Float32Array(indptr[g.rows]);
  let order: number[] = [];
  for (let i = 0; i < g.rows; i++) {
    const s = g.indptr[i];
    const e = g.indptr[i + 1];
    const o = indptr[i];
    if (e - s <= k) {
      indices.set(g.indices.subarray(s, e), o);
      weights.set(g.weights.subarray(s, e), o);
      continue;
    }
    order.length = 0;
    for (let x = s; x < e; x++) order.push(x);
    order.sort((a, b) => g.weights[b] - g.weights[a] || g.indices[a] - g.indices[b]);
    order = order.slice(0, k).sort((a, b) => a - b); // positions ascend with columns
    for (let t = 0; t < k; t++) {
      indices[o + t] = g.indices[order[t]];
      weights[o + t] = g.weights[order[t]];
    }
  }
  return { rows: g.rows, cols: g.cols, indptr, indices, weights };
}

/** Insertion sort of one row's (index, weight) pairs by index (rows are short: k entries). */
function sortRow(idx: Int32Array, w: Float32Array, s: number, e: number): void {
  for (let a = s + 1; a < e; a++) {
    const ki = idx[a];
    const kw = w[a];
    let b = a - 1;
    while (b >= s && idx[b] > ki) {
      idx[b + 1] = idx[b];
      w[b + 1] = w[b];
      b--;
    }
    idx[b + 1] = ki;
    w[b + 1] = kw;
  }
}

/**
 * CSR from coordinates sorted by (row, col) with two stable counting sorts, duplicates merged by max weight.
 */
export function csrFromEdges(rows: number, cols: number, src: Int32Array, dst: Int32Array, w: Float32Array): KnnGraph {
  const m = src.length;
  // pass 1: by column
  const byCol = new Int32Array(m);
  const cc = new Int32Array(cols + 1);
  for (let e = 0; e < m; e++) cc[dst[e] + 1]++;
  for (let c = 0; c < cols; c++) cc[c + 1] += cc[c];
  for (let e = 0; e < m; e++) byCol[cc[dst[e]]++] = e;
  // pass 2: by row, stable
  const rc = new Int32Array(rows + 1);
  for (let e = 0; e < m; e++) rc[src[e] + 1]++;
  for (let r = 0; r < rows; r++) rc[r + 1] += rc[r];
  const order = new Int32Array(m);
  const fill = rc.slice(0, rows);
  for (let t = 0; t < m; t++) {
    const e = byCol[t];
    order[fill[src[e]]++] = e;
  }
  // merge duplicates
  const indptr = new Int32Array(rows + 1);
  const indices = new Int32Array(m);
  const weights = new Float32Array(m);
  let nnz = 0;
  for (let r = 0; r < rows; r++) {
    const rowStart = nnz;
    for (let t = rc[r]; t < rc[r + 1]; t++) {
      const e = order[t];
      if (nnz > rowStart && indices[nnz - 1] === dst[e]) {
        if (w[e] > weights[nnz - 1]) weights[nnz - 1] = w[e];
      } else {
        indices[nnz] = dst[e];
        weights[nnz] = w[e];
        nnz++;
      }
    }
    indptr[r + 1] = nnz;
  }
  return { rows, cols, indptr, indices: indices.slice(0, nnz), weights: weights.slice(0, nnz) };
}

/** A ∪ Aᵀ (weights: the larger of the two directions where both exist). */
export function unionGraph(g: KnnGraph): KnnGraph {
  const m = g.indptr[g.rows];
  const src = new Int32Array(2 * m);
  const dst = new Int32Array(2 * m);
  const w = new Float32Array(2 * m);
  for (let i = 0; i < g.rows; i++) {
    for (let e = g.indptr[i]; e < g.indptr[i + 1]; e++) {
      src[e] = i;
      dst[e] = g.indices[e];
      src[m + e] = g.indices[e];
      dst[m + e] = i;
      w[e] = w[m + e] = g.weights[e];
    }
  }
  return csrFromEdges(g.rows, g.cols, src, dst, w);
}

/** Position of column j in row i of a CSR with sorted rows, or −1. */
function findInRow(g: KnnGraph, i: number, j: number): number {
  let lo = g.indptr[i];
  let hi = g.indptr[i + 1] - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = g.indices[mid];
    if (v === j) return mid;
    if (v < j) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** A ∩ Aᵀ (weights: the larger of the two directions). Rows of `g` must be sorted. */
export function mutualGraph(g: KnnGraph): KnnGraph {
  const m = g.indptr[g.rows];
  const keep = new Uint8Array(m);
  const indptr = new Int32Array(g.rows + 1);
  for (let i = 0; i < g.rows; i++) {
    let c = 0;
    for (let e = g.indptr[i]; e < g.indptr[i + 1]; e++) {
      const j = g.indices[e];
      if (j < g.rows && findInRow(g, j, i) >= 0) {
        keep[e] = 1;
        c++;
      }
    }
    indptr[i + 1] = indptr[i] + c;
  }
  const indices = new Int32Array(indptr[g.rows]);
  const weights = new Float32Array(indptr[g.rows]);
  let t = 0;
  for (let i = 0; i < g.rows; i++) {
    for (let e = g.indptr[i]; e < g.indptr[i + 1]; e++) {
      if (!keep[e]) continue;
      const j = g.indices[e];
      indices[t] = j;
      weights[t] = Math.max(g.weights[e], g.weights[findInRow(g, j, i)]);
      t++;
    }
  }
  return { rows: g.rows, cols: g.cols, indptr, indices, weights };
}

/** Exact neighbours of some query rows: row t of each array belongs to `queries[t]`, best first. */
export interface ExactKnn {
  k: number;
  queries: Int32Array;
  /** [q × k] neighbour ids, −1 padded */
  indices: Int32Array;
  /** [q × k] similarities, NaN padded */
  sims: Float32Array;
  /** [q] valid neighbours per query */
  counts: Int32Array;
}

/**
 * Brute-force k nearest neighbours (by cosine or inner product) of the rows `queries` among all present rows,
 * excluding each query itself. Similarities come from blocked dot products (the core's wasm matmul,
 * Q·Bᵀ over blocks of `block` rows), followed by a per-query top-k insertion. O(q · n · d); meant for a sample
 * of ~1,000 queries.
 */
export function exactKnn(
  vectors: Float32Array,
  n: number,
  d: number,
  queries: Int32Array,
  k: number,
  opts: { metric?: KnnMetric; present?: Uint8Array; block?: number } = {},
): ExactKnn {
  checkInputs(vectors, n, d, opts.present);
  check(Number.isInteger(k) && k >= 1, `k must be a positive integer, got ${k}`);
  for (const q of queries) check(Number.isInteger(q) && q >= 0 && q < n, `query row ${q} out of range`);
  const metric = opts.metric ?? 'cosine';
  const present = opts.present;
  const nq = queries.length;
  const norms = metric === 'cosine' ? rowNorms(vectors, n, d) : null;
  // queries, normalised for cosine
  const Q = new Float32Array(nq * d);
  for (let t = 0; t < nq; t++) {
    const i = queries[t];
    const s = norms ? (norms[i] > 0 ? 1 / norms[i] : 0) : 1;
    for (let j = 0; j < d; j++) Q[t * d + j] = vectors[i * d + j] * s;
  }
  const indices = new Int32Array(nq * k).fill(-1);
  const sims = new Float32Array(nq * k).fill(NaN);
  const counts = new Int32Array(nq);
  const worst = new Float64Array(nq).fill(-Infinity); // k-th best so far (−∞ while fewer than k)
  const block = Math.max(16, Math.floor((opts.block ?? 4096) / 4) * 4);
  for (let b0 = 0; b0 < n; b0 += block) {
    const b1 = Math.min(n, b0 + block);
    const rows = b1 - b0;
    const S = matmulNT(Q, vectors.subarray(b0 * d, b1 * d), nq, d, rows);
    try {
      for (let t = 0; t < nq; t++) {
        const self = queries[t];
        const off = t * rows;
        for (let r = 0; r < rows; r++) {
          const j = b0 + r;
          const s = norms ? (norms[j] > 0 ? S[off + r] / norms[j] : 0) : S[off + r];
          if (s <= worst[t] || j === self || (present && !present[j])) continue;
          offerTopK(sims, indices, counts, worst, t, k, s, j);
        }
      }
    } finally {
      if (inHeap(S)) free(S);
    }
  }
  return { k, queries: queries.slice(), indices, sims, counts };
}

/**
 * A deterministic sample of `count` distinct rows (all rows if fewer), restricted to present rows, sorted.
 */
export function sampleRows(n: number, count: number, opts: { seed?: number; present?: Uint8Array } = {}): Int32Array {
  const pool = presentRows(n, opts.present);
  const m = Math.min(count, pool.length);
  const rng = new SplitMix(opts.seed ?? 7);
  for (let t = 0; t < m; t++) {
    const r = t + rng.int(pool.length - t);
    const x = pool[t];
    pool[t] = pool[r];
    pool[r] = x;
  }
  return pool.slice(0, m).sort();
}

export interface RecallReport {
  /** mean over sampled rows of hits / min(k, exact neighbours available) */
  recall: number;
  /** rows evaluated (present rows of the sample) */
  rows: number;
  /** per evaluated row */
  perRow: Float32Array;
  exactSeconds: number;
}

/**
 * recall@k of a graph against exact search on the sampled rows. For each row, the graph's k most similar
 * neighbours (by stored weight) are compared with the exact k; a graph neighbour counts as a hit when its exact
 * similarity reaches the exact k-th similarity (minus `eps`, so ties and duplicate vectors are not penalised,
 * as in ann-benchmarks). Union graphs are judged on their top k per row; mutual graphs have fewer than k
 * neighbours per row and so score lower by design.
 */
export function knnRecall(
  graph: KnnGraph,
  vectors: Float32Array,
  n: number,
  d: number,
  sample: Int32Array,
  opts: {
    k?: number;
    metric?: KnnMetric;
    present?: Uint8Array;
    eps?: number;
    /** find the exact neighbours by the bound-pruned search (src/graphs/exact-knn-bounded.ts; same result, fewer FLOPs) instead of brute force, when a basis is given or dim < d */
    bounded?: { basis?: IvfScoreBasis | null; dim?: number };
    /** the exact neighbours of `sample`'s present rows, already found (e.g. shared by several graphs of one matrix) */
    exact?: ExactKnn;
  } = {},
): RecallReport {
  check(graph.rows === n, `graph has ${graph.rows} rows, vectors ${n}`);
  const k = opts.k ?? 20;
  const eps = opts.eps ?? 1e-5;
  const metric = opts.metric ?? 'cosine';
  const queries = opts.present ? sample.filter((i) => opts.present![i]) : sample;
  const t0 = performance.now();
  if (opts.exact) check(opts.exact.k === k && opts.exact.queries.length === queries.length && opts.exact.queries.every((q, t) => q === queries[t]), 'the given exact neighbours are not those of the sample');
  // the bound-pruned search pays off only with a basis narrower than d (else brute force: one GEMM)
  const bounded = opts.bounded && (opts.bounded.basis || d > (opts.bounded.dim ?? 128)) ? opts.bounded : null;
  const exact = opts.exact
    ? opts.exact
    : bounded
    ? exactKnnBounded(vectors, n, d, queries, k, { metric, present: opts.present, basis: bounded.basis, dim: bounded.dim })
    : exactKnn(vectors, n, d, queries, k, { metric, present: opts.present });
  const exactSeconds = (performance.now() - t0) / 1000;
  const norms = metric === 'cosine' ? rowNorms(vectors, n, d) : null;
  const perRow = new Float32Array(queries.length);
  let sum = 0;
  let rows = 0;
  for (let t = 0; t < queries.length; t++) {
    const i = queries[t];
    const want = exact.counts[t];
    if (want === 0) continue;
    const kth = exact.sims[t * k + want - 1];
    // the row's top-k graph neighbours by weight
    const s = graph.indptr[i];
    const e = graph.indptr[i + 1];
    const order = Array.from({ length: e - s }, (_, x) => s + x).sort((a, b) => graph.weights[b] - graph.weights[a]);
    let hits = 0;
    for (let x = 0; x < Math.min(k, order.length); x++) {
      const j = graph.indices[order[x]];
      if (j !== i && similarity(vectors, d, i, j, norms) >= kth - eps) hits++;
    }
    perRow[t] = Math.min(1, hits / want);
    sum += perRow[t];
    rows++;
  }
  return { recall: rows ? sum / rows : NaN, rows, perRow, exactSeconds };
}

export interface GraphStats {
  rows: number;
  nnz: number;
  degree: { min: number; mean: number; max: number };
  /** rows with no edges */
  isolated: number;
  selfLoops: number;
  /** share of edges (i, j) whose reverse (j, i) exists */
  symmetry: number;
  similarity: { mean: number; min: number; max: number };
}

/** Degree, symmetry, similarity and isolated-node statistics of a square CSR graph. */
export function graphStats(g: Pick<KnnGraph, 'rows' | 'indptr' | 'indices' | 'weights'>): GraphStats {
  const n = g.rows;
  const nnz = g.indptr[n];
  // sorted copy of the rows if needed, for the reverse-edge lookups
  let sorted = true;
  for (let i = 0; i < n && sorted; i++) for (let e = g.indptr[i] + 1; e < g.indptr[i + 1]; e++) if (g.indices[e - 1] > g.indices[e]) sorted = false;
  const view: KnnGraph = { rows: n, cols: n, indptr: g.indptr, indices: g.indices, weights: g.weights };
  if (!sorted) {
    const idx = g.indices.slice();
    for (let i = 0; i < n; i++) idx.subarray(g.indptr[i], g.indptr[i + 1]).sort();
    view.indices = idx;
  }
  let dmin = Infinity;
  let dmax = 0;
  let isolated = 0;
  let selfLoops = 0;
  let reciprocated = 0;
  let wsum = 0;
  let wmin = Infinity;
  let wmax = -Infinity;
  for (let i = 0; i < n; i++) {
    const deg = g.indptr[i + 1] - g.indptr[i];
    if (deg < dmin) dmin = deg;
    if (deg > dmax) dmax = deg;
    if (deg === 0) isolated++;
    for (let e = g.indptr[i]; e < g.indptr[i + 1]; e++) {
      const j = view.indices[e];
      if (j === i) selfLoops++;
      if (j >= 0 && j < n && findInRow(view, j, i) >= 0) reciprocated++;
    }
  }
  for (let e = 0; e < nnz; e++) {
    const w = g.weights[e];
    wsum += w;
    if (w < wmin) wmin = w;
    if (w > wmax) wmax = w;
  }
  return {
    rows: n,
    nnz,
    degree: { min: n ? dmin : 0, mean: n ? nnz / n : 0, max: dmax },
    isolated,
    selfLoops,
    symmetry: nnz ? reciprocated / nnz : 1,
    similarity: { mean: nnz ? wsum / nnz : NaN, min: nnz ? wmin : NaN, max: nnz ? wmax : NaN },
  };
}
