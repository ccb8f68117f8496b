/**
 * What the training-free graph-filter models (GF-CF in ./gfcf.ts, BSPM in ./bspm.ts) share: the
 * normalised interaction matrix and its operators, a randomized truncated SVD, the small dense float64
 * routines it needs, and a fixed-step solver for linear ODEs.
 *
 * ## Notation (row vectors, as in the papers)
 *
 *   R ∈ {0,1}^{U×I}        binary train interactions (repeated (u, i) pairs count once)
 *   D_U, D_I               user / item degrees (row / column sums of R)
 *   R̃ = D_U^{-1/2} R D_I^{-1/2}
 *   P̃ = R̃ᵀR̃  (I × I)      the normalised item–item matrix; symmetric, eigenvalues in [0, 1]
 *   r_u                    user u's row of R
 *   V_k (I × k)            the top-k right singular vectors of R̃ (= top-k eigenvectors of P̃)
 *
 *   linear filter          r_u P̃ = (r_u R̃ᵀ) R̃        two sparse products, never an I×I matrix
 *   ideal low-pass filter  r_u D_I^{-1/2} V_k V_kᵀ D_I^{1/2}
 *
 * Degree-0 items (no train interaction) get D_I^{-1/2} = D_I^{1/2} = 0, so they score 0 (the reference
 * code takes 1/0 = inf there and produces NaN).
 *
 * ## Layout
 *
 * A batch of users is processed in blocks of {@link BLOCK_USERS} users, *transposed*: item-major I × d
 * blocks (d = the block's size rounded up to a multiple of 4, the width the core's SIMD kernels need;
 * padding columns stay 0). Then every product is a core
 * SpMM with the batch as its dense width — R̃·X (U×d) and R̃ᵀ·Y (I×d) — or a core matmul
 * (I×k)·(k×d) whose k×d right factor stays in cache; the result is transposed into the caller's
 * B × I score block at the end. The first product of the linear filter, R̃·r_uᵀ, is a sparse scatter
 * (Σ_{i∈u} column i of R̃), about 100× cheaper than a dense SpMM on the mostly-zero indicator block.
 *
 * ## Randomized SVD (Halko, Martinsson & Tropp 2011, Alg. 4.4 + 5.1)
 *
 * For the right singular vectors of A (m × n): l = k + oversample columns,
 *   Y = Aᵀ G (G: m × l Gaussian), Q = orth(Y);
 *   q times:  Z = orth(A Q);  Q = orth(Aᵀ Z)          (re-orthonormalised after every product)
 *   then the Rayleigh–Ritz step on B = Qᵀ Aᵀ (l × m): C = B Bᵀ = (A Q)ᵀ(A Q) (l × l), C = W Λ Wᵀ
 *   (symmetric eigensolver), σ_j = sqrt(λ_j), V = Q W[:, 1..k] (B = W Σ Xᵀ, so Aᵀ ≈ Q B = (Q W) Σ Xᵀ).
 * orth() is CholeskyQR (Gram matrix on the core's matmulTN, Cholesky in float64, a diagonal shift when
 * the Gram matrix is numerically singular); the last one is done twice (CholeskyQR2) so Q is orthonormal
 * to float32 precision before the Rayleigh–Ritz step.
 *
 * ## Linear ODEs
 *
 * {@link integrateLinear} advances dx/dt = a·A x + s·x on a fixed grid of K steps of size T/K with Euler
 * or RK4. For a linear autonomous right-hand side every 4-stage, 4th-order Runge–Kutta method (the
 * classical one, or torchdiffeq's "rk4" = the 3/8 rule used by BSPM's code) gives the same step,
 * x ← (I + hF + h²F²/2 + h³F³/6 + h⁴F⁴/24) x, which is evaluated in Horner form with the vector
 * updates fused into the operator calls.
 */

import { join } from 'node:path';
import { ppError } from '../errors.js';
import type { SplitData } from '../graphs/split-data.js';
import { loadState, saveState } from '../train/checkpoint.js';
import { migrateParams } from './param-names.js';
import type { CsrPattern as CsrPattern } from '../core/csr-pattern.js';
import {
  allocF32,
  axpby,
  csrFromCoo,
  free,
  matmul,
  matmulTN,
  Rng,
  spmm,
  transpose,
  type Csr,
  type CsrTransposed,
} from '../core/index.js';

// ---------------------------------------------------------------------------------------------------
// Small dense float64 routines (row-major)
// ---------------------------------------------------------------------------------------------------

/** Eigenvalues in descending order, eigenvectors as the columns of the row-major n × n `vectors`. */
export interface SymmetricEigen {
  readonly n: number;
  readonly values: Float64Array;
  /** vectors[r * n + j] = component r of eigenvector j. */
  readonly vectors: Float64Array;
}

/**
 * Eigendecomposition A = W Λ Wᵀ of a symmetric n × n matrix (row-major; only symmetric input is
 * meaningful): Householder reduction to tridiagonal form, then the implicit QL algorithm with Wilkinson
 * shifts (the EISPACK tred2/tql2 pair, as in JAMA). O(n³), float64, eigenvectors orthonormal to ~1e-15.
 */
export function symmetricEigen(a: ArrayLike<number>, n: number): SymmetricEigen {
  if (a.length !== n * n) throw new Error(`symmetricEigen: expected ${n}×${n} entries, got ${a.length}`);
  const V = Float64Array.from(a);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return { n, values: d, vectors: V };
  if (n === 1) return { n, values: Float64Array.of(V[0]), vectors: Float64Array.of(1) };
  tred2(V, d, e, n);
  // tql2 rotates pairs of eigenvector columns: work on the transpose so those are contiguous rows.
  const Z = new Float64Array(n * n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) Z[c * n + r] = V[r * n + c];
  tql2(Z, d, e, n);
  const order = Array.from({ length: n }, (_, j) => j).sort((x, y) => d[y] - d[x] || x - y);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const src = order[j];
    values[j] = d[src];
    for (let r = 0; r < n; r++) vectors[r * n + j] = Z[src * n + r];
  }
  return { n, values, vectors };
}

/** Householder tridiagonalisation (JAMA tred2): V = A on entry, the orthogonal transform on exit. */
function tred2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[j * n + i] = f;
        g = e[j] + V[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j] * d[k];
          e[k] += V[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[k * n + j] -= f * e[k] + g * d[k];
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i];
    V[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1] * V[k * n + j];
        for (let k = 0; k <= i; k++) V[k * n + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j];
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/**
 * Implicit QL on the tridiagonal (d, e) (JAMA tql2). `Z` holds the eigenvectors as ROWS (the transpose
 * of JAMA's V) so each Givens rotation updates two contiguous rows.
 */
function tql2(Z: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m === n) m = n - 1; // e[n-1] = 0, so only reached through underflow; stay in range
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 200) throw new Error('symmetricEigen: QL iteration did not converge');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          const zi = i * n;
          const zj = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const hk = Z[zj + k];
            Z[zj + k] = s * Z[zi + k] + c * hk;
            Z[zi + k] = c * Z[zi + k] - s * hk;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}

/**
 * Cholesky factor R (upper triangular, row-major n × n) with G = RᵀR, or null when G is not
 * (numerically) positive definite.
 */
export function choleskyUpper(g: ArrayLike<number>, n: number): Float64Array | null {
  const R = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let s = g[j * n + j];
    for (let k = 0; k < j; k++) s -= R[k * n + j] * R[k * n + j];
    if (!(s > 0)) return null;
    const rjj = Math.sqrt(s);
    R[j * n + j] = rjj;
    for (let c = j + 1; c < n; c++) {
      let t = g[j * n + c];
      for (let k = 0; k < j; k++) t -= R[k * n + j] * R[k * n + c];
      R[j * n + c] = t / rjj;
    }
  }
  return R;
}

/** Inverse of an upper-triangular n × n matrix (row-major), by back substitution. */
export function invertUpper(R: ArrayLike<number>, n: number): Float64Array {
  const X = new Float64Array(n * n);
  // columns of X: R · X[:, c] = e_c, X upper triangular
  for (let c = 0; c < n; c++) {
    X[c * n + c] = 1 / R[c * n + c];
    for (let r = c - 1; r >= 0; r--) {
      let s = 0;
      for (let k = r + 1; k <= c; k++) s += R[r * n + k] * X[k * n + c];
      X[r * n + c] = -s / R[r * n + r];
    }
  }
  return X;
}

/**
 * Orthonormalises the columns of Y (rows × cols, row-major, in place) by CholeskyQR: G = YᵀY (core
 * matmulTN), G = RᵀR, Y ← Y R⁻¹; `passes` = 2 gives CholeskyQR2 (orthonormal to working precision).
 * When G is numerically singular (rank-deficient Y) the factorisation is retried with a growing
 * diagonal shift (shifted CholeskyQR), which leaves the deficient directions near zero instead of failing.
 */
export function orthonormalizeColumns(y: Float32Array, rows: number, cols: number, passes = 1): void {
  if (y.length !== rows * cols) throw new Error('orthonormalizeColumns: shape mismatch');
  const rinv32 = allocF32(cols * cols, false);
  const tmp = allocF32(rows * cols, false);
  try {
    for (let pass = 0; pass < passes; pass++) {
      const g32 = matmulTN(y, y, rows, cols, cols);
      const g = new Float64Array(cols * cols);
      let maxDiag = 0;
      for (let r = 0; r < cols; r++) {
        for (let c = 0; c < cols; c++) g[r * cols + c] = 0.5 * (g32[r * cols + c] + g32[c * cols + r]);
        maxDiag = Math.max(maxDiag, g[r * cols + r]);
      }
      free(g32);
      if (!(maxDiag > 0)) return; // Y = 0: nothing to normalise
      let R = choleskyUpper(g, cols);
      for (let shift = 1e-6 * maxDiag; R === null; shift *= 10) {
        if (shift > maxDiag) throw new Error('orthonormalizeColumns: Gram matrix is not positive semi-definite');
        const gs = g.slice();
        for (let r = 0; r < cols; r++) gs[r * cols + r] += shift;
        R = choleskyUpper(gs, cols);
      }
      const rinv = invertUpper(R, cols);
      for (let t = 0; t < rinv.length; t++) rinv32[t] = rinv[t];
      matmul(y, rinv32, rows, cols, cols, { out: tmp });
      y.set(tmp);
    }
  } finally {
    free(rinv32);
    free(tmp);
  }
}

// ---------------------------------------------------------------------------------------------------
// Randomized truncated SVD
// ---------------------------------------------------------------------------------------------------

/** A linear map A (rows × cols) applied to blocks of d column vectors (row-major). */
export interface LinearOperator {
  readonly rows: number;
  readonly cols: number;
  /** out (rows × d) = A · x (cols × d). */
  apply(x: Float32Array, d: number, out: Float32Array): void;
  /** out (cols × d) = Aᵀ · y (rows × d). */
  applyT(y: Float32Array, d: number, out: Float32Array): void;
}

export interface RandomizedSvdOptions {
  /** Number of singular triplets k. */
  rank: number;
  /** Extra random columns p (l = k + p, capped at min(rows, cols)). */
  oversample: number;
  /** Power (subspace) iterations q. */
  powerIters: number;
  seed: number;
  /** Called after each phase (range finder, every power iteration, Rayleigh–Ritz). */
  onStep?: (done: number, total: number) => void;
}

export interface TruncatedSvd {
  readonly rank: number;
  /** σ_1 ≥ … ≥ σ_k. */
  readonly values: Float64Array;
  /** Right singular vectors as the columns of a row-major cols × k heap array (free it when done). */
  readonly v: Float32Array;
}

/** Standard normal float32 entries from the seeded generator. */
function gaussian(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = allocF32(n, false);
  for (let t = 0; t < n; t++) out[t] = rng.normal();
  return out;
}

/** The top-`rank` right singular vectors and values of A by the randomized range finder + Rayleigh–Ritz. */
export function randomizedSvd(a: LinearOperator, opts: RandomizedSvdOptions): TruncatedSvd {
  const { rows, cols } = a;
  const k = opts.rank;
  if (!(Number.isInteger(k) && k >= 1 && k <= Math.min(rows, cols))) {
    throw new Error(`randomizedSvd: rank ${k} must be in [1, min(rows, cols) = ${Math.min(rows, cols)}]`);
  }
  let l = Math.min(k + Math.max(0, Math.floor(opts.oversample)), rows, cols);
  // the core's SIMD kernels want widths that are multiples of 4: round up when the shape allows it
  if (l % 4 !== 0 && l + (4 - (l % 4)) <= Math.min(rows, cols)) l += 4 - (l % 4);
  const q = Math.max(0, Math.floor(opts.powerIters));
  const total = q + 2;
  const g = gaussian(rows * l, opts.seed);
  const y = allocF32(cols * l, false);
  const z = allocF32(rows * l, false);
  try {
    a.applyT(g, l, y);
    orthonormalizeColumns(y, cols, l, q === 0 ? 2 : 1);
    opts.onStep?.(1, total);
    for (let it = 0; it < q; it++) {
      a.apply(y, l, z);
      orthonormalizeColumns(z, rows, l, 1);
      a.applyT(z, l, y);
      orthonormalizeColumns(y, cols, l, it === q - 1 ? 2 : 1);
      opts.onStep?.(2 + it, total);
    }
    // Rayleigh–Ritz: Bᵀ = A Q (rows × l), C = B Bᵀ = (AQ)ᵀ(AQ) = Qᵀ AᵀA Q
    a.apply(y, l, z);
    const c32 = matmulTN(z, z, rows, l, l);
    const c = new Float64Array(l * l);
    for (let r = 0; r < l; r++) for (let s = 0; s < l; s++) c[r * l + s] = 0.5 * (c32[r * l + s] + c32[s * l + r]);
    free(c32);
    const eig = symmetricEigen(c, l);
    const wk = allocF32(l * k, false);
    for (let r = 0; r < l; r++) for (let j = 0; j < k; j++) wk[r * k + j] = eig.vectors[r * l + j];
    const v = matmul(y, wk, cols, l, k);
    free(wk);
    const values = new Float64Array(k);
    for (let j = 0; j < k; j++) values[j] = Math.sqrt(Math.max(0, eig.values[j]));
    opts.onStep?.(total, total);
    return { rank: k, values, v };
  } finally {
    free(g);
    free(y);
    free(z);
  }
}

// ---------------------------------------------------------------------------------------------------
// The normalised interaction matrix and its operators
// ---------------------------------------------------------------------------------------------------

/** Effective rank of a spectral model: at most min(users, items). */
export function clampRank(k: number, data: { numUsers: number; numItems: number }): number {
  return Math.max(0, Math.min(Math.floor(k), data.numUsers, data.numItems));
}

/** Rounds a batch width up to a multiple of 4 (the core's SIMD width). */
export function paddedWidth(b: number): number {
  return Math.max(4, Math.ceil(b / 4) * 4);
}

/**
 * R̃ = D_U^{-1/2} R D_I^{-1/2} of a split's train part, with the batch operators both graph-filter
 * models use. Matrices live in the core's shared heap; call {@link dispose} when done.
 */
export class NormalizedInteractions implements LinearOperator {
  readonly rows: number;
  readonly cols: number;
  /** R̃ (U × I), user rows, items sorted and unique per row. */
  readonly rn: Csr;
  /** R̃ᵀ (I × U). */
  readonly rnT: CsrTransposed;
  /** Train degree of each user / item (distinct items / users). */
  readonly userDegree: Float32Array;
  readonly itemDegree: Float32Array;
  /** D_I^{-1/2} and D_I^{1/2} (0 for degree-0 items). */
  readonly itemInvSqrt: Float32Array;
  readonly itemSqrt: Float32Array;
  private readonly work = new Map<number, Float32Array>();
  private readonly scaled = new Map<number, Float32Array>();

  constructor(
    readonly numUsers: number,
    readonly numItems: number,
    train: CsrPattern,
  ) {
    if (train.indptr.length !== numUsers + 1) throw ppError('PP_INTERNAL', 'train CSR does not have numUsers rows');
    const nnz = train.indptr[numUsers];
    const rowIdx = new Int32Array(nnz);
    for (let u = 0; u < numUsers; u++) rowIdx.fill(u, train.indptr[u], train.indptr[u + 1]);
    const r = csrFromCoo(numUsers, numItems, rowIdx, train.indices.subarray(0, nnz), undefined, { binary: true });
    this.rows = numUsers;
    this.cols = numItems;
    this.userDegree = new Float32Array(numUsers);
    this.itemDegree = new Float32Array(numItems);
    for (let u = 0; u < numUsers; u++) this.userDegree[u] = r.indptr[u + 1] - r.indptr[u];
    for (let e = 0; e < r.indices.length; e++) this.itemDegree[r.indices[e]]++;
    this.itemInvSqrt = new Float32Array(numItems);
    this.itemSqrt = new Float32Array(numItems);
    for (let i = 0; i < numItems; i++) {
      const d = this.itemDegree[i];
      this.itemInvSqrt[i] = d > 0 ? 1 / Math.sqrt(d) : 0;
      this.itemSqrt[i] = d > 0 ? Math.sqrt(d) : 0;
    }
    for (let u = 0; u < numUsers; u++) {
      const du = this.userDegree[u] > 0 ? 1 / Math.sqrt(this.userDegree[u]) : 0;
      for (let e = r.indptr[u]; e < r.indptr[u + 1]; e++) r.values[e] = du * this.itemInvSqrt[r.indices[e]];
    }
    this.rn = r;
    this.rnT = transpose(r);
  }

  /** Train items of user u (sorted, unique): rn.indices[rn.indptr[u] .. rn.indptr[u+1]). */
  itemsOf(u: number): Int32Array {
    return this.rn.indices.subarray(this.rn.indptr[u], this.rn.indptr[u + 1]);
  }

  /** out (U × d) = R̃ · x (I × d). */
  apply(x: Float32Array, d: number, out: Float32Array): void {
    spmm(this.rn, x, d, { out });
  }

  /** out (I × d) = c·R̃ᵀ · y (U × d) (+ add, which may be out). */
  applyT(y: Float32Array, d: number, out: Float32Array, add?: Float32Array, c = 1): void {
    spmm(this.rnT, y, d, { out, add, values: c === 1 ? undefined : this.scaledValues(c) });
  }

  /** R̃ᵀ's entries times c (cached: the ODE steps use a handful of distinct factors). */
  private scaledValues(c: number): Float32Array {
    let v = this.scaled.get(c);
    if (!v) {
      if (this.scaled.size >= 16) this.clearScaled();
      const src = this.rnT.values;
      v = allocF32(src.length, false);
      for (let e = 0; e < src.length; e++) v[e] = c * src[e];
      this.scaled.set(c, v);
    }
    return v;
  }

  private clearScaled(): void {
    for (const v of this.scaled.values()) free(v);
    this.scaled.clear();
  }

  /** A reusable heap buffer of n floats for slot `slot` (per model instance). */
  buffer(slot: number, n: number): Float32Array {
    const key = slot * 1e12 + n;
    let b = this.work.get(key);
    if (!b) this.work.set(key, (b = allocF32(n, false)));
    return b;
  }

  /** out (I × d) = c·P̃ x + add = c·R̃ᵀ(R̃ x) + add for a dense item-major block x (I × d). */
  applyP(x: Float32Array, d: number, out: Float32Array, c = 1, add?: Float32Array): void {
    const z = this.buffer(90, this.numUsers * d);
    this.apply(x, d, z);
    this.applyT(z, d, out, add, c);
  }

  /** out (I × d) = the batch's indicator rows r_uᵀ as columns (padding columns 0). */
  indicator(users: Int32Array, d: number, out: Float32Array): void {
    out.fill(0);
    for (let b = 0; b < users.length; b++) {
      const items = this.itemsOf(users[b]);
      for (let t = 0; t < items.length; t++) out[items[t] * d + b] = 1;
    }
  }

  /**
   * out (I × d) = c·(r_u P̃)ᵀ (+ `add`, which may be `out`) for the batch: the first product R̃ r_uᵀ as
   * a sparse scatter over the users of each of u's items, the second as a core SpMM.
   */
  linearFilter(users: Int32Array, d: number, out: Float32Array, add?: Float32Array, c = 1): void {
    const z = this.buffer(91, this.numUsers * d);
    z.fill(0);
    const { indptr, indices, values } = this.rnT;
    for (let b = 0; b < users.length; b++) {
      const items = this.itemsOf(users[b]);
      for (let t = 0; t < items.length; t++) {
        const i = items[t];
        for (let e = indptr[i]; e < indptr[i + 1]; e++) z[indices[e] * d + b] += values[e];
      }
    }
    this.applyT(z, d, out, add, c);
  }

  /**
   * wt (k × d) = (r_u D_I^{-1/2} V)ᵀ for the batch: the coordinates of each user's normalised history in
   * the basis V (I × k, row-major).
   */
  idealCoefficients(users: Int32Array, v: Float32Array, k: number, d: number, wt: Float32Array): void {
    wt.fill(0);
    const row = new Float64Array(k);
    for (let b = 0; b < users.length; b++) {
      this.userCoefficients(users[b], v, k, row);
      for (let j = 0; j < k; j++) wt[j * d + b] = row[j];
    }
  }

  /** row (k) = r_u D_I^{-1/2} V: one user's coordinates in the basis V (I × k, row-major). */
  userCoefficients(u: number, v: Float32Array, k: number, row: Float64Array): void {
    row.fill(0);
    const items = this.itemsOf(u);
    for (let t = 0; t < items.length; t++) {
      const i = items[t];
      const w = this.itemInvSqrt[i];
      const o = i * k;
      for (let j = 0; j < k; j++) row[j] += w * v[o + j];
    }
  }

  /** The top-k right singular vectors of R̃ (randomized SVD). */
  topSingular(opts: RandomizedSvdOptions): TruncatedSvd {
    return randomizedSvd(this, opts);
  }

  dispose(): void {
    for (const b of this.work.values()) free(b);
    this.work.clear();
    this.clearScaled();
    free(this.rn.indptr);
    free(this.rn.indices);
    free(this.rn.values);
    free(this.rnT.indptr);
    free(this.rnT.indices);
    free(this.rnT.values);
    free(this.rnT.perm);
  }
}

/**
 * Users per item-major block. The SpMMs gather rows of the block (I × d and U × d floats): at d = 32
 * they stay in the last-level cache (5 MB on Gowalla) and P̃·X runs 2–3× faster per column than at
 * d = 256 (42 MB) on this machine, so batches are cut into blocks of this many users.
 */
export const BLOCK_USERS = 32;

/**
 * Scores `users` block by block: `scoreBlock(block, d)` fills an item-major I × d block (d = padded block
 * width) and returns it; it is transposed into the block's rows of `out`.
 */
export function scoreInBlocks(
  users: Int32Array,
  numItems: number,
  out: Float32Array,
  scoreBlock: (block: Int32Array, d: number) => Float32Array,
): void {
  for (let b0 = 0; b0 < users.length; b0 += BLOCK_USERS) {
    const block = users.subarray(b0, Math.min(users.length, b0 + BLOCK_USERS));
    const d = paddedWidth(block.length);
    const st = scoreBlock(block, d);
    transposeInto(st, d, block.length, numItems, out.subarray(b0 * numItems, (b0 + block.length) * numItems));
  }
}

/** out[b · numItems + i] = st[i · d + b] for b < rows: the item-major block back to user-major scores. */
export function transposeInto(st: Float32Array, d: number, rows: number, numItems: number, out: Float32Array): void {
  if (out.length < rows * numItems) throw new Error('transposeInto: out is too small');
  const BLOCK = 128;
  for (let i0 = 0; i0 < numItems; i0 += BLOCK) {
    const i1 = Math.min(numItems, i0 + BLOCK);
    for (let b = 0; b < rows; b++) {
      const o = b * numItems;
      for (let i = i0; i < i1; i++) out[o + i] = st[i * d + b];
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Fixed-step ODE solver for linear right-hand sides
// ---------------------------------------------------------------------------------------------------

/**
 * The right-hand side f(x) = a·(A x) + s·x of a linear ODE, with A given by a scaled, fused apply:
 * `apply(x, c, out, add)` writes out = c·(A x) + add (add omitted = 0); `out` never aliases `x` or `add`.
 */
export interface LinearFlow {
  readonly a: number;
  readonly s: number;
  apply(x: Float32Array, c: number, out: Float32Array, add?: Float32Array): void;
}

export type OdeMethod = 'euler' | 'rk4';

export interface IntegrateOptions {
  method: OdeMethod;
  /** End time T (start 0). */
  T: number;
  /** Number of equal steps K (h = T / K). */
  steps: number;
  /** Computes c·(A x(0)) + add when the caller has a cheaper way for the initial state (e.g. a sparse one). */
  firstApply?: (c: number, out: Float32Array, add?: Float32Array) => void;
  /** When given, every state x(t_1), …, x(t_K) on the grid is added into it. */
  sumStates?: Float32Array;
  /** Scratch buffers of x's length: 2 for Euler, 3 for RK4 (allocated when missing). */
  work?: Float32Array[];
}

/**
 * Advances x (in place) from t = 0 to t = T along dx/dt = F x, F = a·A + s·I, on a grid of K steps of
 * size h = T/K:
 *
 *   Euler   x ← x + hF x = (h a)·A x + (1 + h s)·x
 *   RK4     x ← (I + hF + (hF)²/2 + (hF)³/6 + (hF)⁴/24) x, evaluated in Horner form
 *           y ← x;  y ← x + (h/j)·F y  for j = 4, 3, 2, 1
 *
 * For a linear autonomous F the classical RK4 step (and every other 4-stage 4th-order Runge–Kutta step,
 * e.g. torchdiffeq's 3/8 rule) is exactly that degree-4 Taylor polynomial; the Horner form needs the
 * same 4 products with A but fuses the vector updates into them (`add`), so each stage is one operator
 * call plus at most one SIMD axpby.
 */
export function integrateLinear(x: Float32Array, flow: LinearFlow, opts: IntegrateOptions): void {
  const { method, T, steps } = opts;
  if (!(Number.isInteger(steps) && steps >= 1)) throw new Error(`integrateLinear: steps must be a positive integer, got ${steps}`);
  if (method !== 'euler' && method !== 'rk4') throw new Error(`integrateLinear: unknown method ${String(method)}`);
  const n = x.length;
  const work = opts.work ?? [];
  const owned: Float32Array[] = [];
  for (let w = work.length; w < 3; w++) {
    const b = allocF32(n, false);
    owned.push(b);
    work.push(b);
  }
  const h = T / steps;
  const { a, s } = flow;
  let first = opts.firstApply;
  /** out = c·A y + add, through the caller's cheaper path while y is still the initial state. */
  const apply = (y: Float32Array, c: number, out: Float32Array, add?: Float32Array) => {
    if (first && y === x) first(c, out, add);
    else flow.apply(y, c, out, add);
  };
  const [w0, w1, w2] = work;
  try {
    for (let step = 0; step < steps; step++) {
      let y = x;
      if (method === 'euler') {
        // x ← (h a)·A x + (1 + h s)·x
        const keep = 1 + h * s;
        const add = keep === 1 ? x : keep === 0 ? undefined : axpby(keep, x, 0, x, w1);
        apply(x, h * a, w0, add);
        y = w0;
      } else {
        let out = w0;
        for (let j = 4; j >= 1; j--) {
          const c = h / j;
          // y ← x + c·(a A y + s y) = (c a)·A y + (x + c s·y)
          const add = s === 0 ? x : axpby(1, x, c * s, y, w2);
          apply(y, c * a, out, add);
          y = out;
          out = out === w0 ? w1 : w0;
        }
      }
      x.set(y);
      first = undefined;
      if (opts.sumStates) axpby(1, opts.sumStates, 1, x, opts.sumStates);
    }
  } finally {
    for (const b of owned) free(b);
  }
}

// ---------------------------------------------------------------------------------------------------
// Saving and loading a fitted spectral model
// ---------------------------------------------------------------------------------------------------

/** What gfcf and bspm save: the singular vectors and values, the degree vectors and their settings. */
export interface SpectralState {
  /** Right singular vectors, numItems × k row-major. */
  v: Float32Array;
  k: number;
  singularValues: Float64Array;
  params: Record<string, number | string | boolean>;
}

/** scale · D_I^{1/2} V_k (I × k, row-major, in the shared heap): the left factor of the ideal filter. */
export function idealBasis(graph: NormalizedInteractions, state: SpectralState, scale: number): Float32Array {
  const { k, v } = state;
  const basis = allocF32(graph.numItems * k, false);
  for (let i = 0; i < graph.numItems; i++) {
    const w = scale * graph.itemSqrt[i];
    for (let j = 0; j < k; j++) basis[i * k + j] = w * v[i * k + j];
  }
  return basis;
}

/**
 * Fits the ideal low-pass filter's basis shared by gfcf and bspm: the top-k right singular vectors of R̃
 * (k clamped to the data), or an empty state when k or the filter's weight (`weightParam`) is 0.
 */
export function fitSpectralState(
  graph: NormalizedInteractions,
  data: SplitData,
  params: Record<string, number | string | boolean>,
  weightParam: string,
  seed: number,
  onStep?: (done: number, total: number) => void,
): SpectralState {
  const k = clampRank(Number(params.k), data);
  if (k > 0 && Number(params[weightParam]) !== 0) {
    const svd = graph.topSingular({ rank: k, oversample: Number(params.oversample), powerIters: Number(params.power_iters), seed, onStep });
    return { v: svd.v, k, singularValues: svd.values, params: { ...params } };
  }
  return { v: allocF32(0), k: 0, singularValues: new Float64Array(0), params: { ...params } };
}

/**
 * Writes `<dir>/state/` (the project's checkpoint format: state.json + one little-endian float32 file per
 * tensor, written atomically): v.f32, singular_values.f32, user_degree.f32, item_degree.f32.
 */
export async function saveSpectral(dir: string, model: string, data: { numUsers: number; numItems: number; splitHash: string }, graph: NormalizedInteractions, s: SpectralState): Promise<void> {
  await saveState(join(dir, 'state'), {
    tensors: {
      v: s.v,
      singular_values: Float32Array.from(s.singularValues),
      user_degree: graph.userDegree,
      item_degree: graph.itemDegree,
    },
    meta: { model, format: 1, numUsers: data.numUsers, numItems: data.numItems, k: s.k, splitHash: data.splitHash, params: s.params },
  });
}

/** Reads what {@link saveSpectral} wrote and rebuilds R̃ from the split, checking it is the same train data. */
export async function loadSpectral(dir: string, model: string, data: SplitData): Promise<{ graph: NormalizedInteractions; state: SpectralState }> {
  const saved = await loadState(join(dir, 'state'));
  if (!saved) throw ppError('PP_MODEL_LOAD', `${model}: no saved state in ${dir}`);
  const meta = saved.meta as { model?: string; numUsers?: number; numItems?: number; k?: number; params?: SpectralState['params'] };
  if (meta.model !== model) throw ppError('PP_MODEL_LOAD', `${dir} holds a ${String(meta.model)} model, not ${model}`);
  if (meta.numUsers !== data.numUsers || meta.numItems !== data.numItems) {
    throw ppError('PP_MODEL_LOAD', `${model}: saved for ${meta.numUsers} users × ${meta.numItems} items, the split has ${data.numUsers} × ${data.numItems}`);
  }
  const k = Number(meta.k);
  const v = saved.tensors.v;
  if (!v || v.length !== data.numItems * k) throw ppError('PP_MODEL_LOAD', `${model}: v.f32 does not hold ${data.numItems} × ${k} values`);
  const graph = new NormalizedInteractions(data.numUsers, data.numItems, data.train);
  try {
    checkSavedDegrees(model, 'user', saved.tensors.user_degree, graph.userDegree);
    checkSavedDegrees(model, 'item', saved.tensors.item_degree, graph.itemDegree);
  } catch (err) {
    graph.dispose();
    throw err;
  }
  const heapV = allocF32(v.length, false);
  heapV.set(v);
  return {
    graph,
    state: { v: heapV, k, singularValues: Float64Array.from(saved.tensors.singular_values ?? []), params: migrateParams(meta.params ?? {}) },
  };
}

/** Throws PP_MODEL_LOAD unless the saved degree vector equals the one recomputed from the split. */
function checkSavedDegrees(model: string, what: string, saved: Float32Array | undefined, now: Float32Array): void {
  if (!saved || saved.length !== now.length) {
    throw ppError('PP_MODEL_LOAD', `${model}: saved ${what} degrees have ${saved?.length ?? 0} entries, the split has ${now.length}`);
  }
  for (let t = 0; t < now.length; t++) {
    if (saved[t] !== now[t]) throw ppError('PP_MODEL_LOAD', `${model}: the split's train part differs from the one the model was fitted on (${what} ${t})`);
  }
}
