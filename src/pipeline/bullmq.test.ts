import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifactHashes, cli, cliAsync, cliBackground, redisTestbed, smallPipelineFile, statuses, waitFor } from './testkit.js';
import { lakePaths } from '../lake/paths.js';

/**
 * Distributed mode against a real Redis (PLOTPOINTE_TEST_REDIS, e.g. redis://127.0.0.1:6379; `.ci/run` starts
 * one): the demo pipeline on 2 `plotpointe worker` processes gives the same artifacts as the local executor,
 * and a worker SIGKILLed mid-job has its job retried by the other (short lock for the test).
 */
const { url, skip, prefix, dir, lake, workers, startWorker: start } = await redisTestbed('bullmq');
const startWorker = () => start(['--lock-ms', '2000', '--stalled-ms', '1000']);

let localHashes: Record<string, string> = {};
let localKeys: Record<string, string> = {};
const keysOf = (r: { steps?: Array<{ step: string; config_hash?: string }> }) => Object.fromEntries((r.steps ?? []).map((s) => [s.step, String(s.config_hash)]));

/**
 * Compares two runs' artifacts step by step, for the steps configured alike (same config slice and args) in
 * both. A step whose slice differs was configured differently — another session changed a default in the
 * shared tree between the two runs — and is reported, not compared (its inputs still are, through the
 * upstream steps). Returns the compared steps.
 */
function assertSameArtifacts(t: { diagnostic(m: string): void }, hashes: Record<string, string>, keys: Record<string, string>): string[] {
  const compared: string[] = [];
  for (const step of Object.keys(localKeys)) {
    if (keys[step] !== localKeys[step]) {
      t.diagnostic(`${step}: config slice differs between the runs (a default changed meanwhile); not compared`);
      continue;
    }
    const pick = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith(`${step}:`)));
    assert.deepEqual(pick(hashes), pick(localHashes), `artifacts of ${step}`);
    compared.push(step);
  }
  for (const core of ['demo', 'ingest', 'split', 'embed-text', 'train']) assert.ok(compared.includes(core), `${core} compared`);
  t.diagnostic(`compared ${Object.keys(hashes).length} files of ${compared.length} steps: ${compared.join(', ')}`);
  return compared;
}

test('the demo pipeline on 2 workers (BullMQ) writes the same artifacts as the local executor', { skip }, async (t) => {
  const file = smallPipelineFile(dir, lake);
  const local = cli(['pipeline', 'run', '--config', file, '--json']);
  assert.equal(local.status, 0, local.stderr);
  localHashes = await artifactHashes(local.json);
  localKeys = keysOf(local.json);
  assert.ok(Object.keys(localHashes).length > 20, `files compared: ${Object.keys(localHashes).length}`);
  rmSync(lake, { recursive: true, force: true });

  startWorker();
  startWorker();
  const dist = await cliAsync(['pipeline', 'run', '--config', file, '--executor', 'bullmq', '--redis', url!, '--prefix', prefix, '--json']);
  assert.equal(dist.status, 0, dist.stderr + workers.map((w) => w.stderr()).join('\n'));
  assert.equal(dist.json.executor, 'bullmq');
  assert.ok(Object.values(statuses(dist.json)).every((s) => s === 'ran'), JSON.stringify(statuses(dist.json)));
  const jobsRun = workers.map((w) => (w.stderr().match(/ \(job /g) ?? []).length);
  assert.equal(jobsRun[0] + jobsRun[1], dist.json.steps!.length, `one job per step: ${jobsRun} (worker logs in ${dir})`);
  assertSameArtifacts(t, await artifactHashes(dist.json), keysOf(dist.json));
});

test('a worker SIGKILLed mid-job loses the job to the other worker (stalled → retried) and the run completes', { skip }, async (t) => {
  assert.ok(Object.keys(localHashes).length > 0, 'needs the previous test');
  const file = smallPipelineFile(dir, lake);
  const live = workers.filter((w) => w.child.exitCode === null);
  assert.equal(live.length, 2);
  const run = cliBackground(['pipeline', 'run', '--force', '--config', file, '--executor', 'bullmq', '--redis', url!, '--prefix', prefix, '--json']);
  let victim: (typeof live)[number] | undefined;
  const before = live.map((w) => w.stderr().length);
  const trainJob = (w: (typeof live)[number], from = 0) => /worker: train \(job (train-[0-9a-f]+)/.exec(w.stderr().slice(from))?.[1];
  await waitFor(() => (victim = live.find((w, i) => trainJob(w, before[i]))) !== undefined, 300_000, 'a worker to start the train job');
  const jobId = trainJob(victim!, before[live.indexOf(victim!)])!;
  // Kill it once the step process runs (its command line is the first line of the step log).
  const newestRun = () => readdirSync(lakePaths(lake).pipeline.dir).filter((d) => /^\d{8}-/.test(d)).sort().pop()!;
  const logPath = () => lakePaths(lake).pipeline.run(newestRun()).log('train');
  await waitFor(() => existsSync(logPath()) && /^\$ plotpointe train /m.test(readFileSync(logPath(), 'utf8')), 60_000, 'the train step process');
  victim!.child.kill('SIGKILL');
  const status = await run.exit;
  assert.equal(status, 0, run.stderr());
  const report = JSON.parse(run.stdout().trimEnd().split('\n').pop()!);
  assert.equal(statuses(report).train, 'ran');
  const survivor = live.find((w) => w !== victim)!;
  assert.ok(survivor.stderr().includes(`worker: train (job ${jobId}`), `the other worker ran the stalled job ${jobId} again (worker logs in ${dir})`);
  const trainLog = readFileSync(lakePaths(lake).pipeline.run(report.run).log('train'), 'utf8');
  assert.equal(trainLog.match(/^\$ plotpointe train /gm)?.length, 2, 'two attempts in the step log');
  assertSameArtifacts(t, await artifactHashes(report), keysOf(report));
});
