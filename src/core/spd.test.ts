import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from './random.js';
import { NotPositiveDefiniteError, spdInverse } from './spd.js';
import { free } from './heap.js';

/** A random SPD matrix XᵀX/rows + shift·I (float64 and float32 copies). */
function randomSpd(n: number, seed: number, shift: number): { a64: Float64Array; a32: Float32Array } {
  const rng = new Rng(seed);
  const rows = n + 7;
  const x = new Float64Array(rows * n);
  for (let e = 0; e < x.length; e++) x[e] = rng.normal();
  const a64 = new Float64Array(n * n);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < n; i++) {
      const xi = x[r * n + i];
      for (let j = 0; j < n; j++) a64[i * n + j] += (xi * x[r * n + j]) / rows;
    }
  }
  for (let i = 0; i < n; i++) a64[i * n + i] += shift;
  return { a64, a32: Float32Array.from(a64) };
}

/** Reference inverse: Gauss–Jordan with partial pivoting in float64. */
function referenceInverse(a: Float64Array, n: number): Float64Array {
  const m = new Float64Array(n * 2 * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) m[i * 2 * n + j] = a[i * n + j];
    m[i * 2 * n + n + i] = 1;
  }
  const w = 2 * n;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * w + c]) > Math.abs(m[p * w + c])) p = r;
    for (let j = 0; j < w; j++) [m[c * w + j], m[p * w + j]] = [m[p * w + j], m[c * w + j]];
    const d = m[c * w + c];
    for (let j = 0; j < w; j++) m[c * w + j] /= d;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r * w + c];
      if (f !== 0) for (let j = 0; j < w; j++) m[r * w + j] -= f * m[c * w + j];
    }
  }
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) inv[i * n + j] = m[i * w + n + j];
  return inv;
}

for (const n of [1, 5, 64, 161, 203, 420]) {
  test(`spdInverse matches a float64 Gauss–Jordan reference (n = ${n}, base case and recursive block levels)`, () => {
    const { a64, a32 } = randomSpd(n, 1000 + n, 0.5);
    const ref = referenceInverse(a64, n);
    const inv = spdInverse(a32, n);
    let maxErr = 0;
    let maxRef = 0;
    for (let e = 0; e < n * n; e++) {
      maxErr = Math.max(maxErr, Math.abs(inv[e] - ref[e]));
      maxRef = Math.max(maxRef, Math.abs(ref[e]));
    }
    assert.ok(maxErr / maxRef < 2e-4, `relative error ${maxErr / maxRef}`);
    // symmetric to float32 rounding, and A·A⁻¹ ≈ I
    for (let i = 0; i < n; i += Math.max(1, Math.floor(n / 17))) {
      for (let j = 0; j < n; j++) {
        assert.ok(Math.abs(inv[i * n + j] - inv[j * n + i]) <= 1e-4 * maxRef);
        let s = 0;
        for (let k = 0; k < n; k++) s += a64[i * n + k] * inv[k * n + j];
        assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 2e-3, `(A·A⁻¹)[${i},${j}] = ${s}`);
      }
    }
    free(inv);
  });
}

test('spdInverse refuses a matrix that is not positive definite', () => {
  const n = 300;
  const { a32 } = randomSpd(n, 7, 0);
  for (let i = 0; i < n; i++) a32[i * n + i] -= 50; // shifts every eigenvalue below zero
  assert.throws(() => spdInverse(a32, n), NotPositiveDefiniteError);
  assert.throws(() => spdInverse(new Float32Array(6), 3), /expected 3×3/);
});
