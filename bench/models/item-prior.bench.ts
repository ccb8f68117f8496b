/**
 * What mmgat's closed-form priors cost (src/models/item-prior.ts): for each of `--kinds` (gfcf, bspm; their
 * defaults), the fit (SVD + scale), `pairScores` on BPR-like batches (positives = train pairs drawn uniformly,
 * negatives uniform over items; half of each) and `addScores` for blocks of users, cold and from the row cache.
 * CPU-seconds (process.cpuUsage: user + sys, the core pool's threads included) beside wall, pairs or users
 * per CPU-second, and the load average (the machine may be shared).
 *
 *   node --import tsx bench/models/item-prior.bench.ts --lake DIR --name gowalla --split official
 *        [--kinds gfcf,bspm] [--pairs 32768,262144] [--bspm-pairs 4096] [--users 256]
 *
 * The split must exist (README: data ingest --format lightgcn, data split --strategy given). The last stdout
 * line is the table as JSON.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { loadSplit } from '../../src/graphs/split-data.js';
import { datasetPaths } from '../../src/lake/paths.js';
import { Rng, startPool, shutdownPool } from '../../src/core/index.js';
import { ItemPrior, type PriorKind } from '../../src/models/item-prior.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

interface Row {
  kind: string;
  what: string;
  n: number;
  wall_s: number;
  cpu_s: number;
  per_cpu_s: number;
  load: number;
}

async function timed<T>(f: () => T | Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const c = process.cpuUsage(c0);
  return { value, wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
}

async function main(): Promise<void> {
  const lake = arg('lake', 'lake');
  const name = arg('name', 'gowalla');
  const split = arg('split', 'official');
  const kinds = arg('kinds', 'gfcf,bspm').split(',') as PriorKind[];
  const pairSizes = arg('pairs', '32768,262144').split(',').map(Number);
  const bspmPairs = Number(arg('bspm-pairs', '4096'));
  const blockUsers = Number(arg('users', '256'));
  await startPool();
  const data = await loadSplit(datasetPaths(lake, name).split(split).dir);
  const { indptr, indices } = data.train;
  const nnz = indptr[data.numUsers];
  const owner = new Int32Array(nnz);
  for (let u = 0; u < data.numUsers; u++) owner.fill(u, indptr[u], indptr[u + 1]);
  console.log(`item-prior bench: ${name}/${split} ${data.numUsers} users × ${data.numItems} items, ${nnz} train pairs, load ${loadavg()[0].toFixed(1)}`);
  const rows: Row[] = [];
  const add = (kind: string, what: string, n: number, t: { wall: number; cpu: number }, load0: number) => {
    const row = { kind, what, n, wall_s: t.wall, cpu_s: t.cpu, per_cpu_s: n / Math.max(t.cpu, 1e-9), load: (load0 + loadavg()[0]) / 2 };
    rows.push(row);
    console.log(`${kind.padEnd(5)} ${what.padEnd(26)} n ${String(n).padStart(7)}  wall ${t.wall.toFixed(2).padStart(7)} s  CPU ${t.cpu.toFixed(2).padStart(7)} s  ${row.per_cpu_s.toFixed(0).padStart(9)} /CPU-s  load ${row.load.toFixed(1)}`);
  };
  for (const kind of kinds) {
    let load0 = loadavg()[0];
    const fit = await timed(() => ItemPrior.fit(data, { kind, lambda: 0, grid: '', memoryMb: 2048, cacheMb: 1024 }, 42, null));
    const prior = fit.value;
    add(kind, 'fit (SVD + scale)', 1, fit, load0);
    const rng = new Rng(7);
    for (const n0 of kind === 'bspm' ? [bspmPairs] : pairSizes) {
      const n = 2 * Math.floor(n0 / 2);
      const users = new Int32Array(n);
      const items = new Int32Array(n);
      for (let r = 0; r < n / 2; r++) {
        const t = rng.int(nnz);
        users[r] = users[r + n / 2] = owner[t];
        items[r] = indices[t];
        items[r + n / 2] = rng.int(data.numItems);
      }
      const distinct = new Set(users).size;
      load0 = loadavg()[0];
      add(kind, `pairScores (${distinct} users)`, n, await timed(() => prior.pairScores(users, items)), load0);
    }
    const block = Int32Array.from({ length: blockUsers }, (_, b) => (b * 97) % data.numUsers);
    const out = new Float32Array(blockUsers * data.numItems);
    load0 = loadavg()[0];
    add(kind, 'addScores, cold (users)', blockUsers, await timed(() => prior.addScores(block, out, 1)), load0);
    load0 = loadavg()[0];
    add(kind, 'addScores, cached (users)', blockUsers, await timed(() => prior.addScores(block, out, 1)), load0);
    prior.dispose();
  }
  console.log(JSON.stringify({ bench: 'item-prior', dataset: join(name, split), rows }));
  await shutdownPool();
}

await main();
