import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, deriveSeed, zipfSampler, base36 } from './rng.js';
import { allocateCounts } from './users.js';

test('the same seed gives the same stream, other seeds and streams differ', () => {
  const a = new Rng(123);
  const b = new Rng(123);
  const c = new Rng(124);
  const xa = Array.from({ length: 8 }, () => a.nextU32());
  const xb = Array.from({ length: 8 }, () => b.nextU32());
  const xc = Array.from({ length: 8 }, () => c.nextU32());
  assert.deepEqual(xa, xb);
  assert.notDeepEqual(xa, xc);
  assert.equal(deriveSeed(42, 'item', 7), deriveSeed(42, 'item', 7));
  assert.notEqual(deriveSeed(42, 'item', 7), deriveSeed(42, 'item', 8));
  assert.notEqual(deriveSeed(42, 'item', 7), deriveSeed(42, 'user', 7));
  assert.notEqual(deriveSeed(42, 'item', 7), deriveSeed(2 ** 40 + 42, 'item', 7), 'high seed bits take part');
  // reseed restarts the stream exactly (used for per-record streams).
  const r = new Rng(5);
  const first = [r.nextU32(), r.gaussian()];
  r.reseed(5);
  assert.deepEqual([r.nextU32(), r.gaussian()], first);
});

test('uniform, normal and lognormal draws have the expected moments', () => {
  const rng = new Rng(deriveSeed(1, 'moments'));
  const n = 200_000;
  let su = 0;
  let sn = 0;
  let sn2 = 0;
  let ln = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.next();
    assert.ok(u >= 0 && u < 1);
    su += u;
    const z = rng.gaussian();
    sn += z;
    sn2 += z * z;
    ln += Math.log(rng.lognormal(1, 0.5));
  }
  assert.ok(Math.abs(su / n - 0.5) < 0.005);
  assert.ok(Math.abs(sn / n) < 0.01);
  assert.ok(Math.abs(sn2 / n - 1) < 0.02);
  assert.ok(Math.abs(ln / n - 1) < 0.01);
  for (let i = 0; i < 1000; i++) {
    const k = rng.int(7);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
  }
});

test('zipf ranks are drawn with decreasing frequency', () => {
  const rng = new Rng(9);
  const z = zipfSampler(100, 1);
  const counts = new Array(100).fill(0);
  for (let i = 0; i < 100_000; i++) counts[z.sample(rng)]++;
  assert.ok(counts[0] > counts[1] && counts[1] > counts[4] && counts[4] > counts[50]);
  // P(rank 0) = 1 / H(100) ≈ 0.193
  assert.ok(Math.abs(counts[0] / 100_000 - 0.193) < 0.01);
});

test('count allocation hits the total exactly within the bounds, heavy-tailed', () => {
  for (const [n, total, min, max] of [
    [1500, 30_000, 5, 1000],
    [10, 50, 5, 20],
    [10, 200, 5, 20],
    [7, 123, 5, 40],
  ]) {
    const c = allocateCounts(new Rng(3), n, total, min, max, 1.1);
    assert.equal(c.reduce((s, x) => s + x, 0), total);
    for (const x of c) assert.ok(x >= min && x <= max, `${x} outside [${min}, ${max}]`);
  }
  const c = Array.from(allocateCounts(new Rng(3), 1500, 30_000, 5, 1000, 1.1)).sort((a, b) => a - b);
  assert.ok(c[c.length - 1] > 5 * c[c.length >> 1], 'the most active user reviews far more than the median one');
});

test('base36 ids use uppercase letters and digits', () => {
  const s = base36(new Rng(1), 1000);
  assert.match(s, /^[0-9A-Z]{1000}$/);
});
