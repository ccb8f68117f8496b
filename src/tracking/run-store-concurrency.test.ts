import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { isPlotPointeError } from '../errors.js';
import { repoRoot, tempDir } from '../test-support/fixtures.js';
import { RunStore } from './run-store.js';
import { ThreadedRunStore } from './run-store-thread.js';

const worker = join(repoRoot, 'src', 'tracking', 'store-worker.testkit.ts');

interface Child {
  /** Resolves with the first stdout line equal to or starting with `text`. */
  waitFor(text: string): Promise<string>;
  done: Promise<{ status: number | null; stdout: string; stderr: string }>;
}

/** Starts the store worker in another process. */
function startWorker(args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', worker, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: (line: string) => void }[] = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    for (const w of [...waiters]) {
      const line = stdout.split('\n').find((l) => l.startsWith(w.text));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (status) => resolve({ status, stdout, stderr })),
  );
  return {
    done,
    waitFor: (text) =>
      new Promise((resolve, reject) => {
        waiters.push({ text, resolve });
        void done.then((r) => reject(new Error(`worker ended (${r.status}) before printing "${text}": ${r.stderr}`)));
      }),
  };
}

test('two processes recording runs at the same time both succeed, each waiting for the other to release the file', async () => {
  const lake = tempDir('runs-2proc');
  (await RunStore.open(lake)).close();
  const a = startWorker(['write', lake, '8', 'procA']);
  const b = startWorker(['write', lake, '8', 'procB']);
  const [ra, rb] = await Promise.all([a.done, b.done]);
  assert.equal(ra.status, 0, ra.stderr);
  assert.equal(rb.status, 0, rb.stderr);
  const report = (r: { stdout: string }) => JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('done '))!.slice(5)) as { ids: string[]; lockWaits: number };
  const [pa, pb] = [report(ra), report(rb)];
  assert.ok(pa.lockWaits + pb.lockWaits > 0, 'the processes met each other\'s lock and waited');
  const store = await RunStore.open(lake);
  const runs = await store.list();
  assert.equal(runs.length, 16);
  assert.deepEqual(new Set(runs.map((r) => r.id)), new Set([...pa.ids, ...pb.ids]));
  assert.ok(runs.every((r) => r.status === 'finished'));
  assert.deepEqual(new Set(runs.map((r) => r.model)), new Set(['procA', 'procB']));
  for (const r of runs) assert.equal((await store.get(r.id))?.epochs.length, 2);
});

test('a call waits while another process holds the store and proceeds once it is released', async () => {
  const lake = tempDir('runs-wait');
  const store = await RunStore.open(lake);
  const holder = startWorker(['hold', lake, '1200']);
  await holder.waitFor('locked');
  const t0 = Date.now();
  const run = await store.startRun({ dataset: 'ds', split: 's', splitHash: null, model: 'mf', kind: 'train', config: {}, artifactsDir: null });
  const waited = Date.now() - t0;
  const h = await holder.done;
  assert.equal(h.status, 0, h.stderr);
  assert.ok(waited > 300, `the call waited for the lock (${waited} ms)`);
  assert.equal((await store.get(run.id))?.status, 'running');
});

test('when another process holds the store longer than the lock timeout, the error is PP_RUN_STORE_LOCKED', async () => {
  const lake = tempDir('runs-locked');
  (await RunStore.open(lake)).close();
  const store = await RunStore.open(lake, { lockTimeoutMs: 400 });
  const holder = startWorker(['hold', lake, '3000']);
  await holder.waitFor('locked');
  const t0 = Date.now();
  await assert.rejects(store.list(), (e) => isPlotPointeError(e, 'PP_RUN_STORE_LOCKED') && /waited 0\.\d s/.test(e.message));
  assert.ok(Date.now() - t0 < 2000, 'it gives up after about the timeout');
  assert.equal((await holder.done).status, 0);
  assert.deepEqual(await store.list(), [], 'usable again once released');
});

/**
 * Logs epochs while computing synchronously in chunks of `chunkMs` (a trainer's epoch: long synchronous
 * stretches with brief returns to the event loop, where a store call can take its next step — e.g. open
 * the file — and then wait a whole chunk for the next).
 */
async function logThenCompute(store: Pick<RunStore, 'logEpoch'>, runId: string, chunks: number, chunkMs: number): Promise<void> {
  const logs: Promise<void>[] = [];
  for (let c = 1; c <= chunks; c++) {
    logs.push(store.logEpoch(runId, { epoch: c, loss: 1 / c, metrics: { 'ndcg@20': c / 10 }, seconds: 1 }));
    const until = performance.now() + chunkMs;
    while (performance.now() < until) {
      // synchronous work
    }
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(logs);
}

const runOptions = { dataset: 'ds', split: 's', splitHash: null, model: 'busy', kind: 'train' as const, config: {}, artifactsDir: null };

test('another process reads the run store while a training process computes synchronously: the threaded store never holds the file', async () => {
  const lake = tempDir('runs-thread');
  const store = await ThreadedRunStore.open(lake, { heartbeatMs: 100 });
  const run = await store.startRun(runOptions);
  const reader = startWorker(['read', lake, '3000', '1000']);
  await reader.waitFor('ready');
  await logThenCompute(store, run.id, 3, 1500);
  const r = await reader.done;
  assert.equal(r.status, 0, r.stderr);
  const { reads, failures } = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('reads '))!.slice(6)) as { reads: number; failures: string[] };
  assert.deepEqual(failures, []);
  assert.ok(reads >= 1, `${reads} reads`);
  assert.equal((await store.get(run.id))?.epochs.length, 3);
  await store.finishRun(run.id, { valid: {}, test: { 'ndcg@20': 0.3 }, wallSeconds: 4, peakRssMb: 50 });
  await assert.rejects(store.require('nope'), (err: unknown) => isPlotPointeError(err, 'PP_RUN_NOT_FOUND'));
  await store.close();
});

