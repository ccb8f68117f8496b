/**
 * A second process for the run store's concurrency tests (run with `node --import tsx`):
 *   write <lake> <runs> <model>   records <runs> runs (start, two epochs, finish), each call opening the file
 *   hold <lake> <ms>              opens <lake>/runs.duckdb read-write, prints "locked", holds it <ms>, closes
 *   read <lake> <ms> <timeoutMs>  lists the runs again and again for <ms> (each open waiting at most
 *                                 <timeoutMs> for a lock), prints "ready" after the first list
 * Prints "done {ids, lockWaits}" (write), "released" (hold) or "reads {reads, failures}" (read) on success.
 */
import { join } from 'node:path';
import { lakePaths } from '../lake/paths.js';
import { openDb } from '../lake/duckdb.js';
import { RunStore } from './run-store.js';

const [mode, lake, arg, model] = process.argv.slice(2);

if (mode === 'write') {
  const store = await RunStore.open(lake);
  const ids: string[] = [];
  for (let i = 0; i < Number(arg); i++) {
    const run = await store.startRun({ dataset: 'ds', split: 's', splitHash: null, model, kind: 'train', config: { i }, artifactsDir: null });
    for (let e = 0; e < 2; e++) await store.logEpoch(run.id, { epoch: e, loss: 1 / (e + 1), metrics: { 'recall@20': e / 10 }, seconds: 0.1 });
    await store.finishRun(run.id, { valid: {}, test: { 'ndcg@20': i / 100 }, wallSeconds: 0.2, peakRssMb: 50 });
    ids.push(run.id);
  }
  process.stdout.write(`done ${JSON.stringify({ ids, lockWaits: store.lockWaits })}\n`);
} else if (mode === 'hold') {
  const db = await openDb({ path: lakePaths(lake).runStore, threads: 1 });
  await db.all('SELECT count(*) AS n FROM runs');
  process.stdout.write('locked\n');
  await new Promise((r) => setTimeout(r, Number(arg)));
  db.close();
  process.stdout.write('released\n');
} else if (mode === 'read') {
  const store = await RunStore.open(lake, { lockTimeoutMs: Number(model) });
  await store.list();
  process.stdout.write('ready\n');
  let reads = 0;
  const failures: string[] = [];
  const until = Date.now() + Number(arg);
  while (Date.now() < until) {
    try {
      await store.list();
      reads++;
    } catch (err) {
      failures.push((err as Error).message);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  process.stdout.write(`reads ${JSON.stringify({ reads, failures })}\n`);
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exitCode = 2;
}
