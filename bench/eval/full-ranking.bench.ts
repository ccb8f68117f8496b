/**
 * Full-ranking evaluation at Gowalla size (LightGCN's split: 29,858 users × 40,981 items, 810,128 train and
 * 217,242 test interactions) with random 64-d embeddings: scores are dot products s(u, i) = e_u · e_i
 * computed in blocks of users × items, then `evaluateFullRanking` masks train items, selects the top K and
 * computes the metrics.
 *
 * Reports the time spent scoring (the model's cost, parallelised over worker threads), the time spent by
 * the evaluator itself (top-K selection + metrics + coverage/popularity/buckets) and users/s for both.
 *
 *   node --import tsx bench/eval/full-ranking.bench.ts [--users 29858] [--items 40981] [--dim 64]
 *        [--batch 256] [--ks 20] [--workers N] [--seed 1]
 */

import os from 'node:os';
import { Worker } from 'node:worker_threads';

import { csrFromLists } from '../../src/core/csr-pattern.js';
import { evaluateFullRanking } from '../../src/eval/full-ranking.js';
import { Prng } from '../../src/eval/prng.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const numUsers = Number(arg('users', '29858'));
const numItems = Number(arg('items', '40981'));
const dim = Number(arg('dim', '64'));
const batchSize = Number(arg('batch', '256'));
const ks = arg('ks', '20').split(',').map(Number);
const workers = Number(arg('workers', String(Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 8)))));
const seed = Number(arg('seed', '1'));

/**
 * out[r · numItems + i] = Σ_d U[users[r], d] · I[i, d] for rows [rowStart, rowEnd). Blocked: 4 users share
 * each item vector load, and items go in blocks of 256 so that the block stays in cache across users.
 * Self-contained (no closures) so that it can be shipped to worker threads as source text.
 */
function scoreRows(
  userEmb: Float32Array,
  itemEmb: Float32Array,
  dim: number,
  numItems: number,
  users: Int32Array,
  rowStart: number,
  rowEnd: number,
  out: Float32Array,
): void {
  const IB = 256;
  for (let i0 = 0; i0 < numItems; i0 += IB) {
    const i1 = Math.min(numItems, i0 + IB);
    let r = rowStart;
    for (; r + 3 < rowEnd; r += 4) {
      const a = users[r] * dim;
      const b = users[r + 1] * dim;
      const c = users[r + 2] * dim;
      const e = users[r + 3] * dim;
      const o0 = r * numItems;
      const o1 = o0 + numItems;
      const o2 = o1 + numItems;
      const o3 = o2 + numItems;
      for (let i = i0; i < i1; i++) {
        const o = i * dim;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let d = 0; d < dim; d++) {
          const x = itemEmb[o + d];
          s0 += userEmb[a + d] * x;
          s1 += userEmb[b + d] * x;
          s2 += userEmb[c + d] * x;
          s3 += userEmb[e + d] * x;
        }
        out[o0 + i] = s0;
        out[o1 + i] = s1;
        out[o2 + i] = s2;
        out[o3 + i] = s3;
      }
    }
    for (; r < rowEnd; r++) {
      const a = users[r] * dim;
      const or = r * numItems;
      for (let i = i0; i < i1; i++) {
        const o = i * dim;
        let s = 0;
        for (let d = 0; d < dim; d++) s += userEmb[a + d] * itemEmb[o + d];
        out[or + i] = s;
      }
    }
  }
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const scoreRows = ${scoreRows.toString()};
const userEmb = new Float32Array(workerData.userEmb);
const itemEmb = new Float32Array(workerData.itemEmb);
const out = new Float32Array(workerData.out);
const users = new Int32Array(workerData.users);
parentPort.on('message', ({ rowStart, rowEnd }) => {
  scoreRows(userEmb, itemEmb, workerData.dim, workerData.numItems, users, rowStart, rowEnd, out);
  parentPort.postMessage(rowEnd - rowStart);
});
`;

function randomEmbeddings(rng: Prng, rows: number): Float32Array {
  const sab = new SharedArrayBuffer(rows * dim * 4);
  const emb = new Float32Array(sab);
  const scale = 1 / Math.sqrt(dim);
  for (let t = 0; t < emb.length; t++) emb[t] = (rng.next() * 2 - 1) * scale;
  return emb;
}

/** Gowalla-like per-user lists: train degree ≥ 8 with a long tail (mean ≈ 27), test ≈ 27% of train. */
function randomInteractions(rng: Prng) {
  const train: number[][] = [];
  const test: number[][] = [];
  for (let u = 0; u < numUsers; u++) {
    const deg = Math.min(numItems - 1, 8 + Math.floor(-Math.log(1 - rng.next()) * 19));
    const testDeg = Math.max(1, Math.round(deg * 0.27));
    const seen = new Set<number>();
    while (seen.size < Math.min(numItems, deg + testDeg)) seen.add(rng.int(numItems));
    const all = [...seen];
    train.push(all.slice(0, deg));
    test.push(all.slice(deg));
  }
  return { train: csrFromLists(train), test: csrFromLists(test) };
}

async function main(): Promise<void> {
  const rng = new Prng(seed);
  const t0 = performance.now();
  const userEmb = randomEmbeddings(rng, numUsers);
  const itemEmb = randomEmbeddings(rng, numItems);
  const { train, test } = randomInteractions(rng);
  const setupSeconds = (performance.now() - t0) / 1000;

  const rows = Math.min(batchSize, numUsers);
  const sharedOut = new Float32Array(new SharedArrayBuffer(rows * numItems * 4));
  const sharedUsers = new Int32Array(new SharedArrayBuffer(rows * 4));
  const pool = Array.from(
    { length: workers },
    () =>
      new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { userEmb: userEmb.buffer, itemEmb: itemEmb.buffer, out: sharedOut.buffer, users: sharedUsers.buffer, dim, numItems },
      }),
  );
  // One pending job per worker; a worker error fails the job in flight (and the run).
  const pending = new Map<Worker, { resolve: () => void; reject: (err: unknown) => void }>();
  for (const w of pool) {
    w.on('message', () => pending.get(w)?.resolve());
    w.on('error', (err) => {
      const job = pending.get(w);
      if (job) job.reject(err);
      else console.error(err);
    });
  }
  const run = (w: Worker, rowStart: number, rowEnd: number) =>
    new Promise<void>((resolve, reject) => {
      pending.set(w, { resolve, reject });
      w.postMessage({ rowStart, rowEnd });
    });

  let scoringMs = 0;
  const scoreBatch = async (userIds: Int32Array, out: Float32Array) => {
    const start = performance.now();
    const n = userIds.length;
    sharedUsers.set(userIds);
    const per = Math.ceil(n / workers / 4) * 4;
    const jobs: Promise<void>[] = [];
    for (let w = 0; w < workers && w * per < n; w++) jobs.push(run(pool[w], w * per, Math.min(n, (w + 1) * per)));
    await Promise.all(jobs);
    out.set(sharedOut.subarray(0, n * numItems));
    scoringMs += performance.now() - start;
  };

  let lastReport = performance.now();
  const result = await evaluateFullRanking({
    numUsers,
    numItems,
    scoreBatch,
    train,
    test,
    ks,
    batchSize,
    onProgress: (done, total) => {
      const now = performance.now();
      if (now - lastReport > 5000 || done === total) {
        lastReport = now;
        process.stderr.write(`  ${done}/${total} users\n`);
      }
    },
  });
  await Promise.all(pool.map((w) => w.terminate()));

  const total = result.seconds;
  const scoring = scoringMs / 1000;
  const evalOnly = total - scoring;
  const users = result.usersEvaluated;
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
  console.log(
    `full ranking: ${fmt(users)} users × ${fmt(numItems)} items, d=${dim}, ks=[${result.ks.join(',')}], ` +
      `batch ${batchSize}, ${workers} scoring worker(s), ${fmt(train.indices.length)} train / ${fmt(test.indices.length)} test (setup ${setupSeconds.toFixed(1)} s)`,
  );
  console.log(`  scoring (dot products):          ${scoring.toFixed(2)} s  ${fmt(users / scoring)} users/s`);
  console.log(`  evaluator (top-K, mask, metrics): ${evalOnly.toFixed(2)} s  ${fmt(users / evalOnly)} users/s`);
  console.log(`  end to end:                       ${total.toFixed(2)} s  ${fmt(users / total)} users/s`);
  console.log(`  ${JSON.stringify({ ...result.metrics, ...result.coverage })}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
