import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../lake/duckdb.js';
import { tempDir } from '../test-support/fixtures.js';
import { bootTimeMs, judgeRunning, thisProcess, type JudgeContext, type RunningRun } from './run-owner.js';
import { RunStore } from './run-store.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { lakePaths } from '../lake/paths.js';

const MIN = 60_000;
const NOW = new Date('2026-11-26T12:00:00Z');

/** A reader on host "here" in space "boot/ns", where pid 100 runs with start time "500". */
function ctx(over: Partial<JudgeContext> = {}): JudgeContext {
  return {
    self: { hostname: 'here', pid: 1, token: 'reader', space: 'boot/ns', start: '1' },
    now: NOW,
    staleMs: 10 * MIN,
    bootTimeMs: NOW.getTime() - 60 * MIN,
    probe: (pid) => (pid === 100 ? { state: 'alive', start: '500' } : pid === 101 ? { state: 'zombie' } : { state: 'absent' }),
    exists: (pid) => pid === 100 || pid === 101,
    ...over,
  };
}

function running(owner: Partial<RunningRun['owner']>, over: Partial<RunningRun> = {}): RunningRun {
  return {
    owner: { hostname: 'here', pid: 100, token: 'owner', space: 'boot/ns', start: '500', ...owner },
    startedAt: new Date(NOW.getTime() - 30 * MIN),
    heartbeatAt: new Date(NOW.getTime() - 20 * MIN),
    lastEpochAt: null,
    ...over,
  };
}

test('on the same host a run is interrupted exactly when its pid is gone, a zombie or now another process', () => {
  // Alive with the recorded start time: running, however old its heartbeat (the pid check is certain).
  assert.deepEqual(judgeRunning(running({}), ctx()), { interrupted: false });
  const gone = judgeRunning(running({ pid: 7 }), ctx());
  assert.equal(gone.interrupted, true);
  assert.match(gone.interrupted ? gone.reason : '', /process 7 on here is gone/);
  assert.equal(gone.interrupted && gone.lastSeen.getTime(), NOW.getTime() - 20 * MIN, 'last sign of life: the newest heartbeat');
  const reused = judgeRunning(running({ start: '499' }), ctx());
  assert.match(reused.interrupted ? reused.reason : '', /pid 100 now belongs to another process/);
  assert.equal(judgeRunning(running({ pid: 101 }), ctx()).interrupted, true, 'a killed, unreaped process');
  // Its own process is never judged.
  assert.deepEqual(judgeRunning(running({ pid: 7, token: 'reader' }), ctx()), { interrupted: false });
});

test('when the owner pid exists but its start time is unknown, the heartbeat decides', () => {
  const unreadable = ctx({ probe: () => ({ state: 'unreadable' }) });
  assert.equal(judgeRunning(running({}, { heartbeatAt: new Date(NOW.getTime() - 20 * MIN) }), unreadable).interrupted, true);
  assert.equal(judgeRunning(running({}, { heartbeatAt: new Date(NOW.getTime() - 2 * MIN) }), unreadable).interrupted, false);
  // Not on Linux (no process space): kill(pid, 0) says whether the pid exists at all.
  const noProc = ctx({ self: { hostname: 'here', pid: 1, token: 'reader', space: null, start: null }, probe: () => ({ state: 'unreadable' }) });
  assert.equal(judgeRunning(running({ space: null, start: null, pid: 7 }, { heartbeatAt: NOW }), noProc).interrupted, true);
  assert.equal(judgeRunning(running({ space: null, start: null, pid: 100 }, { heartbeatAt: NOW }), noProc).interrupted, false);
});

test('a run of another host, container or boot is interrupted after the stale timeout without a heartbeat or epoch', () => {
  for (const owner of [{ hostname: 'there' }, { space: 'boot/other-ns' }, { space: 'other-boot/ns' }]) {
    // pid 7 does not exist here, which says nothing about a process in another pid space.
    const stale = judgeRunning(running({ ...owner, pid: 7 }), ctx());
    assert.equal(stale.interrupted, true, JSON.stringify(owner));
    assert.match(stale.interrupted ? stale.reason : '', /no heartbeat from process 7 .* for 20 min \(the limit is 10 min\)/);
    assert.equal(judgeRunning(running({ ...owner, pid: 7 }, { heartbeatAt: new Date(NOW.getTime() - 9 * MIN) }), ctx()).interrupted, false);
    assert.equal(judgeRunning(running({ ...owner, pid: 7 }, { lastEpochAt: new Date(NOW.getTime() - MIN) }), ctx()).interrupted, false, 'an epoch is a sign of life');
  }
  // An owner that writes no heartbeats cannot be judged from afar.
  assert.equal(judgeRunning(running({ hostname: 'there' }, { heartbeatAt: null }), ctx()).interrupted, false);
});

test('a run recorded before owners were is interrupted only when it started on this host before its last boot', () => {
  const legacy = { pid: null, token: null, space: null, start: null };
  const beforeBoot = { startedAt: new Date(NOW.getTime() - 120 * MIN), heartbeatAt: null };
  const v = judgeRunning(running(legacy, beforeBoot), ctx());
  assert.equal(v.interrupted, true);
  assert.match(v.interrupted ? v.reason : '', /started before the machine last booted/);
  assert.equal(judgeRunning(running(legacy, { heartbeatAt: null }), ctx()).interrupted, false, 'started after the boot: may be alive');
  assert.equal(judgeRunning(running({ ...legacy, hostname: 'there' }, beforeBoot), ctx()).interrupted, false, 'another host booted on its own');
});

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const startOpts = (model: string) => ({ dataset: 'ds', split: 's', splitHash: 'h', model, kind: 'train' as const, config: {}, artifactsDir: null });

async function setOwner(lake: string, runId: string, set: string, params: (string | number | null)[]) {
  const db = await openDb({ path: lakePaths(lake).runStore, threads: 1 });
  try {
    await db.conn.run(`UPDATE runs SET ${set} WHERE id = ?`, [...params, runId]);
  } finally {
    db.close();
  }
}

test('a running run whose process is gone is recorded as interrupted on the next read, and bless and gate refuse it', async () => {
  const lake = join(tempDir('runs-interrupted'), 'lake');
  const store = await RunStore.open(lake, { heartbeatMs: 0 });
  const live = await store.startRun(startOpts('mf'));
  const dead = await store.startRun(startOpts('gat'));
  const far = await store.startRun(startOpts('lightgcn'));
  await store.logEpoch(dead.id, { epoch: 1, loss: 0.5, metrics: {}, seconds: 1 });
  const pid = deadPid();
  // Another process of this host that is gone, and one of another host silent for 20 minutes.
  await setOwner(lake, dead.id, 'owner_pid = ?, owner_token = ?', [pid, 'someone-else']);
  const ago = (min: number) => new Date(Date.now() - min * MIN).toISOString();
  await setOwner(lake, far.id, 'hostname = ?, owner_pid = ?, owner_token = ?, heartbeat_at = CAST(? AS TIMESTAMP), started_at = CAST(? AS TIMESTAMP)', [
    'far-away-host',
    4242,
    'far',
    ago(20),
    ago(30),
  ]);

  const byId = new Map((await store.list()).map((r) => [r.id, r]));
  assert.equal(byId.get(live.id)!.status, 'running', 'this process is alive');
  assert.equal(byId.get(live.id)!.ownerPid, process.pid);
  const d = byId.get(dead.id)!;
  assert.equal(d.status, 'interrupted');
  assert.match(d.error!, new RegExp(`^interrupted: process ${pid} on ${hostname()} is gone`));
  const epochAt = (await store.require(dead.id)).epochs[0].loggedAt;
  assert.equal(d.finishedAt, epochAt, 'finished_at is its last sign of life, the logged epoch');
  assert.equal(byId.get(far.id)!.status, 'interrupted');
  assert.match(byId.get(far.id)!.error!, /no heartbeat from process 4242 on far-away-host for 20 min/);

  assert.deepEqual((await store.list({ status: 'interrupted' })).map((r) => r.id).sort(), [dead.id, far.id].sort());
  assert.deepEqual((await store.list({ status: 'running' })).map((r) => r.id), [live.id]);
  await assert.rejects(store.bless(dead.id), (e: Error & { code?: string }) => e.code === 'PP_RUN_INVALID' && /is interrupted/.test(e.message));
  await assert.rejects(store.gate({ runId: dead.id, metric: 'ndcg@20' }), /is interrupted, not finished/);
  // Another process cannot finish it; it stays interrupted (persisted, not just computed on read).
  const db = await openDb({ path: lakePaths(lake).runStore, threads: 1 });
  assert.deepEqual(await db.all(`SELECT status FROM runs WHERE id = '${dead.id}'`), [{ status: 'interrupted' }]);
  db.close();
  await assert.rejects(store.finishRun(dead.id, { valid: {}, test: {}, wallSeconds: 1, peakRssMb: 1 }), /cannot finish run .*: it is interrupted/);
  store.close();
});

test('a live process revives its run that a reader took for interrupted, by its heartbeat or its next write', async () => {
  const lake = join(tempDir('runs-revive'), 'lake');
  const store = await RunStore.open(lake, { heartbeatMs: 40 });
  const run = await store.startRun(startOpts('mf'));
  const first = (await store.require(run.id)).heartbeatAt!;
  let beat = first;
  for (let i = 0; i < 200 && beat === first; i++) {
    await new Promise((r) => setTimeout(r, 20));
    beat = (await store.require(run.id)).heartbeatAt!;
  }
  assert.ok(beat > first, `the timer writes heartbeats (${first} → ${beat})`);
  // No more beats; opening the store again queues behind a beat in flight: the file is free for the edits below.
  store.close();
  const again = await RunStore.open(lake, { heartbeatMs: 0 });

  // As a reader on another host records it after a long silence:
  await setOwner(lake, run.id, `status = 'interrupted', finished_at = CAST(? AS TIMESTAMP), error = 'interrupted: no heartbeat'`, [new Date().toISOString()]);
  assert.equal((await again.require(run.id)).status, 'interrupted');
  await again.heartbeat(run.id);
  const revived = await again.require(run.id);
  assert.equal(revived.status, 'running', 'its heartbeat revived it');
  assert.equal(revived.error, null);
  assert.equal(revived.finishedAt, null);

  await setOwner(lake, run.id, `status = 'interrupted'`, []);
  const done = await again.finishRun(run.id, { valid: {}, test: { 'ndcg@20': 0.2 }, wallSeconds: 1, peakRssMb: 1 });
  assert.equal(done.status, 'finished', 'its finish revived it');
  assert.equal(done.error, null);
  // A heartbeat never touches a finished run.
  await again.heartbeat(run.id);
  assert.equal((await again.require(run.id)).status, 'finished');
  again.close();
});

test('a run store of schema version 1 opens, keeps its runs and works, with its dead running runs judged', async () => {
  const lake = tempDir('runs-v1');
  const path = lakePaths(lake).runStore;
  const db = await openDb({ path, threads: 1 });
  await db.run('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL, package_version VARCHAR)');
  for (const sql of MIGRATIONS[0]) await db.run(sql);
  await db.run(`INSERT INTO schema_version VALUES (1, now(), '0.0.9')`);
  const row = (id: string, status: string, host: string, started: string, extra = 'NULL, NULL') =>
    `('${id}', 'ds', 's', 'h', 'mf', 'train', '${status}', '{"lr":0.01}', 'c', '${host}', TIMESTAMP '${started}', ${extra})`;
  const rebooted = new Date(bootTimeMs() - 3600_000).toISOString().replace('T', ' ').replace('Z', '');
  await db.run(
    `INSERT INTO runs (id, dataset, split, split_hash, model, kind, status, config, config_hash, hostname, started_at, finished_at, wall_seconds) VALUES
     ${row('20250101-000000-mf-aaaa', 'finished', hostname(), '2025-01-01 00:00:00', `TIMESTAMP '2025-01-01 00:01:00', 60`)},
     ${row('20250101-000001-mf-bbbb', 'running', hostname(), rebooted)},
     ${row('20250101-000002-mf-cccc', 'running', 'another-host', '2025-01-01 00:00:02')},
     ${row('20250101-000003-mf-dddd', 'failed', hostname(), '2025-01-01 00:00:03')}`,
  );
  await db.run(`INSERT INTO run_metrics VALUES ('20250101-000000-mf-aaaa', 'ds', 's', 'mf', 'test', 'ndcg@20', 0.25)`);
  await db.run(`INSERT INTO run_epochs VALUES ('20250101-000000-mf-aaaa', 1, 0.4, '{"ndcg@20":0.2}', 1.5, 0.01, TIMESTAMP '2025-01-01 00:00:30')`);
  db.close();

  const store = await RunStore.open(lake, { create: false, heartbeatMs: 0 });
  const runs = new Map((await store.list()).map((r) => [r.id, r]));
  assert.equal(runs.size, 4);
  const old = await store.require('20250101-000000-mf-aaaa');
  assert.equal(old.status, 'finished');
  assert.equal(old.metrics.test['ndcg@20'], 0.25);
  assert.deepEqual(old.config, { lr: 0.01 });
  assert.equal(old.epochs.length, 1);
  assert.equal(old.finishedAt, '2025-01-01T00:01:00.000Z');
  assert.equal(old.ownerPid, null);
  assert.equal(runs.get('20250101-000001-mf-bbbb')!.status, 'interrupted', 'started here before the last boot');
  assert.equal(runs.get('20250101-000002-mf-cccc')!.status, 'running', 'of another host, recorded without an owner: unknown');
  assert.equal(runs.get('20250101-000003-mf-dddd')!.status, 'failed');
  assert.equal((await store.bless(old.id)).changed, true);
  const fresh = await store.startRun(startOpts('mf'));
  await store.logEpoch(fresh.id, { epoch: 1, loss: 0.3, metrics: { 'ndcg@20': 0.3 }, seconds: 1 });
  const done = await store.finishRun(fresh.id, { valid: {}, test: { 'ndcg@20': 0.3 }, wallSeconds: 2, peakRssMb: 10 });
  assert.equal(done.status, 'finished');
  assert.equal((await store.gate({ dataset: 'ds', split: 's', metric: 'ndcg@20' })).pass, true);
  // version 3: a search run (tune / train --model auto) is a parent of train runs
  const search = await store.startRun({ ...startOpts('mf'), kind: 'search' });
  const trial = await store.startRun({ ...startOpts('mf'), parentRunId: search.id });
  assert.equal((await store.require(search.id)).kind, 'search');
  assert.equal((await store.require(trial.id)).parentRunId, search.id);
  store.close();

  const after = await openDb({ path, threads: 1 });
  assert.deepEqual(await after.all('SELECT max(version) AS v FROM schema_version'), [{ v: SCHEMA_VERSION }]);
  assert.deepEqual(await after.all(`SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE table_name IN ('runs_v1', 'runs_v2')`), [{ n: 0 }]);
  await assert.rejects(after.run(`UPDATE runs SET kind = 'other'`), /CHECK constraint/);
  await assert.rejects(after.run(`UPDATE runs SET status = 'lost'`), /CHECK constraint/);
  after.close();
  assert.equal(thisProcess.pid, process.pid);
});
