import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runCli } from '../test-support/cli.js';
import { tempDir } from '../test-support/fixtures.js';

test('train --model auto through the real CLI: every candidate a recorded run, the best valid NDCG@20 wins, --servable restricts the winner', () => {
  const dir = tempDir('auto-cli');
  const inDir = { cwd: dir, json: true };
  spawnSync('sh', ['-c', `echo '{"lake":{"dir":"lake"},"dataset":{"name":"demo"}}' > c.json`], { cwd: dir });
  const cfg = ['--config', join(dir, 'c.json')];
  assert.equal(runCli(['data', 'demo', '--out', 'src', '--users', '150', '--items', '120', '--catalog-items', '120', '--no-images'], inDir).status, 0);
  const at = ['--lake', 'lake', '--name', 'demo'];
  assert.equal(runCli(['data', 'ingest', '--format', 'amazon2018', '--input', 'src', ...at], inDir).status, 0);
  assert.equal(runCli(['data', 'split', '--ratio', '8:1:1', ...at], inDir).status, 0);

  const candidates = 'pop,itemknn,rp3beta:beta=0.5,ease:variant=lowrank:rank=16,mf:epochs=20:eval_every=5:lr=0.01:batch=256';
  const r = runCli(['train', '--model', 'auto', '--candidates', candidates, '--budget-min', '3', ...cfg], inDir);
  assert.equal(r.status, 0, r.stderr);
  const cands = r.json.auto.candidates as { model: string; params: Record<string, string>; run_id: string; valid_ndcg20: number; servable: boolean }[];
  assert.deepEqual(cands.map((c) => c.model).sort(), ['ease', 'itemknn', 'mf', 'pop', 'rp3beta']);
  assert.deepEqual(cands.find((c) => c.model === 'rp3beta')!.params, { beta: '0.5' });
  const best = cands.reduce((a, b) => (b.valid_ndcg20 > a.valid_ndcg20 ? b : a));
  assert.equal(r.json.run_id, best.run_id);
  assert.equal(r.json.model, best.model);
  assert.ok(r.json.test['ndcg@20'] >= 0);
  const list = runCli(['runs', 'list', ...cfg], inDir);
  assert.equal(list.status, 0, list.stderr);
  for (const c of cands) assert.ok(JSON.stringify(list.json).includes(c.run_id), `${c.model} run ${c.run_id} recorded`);
  // the selection is recorded: a search run, parent of every candidate, naming the winner and why
  const search = runCli(['runs', 'show', r.json.auto.search_id, ...cfg], inDir);
  assert.equal(search.status, 0, search.stderr);
  const sr = search.json.run ?? search.json;
  assert.equal(sr.kind, 'search');
  assert.equal(sr.model, 'auto');
  assert.equal(sr.extra.search.best_run_id, r.json.run_id);
  assert.deepEqual(sr.extra.search.trials.map((t: { run_id: string }) => t.run_id).sort(), cands.map((c) => c.run_id).sort());
  const listed = (list.json.runs ?? list.json) as { id: string; parentRunId: string | null }[];
  for (const c of cands) assert.equal(listed.find((x) => x.id === c.run_id)?.parentRunId, r.json.auto.search_id);

  const s = runCli(['train', '--model', 'auto', '--candidates', 'itemknn,ease:variant=lowrank:rank=16', '--servable', ...cfg], inDir);
  assert.equal(s.status, 0, s.stderr);
  assert.equal(s.json.model, 'ease', 'only the servable candidate can win');
  assert.equal(s.json.auto.servable_only, true);

  const bad = runCli(['train', '--model', 'auto', '--candidates', 'pop,nope', ...cfg], inDir);
  assert.equal(bad.json.error.code, 'PP_MODEL_UNKNOWN');
});
