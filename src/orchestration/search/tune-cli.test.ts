import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../test-support/cli.js';
import { tempDir } from '../../test-support/fixtures.js';

test('tune through the real CLI: every trial a child train run of one search run, a bad trial pruned, the best on valid NDCG@20 retrained with --params-from', () => {
  const dir = tempDir('tune-cli');
  const inDir = { cwd: dir, json: true };
  writeFileSync(join(dir, 'c.json'), '{"lake":{"dir":"lake"},"dataset":{"name":"demo"}}');
  const cfg = ['--config', join(dir, 'c.json')];
  assert.equal(runCli(['data', 'demo', '--out', 'src', '--users', '150', '--items', '120', '--catalog-items', '120', '--no-images'], inDir).status, 0);
  const at = ['--lake', 'lake', '--name', 'demo'];
  assert.equal(runCli(['data', 'ingest', '--format', 'amazon2018', '--input', 'src', ...at], inDir).status, 0);
  assert.equal(runCli(['data', 'split', '--ratio', '8:1:1', ...at], inDir).status, 0);

  // lr 1e-5 barely moves in 12 epochs: those trials fall below the median of the earlier ones and are pruned
  const r = runCli(['tune', '--model', 'mf', '--trials', '6', '--sampler', 'random', '--space', 'lr=0.00001,0.05', '--param', 'epochs=12', 'eval_every=2', 'batch=256', ...cfg], inDir);
  assert.equal(r.status, 0, r.stderr);
  const trials = r.json.trials as { trial: number; run_id: string; status: string; params: Record<string, unknown>; valid_ndcg20: number; epochs: number }[];
  assert.equal(trials.length, 6);
  for (const t of trials) {
    assert.ok([1e-5, 0.05].includes(t.params.lr as number), 'lr from the given choices');
    assert.ok([32, 64, 128].includes(t.params.dim as number), "dim from mf's default space");
    assert.ok((t.params.reg as number) >= 1e-6 && (t.params.reg as number) <= 1e-2);
  }
  const best = trials.reduce((a, b) => (b.valid_ndcg20 > a.valid_ndcg20 ? b : a));
  assert.equal(r.json.best.run_id, best.run_id, 'the best valid NDCG@20 wins');
  assert.equal(r.json.best.params.lr, 0.05);
  const pruned = trials.filter((t) => t.status === 'pruned');
  assert.ok(pruned.length >= 1, `a bad trial is pruned: ${trials.map((t) => `${t.params.lr}:${t.status}`).join(' ')}`);
  for (const t of pruned) assert.ok(t.epochs < 12 && t.params.lr === 1e-5, 'pruned before its last epoch, and only a bad one');

  const search = runCli(['runs', 'show', r.json.search_id, ...cfg], inDir);
  assert.equal(search.status, 0, search.stderr);
  const run = search.json.run ?? search.json;
  assert.equal(run.kind, 'search');
  assert.equal(run.extra.search.best_run_id, best.run_id);
  assert.equal(run.metrics.valid['ndcg@20'], best.valid_ndcg20, 'the search run carries the best trial’s metrics');
  const list = runCli(['runs', 'list', '--limit', '50', ...cfg], inDir);
  const runs = (list.json.runs ?? list.json) as { id: string; parentRunId: string | null }[];
  for (const t of trials) assert.equal(runs.find((x) => x.id === t.run_id)?.parentRunId, r.json.search_id, `trial ${t.trial} is a child of the search`);

  const again = runCli(['train', '--params-from', r.json.search_id, ...cfg], inDir);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.json.model, 'mf');
  assert.deepEqual(again.json.params, r.json.best_params);
  assert.equal(again.json.valid['ndcg@20'], best.valid_ndcg20, 'same params and seed: the same model again');
  assert.equal(runCli(['train', '--params-from', best.run_id, ...cfg], inDir).json.error.code, 'PP_RUN_INVALID', 'a train run is not a search');

  // a closed-form model: no epochs, nothing to prune; a space outside the model's params is refused
  const knn = runCli(['tune', '--model', 'itemknn', '--trials', '3', '--space', 'k=5..50:int', ...cfg], inDir);
  assert.equal(knn.status, 0, knn.stderr);
  assert.equal(knn.json.trials.length, 3);
  assert.ok(knn.json.trials.every((t: { status: string; params: { k: number } }) => t.status === 'finished' && Number.isInteger(t.params.k) && t.params.k >= 5 && t.params.k <= 50));
  assert.equal(runCli(['tune', '--model', 'itemknn', '--space', 'nope=1,2', ...cfg], inDir).json.error.code, 'PP_MODEL_PARAM');
  assert.equal(runCli(['tune', '--model', 'itemknn', '--space', 'k=9..1', ...cfg], inDir).json.error.code, 'PP_USAGE');
});
