import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { matmul, matmulNT, matmulTN, transposeDense } from './dense.js';
import { configureCore, startPool, shutdownPool } from './pool.js';
import { Rng } from './random.js';
import { randomArray, naiveMatmul, maxRelErr, bitwiseEqual } from './testing.js';

before(async () => {
  await configureCore({ threads: 2 });
  await startPool();
});
after(async () => {
  await shutdownPool();
});

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 5, 4],
  [3, 2, 5],
  [5, 7, 8],
  [6, 3, 16],
  [7, 9, 20],
  [33, 17, 36],
  [64, 64, 64],
  [10, 0, 4],
  [9, 8, 3],
  [50, 64, 1],
  [13, 12, 2],
];

test('matmul matches a float64 reference for odd, SIMD and empty shapes on both backends', () => {
  const rng = new Rng(1);
  for (const [m, k, n] of SHAPES) {
    const a = randomArray(rng, m * k);
    const b = randomArray(rng, k * n);
    const ref = naiveMatmul(a, b, m, k, n);
    for (const backend of ['wasm', 'js'] as const) {
      const c = matmul(a, b, m, k, n, { backend });
      assert.ok(maxRelErr(c, ref) < 1e-5, `${m}x${k}x${n} ${backend}: ${maxRelErr(c, ref)}`);
    }
  }
});

test('matmulNT and matmulTN match products with explicit transposes', () => {
  const rng = new Rng(2);
  for (const [m, k, n] of SHAPES) {
    const a = randomArray(rng, m * k);
    const bt = randomArray(rng, n * k); // B as [n, k]
    const b = transposeDense(bt, n, k); // [k, n]
    assert.ok(maxRelErr(matmulNT(a, bt, m, k, n), naiveMatmul(a, b, m, k, n)) < 1e-5, `NT ${m}x${k}x${n}`);
    const g = randomArray(rng, m * n);
    const at = transposeDense(a, m, k); // [k, m]
    for (const backend of ['wasm', 'js'] as const) {
      const c = matmulTN(a, g, m, k, n, { backend });
      assert.ok(maxRelErr(c, naiveMatmul(at, g, k, m, n)) < 1e-5, `TN ${m}x${k}x${n} ${backend}`);
    }
  }
});

test('matmulTN sums many row chunks (tall inputs) accurately', () => {
  const rng = new Rng(3);
  const m = 5000;
  const a = randomArray(rng, m * 8);
  const g = randomArray(rng, m * 12);
  const c = matmulTN(a, g, m, 8, 12);
  assert.ok(maxRelErr(c, naiveMatmul(transposeDense(a, m, 8), g, 8, m, 12)) < 1e-4);
});

test('dense products give bitwise identical results serial and split over the worker pool', () => {
  const rng = new Rng(4);
  const [m, k, n] = [301, 24, 40];
  const a = randomArray(rng, m * k);
  const b = randomArray(rng, k * n);
  const g = randomArray(rng, m * n);
  assert.ok(bitwiseEqual(matmul(a, b, m, k, n, { parallel: false }), matmul(a, b, m, k, n, { chunks: 7 })));
  // matmulTN: same chunks, different thread counts
  assert.ok(bitwiseEqual(matmulTN(a, g, m, k, n, { chunks: 4, parallel: false }), matmulTN(a, g, m, k, n, { chunks: 4 })));
});

test('dense products reject mismatched shapes', () => {
  assert.throws(() => matmul(new Float32Array(6), new Float32Array(6), 2, 3, 3), /expected 3×3/);
  const x = new Float32Array(4);
  assert.throws(() => matmul(x, new Float32Array(4), 2, 2, 2, { out: x }), /alias/);
});
