import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPlotPointeError } from '../errors.js';
import { validateCsr } from '../core/csr.js';
import { clusteredVectors } from './synthetic-vectors.js';
import {
  asCoreCsr,
  buildKnnGraph,
  buildKnnGraphWithIndex,
  exactKnn,
  graphStats,
  knnRecall,
  mutualGraph,
  sampleRows,
  topKPerRow,
  unionGraph,
  type KnnGraph,
} from './knn-graph.js';

function row(g: KnnGraph, i: number): number[] {
  return [...g.indices.subarray(g.indptr[i], g.indptr[i + 1])];
}

function hasSelfLoop(g: KnnGraph): boolean {
  for (let i = 0; i < g.rows; i++) if (row(g, i).includes(i)) return true;
  return false;
}

// 6 points on the unit circle (2-d) at angles 0°, 10°, 30°, 90°, 180°, 185°: neighbours by angle are easy to check.
const angles = [0, 10, 30, 90, 180, 185];
const circle = new Float32Array(angles.flatMap((a) => [Math.cos((a * Math.PI) / 180), Math.sin((a * Math.PI) / 180)]));

test('exact kNN on a hand-checkable set returns neighbours by angle, best first, without the query itself', () => {
  const ex = exactKnn(circle, 6, 2, Int32Array.of(0, 3, 4), 2);
  assert.deepEqual([...ex.indices], [1, 2, /* 90° */ 2, 1, /* 180° */ 5, 3]);
  assert.ok(Math.abs(ex.sims[0] - Math.cos((10 * Math.PI) / 180)) < 1e-6);
  assert.ok(Math.abs(ex.sims[2] - Math.cos((60 * Math.PI) / 180)) < 1e-6);
  assert.deepEqual([...ex.counts], [2, 2, 2]);
  // cosine ignores length; absent rows are never neighbours
  const scaled = circle.map((x, t) => (t < 2 ? x * 5 : x));
  const ex2 = exactKnn(scaled, 6, 2, Int32Array.of(1), 2, { present: Uint8Array.of(1, 1, 0, 1, 1, 1) });
  assert.deepEqual([...ex2.indices], [0, 3]);
});

test('exact kNN pads with -1 when fewer candidates than k exist', () => {
  const ex = exactKnn(circle, 6, 2, Int32Array.of(0), 8);
  assert.equal(ex.counts[0], 5);
  assert.equal(ex.indices[5], -1);
});

test('the ANN kNN graph reaches recall@20 ≥ 0.95 against exact search on clustered data (5,000 × 32)', () => {
  const n = 5000;
  const d = 32;
  const { vectors } = clusteredVectors(n, d, { seed: 5 });
  const g = buildKnnGraph(vectors, n, d, { k: 20, threads: 2 });
  validateCsr(asCoreCsr(g));
  const r = knnRecall(g, vectors, n, d, sampleRows(n, 300), { k: 20 });
  assert.equal(r.rows, 300);
  assert.ok(r.recall >= 0.95, `recall ${r.recall}`);
  const s = graphStats(g);
  assert.deepEqual(s.degree, { min: 20, mean: 20, max: 20 });
  assert.equal(s.selfLoops, 0);
  assert.ok(s.similarity.max <= 1 + 1e-5 && s.similarity.mean > 0.5);
});

test('edge weights are the cosine similarities of the endpoints, with or without f16 storage', () => {
  const n = 400;
  const d = 16;
  const { vectors } = clusteredVectors(n, d, { seed: 9 });
  for (const quantization of ['f32', 'f16'] as const) {
    const g = buildKnnGraph(vectors, n, d, { k: 5, threads: 2, quantization });
    for (let i = 0; i < n; i += 37) {
      for (let e = g.indptr[i]; e < g.indptr[i + 1]; e++) {
        const j = g.indices[e];
        let dot = 0;
        for (let t = 0; t < d; t++) dot += vectors[i * d + t] * vectors[j * d + t];
        assert.ok(Math.abs(dot - g.weights[e]) < 1e-4, `${quantization} ${i}→${j}: ${g.weights[e]} vs ${dot}`);
      }
    }
  }
});

test('rows the index cannot find (lost) are re-searched with wider beams, then exactly', () => {
  const n = 2000;
  const d = 32;
  const { vectors } = clusteredVectors(n, d, { seed: 8, intrinsicDim: 32 });
  // a deliberately poor index: 2 links per node, tiny beams
  const poor = { k: 10, threads: 2, connectivity: 2, expansionAdd: 1, expansionSearch: 1 };
  const { graph, info } = buildKnnGraphWithIndex(vectors, n, d, poor);
  assert.ok(info.lostRows > 0 && info.lostIds.length === info.lostRows, 'the poor index loses some rows');
  assert.ok(info.exactRepaired <= info.lostRows);
  const repaired = knnRecall(graph, vectors, n, d, info.lostIds, { k: 10 }).recall;
  assert.ok(repaired >= 0.9, `recall of the repaired rows ${repaired}`);
  const { graph: unrepaired, info: info2 } = buildKnnGraphWithIndex(vectors, n, d, { ...poor, repair: false });
  assert.equal(info2.exactRepaired, 0);
  const raw = knnRecall(unrepaired, vectors, n, d, info2.lostIds, { k: 10 }).recall;
  assert.ok(raw < repaired, `unrepaired lost rows ${raw} vs repaired ${repaired}`);
  assert.equal(hasSelfLoop(graph), false);
});

test('self-loops are excluded even when duplicate vectors exist', () => {
  const dup = new Float32Array([...circle, ...circle]); // rows 6..11 duplicate rows 0..5
  const g = buildKnnGraph(dup, 12, 2, { k: 3, threads: 2 });
  assert.equal(hasSelfLoop(g), false);
  for (let i = 0; i < 6; i++) assert.ok(row(g, i).includes(i + 6), `row ${i} holds its duplicate`);
  assert.equal(graphStats(g).degree.min, 3);
});

test('rows without the modality have no edges and receive none', () => {
  const n = 600;
  const d = 16;
  const { vectors } = clusteredVectors(n, d, { seed: 2 });
  const present = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i += 3) present[i] = 0;
  for (const symmetrize of ['none', 'union', 'mutual'] as const) {
    const g = buildKnnGraph(vectors, n, d, { k: 10, threads: 2, present, symmetrize });
    for (let i = 0; i < n; i++) {
      if (!present[i]) assert.equal(g.indptr[i + 1] - g.indptr[i], 0, `absent row ${i} has edges`);
      else if (symmetrize !== 'mutual') assert.ok(g.indptr[i + 1] - g.indptr[i] >= 10);
    }
    for (const j of g.indices) assert.equal(present[j], 1, `edge into absent row ${j} (${symmetrize})`);
  }
  const g = buildKnnGraph(vectors, n, d, { k: 10, threads: 2, present });
  assert.equal(graphStats(g).isolated, n / 3);
  const r = knnRecall(g, vectors, n, d, sampleRows(n, 100, { present }), { k: 10, present });
  assert.ok(r.recall >= 0.95, `recall ${r.recall}`);
});

// directed graph: 0→1, 0→2, 1→0, 2→3, 3→2 (weights = 10·src + dst to trace the merge)
const directed: KnnGraph = {
  rows: 4,
  cols: 4,
  indptr: Int32Array.of(0, 2, 3, 4, 5),
  indices: Int32Array.of(1, 2, 0, 3, 2),
  weights: Float32Array.of(0.1, 0.2, 0.9, 0.23, 0.32),
};

test('union symmetrization adds every reverse edge once, keeping the larger weight', () => {
  const u = unionGraph(directed);
  assert.deepEqual([...u.indptr], [0, 2, 3, 5, 6]);
  assert.deepEqual([...u.indices], [1, 2, 0, 0, 3, 2]);
  assert.deepEqual([...u.weights].map((w) => Math.round(w * 100) / 100), [0.9, 0.2, 0.9, 0.2, 0.32, 0.32]);
  assert.equal(graphStats(u).symmetry, 1);
});

test('mutual symmetrization keeps only reciprocated edges', () => {
  const m = mutualGraph(directed);
  assert.deepEqual([...m.indptr], [0, 1, 2, 3, 4]);
  assert.deepEqual([...m.indices], [1, 0, 3, 2]);
  assert.deepEqual([...m.weights].map((w) => Math.round(w * 100) / 100), [0.9, 0.9, 0.32, 0.32]);
});

test('a symmetrized kNN graph is symmetric and sorted, and rejects unknown modes', () => {
  const n = 800;
  const d = 16;
  const { vectors } = clusteredVectors(n, d, { seed: 4 });
  const none = buildKnnGraph(vectors, n, d, { k: 8, threads: 2 });
  const union = buildKnnGraph(vectors, n, d, { k: 8, threads: 2, symmetrize: 'union' });
  const mutual = buildKnnGraph(vectors, n, d, { k: 8, threads: 2, symmetrize: 'mutual' });
  for (const g of [none, union, mutual]) validateCsr(asCoreCsr(g));
  assert.equal(graphStats(union).symmetry, 1);
  assert.equal(graphStats(mutual).symmetry, 1);
  assert.ok(graphStats(union).degree.min >= 8 && graphStats(mutual).degree.max <= 8);
  assert.ok(mutual.indptr[n] < none.indptr[n] && none.indptr[n] < union.indptr[n]);
  // on one directed graph (multi-threaded HNSW builds differ slightly from run to run)
  const [u, m] = [unionGraph(none), mutualGraph(none)];
  assert.equal(u.indptr[n] + m.indptr[n], 2 * none.indptr[n], '|A ∪ Aᵀ| + |A ∩ Aᵀ| = 2|A|');
  assert.throws(() => buildKnnGraph(vectors, n, d, { symmetrize: 'both' as never }), (e) => isPlotPointeError(e, 'PP_GRAPH_INVALID'));
  assert.throws(() => buildKnnGraph(vectors, n + 1, d), (e) => isPlotPointeError(e, 'PP_GRAPH_INVALID'));
});

test('top-k per row keeps the most similar entries with columns still sorted (the reverse-neighbour refinement)', () => {
  const t = topKPerRow(unionGraph(directed), 1);
  assert.deepEqual([...t.indptr], [0, 1, 2, 3, 4]);
  assert.deepEqual([...t.indices], [1, 0, 3, 2]);
  const g = { rows: 1, cols: 5, indptr: Int32Array.of(0, 4), indices: Int32Array.of(0, 2, 3, 4), weights: Float32Array.of(0.1, 0.9, 0.2, 0.8) };
  const top2 = topKPerRow(g, 2);
  assert.deepEqual([...top2.indices], [2, 4]);
  assert.deepEqual([...top2.weights].map((w) => Math.round(w * 10) / 10), [0.9, 0.8]);
});

test('graph stats on a hand-made CSR: degrees, isolated rows, symmetry share, similarity range, self-loops', () => {
  // row 0: 1, 2; row 1: 0; row 2: 2 (self-loop); row 3: none
  const g = { rows: 4, indptr: Int32Array.of(0, 2, 3, 4, 4), indices: Int32Array.of(2, 1, 0, 2), weights: Float32Array.of(0.5, 0.75, 0.25, 1) };
  const s = graphStats(g);
  assert.deepEqual(s.degree, { min: 0, mean: 1, max: 2 });
  assert.equal(s.nnz, 4);
  assert.equal(s.isolated, 1);
  assert.equal(s.selfLoops, 1);
  // reciprocated: 0→1 (1→0 exists), 1→0, 2→2 (itself); 0→2 is not → 3/4
  assert.equal(s.symmetry, 0.75);
  assert.deepEqual(s.similarity, { mean: 0.625, min: 0.25, max: 1 });
});

test('sampled rows are distinct, sorted, deterministic and present', () => {
  const present = Uint8Array.from({ length: 100 }, (_, i) => (i % 2 ? 1 : 0));
  const a = sampleRows(100, 20, { present, seed: 3 });
  assert.deepEqual(a, sampleRows(100, 20, { present, seed: 3 }));
  assert.equal(new Set(a).size, 20);
  assert.ok([...a].every((i, t) => present[i] === 1 && (t === 0 || a[t - 1] < i)));
  assert.equal(sampleRows(100, 500, { present }).length, 50);
});
