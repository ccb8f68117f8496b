import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../test-support/fixtures.js';

function cli(cwd: string, args: string[]) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'plotpointe.mjs'), ...args, '--json', '--quiet'], { cwd, encoding: 'utf8' });
  const lines = r.stdout.trimEnd().split('\n');
  return { status: r.status, stderr: r.stderr, out: JSON.parse(lines[lines.length - 1]) };
}

test('data demo → ingest → split → train → eval → runs: the whole core path through the real CLI on a small demo lake', () => {
  const dir = tempDir('train-cli');
  const small = ['--config', join(dir, 'c.json')];
  // A small catalog so the test stays fast (the full `plotpointe demo` pipeline has its own test in src/pipeline).
  spawnSync('sh', ['-c', `echo '{"lake":{"dir":"lake"},"dataset":{"name":"demo"}}' > c.json`], { cwd: dir });
  const gen = cli(dir, ['data', 'demo', '--out', 'src', '--users', '150', '--items', '120', '--catalog-items', '120', '--no-images']);
  assert.equal(gen.status, 0, gen.stderr);
  const at = ['--lake', 'lake', '--name', 'demo'];
  const ingest = cli(dir, ['data', 'ingest', '--format', 'amazon2018', '--input', 'src', ...at]);
  assert.equal(ingest.status, 0, ingest.stderr);
  const split = cli(dir, ['data', 'split', ...at]);
  assert.equal(split.status, 0, split.stderr);
  assert.ok(split.out.interactions.test > 0);

  const pop = cli(dir, ['train', '--model', 'pop', ...small]);
  assert.equal(pop.status, 0, pop.stderr);
  const mf = cli(dir, ['train', '--model', 'mf', '--param', 'epochs=100', 'evalEvery=10', 'lr=0.01', 'batch=256', ...small]);
  assert.equal(mf.status, 0, mf.stderr);
  for (const r of [pop.out, mf.out]) {
    assert.match(r.run_id, /^\d{8}-\d{6}-/);
    for (const k of ['recall@20', 'ndcg@20']) assert.ok(r.test[k] >= 0 && r.test[k] <= 1, `${k} = ${r.test[k]}`);
    assert.ok(existsSync(r.artifacts.model));
  }
  // A learnt model beats popularity on the planted tastes of the demo catalog.
  assert.ok(mf.out.test['ndcg@20'] > pop.out.test['ndcg@20'], `mf ${mf.out.test['ndcg@20']} vs pop ${pop.out.test['ndcg@20']}`);

  const ev = cli(dir, ['eval', '--run', mf.out.run_id, ...small]);
  assert.equal(ev.status, 0, ev.stderr);
  assert.ok(Math.abs(ev.out.test['ndcg@20'] - mf.out.test['ndcg@20']) < 1e-9, 'a reloaded model scores exactly as trained');

  const sampled = cli(dir, ['eval', '--run', mf.out.run_id, '--protocol', 'sampled', '--negatives', '50', ...small]);
  assert.equal(sampled.status, 0, sampled.stderr);
  assert.equal(sampled.out.protocol, 'sampled-1+N');
  assert.ok(sampled.out.test['hit@10'] > 0 && sampled.out.test['hit@10'] <= 1);
  assert.match(sampled.out.note, /not comparable/i);

  // Resuming restores the last checkpoint; a finished run resumes at its end and keeps its best epoch.
  const resumed = cli(dir, ['train', '--resume', mf.out.run_id, ...small]);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal(resumed.out.model, 'mf');
  assert.ok(Math.abs(resumed.out.test['ndcg@20'] - mf.out.test['ndcg@20']) < 1e-9);

  const list = cli(dir, ['runs', 'list']);
  assert.equal(list.status, 0, list.stderr);
  assert.equal(JSON.stringify(list.out).includes(mf.out.run_id), true);

  const bad = cli(dir, ['train', '--model', 'nope', ...small]);
  assert.equal(bad.status, 2);
  assert.equal(bad.out.error.code, 'PP_MODEL_UNKNOWN');
  const badParam = cli(dir, ['train', '--model', 'mf', '--param', 'dim=-3', ...small]);
  assert.equal(badParam.out.error.code, 'PP_MODEL_PARAM');
});
