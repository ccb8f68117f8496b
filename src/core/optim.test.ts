import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Adam, adamW } from './optim.js';
import { constantLr, stepLr, cosineLr, withWarmup } from './schedule.js';
import { dropout, dropoutBackward } from './dropout.js';
import { allocF32, allocI32 } from './heap.js';
import { configureCore, startPool, shutdownPool } from './pool.js';
import { Rng } from './random.js';
import { randomArray, bitwiseEqual } from './testing.js';

before(async () => {
  await configureCore({ threads: 2 });
  await startPool();
});
after(async () => {
  await shutdownPool();
});

/** Hand-written Adam in float64, one element. */
function adamRef(p: number, grads: number[], lr: number, wd: number, decoupled: boolean, b1 = 0.9, b2 = 0.999, eps = 1e-8): number {
  let m = 0;
  let v = 0;
  grads.forEach((g0, i) => {
    const t = i + 1;
    let g = g0;
    if (decoupled) p -= lr * wd * p;
    else g += wd * p;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    p -= (lr * (m / (1 - b1 ** t))) / (Math.sqrt(v / (1 - b2 ** t)) + eps);
  });
  return p;
}

test('Adam takes a first step of size lr in the direction of −sign(g), as computed by hand', () => {
  const p = { data: Float32Array.from([1, -2]), grad: Float32Array.from([0.5, -3]) };
  const opt = new Adam([p], { lr: 0.1 });
  opt.step();
  // m̂ = g, v̂ = g² → update = lr · g / (|g| + ε)
  assert.ok(Math.abs(p.data[0] - 0.9) < 1e-6);
  assert.ok(Math.abs(p.data[1] - -1.9) < 1e-6);
  assert.ok(Math.abs(opt.moments(p).m[0] - 0.05) < 1e-7);
  assert.ok(Math.abs(opt.moments(p).v[1] - 0.009) < 1e-7);
});

test('Adam (L2) and AdamW (decoupled) match a float64 reference over several steps, both backends', () => {
  const grads = [0.3, -0.1, 0.7, 0.2];
  for (const decoupled of [false, true]) {
    for (const n of [3, 70000]) {
      // n = 70000 runs the wasm kernel over chunks in the pool
      const data = allocF32(n);
      data.fill(1.5);
      const grad = allocF32(n);
      const p = { data, grad };
      const opt = decoupled ? adamW([p], { lr: 0.01, weightDecay: 0.1 }) : new Adam([p], { lr: 0.01, weightDecay: 0.1 });
      for (const g of grads) {
        grad.fill(g);
        opt.step();
      }
      const ref = adamRef(1.5, grads, 0.01, 0.1, decoupled);
      assert.ok(Math.abs(data[0] - ref) < 1e-6, `decoupled=${decoupled} n=${n}: ${data[0]} vs ${ref}`);
      assert.ok(Math.abs(data[n - 1] - ref) < 1e-6);
    }
  }
});

test('dense Adam is identical serial and over the pool, and the js kernel agrees', () => {
  const rng = new Rng(1);
  const n = 200001;
  const mk = () => {
    const d = allocF32(n);
    d.set(randomArray(new Rng(5), n));
    const g = allocF32(n);
    g.set(randomArray(rng, n));
    return { data: d, grad: g };
  };
  const a = mk();
  const b = { data: allocF32(n), grad: a.grad };
  b.data.set(a.data);
  new Adam([a], { lr: 0.01 }).step({ parallel: false });
  new Adam([b], { lr: 0.01 }).step({ chunks: 9 });
  assert.ok(bitwiseEqual(a.data, b.data));
});

test('lazy row-wise Adam updates only the given rows and matches the dense step on them', () => {
  const d = 3;
  const data = Float32Array.from([1, 1, 1, 2, 2, 2, 3, 3, 3]);
  const dense = { data: Float32Array.from(data), grad: Float32Array.from([0, 0, 0, 0.5, -1, 2, 0, 0, 0]) };
  new Adam([dense], { lr: 0.1 }).step();
  const lazy = { data: Float32Array.from(data) };
  const opt = new Adam([lazy], { lr: 0.1 });
  const rows = allocI32(1);
  rows[0] = 1;
  opt.stepRows(lazy, { rows, values: Float32Array.from([0.5, -1, 2]) }, d);
  assert.deepEqual(Array.from(lazy.data.subarray(0, 3)), [1, 1, 1]);
  assert.deepEqual(Array.from(lazy.data.subarray(6)), [3, 3, 3]);
  for (let k = 3; k < 6; k++) assert.ok(Math.abs(lazy.data[k] - dense.data[k]) < 1e-6);
  assert.equal(opt.t, 1);
  assert.equal(opt.moments(lazy).m[0], 0);
});

test('learning-rate schedules give the expected values at known steps', () => {
  assert.equal(constantLr(0.1)(0), 0.1);
  assert.equal(constantLr(0.1)(999), 0.1);
  const s = stepLr(1, 10, 0.5);
  assert.equal(s(0), 1);
  assert.equal(s(9), 1);
  assert.equal(s(10), 0.5);
  assert.equal(s(25), 0.25);
  const c = cosineLr(1, 100, 0.1);
  assert.equal(c(0), 1);
  assert.ok(Math.abs(c(50) - 0.55) < 1e-12);
  assert.ok(Math.abs(c(100) - 0.1) < 1e-12);
  assert.ok(Math.abs(c(500) - 0.1) < 1e-12);
  const w = withWarmup(constantLr(0.4), 4);
  assert.deepEqual([0, 1, 2, 3, 4, 10].map(w), [0.1, 0.2, 0.30000000000000004, 0.4, 0.4, 0.4]);
  const wc = withWarmup(cosineLr(1, 10), 2);
  assert.equal(wc(2), 1);
  assert.ok(Math.abs(wc(7) - 0.5) < 1e-12);
  assert.throws(() => s(-1), /non-negative/);
});

test('dropout is deterministic per seed, keeps about 1 − p, scales kept values and reuses the mask backward', () => {
  const x = new Float32Array(20000).fill(1);
  const a = dropout(x, 0.3, new Rng(42));
  const b = dropout(x, 0.3, new Rng(42));
  const c = dropout(x, 0.3, new Rng(43));
  assert.ok(bitwiseEqual(a.out, b.out));
  assert.ok(!bitwiseEqual(a.out, c.out));
  const kept = a.mask.reduce((s, v) => s + v, 0) / x.length;
  assert.ok(Math.abs(kept - 0.7) < 0.02, `kept ${kept}`);
  for (let i = 0; i < 50; i++) assert.ok(a.out[i] === 0 || Math.abs(a.out[i] - 1 / 0.7) < 1e-6);
  const g = dropoutBackward(new Float32Array(20000).fill(2), a.mask, a.scale);
  for (let i = 0; i < 50; i++) assert.equal(g[i] === 0, a.mask[i] === 0);
  assert.throws(() => dropout(x, 1, new Rng(1)), /p must be/);
  assert.ok(bitwiseEqual(dropout(x, 0, new Rng(1)).out, x));
});
