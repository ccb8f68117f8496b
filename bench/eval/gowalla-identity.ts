/**
 * Metric identity check on Gowalla (../shared/datasets/gowalla, LightGCN format: `user item item …` per line):
 * a fixed scorer — seeded random 64-d user/item embeddings scored by their dot product through the core GEMM,
 * as every embedding model scores — is evaluated by full ranking on test (train masked), and every figure of
 * the result is printed with full precision, so that runs of two versions of the evaluator can be diffed.
 * With `--parts 2` it evaluates test together with a second part (test again, train ∪ test masked) in one pass,
 * the second part's top K read off the first's extended selection (`derivedFrom`), as `train` ranks valid and test.
 *
 *   node --import tsx bench/eval/gowalla-identity.ts [--parts 1|2] [--ks 10,20,50]
 *
 * Last stdout line: the JSON result of the test part without its timing fields.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';

import { matmulNT } from '../../src/core/dense.js';
import { shutdownPool } from '../../src/core/pool.js';
import { csrFromLists } from '../../src/core/csr-pattern.js';
import * as fullRanking from '../../src/eval/full-ranking.js';
import { Prng } from '../../src/eval/prng.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const dir = join(new URL('../..', import.meta.url).pathname, '..', 'shared', 'datasets', 'gowalla');
if (!existsSync(join(dir, 'train.txt'))) {
  console.log(`skipped: ${dir}/train.txt is absent`);
  process.exit(0);
}
const read = (f: string) =>
  readFileSync(join(dir, f), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.trim().split(/\s+/).map(Number));
const trainRows = read('train.txt');
const testRows = read('test.txt');
const numUsers = Math.max(...trainRows.map((r) => r[0]), ...testRows.map((r) => r[0])) + 1;
let numItems = 0;
const lists = (rows: number[][]) => {
  const out: number[][] = Array.from({ length: numUsers }, () => []);
  for (const [u, ...items] of rows) {
    out[u] = items;
    for (const i of items) numItems = Math.max(numItems, i + 1);
  }
  return out;
};
const train = lists(trainRows);
const test = lists(testRows);
const dim = 64;
const rng = new Prng(7);
const emb = (n: number) => Float32Array.from({ length: n * dim }, () => (rng.next() * 2 - 1) / 8);
const users = emb(numUsers);
const items = emb(numItems);
const scoreBatch = (ids: Int32Array, out: Float32Array) => {
  const a = new Float32Array(ids.length * dim);
  for (let r = 0; r < ids.length; r++) a.set(users.subarray(ids[r] * dim, ids[r] * dim + dim), r * dim);
  matmulNT(a, items, ids.length, dim, numItems, { out });
};
const trainCsr = csrFromLists(train);
const testCsr = csrFromLists(test);
const ks = arg('ks', '10,20,50').split(',').map(Number);
const parts = Number(arg('parts', '1'));
const c0 = process.cpuUsage();
const t0 = performance.now();
let result: fullRanking.FullRankingResult;
if (parts === 2) {
  const both = csrFromLists(train.map((t, u) => [...t, ...test[u]]));
  const rs = await fullRanking.evaluateFullRankingParts({ numUsers, numItems, scoreBatch, ks }, [
    { train: trainCsr, test: testCsr },
    { train: both, test: testCsr, derivedFrom: { part: 0, extra: testCsr } },
  ]);
  result = rs[0];
  // Everything relevant is masked in the second part: no hit can remain.
  if (rs[1].metrics['hit@50'] !== 0) throw new Error(`second part: hit@50 = ${rs[1].metrics['hit@50']}, expected 0`);
} else {
  result = await fullRanking.evaluateFullRanking({ numUsers, numItems, scoreBatch, train: trainCsr, test: testCsr, ks });
}
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(c0);
await shutdownPool();
const { seconds: _s, usersPerSecond: _u, ...stable } = result;
console.error(`gowalla ${numUsers} users × ${numItems} items, parts ${parts}: wall ${wall.toFixed(1)} s, cpu ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(JSON.stringify(stable));
