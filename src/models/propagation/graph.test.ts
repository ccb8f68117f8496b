import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csrFromLists } from '../../core/csr-pattern.js';
import type { PartCsr, SplitData } from '../../graphs/split-data.js';
import type { KnnGraph } from '../../graphs/knn-graph.js';
import { degreeCalibration, fitItemGraph, freeCsr, liftItemGraph, meanPairRatings, normalizedUserItemAdjacency, perEdge, uniformWeights, userItemGraph } from './graph.js';

function part(lists: number[][], ratings?: number[][]): PartCsr {
  const csr = csrFromLists(lists);
  const r = new Float32Array(csr.indices.length).fill(NaN);
  if (ratings) r.set(ratings.flat());
  return { ...csr, ratings: r, ts: new Float64Array(csr.indices.length).fill(NaN) };
}

/** 3 users × 3 items; user 0 rated item 1 twice (4 then 2) */
function split(): SplitData {
  const empty = part([[], [], []]);
  return {
    dir: '(memory)',
    numUsers: 3,
    numItems: 3,
    train: part([[1, 0, 1], [2], [0, 2]], [[4, 5, 2], [3], [NaN, 1]]),
    valid: empty,
    test: empty,
    coldItems: new Uint8Array(3),
    manifest: { split_hash: 'g' },
  };
}

const rowsOf = (a: { rows: number; indptr: Int32Array; indices: Int32Array }) =>
  Array.from({ length: a.rows }, (_, n) => Array.from(a.indices.subarray(a.indptr[n], a.indptr[n + 1])));

test('the user–item graph is symmetric, one edge per distinct pair, rows ascending; self-loops first on users, last on items', () => {
  const g = userItemGraph(split());
  assert.deepEqual(rowsOf(g.a), [[3, 4], [5], [3, 5], [0, 2], [0], [1, 2]]);
  assert.equal(g.pairs, 5);
  const loops = userItemGraph(split(), { selfLoops: true });
  assert.deepEqual(rowsOf(loops.a), [[0, 3, 4], [1, 5], [2, 3, 5], [0, 2, 3], [0, 4], [1, 2, 5]]);
  assert.deepEqual(Array.from(loops.edgePair.subarray(0, 3)), [-1, 0, 1]);
  for (const x of [g, loops]) {
    freeCsr(x.a);
    freeCsr(x.at);
  }
});

test('a repeated pair carries the mean of its finite ratings on both of its edges', () => {
  const g = userItemGraph(split());
  const r = perEdge(g, meanPairRatings(g, split().train.ratings), -1);
  // row 0: items 0 (5), 1 (mean of 4 and 2); row 4 (item 1): user 0
  assert.deepEqual(Array.from(r.subarray(0, 2)), [5, 3]);
  assert.equal(r[g.a.indptr[4]], 3);
  // user 2's rating of item 0 is NaN
  assert.ok(Number.isNaN(r[g.a.indptr[2]]));
  freeCsr(g.a);
  freeCsr(g.at);
});

test('uniform attention times the degree calibration is LightGCN’s symmetric normalisation 1/sqrt(deg_i·deg_j)', () => {
  const data = split();
  const g = userItemGraph(data);
  const u = uniformWeights(g.a);
  const c = degreeCalibration(g.a);
  const { adj } = normalizedUserItemAdjacency(data, false);
  assert.deepEqual(rowsOf(adj), rowsOf(g.a));
  for (let e = 0; e < u.length; e++) assert.ok(Math.abs(u[e] * c[e] - adj.values[e]) < 1e-7, `edge ${e}`);
  // rating-weighted: a repeated pair sums its ratings (NaN counts 1)
  const w = normalizedUserItemAdjacency(data, true);
  assert.equal(w.weighted, true);
  const deg0 = 4 + 2 + 5; // user 0: item 1 twice (4 + 2), item 0 (5)
  const degItem1 = 6;
  assert.ok(Math.abs(w.adj.values[1] - 6 / Math.sqrt(deg0 * degItem1)) < 1e-7);
});

function knn(rows: [number, number][][]): KnnGraph {
  const indptr = new Int32Array(rows.length + 1);
  const indices: number[] = [];
  const weights: number[] = [];
  rows.forEach((r, i) => {
    for (const [j, w] of [...r].sort((a, b) => a[0] - b[0])) {
      indices.push(j);
      weights.push(w);
    }
    indptr[i + 1] = indices.length;
  });
  return { rows: rows.length, cols: rows.length, indptr, indices: Int32Array.from(indices), weights: Float32Array.from(weights) };
}

test('a stored item graph is cut to the k most similar neighbours per item, then union-symmetrised', () => {
  // 4 items; stored with k = 3, not symmetric (item 3 lists nobody)
  const stored = knn([
    [[1, 0.9], [2, 0.5], [3, 0.7]],
    [[0, 0.9], [2, 0.8], [3, 0.1]],
    [[0, 0.5], [1, 0.8], [3, 0.6]],
    [],
  ]);
  const g = fitItemGraph(stored, 1);
  // top-1: 0→1, 1→0, 2→1; union adds 1→2
  assert.deepEqual(rowsOf(g), [[1], [0, 2], [1], []]);
  assert.deepEqual(Array.from(g.weights), [0.9, 0.9, 0.8, 0.8].map(Math.fround));
  const g2 = fitItemGraph(stored, 2);
  // top-2: 0→{1,3}, 1→{0,2}, 2→{1,3}; union: 3→{0,2}
  assert.deepEqual(rowsOf(g2), [[1, 3], [0, 2], [1, 3], [0, 2]]);
  for (let i = 0; i < g2.rows; i++) for (const j of rowsOf(g2)[i]) assert.ok(rowsOf(g2)[j].includes(i), `${i}–${j} symmetric`);
  const lifted = liftItemGraph(g2, 2);
  assert.deepEqual(rowsOf(lifted), [[], [], [3, 5], [2, 4], [3, 5], [2, 4]]);
  freeCsr(lifted);
});
