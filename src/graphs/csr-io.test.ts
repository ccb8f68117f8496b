import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test-support/fixtures.js';
import { isPlotPointeError } from '../errors.js';
import { clusteredVectors } from './synthetic-vectors.js';
import { buildKnnGraph, graphStats } from './knn-graph.js';
import { csrFiles, loadCsr, saveCsr } from './csr-io.js';

test('a saved kNN graph loads back identical, with its header (rows, cols, nnz, kind, stats)', async () => {
  const n = 500;
  const d = 8;
  const { vectors } = clusteredVectors(n, d, { seed: 1 });
  const g = buildKnnGraph(vectors, n, d, { k: 6, threads: 2, symmetrize: 'union' });
  const stats = graphStats(g);
  const dir = join(tempDir('csr-io'), 'graphs');
  const header = await saveCsr(dir, 'text', g, { kind: 'item-item-knn/text', stats, extra: { k: 6 } });
  assert.deepEqual(readdirSync(dir).sort(), ['text.indices.i32', 'text.indptr.i32', 'text.json', 'text.weights.f32'], 'no temporaries left');
  const { graph, header: read } = await loadCsr(dir, 'text', { verify: true });
  assert.deepEqual(graph, g);
  assert.deepEqual(read, JSON.parse(JSON.stringify(header)));
  assert.equal(read.nnz, g.indptr[n]);
  assert.equal(read.kind, 'item-item-knn/text');
  assert.equal(read.k, 6);
  assert.deepEqual(read.stats, JSON.parse(JSON.stringify(stats)));
});

test('an empty graph round-trips', async () => {
  const dir = tempDir('csr-io-empty');
  const g = { rows: 3, cols: 3, indptr: new Int32Array(4), indices: new Int32Array(0), weights: new Float32Array(0) };
  await saveCsr(dir, 'image', g, { kind: 'item-item-knn/image' });
  assert.deepEqual((await loadCsr(dir, 'image')).graph, g);
});

test('loading a truncated, tampered or missing graph fails with PP_GRAPH_LOAD', async () => {
  const dir = tempDir('csr-io-bad');
  const g = { rows: 2, cols: 2, indptr: Int32Array.of(0, 1, 2), indices: Int32Array.of(1, 0), weights: Float32Array.of(0.5, 0.5) };
  await saveCsr(dir, 'g', g, { kind: 'test' });
  const files = csrFiles('g');
  const weights = readFileSync(join(dir, files.weights));
  writeFileSync(join(dir, files.weights), weights.subarray(0, 4));
  await assert.rejects(loadCsr(dir, 'g'), (e) => isPlotPointeError(e, 'PP_GRAPH_LOAD') && /bytes/.test(e.message));
  const tampered = Buffer.from(weights);
  tampered[0] ^= 1;
  writeFileSync(join(dir, files.weights), tampered);
  await assert.rejects(loadCsr(dir, 'g', { verify: true }), (e) => isPlotPointeError(e, 'PP_GRAPH_LOAD') && /checksum/.test(e.message));
  await assert.rejects(loadCsr(dir, 'nope'), (e) => isPlotPointeError(e, 'PP_GRAPH_LOAD'));
});
