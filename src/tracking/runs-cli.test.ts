import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cliJson, runCli } from '../test-support/cli.js';
import { tempDir } from '../test-support/fixtures.js';
import { RunStore } from './run-store.js';

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('error '));

/** A lake with a blessed baseline (ndcg@20 0.3) and later runs at 0.3, 0.31 and 0.297 on ds/s. */
async function lakeWithRuns() {
  const lake = join(tempDir('runs-cli'), 'lake');
  const store = await RunStore.open(lake);
  const record = async (model: string, at: number, ndcg: number) => {
    const run = await store.startRun({
      dataset: 'ds',
      split: 's',
      splitHash: 'h1',
      model,
      kind: 'train',
      config: { lr: 0.001 },
      artifactsDir: null,
      now: new Date(Date.UTC(2025, 0, 1, 0, 0, at)),
    });
    await store.logEpoch(run.id, { epoch: 0, loss: 0.5, metrics: { 'recall@20': 0.1 }, seconds: 1 });
    return (await store.finishRun(run.id, { valid: { 'ndcg@20': ndcg + 0.01 }, test: { 'ndcg@20': ndcg, 'recall@20': 0.2 }, wallSeconds: 3, peakRssMb: 120 })).id;
  };
  const base = await record('mf', 1, 0.3);
  const same = await record('lightgcn', 2, 0.3);
  const better = await record('lightgcn', 3, 0.31);
  const worse = await record('gat', 4, 0.297);
  return { lake, store, base, same, better, worse };
}

test('runs list, show and compare print aligned tables, and --json one object as the last stdout line', async () => {
  const { lake, base, better, worse } = await lakeWithRuns();
  const list = runCli(['runs', 'list', '--lake', lake]);
  assert.equal(list.status, 0, list.stderr);
  const lines = list.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^id\s+status\s+dataset\/split\s+model\s+kind\s+ndcg@20\s+wall\s+started$/);
  assert.ok(lines[1].startsWith(worse), 'newest first');
  const col = lines[0].indexOf('status');
  assert.ok(lines.slice(1, 5).every((l) => l.slice(col).startsWith('finished')), 'columns are aligned');

  const json = runCli(['runs', 'list', '--lake', lake, '--model', 'lightgcn', '--limit', '1', '--json']);
  assert.equal(json.status, 0, json.stderr);
  const out = cliJson(json);
  assert.deepEqual(out.runs.map((r: { id: string }) => r.id), [better]);
  assert.equal(out.metric, 'ndcg@20');

  const show = runCli(['runs', 'show', base, '--lake', lake]);
  assert.equal(show.status, 0, show.stderr);
  assert.match(show.stdout, new RegExp(`^run ${base} \\(train, finished\\)`));
  assert.match(show.stdout, /^\s+ndcg@20\s+0\.3100\s+0\.3000$/m);
  assert.equal(cliJson(runCli(['runs', 'show', base, '--lake', lake, '--json'])).epochs.length, 1);

  const cmp = runCli(['runs', 'compare', base, worse, '--lake', lake, '--metric', 'ndcg@20', 'valid:ndcg@20', '--json']);
  assert.equal(cmp.status, 0, cmp.stderr);
  const t = cliJson(cmp);
  assert.deepEqual(t.columns, ['ndcg@20', 'valid:ndcg@20']);
  assert.ok(Math.abs(t.rows[1].relative['ndcg@20'] - -0.01) < 1e-9);
  const human = runCli(['runs', 'compare', base, worse, '--lake', lake, '--metric', 'ndcg@20']);
  assert.match(human.stdout, /0\.2970 \(-1\.00%\)/);

  const missing = runCli(['runs', 'show', '20250101-000000-nope-0000', '--lake', lake]);
  assert.equal(missing.status, 3);
  assert.deepEqual(errorLines(missing.stderr), ['error PP_RUN_NOT_FOUND: run not found: 20250101-000000-nope-0000']);
});

test('runs gate exits 0 at equal or better values and 1 with one PP_GATE_FAILED line on a regression', async () => {
  const { lake, base, same, better, worse } = await lakeWithRuns();
  const unblessed = runCli(['runs', 'gate', '--lake', lake, '--dataset', 'ds', '--split', 's', '--metric', 'ndcg@20']);
  assert.equal(unblessed.status, 3);
  assert.match(errorLines(unblessed.stderr).join('\n'), /^error PP_RUN_NOT_BLESSED: /);

  const bless = runCli(['runs', 'bless', base, '--lake', lake, '--json']);
  assert.equal(bless.status, 0, bless.stderr);
  assert.equal(cliJson(bless).blessing.runId, base);

  for (const id of [same, better]) {
    const pass = runCli(['runs', 'gate', '--lake', lake, '--dataset', 'ds', '--split', 's', '--metric', 'ndcg@20', '--run', id]);
    assert.equal(pass.status, 0, pass.stderr);
    assert.match(pass.stdout, /^gate passed: test ndcg@20 of run /);
  }

  // Without --run the newest finished run (the worse one) is the candidate.
  const fail = runCli(['runs', 'gate', '--lake', lake, '--dataset', 'ds', '--split', 's', '--metric', 'ndcg@20']);
  assert.equal(fail.status, 1);
  const errs = errorLines(fail.stderr);
  assert.equal(errs.length, 1);
  assert.match(errs[0], new RegExp(`^error PP_GATE_FAILED: .*test ndcg@20 of run ${worse} is 0\\.297 vs 0\\.3 of blessed run ${base} \\(-1\\.00%`));
  assert.equal(fail.stdout, '', 'nothing on stdout without --json');
  const failJson = runCli(['runs', 'gate', '--lake', lake, '--dataset', 'ds', '--split', 's', '--metric', 'ndcg@20', '--json']);
  assert.equal(failJson.status, 1);
  assert.equal(cliJson(failJson).error.code, 'PP_GATE_FAILED');
});

test('runs gate --tolerance lets a drop within it pass, as a fraction or a percentage', async () => {
  const { lake, store, base, worse } = await lakeWithRuns();
  await store.bless(base);
  const gate = (...extra: string[]) => runCli(['runs', 'gate', '--lake', lake, '--dataset', 'ds', '--split', 's', '--metric', 'ndcg@20', '--run', worse, ...extra]);
  const loose = gate('--tolerance', '0.01', '--json');
  assert.equal(loose.status, 0, loose.stderr);
  const g = cliJson(loose);
  assert.deepEqual([g.pass, g.candidate, g.blessed, g.value, g.blessedValue, g.tolerance], [true, worse, base, 0.297, 0.3, 0.01]);
  assert.equal(gate('--tolerance', '1%').status, 0);
  assert.equal(gate('--tolerance', '0.5%').status, 1);
  assert.equal(gate('--part', 'valid', '--tolerance', '0.01').status, 0, 'valid 0.307 vs 0.31 is a 0.97% drop');
  const bad = gate('--tolerance', 'lots');
  assert.equal(bad.status, 2);
  assert.match(errorLines(bad.stderr)[0], /^error PP_USAGE: /);
});

test('runs bless replaces the blessed run and gate then compares against the new one', async () => {
  const { lake, base, better, worse } = await lakeWithRuns();
  assert.equal(runCli(['runs', 'bless', base, '--lake', lake]).status, 0);
  const r = runCli(['runs', 'bless', better, '--lake', lake]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `blessed ${better} as the reference of ds/s (scope default); it replaces ${base}`);
  const gate = runCli(['runs', 'gate', '--lake', lake, '--run', worse, '--metric', 'ndcg@20', '--tolerance', '0.01', '--json']);
  assert.equal(gate.status, 1, 'worse is within 1% of the old blessed run, not of the new one');
  const store = await RunStore.open(lake, { create: false });
  assert.deepEqual((await store.blessings({ dataset: 'ds', split: 's' })).map((b) => b.runId), [better, base]);
});

test('runs commands on a lake without a run store fail with PP_LAKE_NOT_FOUND and create nothing', () => {
  const dir = tempDir('runs-cli-empty');
  const r = runCli(['runs', 'list', '--lake', join(dir, 'lake')]);
  assert.equal(r.status, 3);
  assert.match(errorLines(r.stderr)[0], /^error PP_LAKE_NOT_FOUND: .*runs\.duckdb/);
  assert.equal(existsSync(join(dir, 'lake')), false);
  const usage = runCli(['runs', 'gate', '--lake', join(dir, 'lake'), '--metric', 'ndcg@20']);
  assert.equal(usage.status, 2);
  assert.match(errorLines(usage.stderr)[0], /^error PP_USAGE: .*--dataset and --split, or --run/);
});
