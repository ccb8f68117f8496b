import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test-support/fixtures.js';
import { isPlotPointeError } from '../errors.js';
import { clusteredVectors } from '../graphs/synthetic-vectors.js';
import { AnnIndex } from '../graphs/ann-index.js';
import { writeServingBundle, type ServingBundle, type ServingManifest } from './serving-bundle.js';
import { ServedModel } from '../serving/served-model.js';
import { computeSimilarTable, exactSimilarTable, graphSimilarTable, readSimilarTables, writeSimilarTables } from './similar-table.js';

const n = 1500;
const d = 16;
const K = 10;
const { vectors: unit } = clusteredVectors(n, d, { seed: 5 });
// Model-space vectors of varied length: ip ranking differs from cosine ranking.
const vectors = new Float32Array(unit);
for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) vectors[i * d + j] *= 0.8 + ((i * 7919) % 100) / 220; // 0.8–1.25
const norms = new Float32Array(n);
for (let i = 0; i < n; i++) {
  let s = 0;
  for (let j = 0; j < d; j++) s += vectors[i * d + j] ** 2;
  norms[i] = Math.sqrt(s);
}
const cosine = (a: number, b: number): number => {
  let s = 0;
  for (let j = 0; j < d; j++) s += vectors[a * d + j] * vectors[b * d + j];
  return s / (norms[a] * norms[b]);
};
/** Exact top-K cosine neighbours of item a (a excluded). */
const exactTop = (a: number): number[] =>
  Array.from({ length: n }, (_, j) => j)
    .filter((j) => j !== a)
    .sort((x, y) => cosine(a, y) - cosine(a, x))
    .slice(0, K);

const ipIndex = AnnIndex.build(vectors, { dimensions: d, metric: 'ip', threads: 2, expansionSearch: 64 });

test('graph table of an ip graph index: each row holds the cosine neighbours (self excluded), best first, with exact cosines', () => {
  const t = graphSimilarTable(ipIndex, vectors, d, { k: K, threads: 2 });
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const row = [...t.ids.subarray(i * K, (i + 1) * K)];
    assert.ok(!row.includes(i), 'the item itself is not its own neighbour');
    for (let j = 0; j < K; j++) {
      assert.ok(Math.abs(t.scores[i * K + j] - cosine(i, row[j])) < 1e-4, 'scores are model-space cosines');
      if (j > 0) assert.ok(t.scores[i * K + j] <= t.scores[i * K + j - 1] + 1e-7, 'best first');
    }
    if (i % 15 === 0) {
      const exact = new Set(exactTop(i));
      hits += row.filter((x) => exact.has(x)).length;
    }
  }
  const recall = hits / (Math.ceil(n / 15) * K);
  assert.ok(recall >= 0.95, `recall@${K} vs exact cosine ${recall}`);
  // The cheap alternative (ip candidates re-ranked by cosine) has exact scores but misses neighbours.
  const reranked = computeSimilarTable(ipIndex, vectors, d, { k: K, batch: 256 });
  assert.equal(reranked.candidates, 2 * K + 1, 'over-fetches for the cosine re-rank');
  for (let j = 0; j < K; j++) assert.ok(Math.abs(reranked.scores[j] - cosine(0, reranked.ids[j])) < 1e-4);
});

test('rows of items without the modality stay empty (−1); tables round-trip through the bundle directory', async () => {
  const present = new Uint8Array(n).fill(1);
  present[3] = 0;
  const cosIndex = AnnIndex.build(unit, { dimensions: d, metric: 'cos', threads: 2 });
  const t = computeSimilarTable(cosIndex, unit, d, { k: K, present, batch: 100 });
  assert.equal(t.candidates, K + 1, 'a cos index needs no over-fetch');
  assert.deepEqual([...t.ids.subarray(3 * K, 4 * K)], new Array(K).fill(-1));
  const dir = tempDir('similar-table');
  assert.deepEqual(await readSimilarTables(dir, n), {}, 'a bundle without tables');
  await writeSimilarTables(dir, { text: { ...t, seconds: 1 } });
  const back = await readSimilarTables(dir, n);
  assert.equal(back.text!.k, K);
  assert.deepEqual(back.text!.ids, t.ids);
  assert.deepEqual(back.text!.scores, t.scores);
  writeFileSync(join(dir, 'similar-text.i32'), Buffer.alloc(8));
  await assert.rejects(readSimilarTables(dir, n), (e) => isPlotPointeError(e) && e.code === 'PP_SERVE_BUNDLE');
});

test('ServedModel.similar answers k ≤ K from the table and larger k by ANN search, with the same similarities', () => {
  const t = graphSimilarTable(ipIndex, vectors, d, { k: K, threads: 2 });
  const itemIds = Array.from({ length: n }, (_, i) => `I${i}`);
  const bundle = {
    dir: '',
    manifest: { model_version: 'v', model: 'm', num_users: 0, num_items: n, dim: d } as ServingManifest,
    users: new Float32Array(0),
    items: vectors,
    userIds: [],
    itemIds,
    itemMeta: itemIds.map((id) => ({ title: `t${id}`, brand: null, categories: [], image_path: null, image_url: null, price: null })),
    history: { indptr: Int32Array.of(0), indices: new Int32Array(0), attention: null },
    content: {},
    itemGraph: null,
    indexes: { graph: ipIndex },
    fusion: null,
  } satisfies ServingBundle;
  const withTable = new ServedModel(bundle, { explainHistory: 0, similarTables: { graph: t } });
  const without = new ServedModel(bundle, { explainHistory: 0 });
  for (const i of [0, 77, 1499]) {
    const a = withTable.similar(i, 'graph', 5);
    assert.deepEqual(
      a.map((x) => x.item_id),
      [...t.ids.subarray(i * K, i * K + 5)].map((j) => `I${j}`),
      'read from the table',
    );
    assert.deepEqual(a.map((x) => x.rank), [1, 2, 3, 4, 5]);
    assert.equal(a[0].title, `t${a[0].item_id}`);
    for (const x of a) assert.ok(Math.abs(x.score - cosine(i, Number(x.item_id.slice(1)))) < 1e-5);
    // Past K: the search path, the same similarities.
    const big = withTable.similar(i, 'graph', K + 5);
    assert.deepEqual(big, without.similar(i, 'graph', K + 5));
    assert.equal(big.length, K + 5);
  }
  // A tampered table shows the lookup is what answers.
  const fake = { k: 2, ids: new Int32Array(2 * n).fill(9), scores: new Float32Array(2 * n).fill(0.5) };
  const tampered = new ServedModel(bundle, { explainHistory: 0, similarTables: { graph: fake } });
  assert.deepEqual(tampered.similar(0, 'graph', 2).map((x) => x.item_id), ['I9', 'I9']);
  assert.equal(tampered.similar(0, 'graph', 3).length, 3);
});

test('writeServingBundle writes the tables at similarK (graph and content modalities), none at 0', async () => {
  const m = 60;
  const itemIds = Array.from({ length: m }, (_, i) => `I${i}`);
  const present = new Uint8Array(m).fill(1);
  present[0] = 0;
  const input = {
    dataset: 'x',
    split: 's',
    runId: 'r',
    model: 'mf',
    dim: d,
    users: vectors.slice(0, 2 * d),
    items: vectors.slice(0, m * d),
    userIds: ['U0', 'U1'],
    itemIds,
    itemMeta: itemIds.map(() => ({ title: null, brand: null, categories: [], image_path: null, image_url: null, price: null })),
    history: { indptr: Int32Array.of(0, 1, 2), indices: Int32Array.of(0, 1) },
    content: { text: { vectors: unit.slice(0, m * d), present, dim: d, encoder: 'fake', encoderSpec: 'fake' } },
  } as unknown as Parameters<typeof writeServingBundle>[1];
  const dir = join(tempDir('similar-bundle'), 'serving');
  await writeServingBundle(dir, input, { similarK: 7, threads: 1 });
  const t = await readSimilarTables(dir, m);
  assert.equal(t.graph!.k, 7);
  assert.equal(t.text!.k, 7);
  assert.equal(t.text!.ids[0], -1, 'no text vector, no row');
  assert.ok(t.text!.ids[7] >= 1, 'items with text have neighbours');
  for (let j = 0; j < 7; j++) assert.ok(Math.abs(t.graph!.scores[j] - cosine(0, t.graph!.ids[j])) < 1e-4);
  const none = join(tempDir('similar-bundle'), 'serving');
  await writeServingBundle(none, input, { similarK: 0, threads: 1 });
  assert.deepEqual(await readSimilarTables(none, m), {});
});

test('the exact table (small catalogs) holds every present item\'s true top-K by cosine, ties by lower id, absent rows empty', () => {
  const present = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i += 13) present[i] = 0;
  const t = exactSimilarTable(vectors, d, K, present);
  for (const i of [1, 2, 500, 1499]) {
    const truth = Array.from({ length: n }, (_, j) => j)
      .filter((j) => j !== i && present[j])
      .sort((a, b) => cosine(i, b) - cosine(i, a) || a - b)
      .slice(0, K);
    const got = Array.from(t.ids.subarray(i * K, (i + 1) * K));
    for (let r = 0; r < K; r++) assert.ok(Math.abs(t.scores[i * K + r] - cosine(i, truth[r])) < 1e-5, `item ${i} rank ${r}`);
    assert.deepEqual(new Set(got), new Set(truth), `item ${i}`);
  }
  assert.ok(Array.from(t.ids.subarray(0, K)).every((j) => j === -1), 'item 0 has no vector: empty row');
  assert.deepEqual(exactSimilarTable(vectors, d, K, present).ids, t.ids, 'deterministic');
});
