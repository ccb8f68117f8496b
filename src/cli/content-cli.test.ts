import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../test-support/cli.js';
import { buildDemoLake } from '../eval/cold-start-lake.testkit.js';
import { datasetPaths } from '../lake/paths.js';

/** Machine-read runs (`--json --quiet`) on one core thread. */
const oneThread = { json: true, env: { PLOTPOINTE_CORE_THREADS: '1' } };

test('graph knn, cold-start items / fold-in and ablate through the real CLI on a small demo lake', async () => {
  const { lake, name } = await buildDemoLake({ users: 150, items: 200, splits: { cold: { strategy: 'cold-item', coldItemShare: 0.3 } } });
  const at = ['--lake', lake, '--name', name];

  const g = runCli(['graph', 'knn', ...at, '--modality', 'text', '--k', '5', '--recall-sample', '100'], oneThread);
  assert.equal(g.status, 0, g.stderr);
  assert.equal(g.json.k, 5);
  assert.ok(g.json.recall.value >= 0.95, `recall ${g.json.recall.value}`);
  assert.ok(existsSync(join(datasetPaths(lake, name).graphs, 'knn-text.json')));
  const noImage = runCli(['graph', 'knn', ...at, '--modality', 'image'], oneThread);
  assert.equal(noImage.json.error.code, 'PP_EMBED_STORE');
  const noSplit = runCli(['graph', 'knn', ...at, '--modality', 'fused'], oneThread);
  assert.equal(noSplit.json.error.code, 'PP_USAGE');

  const ab = runCli(['ablate', ...at, '--split', 'cold', '--model', 'mf', '--grid', 'dim=4,8', '--seeds', '1', '--param', 'epochs=3', 'eval_every=3', 'batch=256'], oneThread);
  assert.equal(ab.status, 0, ab.stderr);
  assert.equal(ab.json.cells.length, 2);
  assert.match(readFileSync(ab.json.paths.md, 'utf8'), /\| dim \| test recall@20 \| test ndcg@20 \|/);
  const runId = ab.json.cells[1].runs[0].run_id;

  const items = runCli(['cold-start', 'items', '--lake', lake, '--run', runId], oneThread);
  assert.equal(items.status, 0, items.stderr);
  assert.deepEqual(items.json.results.map((r: { method: string }) => r.method), ['model:mf', 'random', 'content-similarity:text']);
  assert.equal(items.json.random_method, 'analytic expectation');
  const base = runCli(['cold-start', 'items', ...at, '--split', 'cold', '--modalities', 'text'], oneThread);
  assert.equal(base.status, 0, base.stderr);
  assert.deepEqual(base.json.results[1].metrics, items.json.results[2].metrics, 'the baselines do not depend on the run');
  const fold = runCli(['cold-start', 'fold-in', '--lake', lake, '--run', runId], oneThread);
  assert.equal(fold.status, 0, fold.stderr);
  assert.ok(fold.json.fold_in['recall@20'] >= 0);
});
