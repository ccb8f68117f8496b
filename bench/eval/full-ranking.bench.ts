/**
 * Full-ranking evaluation benchmark: random 64-d user and item embeddings scored by their dot product through
 * the core GEMM on the worker pool (as every embedding model scores: `matmulNT`, output in the shared heap),
 * then `evaluateFullRankingParts` masks seen items, selects the top K and computes the metrics.
 *
 * Presets:
 *   gowalla    29,858 users × 40,981 items, train degree ≥ 8 (mean ≈ 27), one test part (≈ 27 % of train)
 *   reference  192,403 users × 63,001 items (Amazon Electronics, 1.69M reviews, 5-core): ≈ 8.8 interactions
 *              per user split 80/10/10 into train / valid / test — valid and test are both evaluated, as
 *              `train` does after fitting (test masks train ∪ valid)
 *
 * Modes: `joint` (default: one pass, each user scored once, test's top K read off valid's selection) or
 * `separate` (one pass per part, what `train` did before). Reports per phase (score / select / metrics):
 * wall seconds; and in total wall, CPU seconds (process.cpuUsage, all threads), users/s and users per
 * CPU-second, with the load average — the machine may be shared, so CPU-seconds are the comparable figure.
 *
 *   npm run bench:eval -- [--preset gowalla|reference] [--users N] [--items N] [--dim 64] [--batch 256]
 *        [--ks 20] [--mode joint|separate] [--seed 1] [--json]
 */

import { loadavg } from 'node:os';

import { matmulNT } from '../../src/core/dense.js';
import { allocF32, free } from '../../src/core/heap.js';
import { coreConfig, shutdownPool, startPool } from '../../src/core/pool.js';
import { csrFromLists } from '../../src/core/csr-pattern.js';
import { evaluateFullRankingParts, type FullRankingCommon, type FullRankingTimings, type RankingPart } from '../../src/eval/full-ranking.js';
import { Prng } from '../../src/eval/prng.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const preset = arg('preset', 'gowalla');
if (preset !== 'gowalla' && preset !== 'reference') throw new Error(`--preset must be gowalla or reference, got ${preset}`);
const reference = preset === 'reference';
const numUsers = Number(arg('users', reference ? '192403' : '29858'));
const numItems = Number(arg('items', reference ? '63001' : '40981'));
const dim = Number(arg('dim', '64'));
const batchSize = Number(arg('batch', '256'));
const ks = arg('ks', reference ? '10,20,50' : '20').split(',').map(Number);
const mode = arg('mode', 'joint');
const seed = Number(arg('seed', '1'));
const asJson = process.argv.includes('--json');

function randomEmbeddings(rng: Prng, rows: number): Float32Array {
  const emb = allocF32(rows * dim, false);
  const scale = 1 / Math.sqrt(dim);
  for (let t = 0; t < emb.length; t++) emb[t] = (rng.next() * 2 - 1) * scale;
  return emb;
}

/** Distinct random items for one user. */
function draw(rng: Prng, count: number): number[] {
  const seen = new Set<number>();
  while (seen.size < Math.min(numItems, count)) seen.add(rng.int(numItems));
  return [...seen];
}

/** Gowalla-like lists: train degree ≥ 8 with a long tail (mean ≈ 27), test ≈ 27 % of train. */
function gowallaParts(rng: Prng): RankingPart[] {
  const train: number[][] = [];
  const test: number[][] = [];
  for (let u = 0; u < numUsers; u++) {
    const deg = Math.min(numItems - 1, 8 + Math.floor(-Math.log(1 - rng.next()) * 19));
    const all = draw(rng, deg + Math.max(1, Math.round(deg * 0.27)));
    train.push(all.slice(0, deg));
    test.push(all.slice(deg));
  }
  return [{ train: csrFromLists(train), test: csrFromLists(test) }];
}

/** Reference-like lists: 5 + a geometric tail interactions per user (mean ≈ 8.8), ratio split 80/10/10. */
function referenceParts(rng: Prng): RankingPart[] {
  const train: number[][] = [];
  const valid: number[][] = [];
  const test: number[][] = [];
  const seen: number[][] = [];
  for (let u = 0; u < numUsers; u++) {
    const n = 5 + Math.floor(-Math.log(1 - rng.next()) * 3.8);
    const all = draw(rng, n);
    const nv = Math.max(1, Math.round(all.length * 0.1));
    const nt = Math.max(1, Math.round(all.length * 0.1));
    const nTrain = all.length - nv - nt;
    train.push(all.slice(0, nTrain));
    valid.push(all.slice(nTrain, nTrain + nv));
    test.push(all.slice(nTrain + nv));
    seen.push(all.slice(0, nTrain + nv));
  }
  const validCsr = csrFromLists(valid);
  return [
    { train: csrFromLists(train), test: validCsr },
    { train: csrFromLists(seen), test: csrFromLists(test), derivedFrom: { part: 0, extra: validCsr } },
  ];
}

/** One pass per part (the evaluation before the joint pass). */
async function separately(common: FullRankingCommon, parts: RankingPart[], timings: FullRankingTimings) {
  const out = [];
  for (const { derivedFrom: _d, ...part } of parts) out.push(...(await evaluateFullRankingParts(common, [part], { timings })));
  return out;
}

async function main(): Promise<void> {
  await startPool();
  const rng = new Prng(seed);
  const t0 = performance.now();
  const userEmb = randomEmbeddings(rng, numUsers);
  const itemEmb = randomEmbeddings(rng, numItems);
  const parts = reference ? referenceParts(rng) : gowallaParts(rng);
  const setupSeconds = (performance.now() - t0) / 1000;

  const gathered = allocF32(batchSize * dim, false);
  const scoreBatch = (users: Int32Array, out: Float32Array) => {
    const a = gathered.subarray(0, users.length * dim);
    for (let r = 0; r < users.length; r++) a.set(userEmb.subarray(users[r] * dim, users[r] * dim + dim), r * dim);
    matmulNT(a, itemEmb, users.length, dim, numItems, { out });
  };

  const timings: FullRankingTimings = { score: 0, select: 0, metrics: 0 };
  let lastReport = performance.now();
  const common = {
    numUsers,
    numItems,
    scoreBatch,
    ks,
    batchSize,
    onProgress: (done: number, total: number) => {
      const now = performance.now();
      if (now - lastReport > 10_000 || done === total) {
        lastReport = now;
        process.stderr.write(`  ${done}/${total} users\n`);
      }
    },
  };
  const load0 = loadavg();
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  const results =
    mode === 'separate' ? await separately(common, parts, timings) : await evaluateFullRankingParts(common, parts, { timings });
  const wall = (performance.now() - w0) / 1000;
  const c = process.cpuUsage(cpu0);
  const cpu = (c.user + c.system) / 1e6;
  const load1 = loadavg();
  free(gathered);
  await shutdownPool();

  const userRows = results.reduce((s, r) => s + r.usersEvaluated, 0);
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
  const summary = {
    preset,
    mode,
    users: numUsers,
    items: numItems,
    dim,
    ks: results[0].ks,
    parts: results.length,
    user_rows: userRows,
    threads: coreConfig().threads,
    wall_s: wall,
    cpu_s: cpu,
    user_rows_per_s: userRows / wall,
    user_rows_per_cpu_s: userRows / cpu,
    phases_wall_s: timings,
    load_avg: [load0, load1].map((l) => l.map((x) => Number(x.toFixed(2)))),
    metrics: results.map((r) => ({ ...r.metrics, ...r.coverage })),
  };
  console.log(
    `full ranking (${preset}, ${mode}): ${fmt(numUsers)} users × ${fmt(numItems)} items, d=${dim}, ks=[${results[0].ks.join(',')}], ` +
      `${results.length} part(s), ${fmt(userRows)} user rows, batch ${batchSize}, ${coreConfig().threads} pool thread(s) (setup ${setupSeconds.toFixed(1)} s)`,
  );
  console.log(`  score (GEMM):   ${timings.score.toFixed(1)} s wall`);
  console.log(`  select (top-K): ${timings.select.toFixed(1)} s wall`);
  console.log(`  metrics:        ${timings.metrics.toFixed(1)} s wall`);
  console.log(`  total:          ${wall.toFixed(1)} s wall, ${cpu.toFixed(1)} CPU-s: ${fmt(userRows / wall)} user rows/s, ${fmt(userRows / cpu)} per CPU-s`);
  console.log(`  load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${load1.map((x) => x.toFixed(2)).join(' ')} (machine shared)`);
  if (asJson) console.log(JSON.stringify(summary));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
