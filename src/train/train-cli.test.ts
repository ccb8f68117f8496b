import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../test-support/cli.js';
import { tempDir } from '../test-support/fixtures.js';

test('data demo → ingest → split → train → eval → runs: the whole core path through the real CLI on a small demo lake', () => {
  const dir = tempDir('train-cli');
  const inDir = { cwd: dir, json: true };
  const small = ['--config', join(dir, 'c.json')];
  // A small catalog so the test stays fast (the full `plotpointe demo` pipeline has its own test in src/pipeline).
  spawnSync('sh', ['-c', `echo '{"lake":{"dir":"lake"},"dataset":{"name":"demo"}}' > c.json`], { cwd: dir });
  const gen = runCli(['data', 'demo', '--out', 'src', '--users', '150', '--items', '120', '--catalog-items', '120', '--no-images'], inDir);
  assert.equal(gen.status, 0, gen.stderr);
  const at = ['--lake', 'lake', '--name', 'demo'];
  const ingest = runCli(['data', 'ingest', '--format', 'amazon2018', '--input', 'src', ...at], inDir);
  assert.equal(ingest.status, 0, ingest.stderr);
  const split = runCli(['data', 'split', ...at], inDir);
  assert.equal(split.status, 0, split.stderr);
  assert.ok(split.json.interactions.test > 0);

  const pop = runCli(['train', '--model', 'pop', ...small], inDir);
  assert.equal(pop.status, 0, pop.stderr);
  const mf = runCli(['train', '--model', 'mf', '--param', 'epochs=100', 'eval_every=10', 'lr=0.01', 'batch=256', ...small], inDir);
  assert.equal(mf.status, 0, mf.stderr);
  for (const r of [pop.json, mf.json]) {
    assert.match(r.run_id, /^\d{8}-\d{6}-/);
    for (const k of ['recall@20', 'ndcg@20']) assert.ok(r.test[k] >= 0 && r.test[k] <= 1, `${k} = ${r.test[k]}`);
    assert.ok(existsSync(r.artifacts.model));
  }
  // A learnt model beats popularity on the planted tastes of the demo catalog.
  assert.ok(mf.json.test['ndcg@20'] > pop.json.test['ndcg@20'], `mf ${mf.json.test['ndcg@20']} vs pop ${pop.json.test['ndcg@20']}`);

  const ev = runCli(['eval', '--run', mf.json.run_id, ...small], inDir);
  assert.equal(ev.status, 0, ev.stderr);
  assert.ok(Math.abs(ev.json.test['ndcg@20'] - mf.json.test['ndcg@20']) < 1e-9, 'a reloaded model scores exactly as trained');

  const sampled = runCli(['eval', '--run', mf.json.run_id, '--protocol', 'sampled', '--negatives', '50', ...small], inDir);
  assert.equal(sampled.status, 0, sampled.stderr);
  assert.equal(sampled.json.protocol, 'sampled-1+N');
  assert.ok(sampled.json.test['hit@10'] > 0 && sampled.json.test['hit@10'] <= 1);
  assert.match(sampled.json.note, /not comparable/i);

  // Resuming restores the last checkpoint; a finished run resumes at its end and keeps its best epoch.
  const resumed = runCli(['train', '--resume', mf.json.run_id, ...small], inDir);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal(resumed.json.model, 'mf');
  assert.ok(Math.abs(resumed.json.test['ndcg@20'] - mf.json.test['ndcg@20']) < 1e-9);

  // Validation during fitting on a seeded user sample: it picks the epoch; the final metrics still rank every user.
  const sampledValid = runCli(['train', '--model', 'mf', '--param', 'epochs=100', 'eval_every=10', 'lr=0.01', 'batch=256', '--valid-users', '40', ...small], inDir);
  assert.equal(sampledValid.status, 0, sampledValid.stderr);
  const fullValid = runCli(['eval', '--run', sampledValid.json.run_id, '--part', 'valid', ...small], inDir);
  assert.equal(fullValid.status, 0, fullValid.stderr);
  assert.ok(Math.abs(fullValid.json.valid['ndcg@20'] - sampledValid.json.valid['ndcg@20']) < 1e-9, 'the final valid metrics are full ranking');
  const shown = runCli(['runs', 'show', sampledValid.json.run_id], inDir);
  assert.equal(shown.json.config.valid_users, 40);
  const bestEpoch = shown.json.epochs.find((e: { epoch: number }) => e.epoch === sampledValid.json.best_epoch);
  assert.notEqual(bestEpoch.metrics['ndcg@20'], sampledValid.json.valid['ndcg@20'], 'the per-epoch validation ran on the sample, not on every user');

  const list = runCli(['runs', 'list'], inDir);
  assert.equal(list.status, 0, list.stderr);
  assert.equal(JSON.stringify(list.json).includes(mf.json.run_id), true);

  const bad = runCli(['train', '--model', 'nope', ...small], inDir);
  assert.equal(bad.status, 2);
  assert.equal(bad.json.error.code, 'PP_MODEL_UNKNOWN');
  const badParam = runCli(['train', '--model', 'mf', '--param', 'dim=-3', ...small], inDir);
  assert.equal(badParam.json.error.code, 'PP_MODEL_PARAM');
});
