import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isPlotPointeError, type ErrorCode } from '../errors.js';
import { openDb } from '../lake/duckdb.js';
import { codeVersion } from '../lake/manifest.js';
import { tempDir } from '../test-support/fixtures.js';
import { RUN_ID_RE } from './run-id.js';
import { RunStore, type RunDetails } from './run-store.js';
import { SCHEMA_VERSION } from './schema.js';
import { datasetPaths, lakePaths } from '../lake/paths.js';

const code = (c: ErrorCode) => (e: unknown) => isPlotPointeError(e, c);

/** A finished run with the given test metrics, started at `at` (seconds after a fixed origin). */
async function finishedRun(
  store: RunStore,
  o: { model?: string; dataset?: string; split?: string; at: number; test: Record<string, number>; valid?: Record<string, number>; splitHash?: string | null },
): Promise<RunDetails> {
  const run = await store.startRun({
    dataset: o.dataset ?? 'ds',
    split: o.split ?? 's',
    splitHash: o.splitHash === undefined ? 'hash-1' : o.splitHash,
    model: o.model ?? 'lightgcn',
    kind: 'train',
    config: { model: o.model ?? 'lightgcn' },
    artifactsDir: null,
    now: new Date(Date.UTC(2025, 0, 1) + o.at * 1000),
  });
  return store.finishRun(run.id, { valid: o.valid ?? {}, test: o.test, wallSeconds: 1, peakRssMb: 100 });
}

test('a run is recorded with its provenance, epochs and final metrics, and reads back the same', async () => {
  const lake = join(tempDir('runs-roundtrip'), 'lake');
  const store = await RunStore.open(lake);
  assert.ok(existsSync(lakePaths(lake).runStore), 'the store is created in the lake');
  const config = { model: { name: 'lightgcn', layers: 3 }, train: { lr: 0.001, epochs: 2 }, tags: ['a', 'b'] };
  const started = await store.startRun({
    dataset: 'gowalla',
    split: 'ratio-80',
    splitHash: 'abc123',
    model: 'lightgcn',
    kind: 'train',
    config,
    artifactsDir: datasetPaths(lake, 'gowalla').run('r1').dir,
  });
  assert.match(started.id, RUN_ID_RE);
  assert.match(started.id, /-lightgcn-/);
  assert.equal(started.status, 'running');
  assert.equal(started.gitCommit, codeVersion().commit);
  assert.equal(started.packageVersion, codeVersion().version);
  assert.equal(started.hostname, hostname());
  assert.equal(started.nodeVersion, process.version);
  assert.ok(Math.abs(Date.parse(started.startedAt) - Date.now()) < 60_000);

  await store.logEpoch(started.id, { epoch: 0, loss: 0.69, metrics: { 'recall@20': 0.05 }, seconds: 2.5, lr: 0.001 });
  await store.logEpoch(started.id, { epoch: 1, loss: 0.41, metrics: { 'recall@20': 0.09 }, seconds: 2.4 });
  const finished = await store.finishRun(started.id, {
    valid: { 'ndcg@20': 0.11, 'recall@20': 0.1 },
    test: { 'ndcg@20': 0.12, 'recall@20': 0.13 },
    extra: { users: 10 },
    artifacts: { model: 'model.bin' },
    wallSeconds: 5.25,
    peakRssMb: 321.5,
    bestEpoch: 1,
  });
  assert.equal(finished.status, 'finished');

  const got = await store.get(started.id);
  assert.ok(got);
  assert.deepEqual(got.config, config);
  assert.equal(got.dataset, 'gowalla');
  assert.equal(got.split, 'ratio-80');
  assert.equal(got.splitHash, 'abc123');
  assert.equal(got.kind, 'train');
  assert.equal(got.artifactsDir, datasetPaths(lake, 'gowalla').run('r1').dir);
  assert.deepEqual(got.artifacts, { model: 'model.bin' });
  assert.deepEqual(got.extra, { users: 10 });
  assert.deepEqual(got.metrics, { valid: { 'ndcg@20': 0.11, 'recall@20': 0.1 }, test: { 'ndcg@20': 0.12, 'recall@20': 0.13 } });
  assert.equal(got.wallSeconds, 5.25);
  assert.equal(got.peakRssMb, 321.5);
  assert.equal(got.bestEpoch, 1);
  assert.ok(got.finishedAt && got.finishedAt >= got.startedAt);
  assert.deepEqual(
    got.epochs.map((e) => [e.epoch, e.loss, e.metrics['recall@20'], e.seconds, e.lr]),
    [
      [0, 0.69, 0.05, 2.5, 0.001],
      [1, 0.41, 0.09, 2.4, null],
    ],
  );
  assert.equal(await store.get('20250101-000000-nope-0000'), null);
  store.close();

  // The tables serve plain SQL analytics.
  const db = await openDb({ path: lakePaths(lake).runStore });
  try {
    assert.deepEqual(await db.all("SELECT model, value FROM run_metrics WHERE metric = 'ndcg@20' AND part = 'test'"), [{ model: 'lightgcn', value: 0.12 }]);
    assert.deepEqual(await db.all("SELECT CAST(test_metrics->>'$.\"recall@20\"' AS DOUBLE) AS r, config->>'$.model.name' AS m FROM runs"), [
      { r: 0.13, m: 'lightgcn' },
    ]);
    assert.deepEqual(await db.all('SELECT max(version) AS v FROM schema_version'), [{ v: SCHEMA_VERSION }]);
  } finally {
    db.close();
  }
});

test('list filters by dataset, model and status, newest first, up to the limit', async () => {
  const store = await RunStore.open(tempDir('runs-list'));
  const a = await finishedRun(store, { at: 1, model: 'mf', test: { 'ndcg@20': 0.1 } });
  const b = await finishedRun(store, { at: 2, model: 'lightgcn', test: { 'ndcg@20': 0.2 } });
  const c = await finishedRun(store, { at: 3, model: 'lightgcn', dataset: 'other', test: { 'ndcg@20': 0.3 } });
  const d = await store.startRun({ dataset: 'ds', split: 's', splitHash: null, model: 'mf', kind: 'eval', config: {}, artifactsDir: null, now: new Date(Date.UTC(2025, 0, 1, 0, 0, 4)) });
  assert.deepEqual((await store.list()).map((r) => r.id), [d.id, c.id, b.id, a.id]);
  assert.deepEqual((await store.list({ dataset: 'ds' })).map((r) => r.id), [d.id, b.id, a.id]);
  assert.deepEqual((await store.list({ model: 'mf' })).map((r) => r.id), [d.id, a.id]);
  assert.deepEqual((await store.list({ status: 'running' })).map((r) => r.id), [d.id]);
  assert.deepEqual((await store.list({ kind: 'eval' })).map((r) => r.id), [d.id]);
  assert.deepEqual((await store.list({ limit: 2 })).map((r) => r.id), [d.id, c.id]);
  assert.deepEqual((await store.list({ dataset: 'ds', model: 'lightgcn' }))[0].metrics.test, { 'ndcg@20': 0.2 });
});

test('run ids are unique even when many runs of one model start in the same second', async () => {
  const store = await RunStore.open(tempDir('runs-ids'));
  const now = new Date(Date.UTC(2025, 5, 1, 12, 0, 0));
  const ids: string[] = [];
  for (let i = 0; i < 60; i++) {
    ids.push((await store.startRun({ dataset: 'ds', split: 's', splitHash: null, model: 'mf', kind: 'train', config: {}, artifactsDir: null, now })).id);
  }
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.ok(id.startsWith('20250601-120000-mf-'), id);
});

test('a failed run keeps its message and wall time and can no longer log or finish', async () => {
  const store = await RunStore.open(tempDir('runs-fail'));
  const run = await store.startRun({ dataset: 'ds', split: 's', splitHash: null, model: 'gat', kind: 'train', config: {}, artifactsDir: null });
  const failed = await store.failRun(run.id, 'out of memory at epoch 3', { peakRssMb: 7000 });
  assert.equal(failed.status, 'failed');
  assert.equal(failed.error, 'out of memory at epoch 3');
  assert.equal(failed.peakRssMb, 7000);
  assert.ok(failed.wallSeconds !== null && failed.wallSeconds >= 0);
  assert.ok(failed.finishedAt);
  await assert.rejects(store.finishRun(run.id, { valid: {}, test: {}, wallSeconds: 1, peakRssMb: 1 }), code('PP_RUN_INVALID'));
  await assert.rejects(store.logEpoch(run.id, { epoch: 0, loss: 1, metrics: {}, seconds: 1 }), code('PP_RUN_INVALID'));
  await assert.rejects(store.failRun(run.id, 'again'), code('PP_RUN_INVALID'));
  assert.deepEqual((await store.list({ status: 'failed' })).map((r) => r.id), [run.id]);
});

test('operations on an unknown run are PP_RUN_NOT_FOUND; malformed metrics are PP_RUN_INVALID', async () => {
  const store = await RunStore.open(tempDir('runs-unknown'));
  const ghost = '20250101-000000-ghost-0000';
  await assert.rejects(store.logEpoch(ghost, { epoch: 0, loss: 1, metrics: {}, seconds: 1 }), code('PP_RUN_NOT_FOUND'));
  await assert.rejects(store.finishRun(ghost, { valid: {}, test: {}, wallSeconds: 1, peakRssMb: 1 }), code('PP_RUN_NOT_FOUND'));
  await assert.rejects(store.failRun(ghost, 'x'), code('PP_RUN_NOT_FOUND'));
  await assert.rejects(store.bless(ghost), code('PP_RUN_NOT_FOUND'));
  await assert.rejects(store.compare([ghost]), code('PP_RUN_NOT_FOUND'));
  await assert.rejects(store.require(ghost), code('PP_RUN_NOT_FOUND'));
  await assert.rejects(
    store.startRun({ dataset: 'ds', split: 's', splitHash: null, model: 'mf', kind: 'eval', config: {}, artifactsDir: null, parentRunId: ghost }),
    code('PP_RUN_NOT_FOUND'),
  );
  const run = await store.startRun({ dataset: 'ds', split: 's', splitHash: null, model: 'mf', kind: 'train', config: {}, artifactsDir: null });
  await assert.rejects(
    store.finishRun(run.id, { valid: {}, test: { 'ndcg@20': '0.1' as unknown as number }, wallSeconds: 1, peakRssMb: 1 }),
    code('PP_RUN_INVALID'),
  );
  await assert.rejects(store.logEpoch(run.id, { epoch: -1, loss: 1, metrics: {}, seconds: 1 }), code('PP_RUN_INVALID'));
  await assert.rejects(
    store.startRun({ dataset: '../x', split: 's', splitHash: null, model: 'mf', kind: 'train', config: {}, artifactsDir: null }),
    code('PP_USAGE'),
  );
  assert.equal((await store.get(run.id))?.status, 'running', 'a refused finish changes nothing');
});

test('compare lists the runs in the given order with deltas against the first run', async () => {
  const store = await RunStore.open(tempDir('runs-compare'));
  const base = await finishedRun(store, { at: 1, model: 'mf', test: { 'ndcg@20': 0.2, 'recall@20': 0.3 }, valid: { 'ndcg@20': 0.25 } });
  const better = await finishedRun(store, { at: 2, model: 'lightgcn', test: { 'ndcg@20': 0.25, 'recall@20': 0.27 }, valid: { 'ndcg@20': 0.3 } });
  const t = await store.compare([base.id, better.id]);
  assert.equal(t.baseline, base.id);
  assert.deepEqual(t.columns, ['ndcg@20', 'recall@20']);
  assert.deepEqual(t.rows.map((r) => [r.runId, r.model]), [
    [base.id, 'mf'],
    [better.id, 'lightgcn'],
  ]);
  assert.ok(Math.abs((t.rows[1].deltas['ndcg@20'] ?? 0) - 0.05) < 1e-12);
  assert.ok(Math.abs((t.rows[1].relative['recall@20'] ?? 0) - -0.1) < 1e-12);
  const chosen = await store.compare([better.id, base.id], ['valid:ndcg@20']);
  assert.deepEqual(chosen.columns, ['valid:ndcg@20']);
  assert.equal(chosen.baseline, better.id);
  assert.ok(Math.abs((chosen.rows[1].deltas['valid:ndcg@20'] ?? 0) - -0.05) < 1e-12);
});

test('blessing keeps one current run per dataset/split and scope, and the history of earlier ones', async () => {
  const store = await RunStore.open(tempDir('runs-bless'));
  const r1 = await finishedRun(store, { at: 1, test: { 'ndcg@20': 0.2 } });
  const r2 = await finishedRun(store, { at: 2, test: { 'ndcg@20': 0.21 } });
  const other = await finishedRun(store, { at: 3, split: 'loo', test: { 'ndcg@20': 0.5 } });
  assert.equal(await store.blessed('ds', 's'), null);

  const b1 = await store.bless(r1.id, { note: 'first baseline' });
  assert.equal(b1.changed, true);
  assert.equal(b1.blessing.previousRunId, null);
  assert.equal((await store.blessed('ds', 's'))?.id, r1.id);
  const b2 = await store.bless(r2.id);
  assert.equal(b2.blessing.previousRunId, r1.id);
  assert.equal((await store.blessed('ds', 's'))?.id, r2.id);
  const again = await store.bless(r2.id);
  assert.equal(again.changed, false, 'blessing the blessed run again records nothing');
  await store.bless(other.id);
  await store.bless(r1.id, { scope: 'quick' });

  assert.equal((await store.blessed('ds', 's'))?.id, r2.id, 'other splits and scopes do not replace it');
  assert.equal((await store.blessed('ds', 'loo'))?.id, other.id);
  assert.equal((await store.blessed('ds', 's', 'quick'))?.id, r1.id);
  const history = await store.blessings({ dataset: 'ds', split: 's', scope: 'default' });
  assert.deepEqual(history.map((b) => [b.runId, b.previousRunId, b.note]), [
    [r2.id, r1.id, null],
    [r1.id, null, 'first baseline'],
  ]);
  assert.equal((await store.blessings()).length, 4);
  assert.deepEqual((await store.get(r1.id))?.blessedIn, ['quick']);
  assert.deepEqual((await store.get(r2.id))?.blessedIn, ['default']);
});

test('only a finished run can be blessed', async () => {
  const store = await RunStore.open(tempDir('runs-bless-running'));
  const run = await store.startRun({ dataset: 'ds', split: 's', splitHash: null, model: 'mf', kind: 'train', config: {}, artifactsDir: null });
  await assert.rejects(store.bless(run.id), code('PP_RUN_INVALID'));
});

test('the gate passes at equal or better metric values and fails on a regression', async () => {
  const store = await RunStore.open(tempDir('runs-gate'));
  const blessed = await finishedRun(store, { at: 1, test: { 'ndcg@20': 0.3 }, valid: { 'ndcg@20': 0.4 } });
  await store.bless(blessed.id);
  const same = await finishedRun(store, { at: 2, test: { 'ndcg@20': 0.3 }, valid: { 'ndcg@20': 0.3 } });
  const better = await finishedRun(store, { at: 3, test: { 'ndcg@20': 0.31 }, valid: { 'ndcg@20': 0.41 } });
  const worse = await finishedRun(store, { at: 4, test: { 'ndcg@20': 0.297 }, valid: { 'ndcg@20': 0.5 } });

  const eq = await store.gate({ runId: same.id, dataset: 'ds', split: 's', metric: 'ndcg@20' });
  assert.deepEqual([eq.pass, eq.candidate, eq.blessed, eq.value, eq.blessedValue, eq.delta, eq.relative], [true, same.id, blessed.id, 0.3, 0.3, 0, 0]);
  assert.equal((await store.gate({ runId: better.id, dataset: 'ds', split: 's', metric: 'ndcg@20' })).pass, true);
  const bad = await store.gate({ runId: worse.id, dataset: 'ds', split: 's', metric: 'ndcg@20' });
  assert.equal(bad.pass, false);
  assert.ok(Math.abs((bad.relative ?? 0) - -0.01) < 1e-9);
  assert.equal((await store.gate({ runId: worse.id, dataset: 'ds', split: 's', metric: 'ndcg@20', tolerance: 0.01 })).pass, true, 'a 1% drop is within 1%');
  assert.equal((await store.gate({ runId: worse.id, dataset: 'ds', split: 's', metric: 'ndcg@20', tolerance: 0.005 })).pass, false);
  assert.equal((await store.gate({ runId: same.id, dataset: 'ds', split: 's', metric: 'ndcg@20', part: 'valid' })).pass, false, 'the valid part is gated when asked');
  assert.equal((await store.gate({ runId: worse.id, metric: 'ndcg@20', part: 'valid' })).pass, true, 'dataset and split come from the run');
});

test('without a run id the gate takes the newest finished run of the dataset/split', async () => {
  const store = await RunStore.open(tempDir('runs-gate-newest'));
  const blessed = await finishedRun(store, { at: 1, test: { 'ndcg@20': 0.3 } });
  await store.bless(blessed.id);
  const newest = await finishedRun(store, { at: 5, test: { 'ndcg@20': 0.2 } });
  await finishedRun(store, { at: 6, split: 'other', test: { 'ndcg@20': 0.9 } });
  await finishedRun(store, { at: 3, model: 'mf', test: { 'ndcg@20': 0.35 } });
  await store.startRun({ dataset: 'ds', split: 's', splitHash: null, model: 'lightgcn', kind: 'train', config: {}, artifactsDir: null, now: new Date(Date.UTC(2026, 0, 1)) });
  const g = await store.gate({ dataset: 'ds', split: 's', metric: 'ndcg@20' });
  assert.equal(g.candidate, newest.id, 'not the running run, not another split');
  assert.equal(g.pass, false);
  const mf = await store.gate({ dataset: 'ds', split: 's', metric: 'ndcg@20', model: 'mf' });
  assert.equal(mf.pass, true);
});

test('the gate without a blessed run is PP_RUN_NOT_BLESSED; an unknown or unfinished candidate is refused', async () => {
  const store = await RunStore.open(tempDir('runs-gate-errors'));
  const run = await finishedRun(store, { at: 1, test: { 'ndcg@20': 0.3 } });
  await assert.rejects(store.gate({ dataset: 'ds', split: 's', metric: 'ndcg@20' }), code('PP_RUN_NOT_BLESSED'));
  await store.bless(run.id);
  await assert.rejects(store.gate({ runId: '20250101-000000-nope-0000', dataset: 'ds', split: 's', metric: 'ndcg@20' }), code('PP_RUN_NOT_FOUND'));
  await assert.rejects(store.gate({ dataset: 'ds', split: 'no-runs', metric: 'ndcg@20' }), code('PP_RUN_NOT_FOUND'));
  await assert.rejects(store.gate({ runId: run.id, dataset: 'ds', split: 's', metric: 'recall@50' }), code('PP_RUN_INVALID'));
  await assert.rejects(store.gate({ runId: run.id, dataset: 'ds', split: 'other', metric: 'ndcg@20' }), code('PP_RUN_INVALID'));
  const running = await store.startRun({ dataset: 'ds', split: 's', splitHash: null, model: 'mf', kind: 'train', config: {}, artifactsDir: null });
  await assert.rejects(store.gate({ runId: running.id, metric: 'ndcg@20' }), code('PP_RUN_INVALID'));
});

test('the gate refuses to compare runs on different split contents unless told to', async () => {
  const store = await RunStore.open(tempDir('runs-gate-hash'));
  const blessed = await finishedRun(store, { at: 1, splitHash: 'hash-1', test: { 'ndcg@20': 0.3 } });
  await store.bless(blessed.id);
  const resplit = await finishedRun(store, { at: 2, splitHash: 'hash-2', test: { 'ndcg@20': 0.4 } });
  await assert.rejects(store.gate({ runId: resplit.id, metric: 'ndcg@20' }), (e) => isPlotPointeError(e, 'PP_RUN_INVALID') && /split hash/.test(e.message));
  assert.equal((await store.gate({ runId: resplit.id, metric: 'ndcg@20', allowSplitMismatch: true })).pass, true);
});

test('a NaN final metric is kept as NaN and fails the gate', async () => {
  const store = await RunStore.open(tempDir('runs-nan'));
  const blessed = await finishedRun(store, { at: 1, test: { 'ndcg@20': 0.3 } });
  await store.bless(blessed.id);
  const diverged = await finishedRun(store, { at: 2, test: { 'ndcg@20': NaN } });
  assert.ok(Number.isNaN((await store.get(diverged.id))?.metrics.test['ndcg@20']));
  assert.equal((await store.gate({ runId: diverged.id, metric: 'ndcg@20' })).pass, false);
});

test('readers do not create a missing store, and a store from a newer schema is refused', async () => {
  const dir = tempDir('runs-schema');
  await assert.rejects(RunStore.open(join(dir, 'nope'), { create: false }), code('PP_LAKE_NOT_FOUND'));
  assert.equal(existsSync(join(dir, 'nope')), false);
  const store = await RunStore.open(dir);
  store.close();
  await assert.rejects(store.list(), code('PP_INTERNAL'), 'a closed store is not used');
  const reopened = await RunStore.open(dir, { create: false });
  assert.deepEqual(await reopened.list(), []);
  const db = await openDb({ path: lakePaths(dir).runStore });
  await db.run(`INSERT INTO schema_version VALUES (${SCHEMA_VERSION + 1}, now(), 'future')`);
  db.close();
  await assert.rejects(RunStore.open(dir), (e) => isPlotPointeError(e, 'PP_RUN_INVALID') && /newer/.test(e.message));
});

test('concurrent calls within one process on one store file are queued, not run over each other', async () => {
  const lake = tempDir('runs-inproc');
  const [s1, s2] = await Promise.all([RunStore.open(lake), RunStore.open(lake)]);
  const started = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      (i % 2 ? s1 : s2).startRun({ dataset: 'ds', split: 's', splitHash: null, model: `m${i}`, kind: 'train', config: { i }, artifactsDir: null }),
    ),
  );
  await Promise.all(started.map((r, i) => (i % 2 ? s2 : s1).finishRun(r.id, { valid: {}, test: { x: i }, wallSeconds: 1, peakRssMb: 1 })));
  const all = await s1.list();
  assert.equal(all.length, 12);
  assert.ok(all.every((r) => r.status === 'finished'));
});
