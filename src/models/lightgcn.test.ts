import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { csrToDense, shutdownPool } from '../core/index.js';
import { numericGrad, gradErr, bitwiseEqual } from '../core/testing.js';
import { evaluateRecommender } from '../eval/evaluate-model.js';
import type { SplitData } from '../graphs/split-data.js';
import type { BprBatch } from '../train/sampler.js';
import { getModel, resolveParams } from './registry.js';
import { bprConfig } from './mf.js';
import { LightGcnModel, lightGcnAdjacency, lightGcnSpec } from './lightgcn.js';
import { allUsers, fitContext, plantedSplit, popularityModel, scoresOf, splitFromLists, tempWorkDir } from './bpr-models.testkit.js';

after(async () => {
  await shutdownPool();
});

const trainLists = [[0, 1, 2], [2, 3], [4], [0, 5, 6], [1, 3, 6]];
const tiny = splitFromLists(7, trainLists, [[3], [], [5], [], [0]], [[4], [0], [6], [1], [2]]);

function fixedBatch(): BprBatch {
  return {
    users: Int32Array.of(0, 1, 3, 0, 4, 2),
    pos: Int32Array.of(1, 3, 5, 2, 6, 4),
    neg: Int32Array.of(4, 0, 2, 6, 5, 1),
    size: 6,
  };
}

function lightgcn(overrides: Record<string, unknown>, data: SplitData = tiny, seed = 3): LightGcnModel {
  const params = resolveParams(lightGcnSpec, overrides);
  return new LightGcnModel(data, bprConfig(params), seed, params, params.layers as number, params.rating_weighted as boolean);
}

/** Float64 LightGCN of the tiny graph: dense Â from the interaction lists, K products, layer mean. */
function referenceFinal(table: Float32Array, d: number, K: number, data: SplitData): Float64Array {
  const U = data.numUsers;
  const N = U + data.numItems;
  const deg = new Float64Array(N);
  const A = new Float64Array(N * N);
  for (let u = 0; u < U; u++) {
    for (let e = data.train.indptr[u]; e < data.train.indptr[u + 1]; e++) {
      const i = U + data.train.indices[e];
      A[u * N + i] = A[i * N + u] = 1;
      deg[u]++;
      deg[i]++;
    }
  }
  for (let a = 0; a < N; a++) for (let b = 0; b < N; b++) if (A[a * N + b]) A[a * N + b] /= Math.sqrt(deg[a] * deg[b]);
  let layer = Float64Array.from(table);
  const sum = Float64Array.from(table);
  for (let k = 1; k <= K; k++) {
    const next = new Float64Array(N * d);
    for (let a = 0; a < N; a++) for (let b = 0; b < N; b++) if (A[a * N + b]) for (let q = 0; q < d; q++) next[a * d + q] += A[a * N + b] * layer[b * d + q];
    layer = next;
    for (let x = 0; x < sum.length; x++) sum[x] += layer[x];
  }
  return sum.map((v) => v / (K + 1));
}

test('the normalised adjacency has entries 1/sqrt(deg(u)·deg(i)) on both sides and is symmetric', () => {
  const { adj, weighted } = lightGcnAdjacency(tiny, false);
  assert.equal(weighted, false);
  const N = 12;
  const dense = csrToDense(adj);
  const U = 5;
  const degU = trainLists.map((l) => l.length);
  const degI = Array.from({ length: 7 }, (_, i) => trainLists.filter((l) => l.includes(i)).length);
  for (let a = 0; a < N; a++) {
    for (let b = 0; b < N; b++) {
      const [u, i] = a < U ? [a, b - U] : [b, a - U];
      const edge = a < U !== b < U && i >= 0 && u < U && trainLists[u].includes(i);
      const expected = edge ? 1 / Math.sqrt(degU[u] * degI[i]) : 0;
      assert.ok(Math.abs(dense[a * N + b] - expected) < 1e-6, `Â[${a}, ${b}] = ${dense[a * N + b]}, expected ${expected}`);
    }
  }
});

test('rating-weighted edges use the ratings before normalisation, and fall back to binary edges without ratings', () => {
  const rated = splitFromLists(2, [[0, 1], [1]], [[], []], [[], []], { trainRatings: [[4, 1], [2]] });
  const { adj, weighted } = lightGcnAdjacency(rated, true);
  assert.ok(weighted);
  const dense = csrToDense(adj);
  // node ids: users 0, 1; items 2, 3. Weighted degrees: u0 = 5, u1 = 2, i0 = 4, i1 = 3.
  const at = (a: number, b: number) => dense[a * 4 + b];
  assert.ok(Math.abs(at(0, 2) - 4 / Math.sqrt(5 * 4)) < 1e-6);
  assert.ok(Math.abs(at(0, 3) - 1 / Math.sqrt(5 * 3)) < 1e-6);
  assert.ok(Math.abs(at(3, 1) - 2 / Math.sqrt(2 * 3)) < 1e-6);
  assert.equal(lightGcnAdjacency(tiny, true).weighted, false);
});

test('final embeddings are the mean of layers 0..K of Â-propagation (float64 reference)', () => {
  for (const K of [0, 1, 3]) {
    const model = lightgcn({ dim: 4, layers: K, init_std: 0.5 });
    const ref = referenceFinal(model.table, 4, K, tiny);
    const { users, items } = model.embeddings();
    const got = new Float64Array([...users, ...items]);
    assert.ok(gradErr(got, ref, 1e-6) < 1e-5, `K=${K}`);
    model.dispose();
  }
});

test('the batch loss equals BPR on the float64 reference embeddings plus L2 on the layer-0 rows', () => {
  const model = lightgcn({ dim: 4, layers: 3, reg: 0.2, init_std: 0.5 });
  const d = 4;
  const U = tiny.numUsers;
  const F = referenceFinal(model.table, d, 3, tiny);
  const b = fixedBatch();
  const dot = (x: ArrayLike<number>, xo: number, y: ArrayLike<number>, yo: number) => {
    let s = 0;
    for (let q = 0; q < d; q++) s += x[xo * d + q] * y[yo * d + q];
    return s;
  };
  let bpr = 0;
  let ss = 0;
  for (let k = 0; k < b.size; k++) {
    const [u, i, j] = [b.users[k], U + b.pos[k], U + b.neg[k]];
    bpr += Math.log1p(Math.exp(-(dot(F, u, F, i) - dot(F, u, F, j))));
    for (const n of [u, i, j]) ss += dot(model.table, n, model.table, n);
  }
  const expected = bpr / b.size + (0.2 * ss) / (2 * b.size);
  assert.ok(Math.abs(model.batchLoss(b, 1) - expected) < 1e-6, `${model.batchLoss(b, 1)} vs ${expected}`);
  model.dispose();
});

const paths = {
  'the batch rows': { wholeTable: Infinity, fullLastLayer: Infinity },
  'the whole graph': { wholeTable: Infinity, fullLastLayer: 0 },
  'the whole table (large batches)': { wholeTable: 0, fullLastLayer: 0 },
} as const;

for (const K of [0, 1, 2, 3]) {
  for (const [path, settings] of Object.entries(paths)) {
    if (K === 0 && path === 'the whole graph') continue;
    test(`the LightGCN batch gradient (K=${K}, last layer over ${path}) matches central finite differences`, () => {
      const model = lightgcn({ dim: 4, layers: K, reg: 0.5, init_std: 0.7 });
      Object.assign(model, settings);
      const batch = fixedBatch();
      const { grad } = model.batchGradient(batch, 1);
      const numeric = numericGrad(() => model.batchLoss(batch, 1), model.table, 1e-2);
      const err = gradErr(grad, numeric);
      assert.ok(err < 5e-3, `relative gradient error ${err.toExponential(2)}`);
      const { subSteps, fullSteps } = model.stats;
      if (K > 0) assert.equal(path === 'the batch rows' ? subSteps : fullSteps, subSteps + fullSteps);
      model.dispose();
    });
  }
}

for (const [path, settings] of Object.entries(paths)) {
  test(`the LightGCN BCE gradient (last layer over ${path}) matches central finite differences`, () => {
    const model = lightgcn({ dim: 8, layers: 3, reg: 0.5, init_std: 0.7, loss: 'bce' });
    Object.assign(model, settings);
    const batch = fixedBatch();
    const { grad } = model.batchGradient(batch, 1);
    const numeric = numericGrad(() => model.batchLoss(batch, 1), model.table, 1e-2);
    assert.ok(gradErr(grad, numeric) < 5e-3);
    model.dispose();
  });
}

for (const [path, settings] of Object.entries(paths)) {
  test(`the LightGCN sampled-softmax gradient, three candidates per positive (last layer over ${path}), matches central finite differences`, () => {
    const model = lightgcn({ dim: 8, layers: 3, reg: 0.5, init_std: 0.7, loss: 'softmax', neg_samples: 3, temperature: 0.5 });
    Object.assign(model, settings);
    const b = fixedBatch();
    const batch = { ...b, neg: Int32Array.from({ length: 3 * b.size }, (_, k) => (b.neg[Math.floor(k / 3)] + (k % 3)) % 7) };
    const { grad } = model.batchGradient(batch, 3);
    const numeric = numericGrad(() => model.batchLoss(batch, 3), model.table, 1e-2);
    const err = gradErr(grad, numeric);
    assert.ok(err < 5e-3, `relative gradient error ${err.toExponential(2)}`);
    model.dispose();
  });
}

test('one LightGCN step gives the same parameters on every path (batch rows, whole graph, whole table)', () => {
  const results = Object.values(paths).map((settings) => {
    const model = lightgcn({ dim: 8, layers: 3, lr: 0.01 });
    Object.assign(model, settings);
    model.step(fixedBatch(), 1);
    model.step(fixedBatch(), 1);
    const t = model.table.slice();
    model.dispose();
    return t;
  });
  for (const r of results.slice(1)) assert.ok(gradErr(r, results[0], 1e-3) < 1e-5);
});

test('LightGCN fitted twice with the same seed gives bitwise identical scores, another seed different ones', async () => {
  const data = plantedSplit(3, 40, 40, 8);
  const params = { dim: 8, epochs: 3, eval_every: 1, batch: 64, lr: 0.01 };
  const run = async (seed: number) => {
    const m = await lightGcnSpec.fit(fitContext(data, params, { seed }));
    const s = await scoresOf(m, allUsers(data));
    m.dispose?.();
    return s;
  };
  const a = await run(5);
  assert.ok(bitwiseEqual(a, await run(5)));
  assert.ok(!bitwiseEqual(a, await run(6)));
});

test('a saved LightGCN model loads with identical scores and final embeddings', async () => {
  const data = plantedSplit(4, 40, 40, 8);
  const model = await getModel('lightgcn').fit(fitContext(data, { dim: 8, epochs: 2, eval_every: 1, batch: 64 }));
  const dir = tempWorkDir('lightgcn-save');
  await model.save(dir);
  const loaded = await getModel('lightgcn').load(dir, data);
  const users = allUsers(data);
  assert.ok(bitwiseEqual(await scoresOf(model, users), await scoresOf(loaded, users)));
  assert.ok(bitwiseEqual(model.embeddings!()!.users, loaded.embeddings!()!.users));
  assert.ok(bitwiseEqual(model.embeddings!()!.items, loaded.embeddings!()!.items));
  model.dispose?.();
  loaded.dispose?.();
});

test('LightGCN resumed from a checkpoint continues the epoch count and ends where an uninterrupted run does', async () => {
  const data = plantedSplit(8, 40, 40, 8);
  const params = { dim: 8, epochs: 4, eval_every: 1, patience: 100, batch: 64, lr: 0.01 };
  const straight = (await lightGcnSpec.fit(fitContext(data, params, { seed: 2 }))) as LightGcnModel;
  const dir = tempWorkDir('lightgcn-resume');
  const first = (await lightGcnSpec.fit(fitContext(data, { ...params, epochs: 2 }, { seed: 2, workDir: dir }))) as LightGcnModel;
  const resumed = (await lightGcnSpec.fit(fitContext(data, params, { seed: 2, workDir: dir, resume: true }))) as LightGcnModel;
  assert.equal(first.training?.epochs, 2);
  assert.equal(resumed.training?.resumedFrom, 2);
  assert.equal(resumed.training?.epochs, 4);
  const users = allUsers(data);
  assert.ok(bitwiseEqual(await scoresOf(straight, users), await scoresOf(resumed, users)));
  for (const m of [straight, first, resumed]) m.dispose();
});

test('LightGCN learns planted two-block preferences and beats popularity on test NDCG@20 within seconds', async () => {
  const data = plantedSplit();
  const started = performance.now();
  const model = await lightGcnSpec.fit(fitContext(data, { dim: 16, lr: 0.02, batch: 128, epochs: 60, eval_every: 10, patience: 100 }, { budgetSeconds: 5 }));
  const seconds = (performance.now() - started) / 1000;
  const ndcg = (await evaluateRecommender(model, data, 'test', { ks: [20] })).metrics['ndcg@20'];
  const pop = (await evaluateRecommender(popularityModel(data), data, 'test', { ks: [20] })).metrics['ndcg@20'];
  assert.ok(ndcg > pop + 0.05, `lightgcn ndcg@20 ${ndcg.toFixed(3)} vs popularity ${pop.toFixed(3)}`);
  assert.ok(seconds < 10, `took ${seconds.toFixed(1)} s`);
  model.dispose?.();
});

test('LightGCN with hard negatives picks candidates from its propagated embeddings and lowers its loss', () => {
  const data = plantedSplit(11, 40, 40, 8);
  const model = lightgcn({ dim: 8, lr: 0.05, batch: 32, negatives: 'hard', hard_candidates: 4 }, data);
  const first = model.trainEpoch(1);
  let last = first;
  for (let e = 2; e <= 8; e++) last = model.trainEpoch(e);
  assert.ok(Number.isFinite(last) && last < first, `loss ${first} → ${last}`);
  model.dispose();
});
