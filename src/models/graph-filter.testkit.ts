/**
 * Fixtures for the tests of the non-gradient models (pop, itemknn, gfcf, bspm): small splits built from
 * per-user item lists, a data set with planted structure, and dense float64 references of R̃ and P̃.
 * Not used by production code.
 */

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentProgress } from '../core/progress.js';
import { Rng } from '../core/index.js';
import { csrFromLists } from '../core/csr-pattern.js';
import type { PartCsr, SplitData } from '../graphs/split-data.js';
import type { FitContext, Params, Recommender } from './model.js';

function part(lists: readonly (readonly number[])[]): PartCsr {
  const csr = csrFromLists(lists);
  const n = csr.indices.length;
  return { ...csr, ratings: new Float32Array(n).fill(NaN), ts: new Float64Array(n).fill(NaN) };
}

/** An in-memory split from per-user item lists (valid empty unless given). */
export function splitFromLists(numItems: number, train: number[][], test: number[][], valid?: number[][]): SplitData {
  const numUsers = train.length;
  const trainPart = part(train);
  const coldItems = new Uint8Array(numItems).fill(1);
  for (const i of trainPart.indices) coldItems[i] = 0;
  return {
    dir: '(memory)',
    numUsers,
    numItems,
    train: trainPart,
    valid: part(valid ?? train.map(() => [])),
    test: part(test),
    coldItems,
    manifest: { split_hash: `lists-${numUsers}x${numItems}` },
  };
}

/** Random per-user item lists: each (u, i) with probability `density`, at least one item per user. */
export function randomLists(seed: number, numUsers: number, numItems: number, density: number): number[][] {
  const rng = new Rng(seed);
  const lists: number[][] = [];
  for (let u = 0; u < numUsers; u++) {
    const items: number[] = [];
    for (let i = 0; i < numItems; i++) if (rng.next() < density) items.push(i);
    if (items.length === 0) items.push(rng.int(numItems));
    lists.push(items);
  }
  return lists;
}

/**
 * Planted structure: users 0–29 (group A) like items 0–11, users 30–79 (group B, larger, so its items
 * are the globally popular ones) like items 12–23; each user has each item of their block with
 * probability 0.6 and each other item with probability 0.03. Two random items of the user's own block
 * are held out as test, the rest is train.
 */
export function plantedSplit(seed: number): SplitData {
  const rng = new Rng(seed);
  const numItems = 24;
  const train: number[][] = [];
  const test: number[][] = [];
  for (let u = 0; u < 80; u++) {
    const lo = u < 30 ? 0 : 12;
    const own: number[] = [];
    const other: number[] = [];
    for (let i = 0; i < numItems; i++) {
      const inBlock = i >= lo && i < lo + 12;
      if (rng.next() < (inBlock ? 0.6 : 0.03)) (inBlock ? own : other).push(i);
    }
    while (own.length < 4) {
      const i = lo + rng.int(12);
      if (!own.includes(i)) own.push(i);
    }
    // shuffle own, hold out two
    for (let t = own.length - 1; t > 0; t--) {
      const s = rng.int(t + 1);
      [own[t], own[s]] = [own[s], own[t]];
    }
    test.push(own.slice(0, 2));
    train.push([...own.slice(2), ...other]);
  }
  return splitFromLists(numItems, train, test);
}

/** Dense float64 R (binary), R̃ = D_U^{-1/2} R D_I^{-1/2} and P̃ = R̃ᵀR̃ of per-user item lists. */
export function denseFilters(numItems: number, lists: readonly (readonly number[])[]) {
  const U = lists.length;
  const I = numItems;
  const R = new Float64Array(U * I);
  lists.forEach((items, u) => items.forEach((i) => (R[u * I + i] = 1)));
  const du = new Float64Array(U);
  const di = new Float64Array(I);
  for (let u = 0; u < U; u++) for (let i = 0; i < I; i++) (du[u] += R[u * I + i]), (di[i] += R[u * I + i]);
  const Rt = new Float64Array(U * I);
  for (let u = 0; u < U; u++) for (let i = 0; i < I; i++) if (R[u * I + i]) Rt[u * I + i] = 1 / Math.sqrt(du[u] * di[i]);
  const P = new Float64Array(I * I);
  for (let u = 0; u < U; u++)
    for (let i = 0; i < I; i++) {
      const a = Rt[u * I + i];
      if (a !== 0) for (let j = 0; j < I; j++) P[i * I + j] += a * Rt[u * I + j];
    }
  return { U, I, R, Rt, P, itemDegree: di };
}

/** x (1 × n) · M (n × m) in float64. */
export function rowTimes(x: ArrayLike<number>, M: ArrayLike<number>, n: number, m: number): Float64Array {
  const y = new Float64Array(m);
  for (let i = 0; i < n; i++) if (x[i] !== 0) for (let j = 0; j < m; j++) y[j] += x[i] * M[i * m + j];
  return y;
}

/** Largest |a − b| relative to max(1, max |b|). */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 1;
  for (let t = 0; t < b.length; t++) {
    d = Math.max(d, Math.abs(a[t] - b[t]));
    s = Math.max(s, Math.abs(b[t]));
  }
  return d / s;
}

/** A FitContext for tests: no budget, silent progress, a no-op validation. */
export function testFitContext(data: SplitData, params: Params, seed = 1): FitContext {
  return {
    data,
    params,
    seed,
    budgetSeconds: Infinity,
    workDir: '(none)',
    resume: false,
    validate: async () => ({}),
    onEpoch() {},
    progress: () => silentProgress,
  };
}

/** Scores of `users` as one users.length × numItems block. */
export async function scoresOf(model: Recommender, users: number[]): Promise<Float32Array> {
  const out = new Float32Array(users.length * model.numItems).fill(NaN);
  await model.scoreUsers(Int32Array.from(users), out);
  return out;
}

/** A fresh temporary folder. */
export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'pp-models-'));
}
