import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test-support/fixtures.js';
import { openDb, sqlString } from '../lake/duckdb.js';
import { datasetPaths } from '../lake/paths.js';
import { writeEmbeddings } from '../embeddings/store.js';
import { openContentSource } from '../embeddings/split-content.js';
import { isPlotPointeError } from '../errors.js';
import { shutdownPool } from '../core/index.js';
import { clusteredVectors } from '../graphs/synthetic-vectors.js';
import { exactKnn } from '../graphs/knn-graph.js';
import { buildItemGraph } from './item-graphs.js';

const meta = { encoder: 'fake', encoder_id: 'fake@1', normalised: true, seconds: 0, items_per_s: 0 };
const N = 600;
const D = 24;

/** A lake whose staging has N items i0..i599 and whose split "s" holds the even ones in reverse order. */
async function lake() {
  const dir = tempDir('item-graphs');
  const p = datasetPaths(dir, 'd');
  mkdirSync(p.split('s').dir, { recursive: true });
  const db = await openDb();
  try {
    await db.run(`COPY (SELECT 'i' || i AS item_id, i::INTEGER AS iid FROM range(${N}) t(i)) TO ${sqlString(p.stagingFiles.itemMap)} (FORMAT parquet)`);
    await db.run(
      `COPY (SELECT 'i' || i AS item_id, ((${N} - 2 - i) / 2)::INTEGER AS iid FROM range(0, ${N}, 2) t(i)) TO ${sqlString(p.split('s').itemMap)} (FORMAT parquet)`,
    );
  } finally {
    db.close();
  }
  writeFileSync(p.split('s').manifest, '{}');
  const { vectors } = clusteredVectors(N, D, { clusters: 6, seed: 3 });
  const present = new Uint8Array(N).fill(1);
  for (let i = 5; i < N; i += 10) {
    present[i] = 0;
    vectors.fill(0, i * D, i * D + D);
  }
  await writeEmbeddings(p.embeddings, 'text', { ...meta, modality: 'text', data: vectors, dim: D, present });
  return { dir, p, vectors, present };
}

test('graph knn: a cosine kNN graph over the items with the modality, recall ≥ 0.95 vs exact, stats and a header manifest', async (t) => {
  t.after(() => shutdownPool());
  const { dir, p, vectors, present } = await lake();
  const s = await buildItemGraph({ lake: dir, name: 'd', modality: 'text', k: 10, recallSample: 200, threads: 1 });
  assert.equal(s.items, N);
  assert.equal(s.items_with_modality, N - 60);
  assert.ok(s.recall && s.recall.value >= 0.95, `recall ${s.recall?.value}`);
  assert.equal(s.recall!.sample_rows, 200);
  assert.equal(s.stats.degree.max, 10);
  assert.equal(s.stats.isolated, 60, 'items without text have no edges');
  assert.ok(s.stats.similarity.mean > 0 && s.stats.similarity.mean <= 1);
  const header = JSON.parse(readFileSync(join(p.graphs, 'knn-text.json'), 'utf8'));
  assert.equal(header.kind, 'item-item-knn/text');
  assert.equal(header.k, 10);
  assert.equal(header.recall.value, s.recall!.value);
  assert.equal(header.stats.symmetry, s.stats.symmetry);

  // The content source sees it in split ids: split row r = staging item 598 − 2r. Its neighbours are the
  // exact neighbours that are in the split (even ids) — check one row against exact search.
  const g = await openContentSource(datasetPaths(dir, 'd').split('s')).itemGraph('text');
  assert.ok(g);
  assert.equal(g.rows, N / 2);
  const row = 3; // staging 592
  const exact = exactKnn(vectors, N, D, new Int32Array([592]), 10, { present });
  const want = Array.from(exact.indices).filter((j) => j % 2 === 0).map((j) => (N - 2 - j) / 2).sort((a, b) => a - b);
  const got = Array.from(g.indices.subarray(g.indptr[row], g.indptr[row + 1]));
  const hits = want.filter((j) => got.includes(j)).length;
  assert.ok(hits >= want.length - 1, `row ${row}: ${got} vs exact ${want}`);
  for (let e = g.indptr[row]; e < g.indptr[row + 1]; e++) {
    const a = 592;
    const b = N - 2 - 2 * g.indices[e];
    let dot = 0;
    for (let x = 0; x < D; x++) dot += vectors[a * D + x] * vectors[b * D + x];
    assert.ok(Math.abs(dot - g.weights[e]) < 1e-4, 'weights are cosine similarities (unit vectors)');
  }
});

test('graph knn: union symmetrisation is symmetric; fused needs --split and reads the per-split matrix; missing embeddings are PP_EMBED_STORE', async (t) => {
  t.after(() => shutdownPool());
  const { dir } = await lake();
  const u = await buildItemGraph({ lake: dir, name: 'd', modality: 'text', k: 5, symmetrize: 'union', recallSample: 50, threads: 1 });
  assert.equal(u.stats.symmetry, 1);
  assert.ok(u.stats.degree.mean >= 5);
  await assert.rejects(buildItemGraph({ lake: dir, name: 'd', modality: 'image' }), (e) => isPlotPointeError(e, 'PP_EMBED_STORE'));
  await assert.rejects(buildItemGraph({ lake: dir, name: 'd', modality: 'fused' }), (e) => isPlotPointeError(e, 'PP_USAGE'));
  // no item has an image (a catalog without pictures): an edgeless graph with a warning, not a failed stage
  await writeEmbeddings(datasetPaths(dir, 'd').embeddings, 'image', { ...meta, modality: 'image', data: new Float32Array(N * 4), dim: 4, present: new Uint8Array(N) });
  const empty = await buildItemGraph({ lake: dir, name: 'd', modality: 'image', k: 5 });
  assert.equal(empty.stats.nnz, 0);
  assert.equal(empty.recall, null);
  assert.match(empty.warning!, /only 0 of 600 items have image vectors/);
  assert.equal((await openContentSource(datasetPaths(dir, 'd').split('s')).itemGraph('image'))!.indptr[N / 2], 0);
  const { vectors } = clusteredVectors(N / 2, 8, { clusters: 3, seed: 9 });
  await writeEmbeddings(datasetPaths(dir, 'd').split('s').embeddings, 'fused', { ...meta, modality: 'text', data: vectors, dim: 8 });
  const f = await buildItemGraph({ lake: dir, name: 'd', modality: 'fused', split: 's', k: 5, recallSample: 50, threads: 1 });
  assert.equal(f.id_order, 'split');
  assert.equal(f.items, N / 2);
  const g = await openContentSource(datasetPaths(dir, 'd').split('s')).itemGraph('fused');
  assert.equal(g!.rows, N / 2);
  assert.equal(g!.indptr[N / 2], f.stats.nnz);
});
