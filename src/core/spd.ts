/**
 * Inverse of a dense symmetric positive-definite matrix (row-major float32, n × n), by recursive block
 * elimination — a block LDLᵀ whose work is all in the core's SIMD matmul:
 *
 *   A = [A11 A12; A12ᵀ A22],  h = ⌈n/2⌉ (rounded to a multiple of 4), m = n − h
 *   P11 = A11⁻¹                       (recursion)
 *   T   = P11 A12                      h × m
 *   S   = A22 − A12ᵀ T                 m × m, the Schur complement (SPD when A is)
 *   S⁻¹                                (recursion)
 *   A⁻¹ = [P11 + T S⁻¹ Tᵀ,  −T S⁻¹;  −S⁻¹ Tᵀ,  S⁻¹]
 *
 * Four matmuls of n³/4 flops per level: 4/3·n³ flops in all (a Cholesky inverse's count), no pivoting
 * (none is needed for SPD matrices). Blocks of at most {@link BASE} rows are inverted by a float64
 * Cholesky (L Lᵀ, then L⁻ᵀ L⁻¹). A matrix that is not numerically positive definite throws
 * {@link NotPositiveDefiniteError}. Accuracy is float32's: relative errors ~1e-6·cond(A).
 */
import { matmul, transposeDense } from './dense.js';
import { allocF32, free } from './heap.js';

export class NotPositiveDefiniteError extends Error {}

/** Largest block inverted directly in float64. */
const BASE = 160;

/** A⁻¹ of the SPD matrix `a` (n × n, only read) into a new heap array. */
export function spdInverse(a: Float32Array, n: number): Float32Array {
  if (a.length !== n * n) throw new Error(`spdInverse: expected ${n}×${n} = ${n * n} elements, got ${a.length}`);
  const out = allocF32(n * n, false);
  invertInto(a, n, n, 0, out);
  return out;
}

/** Output-column panel width of {@link panelMatmul}: a k × PANEL panel of B stays in cache. */
const PANEL = 128;

/**
 * C = A·B (A m × k, B k × n) computed in column panels of B: the core's kernel streams all of B for every
 * pair of rows of A, so for large B (k × n beyond the cache) a panel at a time is several times faster.
 */
function panelMatmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  if (n <= 2 * PANEL || k * n <= 65536) return matmul(a, b, m, k, n);
  const c = allocF32(m * n, false);
  const bp = allocF32(k * PANEL, false);
  const cp = allocF32(m * PANEL, false);
  for (let c0 = 0; c0 < n; c0 += PANEL) {
    const w = Math.min(PANEL, n - c0);
    const bw = w === PANEL ? bp : bp.subarray(0, k * w);
    const cw = w === PANEL ? cp : cp.subarray(0, m * w);
    for (let r = 0; r < k; r++) bw.set(b.subarray(r * n + c0, r * n + c0 + w), r * w);
    matmul(a, bw, m, k, w, { out: cw });
    for (let r = 0; r < m; r++) c.set(cw.subarray(r * w, r * w + w), r * n + c0);
  }
  free(bp);
  free(cp);
  return c;
}

/** Copies the r × c block of `src` (row stride `ld`) at (r0, c0) into a new heap array. */
function block(src: Float32Array, ld: number, r0: number, c0: number, r: number, c: number): Float32Array {
  const b = allocF32(r * c, false);
  for (let i = 0; i < r; i++) b.set(src.subarray((r0 + i) * ld + c0, (r0 + i) * ld + c0 + c), i * c);
  return b;
}

/** out (n × n, row stride ldOut, at offset `at` = row-major start) = inverse of the n × n block held in `a` (stride lda). */
function invertInto(a: Float32Array, lda: number, n: number, aAt: number, out: Float32Array, ldo = n, oAt = 0): void {
  if (n <= BASE) {
    baseInverse(a, lda, aAt, n, out, ldo, oAt);
    return;
  }
  let h = Math.ceil(n / 2);
  h += (4 - (h % 4)) % 4;
  const m = n - h;
  const r0 = Math.floor(aAt / lda);
  const c0 = aAt % lda;
  const a11 = block(a, lda, r0, c0, h, h);
  const a12 = block(a, lda, r0, c0 + h, h, m);
  const s = block(a, lda, r0 + h, c0 + h, m, m);
  const p11 = allocF32(h * h, false);
  invertInto(a11, h, h, 0, p11);
  free(a11);
  const t = panelMatmul(p11, a12, h, h, m);
  const a21 = transposeDense(a12, h, m);
  free(a12);
  const at = panelMatmul(a21, t, m, h, m);
  free(a21);
  for (let e = 0; e < s.length; e++) s[e] -= at[e];
  free(at);
  const sInv = allocF32(m * m, false);
  invertInto(s, m, m, 0, sInv);
  free(s);
  const b12 = panelMatmul(t, sInv, h, m, m); // T S⁻¹ (negated below)
  const tT = transposeDense(t, h, m);
  free(t);
  const tst = panelMatmul(b12, tT, h, m, h); // T S⁻¹ Tᵀ
  free(tT);
  for (let i = 0; i < h; i++) {
    const o = oAt + i * ldo;
    for (let j = 0; j < h; j++) out[o + j] = p11[i * h + j] + tst[i * h + j];
    for (let j = 0; j < m; j++) out[o + h + j] = -b12[i * m + j];
  }
  for (let i = 0; i < m; i++) {
    const o = oAt + (h + i) * ldo;
    for (let j = 0; j < h; j++) out[o + j] = -b12[j * m + i];
    out.set(sInv.subarray(i * m, (i + 1) * m), o + h);
  }
  free(p11);
  free(tst);
  free(b12);
  free(sInv);
}

/** Float64 Cholesky inverse of an n × n block (n ≤ BASE). */
function baseInverse(a: Float32Array, lda: number, aAt: number, n: number, out: Float32Array, ldo: number, oAt: number): void {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0.5 * (a[aAt + i * lda + j] + a[aAt + j * lda + i]);
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new NotPositiveDefiniteError(`spdInverse: the matrix is not positive definite (pivot ${i}: ${s})`);
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / l[j * n + j];
      }
    }
  }
  // W = L⁻¹ (lower triangular), then A⁻¹ = Wᵀ W
  const w = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    w[c * n + c] = 1 / l[c * n + c];
    for (let i = c + 1; i < n; i++) {
      let s = 0;
      for (let k = c; k < i; k++) s -= l[i * n + k] * w[k * n + c];
      w[i * n + c] = s / l[i * n + i];
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = j; k < n; k++) s += w[k * n + i] * w[k * n + j];
      out[oAt + i * ldo + j] = s;
      out[oAt + j * ldo + i] = s;
    }
  }
}
