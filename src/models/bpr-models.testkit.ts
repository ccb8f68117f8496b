/**
 * Test helpers shared by the BPR embedding models' tests (mf, lightgcn): in-memory splits, a synthetic
 * data set with planted structure, a FitContext, and a popularity baseline. Not used by production code.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentProgress } from '../core/progress.js';
import { Rng } from '../core/random.js';
import { csrFromLists } from '../core/csr-pattern.js';
import { evaluateRecommender } from '../eval/evaluate-model.js';
import type { PartCsr, SplitData } from '../graphs/split-data.js';
import type { ContentSource, FitContext, Params, Recommender } from './model.js';

/** A split part from per-user item lists (implicit feedback: NaN ratings and timestamps, unless ratings are given). */
export function part(lists: readonly (readonly number[])[], ratings?: readonly (readonly number[])[]): PartCsr {
  const csr = csrFromLists(lists);
  const n = csr.indices.length;
  const r = new Float32Array(n).fill(NaN);
  if (ratings) r.set(ratings.flat());
  return { ...csr, ratings: r, ts: new Float64Array(n).fill(NaN) };
}

/** A SplitData held in memory. */
export function splitFromLists(
  numItems: number,
  train: readonly (readonly number[])[],
  valid: readonly (readonly number[])[],
  test: readonly (readonly number[])[],
  opts: { hash?: string; trainRatings?: readonly (readonly number[])[] } = {},
): SplitData {
  const numUsers = train.length;
  const coldItems = new Uint8Array(numItems).fill(1);
  for (const l of train) for (const i of l) coldItems[i] = 0;
  return {
    dir: '(memory)',
    numUsers,
    numItems,
    train: part(train, opts.trainRatings),
    valid: part(valid),
    test: part(test),
    coldItems,
    manifest: { split_hash: opts.hash ?? 'memory-split' },
  };
}

/**
 * Two user groups and two item blocks: users of group g interact with items of block g, within the
 * block by a Zipf-like popularity (so popularity is a real baseline), plus a little noise from the other
 * block. Per user: `trainPer` train items, 2 valid and 3 test items, all distinct, valid/test in-block.
 */
export function plantedSplit(seed = 7, users = 120, items = 120, trainPer = 12): SplitData {
  const rng = new Rng(seed);
  const half = items / 2;
  const weights = Array.from({ length: half }, (_, r) => 1 / Math.pow(r + 1, 0.6));
  const total = weights.reduce((a, b) => a + b, 0);
  const drawInBlock = (block: number) => {
    let x = rng.next() * total;
    for (let r = 0; r < half; r++) if ((x -= weights[r]) <= 0) return block * half + r;
    return block * half + half - 1;
  };
  const train: number[][] = [];
  const valid: number[][] = [];
  const test: number[][] = [];
  for (let u = 0; u < users; u++) {
    const g = u % 2;
    const seen = new Set<number>();
    const take = (n: number, block: () => number) => {
      const out: number[] = [];
      while (out.length < n) {
        const i = drawInBlock(block());
        if (!seen.has(i)) {
          seen.add(i);
          out.push(i);
        }
      }
      return out;
    };
    train.push(take(trainPer, () => (rng.next() < 0.1 ? 1 - g : g)));
    valid.push(take(2, () => g));
    test.push(take(3, () => g));
  }
  return splitFromLists(items, train, valid, test, { hash: `planted-${seed}` });
}

export function tempWorkDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `pp-${prefix}-`));
}

/** A FitContext validating NDCG/Recall on the valid part. */
export function fitContext(data: SplitData, params: Params, opts: { seed?: number; workDir?: string; resume?: boolean; budgetSeconds?: number; content?: ContentSource } = {}): FitContext {
  return {
    data,
    ...(opts.content ? { content: opts.content } : {}),
    params,
    seed: opts.seed ?? 1,
    budgetSeconds: opts.budgetSeconds ?? Infinity,
    workDir: opts.workDir ?? tempWorkDir('fit'),
    resume: opts.resume ?? false,
    async validate(model: Recommender) {
      return (await evaluateRecommender(model, data, 'valid', { ks: [20] })).metrics;
    },
    onEpoch() {},
    progress: () => silentProgress,
  };
}

/** Scores every item by its train popularity (the baseline the trained models must beat). */
export function popularityModel(data: SplitData): Recommender {
  const counts = new Float32Array(data.numItems);
  for (const i of data.train.indices) counts[i]++;
  return {
    modelName: 'popularity',
    numUsers: data.numUsers,
    numItems: data.numItems,
    scoreUsers(users, out) {
      for (let r = 0; r < users.length; r++) out.set(counts, r * data.numItems);
    },
    async save() {},
  };
}

/** All scores of `users` under a model. */
export async function scoresOf(model: Recommender, users: Int32Array): Promise<Float32Array> {
  const out = new Float32Array(users.length * model.numItems);
  await model.scoreUsers(users, out);
  return out;
}

export function allUsers(data: SplitData): Int32Array {
  return Int32Array.from({ length: data.numUsers }, (_, u) => u);
}
