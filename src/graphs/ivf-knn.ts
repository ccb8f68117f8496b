/**
 * Cluster-probe ("IVF") kNN for the item–item graphs: exact cosine / inner-product scores within the probed
 * clusters, batched as GEMMs on the core's wasm SIMD kernels, deterministic (same input → same neighbours,
 * whatever the thread count or the split of the rows into shards).
 *
 * Plan ({@link ivfPlan}, O(m·d·r + m·C·r) — cheap beside the search):
 *   1. PCA to r dims (r = `pcaDim`, only when d > r): covariance of a sample of rows (normalised for cosine),
 *      top-r eigenvectors by subspace iteration → V [d × r]; Y = X̂·V [m × r].
 *   2. k-means in the r-dim space: C = ⌈m / `clusterSize`⌉ centres, Lloyd's iterations on a sample.
 *   3. Probes: each row's `probes` nearest centres in the r-dim space (argmax ⟨y, c⟩ − ‖c‖²/2); its first
 *      probe is its cluster.
 * Search ({@link ivfSearch} over the row positions [from, to)): for each cluster c in order, the rows of the
 * range that probe c are scored against every member of c in the full dimension, S = Q·X_cᵀ (one GEMM per
 * ≤ 1,024 queries), cos = S · (1/‖x_q‖)(1/‖x_j‖); each row keeps its k best (self excluded, ties to the
 * earlier candidate). Cost ≈ 2·m·probes·(m/C)·d FLOP. A row's result depends only on its own vector, the
 * plan and the cluster order — each GEMM element is a sum over the d products in index order (no FMA), the
 * same wherever the row sits in the batch — so shards of rows give the neighbours of the whole run.
 *
 * Rows are positions in `ids` (the present rows, ascending); neighbours are row ids.
 */
import { ppError } from '../errors.js';
import { matmul, matmulTN } from '../core/dense.js';
import { allocF32, allocI32, free } from '../core/heap.js';
import { sddmm } from '../core/sparse.js';
import { SplitMix } from './synthetic-vectors.js';
import { offerTopK } from './top-k-row.js';

export interface IvfOptions {
  /** 'cosine' (default) or 'ip' */
  metric?: 'cosine' | 'ip';
  /** [n] 1 where the row has a vector (default all) */
  present?: Uint8Array;
  /** mean cluster size: C = ⌈m / clusterSize⌉ (default 256) */
  clusterSize?: number;
  /** clusters searched per row (default 8) */
  probes?: number;
  /** dimension of the routing space (PCA; default 32) */
  pcaDim?: number;
  /** rows of the PCA covariance sample (default 20,000) */
  pcaSample?: number;
  /**
   * dimension of the candidate scoring (default 0 = the full dimension): when 0 < scoreDim < d, candidates are
   * scored in an r-dim orthonormal basis with a bound on the rest, and only those that can reach the row's k best
   * are scored exactly in the full dimension (see the module comment) — the same neighbours, ≈ d / r fewer FLOPs
   */
  scoreDim?: number;
  /** Lloyd iterations (default 8) */
  kmeansIters?: number;
  /** k-means training rows per centre (default 32) */
  kmeansSamplePerCentre?: number;
  seed?: number;
}

export interface IvfPlan {
  n: number;
  d: number;
  metric: 'cosine' | 'ip';
  /** [m] the present rows, ascending */
  ids: Int32Array;
  /** [n] 1/‖x_i‖ (cosine) or 1 (ip); 0 for zero rows */
  inv: Float32Array;
  clusters: number;
  probes: number;
  /** [m × probes] each row's probed clusters, nearest first */
  probeOf: Int32Array;
  /** [C + 1] offsets into `members` */
  memberStart: Int32Array;
  /** [m] positions (into ids) grouped by cluster, ascending within a cluster */
  members: Int32Array;
  /** [C + 1] offsets into `probers` */
  proberStart: Int32Array;
  /** [m · probes] positions of the rows probing each cluster, ascending within a cluster */
  probers: Int32Array;
  pcaDim: number;
  /** the bounded scoring (null: candidates are scored in the full dimension) */
  score: IvfScoreBasis | null;
  /** wall seconds of the routing's phases (pca: the PCA and the scoring basis) */
  seconds: { pca: number; kmeans: number; probes: number };
  /** CPU seconds of the process (all threads) in each phase */
  cpuSeconds: { pca: number; kmeans: number; probes: number };
}

/**
 * Rows in an r-dim orthonormal basis U [d × r] (top eigenvectors of the uncentred second moment of a sample):
 * y = x̂·U, and ‖x̂ − U·y‖ ≤ res (x̂ the scaled row). For two rows, |⟨x̂_q, x̂_j⟩ − ⟨y_q, y_j⟩| ≤ res_q·res_j
 * (Cauchy–Schwarz on the residuals); `eps · nrm_q · nrm_j` covers the float32 rounding.
 */
export interface IvfScoreBasis {
  dim: number;
  /** [m × dim] by position */
  y: Float32Array;
  /** [m] residual bound by position (with a rounding margin) */
  res: Float32Array;
  /** [m] ‖x̂‖ by position (1 for cosine) */
  nrm: Float32Array;
  eps: number;
}

function check(cond: boolean, msg: string): void {
  if (!cond) throw ppError('PP_GRAPH_INVALID', msg);
}

/** Rows `rows[a..b)` of the [n × d] matrix, each scaled by inv[row], into `out` (heap) [(b − a) × d]. */
function gatherScaled(vectors: Float32Array, d: number, rows: ArrayLike<number>, a: number, b: number, inv: Float32Array | null, out: Float32Array): void {
  for (let t = a; t < b; t++) {
    const i = rows[t];
    const src = vectors.subarray(i * d, i * d + d);
    const o = (t - a) * d;
    if (!inv) out.set(src, o);
    else {
      const s = inv[i];
      for (let j = 0; j < d; j++) out[o + j] = src[j] * s;
    }
  }
}

/** Orthonormalises the r columns of W [d × r] in place (modified Gram–Schmidt in float64). */
function orthonormalise(w: Float32Array, d: number, r: number): void {
  const col = new Float64Array(d);
  const done: Float64Array[] = [];
  for (let c = 0; c < r; c++) {
    for (let i = 0; i < d; i++) col[i] = w[i * r + c];
    for (const q of done) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += q[i] * col[i];
      for (let i = 0; i < d; i++) col[i] -= dot * q[i];
    }
    let norm = 0;
    for (let i = 0; i < d; i++) norm += col[i] * col[i];
    norm = Math.sqrt(norm);
    const q = new Float64Array(d);
    if (norm > 1e-20) for (let i = 0; i < d; i++) q[i] = col[i] / norm;
    done.push(q);
    for (let i = 0; i < d; i++) w[i * r + c] = q[i];
  }
}

/** A deterministic sample of `count` distinct positions of [0, m), ascending. */
function samplePositions(m: number, count: number, seed: number): Int32Array {
  const c = Math.min(m, count);
  if (c === m) return Int32Array.from({ length: m }, (_, i) => i);
  const pool = Int32Array.from({ length: m }, (_, i) => i);
  const rng = new SplitMix(seed);
  for (let t = 0; t < c; t++) {
    const r = t + rng.int(m - t);
    const x = pool[t];
    pool[t] = pool[r];
    pool[r] = x;
  }
  return pool.slice(0, c).sort();
}

/** The second moment M = Σ x̂ x̂ᵀ [d × d] and the mean of the scaled rows `rows`. */
interface Moment {
  m: Float32Array;
  mean: Float64Array;
  count: number;
}

function secondMoment(vectors: Float32Array, d: number, rows: Int32Array, inv: Float32Array | null): Moment {
  const s = rows.length;
  const xs = allocF32(s * d, false);
  const mean = new Float64Array(d);
  try {
    gatherScaled(vectors, d, rows, 0, s, inv, xs);
    for (let t = 0; t < s; t++) for (let j = 0; j < d; j++) mean[j] += xs[t * d + j];
    for (let j = 0; j < d; j++) mean[j] /= Math.max(1, s);
    const m = matmulTN(xs, xs, s, d, d);
    const out = Float32Array.from(m);
    free(m);
    return { m: out, mean, count: s };
  } finally {
    free(xs);
  }
}

/**
 * The top-r eigenvectors V [d × r] (orthonormal) of the second moment (`centre`: of the covariance
 * M − s·μμᵀ), by subspace iteration (8 rounds).
 */
function pcaBasis(mom: Moment, d: number, r: number, centre: boolean, seed: number): Float32Array {
  const cov = allocF32(d * d, false);
  try {
    if (!centre) cov.set(mom.m);
    else for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) cov[i * d + j] = mom.m[i * d + j] - mom.count * mom.mean[i] * mom.mean[j];
    const rng = new SplitMix(seed ^ 0x5ca1ab1e);
    let v = new Float32Array(d * r);
    for (let t = 0; t < v.length; t++) v[t] = rng.normal();
    orthonormalise(v, d, r);
    for (let it = 0; it < 8; it++) {
      const w = matmul(cov, v, d, d, r);
      v = Float32Array.from(w);
      free(w);
      orthonormalise(v, d, r);
    }
    return v;
  } finally {
    free(cov);
  }
}

/**
 * Y_b = (scaled rows) · V_b [m × r_b] for each basis b (V null: the scaled rows themselves), in blocks of rows
 * gathered once and multiplied by the bases side by side (one GEMM, [V_1 | V_2 | …]); `norm2` (when given) gets
 * ‖x̂‖² per position (float64 sums). Each element is a sum over the d products in index order, as one basis alone.
 */
function project(vectors: Float32Array, d: number, ids: Int32Array, inv: Float32Array | null, bases: { v: Float32Array | null; r: number }[], norm2?: Float64Array): Float32Array[] {
  const m = ids.length;
  const ys = bases.map((b) => new Float32Array(m * b.r));
  const wide = bases.filter((b) => b.v);
  const R = wide.reduce((s, b) => s + b.r, 0);
  let w: Float32Array | null = null;
  if (R > 0) {
    w = allocF32(d * R, false);
    let c0 = 0;
    for (const b of wide) {
      for (let i = 0; i < d; i++) for (let c = 0; c < b.r; c++) w[i * R + c0 + c] = b.v![i * b.r + c];
      c0 += b.r;
    }
  }
  const block = 4096;
  const buf = allocF32(Math.min(m, block) * d, false);
  try {
    for (let a = 0; a < m; a += block) {
      const b = Math.min(m, a + block);
      const x = buf.subarray(0, (b - a) * d);
      gatherScaled(vectors, d, ids, a, b, inv, x);
      if (norm2) {
        for (let t = a; t < b; t++) {
          let q = 0;
          for (let j = (t - a) * d, e = j + d; j < e; j++) q += x[j] * x[j];
          norm2[t] = q;
        }
      }
      const out = w ? matmul(x, w, b - a, d, R) : null;
      let c0 = 0;
      bases.forEach((base, i) => {
        const y = ys[i];
        const r = base.r;
        if (!base.v) y.set(x, a * r);
        else {
          for (let t = 0; t < b - a; t++) for (let c = 0; c < r; c++) y[(a + t) * r + c] = out![t * R + c0 + c];
          c0 += r;
        }
      });
      if (out) free(out);
    }
  } finally {
    free(buf);
    if (w) free(w);
  }
  return ys;
}

/**
 * For each of the rows of Y [q × r] (in blocks), calls `visit(row, scores)` with scores[c] = ⟨y, c⟩ − ‖c‖²/2 over
 * the centres [C × r] (argmax = the nearest centre in Euclidean distance).
 */
function centreScores(y: Float32Array, q: number, r: number, centres: Float32Array, C: number, visit: (row: number, scores: Float32Array) => void): void {
  const cp = Math.ceil(C / 4) * 4;
  const ct = allocF32(r * cp, true); // centresᵀ, zero-padded columns
  const half = new Float32Array(cp).fill(Infinity);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let j = 0; j < r; j++) {
      const x = centres[c * r + j];
      ct[j * cp + c] = x;
      s += x * x;
    }
    half[c] = s / 2;
  }
  const block = Math.max(4, Math.floor(4_194_304 / cp));
  try {
    for (let a = 0; a < q; a += block) {
      const b = Math.min(q, a + block);
      const s = matmul(y.subarray(a * r, b * r), ct, b - a, r, cp);
      try {
        for (let t = a; t < b; t++) {
          const row = s.subarray((t - a) * cp, (t - a) * cp + cp);
          for (let c = 0; c < cp; c++) row[c] -= half[c];
          visit(t, row);
        }
      } finally {
        free(s);
      }
    }
  } finally {
    free(ct);
  }
}

/** Lloyd's k-means on the rows `train` of Y; centres start at C distinct training rows. */
function kmeans(y: Float32Array, r: number, train: Int32Array, C: number, iters: number, seed: number): Float32Array {
  const T = train.length;
  const yt = new Float32Array(T * r);
  for (let t = 0; t < T; t++) yt.set(y.subarray(train[t] * r, train[t] * r + r), t * r);
  const centres = new Float32Array(C * r);
  const init = samplePositions(T, C, seed ^ 0x1234567);
  for (let c = 0; c < C; c++) centres.set(yt.subarray(init[c] * r, init[c] * r + r), c * r);
  const assign = new Int32Array(T);
  const sums = new Float64Array(C * r);
  const counts = new Int32Array(C);
  for (let it = 0; it < iters; it++) {
    centreScores(yt, T, r, centres, C, (t, s) => {
      let best = 0;
      for (let c = 1; c < C; c++) if (s[c] > s[best]) best = c;
      assign[t] = best;
    });
    sums.fill(0);
    counts.fill(0);
    for (let t = 0; t < T; t++) {
      const c = assign[t];
      counts[c]++;
      for (let j = 0; j < r; j++) sums[c * r + j] += yt[t * r + j];
    }
    for (let c = 0; c < C; c++) if (counts[c] > 0) for (let j = 0; j < r; j++) centres[c * r + j] = sums[c * r + j] / counts[c];
  }
  return centres;
}

/** The scoring basis from the rows projected on U (`ys` [m × sd]) and their squared norms. */
function scoreBasisFrom(ys: Float32Array, norm2: Float64Array, m: number, sd: number): IvfScoreBasis {
  const res = new Float32Array(m);
  const nrm = new Float32Array(m);
  for (let t = 0; t < m; t++) {
    let q = 0;
    for (let j = t * sd, e = j + sd; j < e; j++) q += ys[j] * ys[j];
    // the residual's squared norm, with a margin for the rounding of y and of the sums (relative 1e-5)
    res[t] = Math.sqrt(Math.max(0, norm2[t] - q) + 1e-5 * norm2[t]);
    nrm[t] = Math.sqrt(norm2[t]);
  }
  return { dim: sd, y: ys, res, nrm, eps: 1e-4 };
}

/**
 * The scoring basis of the present rows `ids` alone (what {@link ivfPlan} builds with `scoreDim`), for callers
 * without a plan (the exact search of src/graphs/exact-knn-bounded.ts). Null when dim ≥ d.
 */
export function scoreBasisOf(vectors: Float32Array, d: number, ids: Int32Array, opts: { metric?: 'cosine' | 'ip'; dim: number; sample?: number; seed?: number }): IvfScoreBasis | null {
  const m = ids.length;
  if (!(opts.dim > 0 && opts.dim < d && m > 0)) return null;
  const seed = opts.seed ?? 11;
  let scale: Float32Array | null = null;
  if ((opts.metric ?? 'cosine') === 'cosine') {
    scale = new Float32Array(vectors.length / d);
    for (const i of ids) {
      let s = 0;
      for (let j = i * d, e = j + d; j < e; j++) s += vectors[j] * vectors[j];
      scale[i] = s > 0 ? 1 / Math.sqrt(s) : 0;
    }
  }
  const mom = secondMoment(vectors, d, samplePositions(m, opts.sample ?? 20000, seed).map((p) => ids[p]), scale);
  const norm2 = new Float64Array(m);
  const [ys] = project(vectors, d, ids, scale, [{ v: pcaBasis(mom, d, opts.dim, false, seed ^ 0x5c0e), r: opts.dim }], norm2);
  return scoreBasisFrom(ys, norm2, m, opts.dim);
}

/** The rows probing each cluster (their first `p` of `P` probes), grouped by cluster with a counting sort (positions ascending). */
function groupProbers(probeOf: Int32Array, m: number, P: number, C: number, p: number): { proberStart: Int32Array; probers: Int32Array } {
  const proberStart = new Int32Array(C + 1);
  for (let t = 0; t < m; t++) for (let x = 0; x < p; x++) proberStart[probeOf[t * P + x] + 1]++;
  for (let c = 0; c < C; c++) proberStart[c + 1] += proberStart[c];
  const probers = new Int32Array(m * p);
  const fill = proberStart.slice(0, C);
  for (let t = 0; t < m; t++) for (let x = 0; x < p; x++) probers[fill[probeOf[t * P + x]]++] = t;
  return { proberStart, probers };
}

/**
 * The plan with each row probing only its `p` nearest clusters (p ≤ plan.probes): what {@link ivfPlan} with
 * `probes: p` gives, without routing again (the probes are the nearest first; members are by the first probe).
 */
export function withProbes(plan: IvfPlan, p: number): IvfPlan {
  check(Number.isInteger(p) && p >= 1 && p <= plan.probes, `probes must be an integer in [1, ${plan.probes}], got ${p}`);
  if (p === plan.probes) return plan;
  const m = plan.ids.length;
  const probeOf = new Int32Array(m * p);
  for (let t = 0; t < m; t++) for (let x = 0; x < p; x++) probeOf[t * p + x] = plan.probeOf[t * plan.probes + x];
  const { proberStart, probers } = groupProbers(probeOf, m, p, plan.clusters, p);
  return { ...plan, probes: p, probeOf, proberStart, probers };
}

/** Routing of every present row: PCA, k-means, probes (see the module comment). */
export function ivfPlan(vectors: Float32Array, n: number, d: number, opts: IvfOptions = {}): IvfPlan {
  check(vectors.length === n * d, `vectors hold ${vectors.length} floats, expected ${n} × ${d}`);
  const metric = opts.metric ?? 'cosine';
  const seed = opts.seed ?? 11;
  const clusterSize = opts.clusterSize ?? 256;
  check(Number.isInteger(clusterSize) && clusterSize >= 1, `clusterSize must be a positive integer, got ${clusterSize}`);
  let m = 0;
  for (let i = 0; i < n; i++) if (!opts.present || opts.present[i]) m++;
  const ids = new Int32Array(m);
  for (let i = 0, t = 0; i < n; i++) if (!opts.present || opts.present[i]) ids[t++] = i;
  const inv = new Float32Array(n).fill(1);
  if (metric === 'cosine') {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = i * d, e = j + d; j < e; j++) s += vectors[j] * vectors[j];
      inv[i] = s > 0 ? 1 / Math.sqrt(s) : 0;
    }
  }
  const scale = metric === 'cosine' ? inv : null;
  const C = Math.max(1, Math.min(m, Math.ceil(m / clusterSize)));
  const P = Math.max(1, Math.min(C, opts.probes ?? 8));

  const cpuOf = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1e6;
  let c0 = process.cpuUsage();
  let t0 = performance.now();
  const r = Math.min(d, opts.pcaDim ?? 32);
  const sd = opts.scoreDim ?? 0;
  check(Number.isInteger(sd) && sd >= 0, `scoreDim must be a non-negative integer, got ${sd}`);
  const useScore = sd > 0 && sd < d && m > 0;
  const mom = (r < d || useScore) && m > 0 ? secondMoment(vectors, d, samplePositions(m, opts.pcaSample ?? 20000, seed).map((p) => ids[p]), scale) : null;
  const v = r < d && mom ? pcaBasis(mom, d, r, true, seed) : null;
  // the routing space and the scoring basis in one pass over the rows
  const u = useScore && mom ? pcaBasis(mom, d, sd, false, seed ^ 0x5c0e) : null;
  const norm2 = u ? new Float64Array(m) : undefined;
  const [y, ys] = project(vectors, d, ids, scale, u ? [{ v, r }, { v: u, r: sd }] : [{ v, r }], norm2);
  const score = u ? scoreBasisFrom(ys, norm2!, m, sd) : null;
  const pca = (performance.now() - t0) / 1000;
  const pcaCpu = cpuOf(process.cpuUsage(c0));

  c0 = process.cpuUsage();
  t0 = performance.now();
  const train = samplePositions(m, C * (opts.kmeansSamplePerCentre ?? 32), seed ^ 0x77);
  const centres = m > 0 ? kmeans(y, r, train, C, opts.kmeansIters ?? 8, seed) : new Float32Array(0);
  const kmeansSeconds = (performance.now() - t0) / 1000;
  const kmeansCpu = cpuOf(process.cpuUsage(c0));
  c0 = process.cpuUsage();

  // the P best centres of every row (insertion into a short sorted list; ties to the lower centre)
  t0 = performance.now();
  const probeOf = new Int32Array(m * P);
  const best = new Float32Array(P);
  if (m > 0) {
    centreScores(y, m, r, centres, C, (t, s) => {
      best.fill(-Infinity);
      for (let c = 0; c < C; c++) {
        const x = s[c];
        if (x <= best[P - 1]) continue;
        let p = P - 1;
        while (p > 0 && best[p - 1] < x) {
          best[p] = best[p - 1];
          probeOf[t * P + p] = probeOf[t * P + p - 1];
          p--;
        }
        best[p] = x;
        probeOf[t * P + p] = c;
      }
    });
  }
  // members (by first probe) and probers, grouped by cluster with counting sorts (positions stay ascending)
  const memberStart = new Int32Array(C + 1);
  for (let t = 0; t < m; t++) memberStart[probeOf[t * P] + 1]++;
  for (let c = 0; c < C; c++) memberStart[c + 1] += memberStart[c];
  const members = new Int32Array(m);
  const fillM = memberStart.slice(0, C);
  for (let t = 0; t < m; t++) members[fillM[probeOf[t * P]]++] = t;
  const { proberStart, probers } = groupProbers(probeOf, m, P, C, P);
  const probesSeconds = (performance.now() - t0) / 1000;
  const cpuSeconds = { pca: pcaCpu, kmeans: kmeansCpu, probes: cpuOf(process.cpuUsage(c0)) };
  return { n, d, metric, ids, inv, clusters: C, probes: P, probeOf, memberStart, members, proberStart, probers, pcaDim: v ? r : d, score, seconds: { pca, kmeans: kmeansSeconds, probes: probesSeconds }, cpuSeconds };
}

/** The k best neighbours of the rows at positions [from, to) of `plan.ids`. */
export interface IvfNeighbours {
  from: number;
  to: number;
  k: number;
  /** [(to − from) × k] neighbour row ids, best first, −1 padded */
  indices: Int32Array;
  /** [(to − from) × k] similarities, NaN padded */
  sims: Float32Array;
  /** [(to − from)] neighbours found */
  counts: Int32Array;
  /** candidate scores computed (in the scoring dimension) */
  scored: number;
  /** candidate scores computed in the full dimension (= scored without a scoring basis) */
  verified: number;
}

/** First index e in sorted a[s, e) with a[e] ≥ x. */
function lowerBound(a: Int32Array, s: number, e: number, x: number): number {
  while (s < e) {
    const mid = (s + e) >>> 1;
    if (a[mid] < x) s = mid + 1;
    else e = mid;
  }
  return s;
}

/**
 * Cluster c as the search of rows [from, to) meets it: its probers among those rows (probers[p0, p1)) and its
 * members (members[ms, ms + s), sp = s rounded up to 4: the padded width of its transposed block); null when no
 * row of the range probes it.
 */
function clusterSlice(plan: IvfPlan, c: number, from: number, to: number): { p0: number; p1: number; ms: number; s: number; sp: number } | null {
  const { probers, proberStart, memberStart } = plan;
  const p0 = lowerBound(probers, proberStart[c], proberStart[c + 1], from);
  const p1 = lowerBound(probers, p0, proberStart[c + 1], to);
  if (p0 === p1) return null;
  const ms = memberStart[c];
  const s = memberStart[c + 1] - ms;
  return { p0, p1, ms, s, sp: Math.ceil(s / 4) * 4 };
}

/** Searches the rows at positions [from, to) (see the module comment). */
export function ivfSearch(vectors: Float32Array, plan: IvfPlan, k: number, from = 0, to = plan.ids.length, onProgress?: (done: number, total: number) => void): IvfNeighbours {
  check(vectors.length === plan.n * plan.d, 'vectors do not match the plan');
  check(Number.isInteger(k) && k >= 1, `k must be a positive integer, got ${k}`);
  check(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to <= plan.ids.length, `bad row range [${from}, ${to})`);
  const { d, ids, inv, members, memberStart, probers, clusters: C } = plan;
  const q = to - from;
  const indices = new Int32Array(q * k).fill(-1);
  const sims = new Float32Array(q * k).fill(NaN);
  const counts = new Int32Array(q);
  const worst = new Float64Array(q).fill(-Infinity);
  let maxMembers = 0;
  for (let c = 0; c < C; c++) maxMembers = Math.max(maxMembers, memberStart[c + 1] - memberStart[c]);
  const qBlock = 1024;
  if (plan.score) {
    const { scored, verified } = searchBounded(vectors, plan, plan.score, k, from, to, maxMembers, { indices, sims, counts, worst }, onProgress);
    return { from, to, k, indices, sims, counts, scored, verified };
  }
  const bt = allocF32(d * (Math.ceil(maxMembers / 4) * 4), false);
  const qs = allocF32(qBlock * d, false);
  const rowIds = new Int32Array(qBlock);
  let scored = 0;
  try {
    for (let c = 0; c < C; c++) {
      const slice = clusterSlice(plan, c, from, to);
      if (!slice) continue;
      const { p0, p1, ms, s, sp } = slice;
      // X_cᵀ [d × sp], zero-padded columns (raw vectors: the scale is applied to the scores)
      const b = transposedBlock(vectors, d, s, sp, (t) => ids[members[ms + t]], bt);
      for (let a = p0; a < p1; a += qBlock) {
        const e = Math.min(p1, a + qBlock);
        for (let t = a; t < e; t++) {
          const row = ids[probers[t]];
          rowIds[t - a] = row;
          qs.set(vectors.subarray(row * d, row * d + d), (t - a) * d);
        }
        const S = matmul(qs.subarray(0, (e - a) * d), b, e - a, d, sp);
        scored += (e - a) * s;
        try {
          for (let t = a; t < e; t++) {
            const self = rowIds[t - a];
            const x = probers[t] - from;
            const off = (t - a) * sp;
            const si = inv[self];
            for (let u = 0; u < s; u++) {
              const j = ids[members[ms + u]];
              const v = Math.fround(S[off + u] * si * inv[j]);
              if (v > worst[x] && j !== self) offerTopK(sims, indices, counts, worst, x, k, v, j);
            }
          }
        } finally {
          free(S);
        }
      }
      onProgress?.(c + 1, C);
    }
  } finally {
    free(bt);
    free(qs);
  }
  return { from, to, k, indices, sims, counts, scored, verified: scored };
}

/** Inserts x into the descending list (exported for the exact search) l[base … base + k) when it beats the last entry. */
export function offerValue(l: Float64Array, base: number, k: number, x: number): void {
  let p = base + k - 1;
  if (x <= l[p]) return;
  while (p > base && l[p - 1] < x) {
    l[p] = l[p - 1];
    p--;
  }
  l[p] = x;
}

/**
 * The search with a scoring basis, in two passes over the clusters. Pass 1 scores every candidate in the r-dim
 * basis and keeps, per row, τ = the k-th largest lower bound lb = ⟨y_q, y_j⟩ − res_q·res_j − eps·nrm_q·nrm_j.
 * Pass 2 scores them again and computes the full-dimension similarity (SDDMM on the core's kernels) only for the
 * candidates whose upper bound ub = ⟨y_q, y_j⟩ + res_q·res_j + eps·nrm_q·nrm_j reaches τ: at least k candidates
 * have a similarity ≥ their lb ≥ τ, so every candidate among the row's k best has ub ≥ τ — the row gets the
 * neighbours of the full-dimension search. Each row's result still depends only on its own vector and the plan.
 */
function searchBounded(
  vectors: Float32Array,
  plan: IvfPlan,
  sc: IvfScoreBasis,
  k: number,
  from: number,
  to: number,
  maxMembers: number,
  out: { indices: Int32Array; sims: Float32Array; counts: Int32Array; worst: Float64Array },
  onProgress?: (done: number, total: number) => void,
): { scored: number; verified: number } {
  const { d, ids, inv, members, probers, clusters: C } = plan;
  const { dim: r, y, res, nrm, eps } = sc;
  const { indices, sims, counts, worst } = out;
  const q = to - from;
  const tau = new Float64Array(q * k).fill(-Infinity); // per row: the k largest lower bounds, descending
  const qBlock = 1024;
  const spMax = Math.ceil(maxMembers / 4) * 4;
  const ybt = allocF32(r * spMax, false);
  const yq = allocF32(qBlock * r, false);
  const xm = allocF32(Math.max(1, maxMembers) * d, false);
  const xq = allocF32(qBlock * d, false);
  const ptr = allocI32(qBlock + 1, false);
  const col = allocI32(Math.max(1, qBlock * maxMembers), false);
  const dots = allocF32(Math.max(1, qBlock * maxMembers), false);
  const compact = new Int32Array(qBlock); // prober index t of each compacted row
  const none = new Float32Array(0);
  let scored = 0;
  let verified = 0;
  try {
    for (let pass = 0; pass < 2; pass++) {
      for (let c = 0; c < C; c++) {
        const slice = clusterSlice(plan, c, from, to);
        if (!slice) continue;
        const { p0, p1, ms, s, sp } = slice;
        // Y_cᵀ [r × sp], zero-padded columns
        const b = transposedBlock(y, r, s, sp, (t) => members[ms + t], ybt);
        let membersGathered = false;
        for (let a = p0; a < p1; a += qBlock) {
          const e = Math.min(p1, a + qBlock);
          for (let t = a; t < e; t++) yq.set(y.subarray(probers[t] * r, probers[t] * r + r), (t - a) * r);
          const S = matmul(yq.subarray(0, (e - a) * r), b, e - a, r, sp);
          try {
            if (pass === 0) {
              scored += (e - a) * s;
              for (let t = a; t < e; t++) {
                const pt = probers[t];
                const base = (pt - from) * k;
                const rq = res[pt];
                const nq = eps * nrm[pt];
                const off = (t - a) * sp;
                for (let u = 0; u < s; u++) {
                  const pu = members[ms + u];
                  const lb = S[off + u] - rq * res[pu] - nq * nrm[pu];
                  if (lb > tau[base + k - 1] && pu !== pt) offerValue(tau, base, k, lb);
                }
              }
              continue;
            }
            // pass 2: the candidates that can reach the row's k best, as a CSR over the block's rows
            let rows = 0;
            let nnz = 0;
            ptr[0] = 0;
            for (let t = a; t < e; t++) {
              const pt = probers[t];
              const bar = tau[(pt - from) * k + k - 1];
              const rq = res[pt];
              const nq = eps * nrm[pt];
              const off = (t - a) * sp;
              const start = nnz;
              for (let u = 0; u < s; u++) {
                const pu = members[ms + u];
                if (S[off + u] + rq * res[pu] + nq * nrm[pu] >= bar && pu !== pt) col[nnz++] = u;
              }
              if (nnz > start) {
                compact[rows] = t;
                ptr[++rows] = nnz;
              }
            }
            if (nnz === 0) continue;
            if (!membersGathered) {
              for (let u = 0; u < s; u++) {
                const o = ids[members[ms + u]] * d;
                xm.set(vectors.subarray(o, o + d), u * d);
              }
              membersGathered = true;
            }
            for (let x = 0; x < rows; x++) {
              const row = ids[probers[compact[x]]];
              xq.set(vectors.subarray(row * d, row * d + d), x * d);
            }
            const csr = { rows, cols: s, indptr: ptr.subarray(0, rows + 1), indices: col.subarray(0, nnz), values: none };
            sddmm(csr, xq.subarray(0, rows * d), xm.subarray(0, s * d), d, { out: dots.subarray(0, nnz) });
            verified += nnz;
            for (let x = 0; x < rows; x++) {
              const pt = probers[compact[x]];
              const self = ids[pt];
              const xr = pt - from;
              const si = inv[self];
              for (let f = ptr[x]; f < ptr[x + 1]; f++) {
                const j = ids[members[ms + col[f]]];
                const v = Math.fround(dots[f] * si * inv[j]);
                if (v > worst[xr]) offerTopK(sims, indices, counts, worst, xr, k, v, j);
              }
            }
          } finally {
            free(S);
          }
        }
        onProgress?.(c + 1 + pass * C, 2 * C);
      }
    }
  } finally {
    for (const buf of [ybt, yq, xm, xq, ptr, col, dots]) free(buf);
  }
  return { scored, verified };
}

/** The first dim · sp values of `out` as [dim × sp]: rows row(0) … row(s − 1) of `src` [· × dim] transposed, columns s … sp − 1 zero. */
function transposedBlock(src: Float32Array, dim: number, s: number, sp: number, row: (t: number) => number, out: Float32Array): Float32Array {
  const b = out.subarray(0, dim * sp);
  for (let t = 0; t < s; t++) {
    const o = row(t) * dim;
    for (let j = 0; j < dim; j++) b[j * sp + t] = src[o + j];
  }
  for (let t = s; t < sp; t++) for (let j = 0; j < dim; j++) b[j * sp + t] = 0;
  return b;
}
