import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spmm, spmmTransposed, sddmm } from './sparse.js';
import { transpose, csrFromCoo } from './csr.js';
import { configureCore, startPool, shutdownPool, poolActive, poolStats } from './pool.js';
import { Rng } from './random.js';
import { randomCsr, randomArray, naiveSpmm, maxRelErr, bitwiseEqual } from './testing.js';

before(async () => {
  await configureCore({ threads: 2 });
  await startPool();
});
after(async () => {
  await shutdownPool();
});

const WIDTHS = [1, 3, 4, 8, 12, 16, 20, 36, 64, 68];

test('spmm matches a float64 reference for every row width (wasm and js backends)', () => {
  const rng = new Rng(1);
  const a = randomCsr(rng, 37, 29, 0.2);
  for (const d of WIDTHS) {
    const x = randomArray(rng, a.cols * d);
    const ref = naiveSpmm(a, x, d);
    for (const backend of ['wasm', 'js'] as const) {
      const y = spmm(a, x, d, { backend });
      assert.ok(maxRelErr(y, ref) < 1e-5, `d=${d} ${backend}: err ${maxRelErr(y, ref)}`);
    }
  }
});

test('spmm gives bitwise identical results serial and split over the worker pool', () => {
  assert.ok(poolActive(), 'pool should be running');
  const rng = new Rng(2);
  const a = randomCsr(rng, 300, 250, 0.05);
  for (const d of [4, 7, 64]) {
    const x = randomArray(rng, a.cols * d);
    const serial = spmm(a, x, d, { parallel: false });
    for (const chunks of [2, 5, 17]) {
      const par = spmm(a, x, d, { chunks });
      assert.ok(bitwiseEqual(serial, par), `d=${d} chunks=${chunks}`);
    }
    // the parallel calls above really ran chunks on a worker (dynamic scheduling: most of the time)
    // repeated runs are deterministic
    assert.ok(bitwiseEqual(spmm(a, x, d, { chunks: 5 }), spmm(a, x, d, { chunks: 5 })));
  }
  assert.ok(poolStats().jobs > 0, 'parallel jobs were dispatched');
});

test('spmm uses per-entry weights when given', () => {
  const rng = new Rng(3);
  const a = randomCsr(rng, 20, 15, 0.3);
  const w = randomArray(rng, a.indices.length);
  const x = randomArray(rng, a.cols * 8);
  assert.ok(maxRelErr(spmm(a, x, 8, { values: w }), naiveSpmm(a, x, 8, w)) < 1e-5);
});

test('spmm accepts plain (non-heap) arrays and writes into a given output', () => {
  const a = csrFromCoo(2, 3, [0, 0, 1], [0, 2, 1], [1, 2, 3]);
  const x = new Float32Array([1, 10, 2, 20, 3, 30]); // 3×2
  const out = new Float32Array(4);
  spmm(a, x, 2, { out });
  assert.deepEqual(Array.from(out), [1 + 6, 10 + 60, 6, 60]);
});

test('spmmTransposed equals a product with the explicit transpose, with stored and per-edge weights', () => {
  const rng = new Rng(4);
  const a = randomCsr(rng, 41, 33, 0.15);
  const at = transpose(a);
  for (const d of [3, 16, 64]) {
    const dy = randomArray(rng, a.rows * d);
    const ref = naiveSpmm(at, dy, d);
    assert.ok(maxRelErr(spmmTransposed(at, dy, d), ref) < 1e-5);
    const w = randomArray(rng, a.indices.length);
    const wt = new Float32Array(w.length);
    for (let t = 0; t < wt.length; t++) wt[t] = w[at.perm[t]];
    const refW = naiveSpmm(at, dy, d, wt);
    for (const backend of ['wasm', 'js'] as const) {
      assert.ok(maxRelErr(spmmTransposed(at, dy, d, { values: w, backend }), refW) < 1e-5, `d=${d} ${backend}`);
      assert.ok(bitwiseEqual(spmmTransposed(at, dy, d, { values: w, backend, parallel: false }), spmmTransposed(at, dy, d, { values: w, backend, chunks: 6 })));
    }
  }
});

test('sddmm computes one dot product per stored entry, serial == parallel', () => {
  const rng = new Rng(5);
  const a = randomCsr(rng, 30, 25, 0.2);
  for (const d of [1, 4, 5, 8, 12, 64]) {
    const p = randomArray(rng, a.rows * d);
    const q = randomArray(rng, a.cols * d);
    const ref = new Float64Array(a.indices.length);
    for (let i = 0; i < a.rows; i++)
      for (let e = a.indptr[i]; e < a.indptr[i + 1]; e++) for (let k = 0; k < d; k++) ref[e] += p[i * d + k] * q[a.indices[e] * d + k];
    for (const backend of ['wasm', 'js'] as const) {
      const s = sddmm(a, p, q, d, { backend });
      assert.ok(maxRelErr(s, ref) < 1e-5, `d=${d} ${backend}`);
      assert.ok(bitwiseEqual(s, sddmm(a, p, q, d, { backend, chunks: 4 })));
    }
  }
});

test('spmm and spmmTransposed fuse an addition: Y = A·X + Z, also in place', () => {
  const rng = new Rng(6);
  const a = randomCsr(rng, 40, 30, 0.2);
  const at = transpose(a);
  for (const d of [5, 16]) {
    for (const backend of ['wasm', 'js'] as const) {
      const x = randomArray(rng, a.cols * d);
      const z = randomArray(rng, a.rows * d);
      const ref = naiveSpmm(a, x, d).map((v, i) => v + z[i]);
      assert.ok(maxRelErr(spmm(a, x, d, { add: z, backend }), ref) < 1e-5, `d=${d} ${backend}`);
      const inPlace = new Float32Array(z);
      spmm(a, x, d, { add: inPlace, out: inPlace, backend });
      assert.ok(maxRelErr(inPlace, ref) < 1e-5);
      const dy = randomArray(rng, a.rows * d);
      const zt = randomArray(rng, a.cols * d);
      const w = randomArray(rng, a.indices.length);
      const wt = Float32Array.from(at.perm, (e) => w[e]);
      const refT = naiveSpmm(at, dy, d, wt).map((v, i) => v + zt[i]);
      assert.ok(maxRelErr(spmmTransposed(at, dy, d, { values: w, add: zt, backend }), refT) < 1e-5);
      assert.ok(bitwiseEqual(spmm(a, x, d, { add: z, backend, parallel: false }), spmm(a, x, d, { add: z, backend, chunks: 7 })));
    }
  }
});
