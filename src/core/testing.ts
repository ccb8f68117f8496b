/**
 * Helpers for the core's tests: random inputs, naive float64 references and a central finite
 * difference gradient checker. Not used by production code.
 */
import { csrFromCoo, type Csr } from './csr.js';
import { Rng } from './random.js';

/** A random sparse matrix with about `density · rows · cols` entries (some rows may be empty). */
export function randomCsr(rng: Rng, rows: number, cols: number, density: number): Csr {
  const r: number[] = [];
  const c: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++)
      if (rng.next() < density) {
        r.push(i);
        c.push(j);
        v.push(rng.next() * 2 - 1);
      }
  return csrFromCoo(rows, cols, r, c, v);
}

/** Uniform values in [−scale, scale). */
export function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.next() * 2 - 1) * scale;
  return a;
}

/** Dense float64 reference of A·X (A given by entries with weights w). */
export function naiveSpmm(a: Csr, x: ArrayLike<number>, d: number, w: ArrayLike<number> = a.values): Float64Array {
  const y = new Float64Array(a.rows * d);
  for (let i = 0; i < a.rows; i++)
    for (let e = a.indptr[i]; e < a.indptr[i + 1]; e++)
      for (let k = 0; k < d; k++) y[i * d + k] += w[e] * x[a.indices[e] * d + k];
  return y;
}

/** Float64 reference of C = A·B. */
export function naiveMatmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) c[i * n + j] += a[i * k + p] * b[p * n + j];
  return c;
}

/** Largest |a_i − b_i| / max(1, |b_i|). */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

/** True if the two arrays hold bitwise-identical values. */
export function bitwiseEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

/**
 * Central finite differences of a scalar function f(x) with respect to the entries of `x`
 * (float32 storage, the perturbation is applied in place and undone): (f(x+h) − f(x−h)) / 2h.
 * `f` should accumulate in float64 so that only the float32 storage of x limits the precision.
 */
export function numericGrad(f: () => number, x: Float32Array, h = 1e-2, indices?: number[]): Float64Array {
  const g = new Float64Array(x.length);
  const idx = indices ?? Array.from({ length: x.length }, (_, i) => i);
  for (const i of idx) {
    const orig = x[i];
    x[i] = orig + h;
    const xp = x[i];
    const fp = f();
    x[i] = orig - h;
    const xm = x[i];
    const fm = f();
    x[i] = orig;
    g[i] = (fp - fm) / (xp - xm);
  }
  return g;
}

/** Relative error ‖a − b‖∞ / max(‖b‖∞, floor) used for gradient checks. */
export function gradErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-3): number {
  let num = 0;
  let den = floor;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}
