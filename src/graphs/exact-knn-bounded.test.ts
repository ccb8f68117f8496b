import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusteredVectors } from './synthetic-vectors.js';
import { exactKnn, sampleRows } from './knn-graph.js';
import { exactKnnBounded } from './exact-knn-bounded.js';

const N = 2000;
const D = 48;
const { vectors } = clusteredVectors(N, D, { clusters: 10, seed: 3 });
for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) vectors[i * D + j] *= 1 + (i % 5); // varied lengths

function sameNeighbours(a: { indices: Int32Array; sims: Float32Array; counts: Int32Array }, b: typeof a, k: number, rows: number): number {
  let differ = 0;
  for (let t = 0; t < rows; t++) {
    assert.equal(a.counts[t], b.counts[t], `query ${t}: neighbour count`);
    const x = [...a.indices.subarray(t * k, t * k + a.counts[t])].sort().join();
    const y = [...b.indices.subarray(t * k, t * k + b.counts[t])].sort().join();
    if (x !== y) differ++;
    for (let r = 0; r < a.counts[t]; r++) assert.ok(Math.abs(a.sims[t * k + r] - b.sims[t * k + r]) < 1e-5, `query ${t}, rank ${r}: ${a.sims[t * k + r]} vs ${b.sims[t * k + r]}`);
  }
  return differ;
}

test('the bound-pruned exact search returns the brute-force neighbours (cosine) while scoring few rows in full', () => {
  const queries = sampleRows(N, 150, { seed: 2 });
  const brute = exactKnn(vectors, N, D, queries, 15);
  const bounded = exactKnnBounded(vectors, N, D, queries, 15, { dim: 12, block: 256 });
  assert.ok(sameNeighbours(bounded, brute, 15, queries.length) <= 1, 'neighbour sets (near-ties aside)');
  assert.ok(bounded.verified < (queries.length * N) / 4, `${bounded.verified} of ${queries.length * N} pairs scored in full`);
});

test('the bound-pruned exact search is exact for inner product, absent rows and a basis that captures little', () => {
  const present = new Uint8Array(N).fill(1);
  for (let i = 1; i < N; i += 3) present[i] = 0;
  const queries = sampleRows(N, 100, { seed: 4, present });
  for (const [metric, dim] of [['ip', 12], ['cosine', 2]] as const) {
    const brute = exactKnn(vectors, N, D, queries, 10, { metric, present });
    const bounded = exactKnnBounded(vectors, N, D, queries, 10, { metric, present, dim, block: 300 });
    assert.ok(sameNeighbours(bounded, brute, 10, queries.length) <= 1, `${metric}, ${dim} dims`);
    for (let e = 0; e < bounded.indices.length; e++) if (bounded.indices[e] >= 0) assert.equal(present[bounded.indices[e]], 1, 'only present rows');
  }
  assert.throws(() => exactKnnBounded(vectors, N, D, Int32Array.of(1), 10, { present }), /no vector/);
  assert.throws(() => exactKnnBounded(vectors, N, D, queries, 10, { present, dim: D }), /use exactKnn/);
});
