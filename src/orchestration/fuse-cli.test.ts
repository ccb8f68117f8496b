import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { shutdownPool } from '../core/index.js';
import { buildDemoLake } from '../eval/cold-start-lake.testkit.js';
import { loadEmbeddings } from '../embeddings/store.js';
import { loadSplit } from '../graphs/split-data.js';
import { datasetPaths } from '../lake/paths.js';
import { openContentSource } from '../embeddings/split-content.js';
import { runCli } from '../test-support/cli.js';

after(async () => {
  await shutdownPool();
});

/** Machine-read runs (`--json --quiet`) on one core thread. */
const oneThread = { json: true, env: { PLOTPOINTE_CORE_THREADS: '1' } };

test('embed fuse → train mmgat through the real CLI: fused vectors for every split item (cold ones too), then a content-aware run', async () => {
  const { lake, name } = await buildDemoLake({ users: 150, items: 200, missingTextEvery: 9, splits: { cold: { strategy: 'cold-item', coldItemShare: 0.3 } } });
  const fuse = runCli(['embed', 'fuse', '--lake', lake, '--name', name, '--split', 'cold', '--dim', '16', '--hidden', '32', '--epochs', '6', '--lr', '0.01'], oneThread);
  assert.equal(fuse.status, 0, fuse.stderr + fuse.stdout);
  assert.deepEqual(fuse.json.modalities, ['text']);
  assert.deepEqual(fuse.json.missing_modalities, ['image']);
  const data = await loadSplit(datasetPaths(lake, name).split('cold'));
  assert.equal(fuse.json.count, data.numItems);
  const stored = await loadEmbeddings(fuse.json.paths.dir, 'fused');
  assert.equal(stored.meta.modality, 'fused');
  assert.equal(stored.dim, 16);
  assert.ok(stored.present.every((p) => p === 1), 'every split item has a fused vector');
  assert.ok(stored.data.every(Number.isFinite));
  // cold items (no train interaction) got vectors that differ from each other
  const cold = [...data.coldItems.keys()].filter((i) => data.coldItems[i]);
  assert.ok(cold.length > 10);
  const row = (i: number) => Array.from(stored.data.subarray(i * 16, i * 16 + 16));
  assert.notDeepEqual(row(cold[0]), row(cold[1]));
  // the split's content source serves them as modality 'fused'
  const fused = await openContentSource(datasetPaths(lake, name).split('cold')).modality('fused');
  assert.equal(fused?.dim, 16);

  const run = runCli(['train', '--lake', lake, '--name', name, '--split', 'cold', '--model', 'mmgat', '--param', 'dim=16', 'hidden=32', 'epochs=4', 'eval_every=2', 'batch=512', 'features=text', 'ii_modality=fused', 'ii_k=5'], oneThread);
  assert.equal(run.status, 0, run.stderr + run.stdout);
  assert.ok(run.json.test['ndcg@20'] >= 0 && run.json.test['ndcg@20'] <= 1);
  const ev = runCli(['eval', '--lake', lake, '--run', run.json.run_id], oneThread);
  assert.equal(ev.status, 0, ev.stderr + ev.stdout);
  assert.ok(Math.abs(ev.json.test['ndcg@20'] - run.json.test['ndcg@20']) < 1e-6, `eval ${ev.json.test['ndcg@20']} vs train ${run.json.test['ndcg@20']}`);

  const bad = runCli(['embed', 'fuse', '--lake', lake, '--name', name, '--split', 'cold', '--modalities', 'image'], oneThread);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stdout + bad.stderr, /PP_EMBED_INVALID/);
});
