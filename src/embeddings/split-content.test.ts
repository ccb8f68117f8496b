import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test-support/fixtures.js';
import { openDb, sqlString } from '../lake/duckdb.js';
import { datasetPaths } from '../lake/paths.js';
import { saveCsr } from '../graphs/csr-io.js';
import { csrFromEdges } from '../graphs/knn-graph.js';
import { isPlotPointeError } from '../errors.js';
import { writeEmbeddings } from './store.js';
import { openContentSource } from './split-content.js';

const meta = { encoder: 'fake', encoder_id: 'fake@1', normalised: false, seconds: 0, items_per_s: 0 };

/** staging items a..e = iids 0..4; split "s" holds e, a, c, z (z unknown to staging) as split iids 0..3. */
async function tinyLake() {
  const lake = tempDir('split-content');
  const p = datasetPaths(lake, 'd');
  mkdirSync(p.split('s').dir, { recursive: true });
  const db = await openDb();
  try {
    await db.run(`COPY (SELECT * FROM (VALUES ('a', 0), ('b', 1), ('c', 2), ('d', 3), ('e', 4)) t(item_id, iid))
      TO ${sqlString(p.stagingFiles.itemMap)} (FORMAT parquet)`);
    await db.run(`COPY (SELECT * FROM (VALUES ('e', 0, false), ('a', 1, false), ('c', 2, true), ('z', 3, false)) t(item_id, iid, cold))
      TO ${sqlString(p.split('s').itemMap)} (FORMAT parquet)`);
  } finally {
    db.close();
  }
  writeFileSync(p.split('s').manifest, '{}');
  return { lake, p };
}

test('text vectors and the text graph are remapped from staging iids to the split item ids by item_id', async () => {
  const { lake, p } = await tinyLake();
  // staging row i = [i, 10 + i]; item c (staging 2) has no text
  const data = new Float32Array([0, 10, 1, 11, 0, 0, 3, 13, 4, 14]);
  await writeEmbeddings(p.embeddings, 'text', { ...meta, modality: 'text', data, dim: 2, present: new Uint8Array([1, 1, 0, 1, 1]) });
  // staging graph: a→e (0.9), a→b (0.5), e→a (0.8), e→c (0.7), d→a (0.1)
  const g = csrFromEdges(5, 5, new Int32Array([0, 0, 4, 4, 3]), new Int32Array([4, 1, 0, 2, 0]), new Float32Array([0.9, 0.5, 0.8, 0.7, 0.1]));
  mkdirSync(p.graphs, { recursive: true });
  await saveCsr(p.graphs, 'knn-text', g, { kind: 'item-item-knn/text' });

  const src = openContentSource(datasetPaths(lake, 'd').split('s'));
  const text = await src.modality('text');
  assert.ok(text);
  assert.equal(text.dim, 2);
  assert.equal(text.encoder, 'fake');
  assert.deepEqual(Array.from(text.vectors), [4, 14, 0, 10, 0, 0, 0, 0]); // e, a, c (absent), z (unknown)
  assert.deepEqual(Array.from(text.present), [1, 1, 0, 0]);
  assert.equal(await src.modality('text'), text, 'memoised');

  const graph = await src.itemGraph('text');
  assert.ok(graph);
  assert.equal(graph.rows, 4);
  // split e(0)→a(1) 0.8, e(0)→c(2) 0.7; a(1)→e(0) 0.9 (a→b dropped: b is not in the split); d is not in the split
  assert.deepEqual(Array.from(graph.indptr), [0, 2, 3, 3, 3]);
  assert.deepEqual(Array.from(graph.indices), [1, 2, 0]);
  assert.deepEqual(Array.from(graph.weights), [Math.fround(0.8), Math.fround(0.7), Math.fround(0.9)]);
});

test('missing modalities and graphs are null; fused is read in split order from the per-split path', async () => {
  const { lake } = await tinyLake();
  const src = openContentSource(datasetPaths(lake, 'd').split('s'));
  assert.equal(await src.modality('image'), null);
  assert.equal(await src.modality('fused'), null);
  assert.equal(await src.itemGraph('text'), null);
  assert.equal(await src.itemGraph('fused'), null);

  const dir = datasetPaths(lake, 'd').split('s').embeddings;
  mkdirSync(dir, { recursive: true });
  await writeEmbeddings(dir, 'fused', { ...meta, modality: 'text', data: new Float32Array([1, 2, 3, 4]), dim: 1 });
  const fused = await openContentSource(datasetPaths(lake, 'd').split('s')).modality('fused');
  assert.deepEqual(Array.from(fused!.vectors), [1, 2, 3, 4]);
  assert.equal(fused!.modality, 'fused');

  // a fused matrix whose row count is not the split's is refused
  await writeEmbeddings(dir, 'fused', { ...meta, modality: 'text', data: new Float32Array([1, 2, 3]), dim: 1 });
  await assert.rejects(openContentSource(datasetPaths(lake, 'd').split('s')).modality('fused'), (e) => isPlotPointeError(e, 'PP_EMBED_STORE'));
});
