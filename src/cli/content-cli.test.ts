import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../test-support/fixtures.js';
import { buildDemoLake } from '../eval/cold-start-lake.testkit.js';

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'plotpointe.mjs'), ...args, '--json', '--quiet'], {
    encoding: 'utf8',
    env: { ...process.env, PLOTPOINTE_CORE_THREADS: '1' },
  });
  const lines = r.stdout.trimEnd().split('\n');
  return { status: r.status, stderr: r.stderr, out: JSON.parse(lines[lines.length - 1]) };
}

test('graph knn, cold-start items / fold-in and ablate through the real CLI on a small demo lake', async () => {
  const { lake, name } = await buildDemoLake({ users: 150, items: 200, splits: { cold: { strategy: 'cold-item', coldItemShare: 0.3 } } });
  const at = ['--lake', lake, '--name', name];

  const g = cli(['graph', 'knn', ...at, '--modality', 'text', '--k', '5', '--recall-sample', '100']);
  assert.equal(g.status, 0, g.stderr);
  assert.equal(g.out.k, 5);
  assert.ok(g.out.recall.value >= 0.95, `recall ${g.out.recall.value}`);
  assert.ok(existsSync(join(lake, 'artifacts', name, 'graphs', 'knn-text.json')));
  const noImage = cli(['graph', 'knn', ...at, '--modality', 'image']);
  assert.equal(noImage.out.error.code, 'PP_EMBED_STORE');
  const noSplit = cli(['graph', 'knn', ...at, '--modality', 'fused']);
  assert.equal(noSplit.out.error.code, 'PP_USAGE');

  const ab = cli(['ablate', ...at, '--split', 'cold', '--model', 'mf', '--grid', 'dim=4,8', '--seeds', '1', '--param', 'epochs=3', 'evalEvery=3', 'batch=256']);
  assert.equal(ab.status, 0, ab.stderr);
  assert.equal(ab.out.cells.length, 2);
  assert.match(readFileSync(ab.out.paths.md, 'utf8'), /\| dim \| test recall@20 \| test ndcg@20 \|/);
  const runId = ab.out.cells[1].runs[0].run_id;

  const items = cli(['cold-start', 'items', '--lake', lake, '--run', runId]);
  assert.equal(items.status, 0, items.stderr);
  assert.deepEqual(items.out.results.map((r: { method: string }) => r.method), ['model:mf', 'random', 'content-similarity:text']);
  assert.equal(items.out.random_method, 'analytic expectation');
  const base = cli(['cold-start', 'items', ...at, '--split', 'cold', '--modalities', 'text']);
  assert.equal(base.status, 0, base.stderr);
  assert.deepEqual(base.out.results[1].metrics, items.out.results[2].metrics, 'the baselines do not depend on the run');
  const fold = cli(['cold-start', 'fold-in', '--lake', lake, '--run', runId]);
  assert.equal(fold.status, 0, fold.stderr);
  assert.ok(fold.out.fold_in['recall@20'] >= 0);
});
