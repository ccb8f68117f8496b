import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { shutdownPool } from '../../src/core/pool.js';
import { clusteredVectors, SplitMix } from '../../src/graphs/synthetic-vectors.js';
import { compareTopK, exactTopK, naiveTopK, recallAtK } from './exact-search.js';

after(() => shutdownPool());

test('blocked exact top-k equals a float64 brute force on clustered vectors, across block edges', () => {
  const n = 3001; // not a multiple of the block: the last block is partial
  const d = 32;
  const q = 40;
  const { vectors } = clusteredVectors(n + q, d, { seed: 3, clusters: 12 });
  const base = vectors.subarray(0, n * d);
  const queries = vectors.subarray(n * d);
  const fast = exactTopK(base, n, d, queries, q, 10, { block: 256 });
  const slow = naiveTopK(base, n, d, queries, q, 10);
  for (let t = 0; t < q; t++) {
    assert.deepEqual([...fast.ids.subarray(t * 10, t * 10 + 10)], [...slow.ids.subarray(t * 10, t * 10 + 10)], `query ${t}`);
  }
  const cmp = compareTopK(fast, slow, q);
  assert.equal(cmp.sameRows, 1);
  assert.ok(cmp.maxScoreDiff < 1e-5, `score diff ${cmp.maxScoreDiff}`);
  // best first
  for (let t = 0; t < q; t++) for (let x = 1; x < 10; x++) assert.ok(fast.scores[t * 10 + x - 1] >= fast.scores[t * 10 + x]);
});

test('exact top-k finds a planted nearest row and breaks ties towards the lower id', () => {
  const d = 8;
  const n = 100;
  const rng = new SplitMix(5);
  const base = new Float32Array(n * d);
  for (let i = 0; i < base.length; i++) base[i] = rng.normal() * 0.01;
  const query = new Float32Array(d).fill(0);
  query[0] = 1;
  // rows 70 and 20 are equal and the best; row 50 is third
  base[70 * d] = 5;
  base[20 * d] = 5;
  base[50 * d] = 4;
  const r = exactTopK(base, n, d, query, 1, 3, { block: 16 });
  assert.deepEqual([...r.ids], [20, 70, 50]);
  assert.deepEqual([...r.scores].map((s) => Math.round(s)), [5, 5, 4]);
});

test('k larger than the base pads with −1 / NaN', () => {
  const base = new Float32Array([1, 0, 0, 1]);
  const r = exactTopK(base, 2, 2, new Float32Array([1, 0]), 1, 4);
  assert.deepEqual([...r.ids], [0, 1, -1, -1]);
  assert.ok(Number.isNaN(r.scores[3]));
});

test('recall@k counts true neighbours, tolerates ties and ignores duplicates', () => {
  const n = 500;
  const d = 16;
  const q = 5;
  const { vectors } = clusteredVectors(n + q, d, { seed: 9 });
  const base = vectors.subarray(0, n * d);
  const queries = vectors.subarray(n * d);
  const exact = exactTopK(base, n, d, queries, q, 10);
  assert.equal(recallAtK(exact.ids, exact, base, queries, q, d), 1);
  const half = exact.ids.slice();
  for (let t = 0; t < q; t++) for (let x = 5; x < 10; x++) half[t * 10 + x] = half[t * 10]; // duplicates of the best
  assert.equal(recallAtK(half, exact, base, queries, q, d), 0.5);
  const none = new Int32Array(q * 10).fill(-1);
  assert.equal(recallAtK(none, exact, base, queries, q, d), 0);
});
