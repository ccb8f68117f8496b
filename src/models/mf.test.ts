import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { shutdownPool } from '../core/index.js';
import { numericGrad, gradErr, bitwiseEqual } from '../core/testing.js';
import { evaluateRecommender } from '../eval/evaluate-model.js';
import type { BprBatch } from '../train/sampler.js';
import { getModel, resolveParams } from './registry.js';
import { MfModel, bprConfig, loadEmbeddings, mfSpec, type BprEmbeddingModel } from './mf.js';
import { allUsers, fitContext, plantedSplit, popularityModel, scoresOf, splitFromLists, tempWorkDir } from './bpr-models.testkit.js';

after(async () => {
  await shutdownPool();
});

const tiny = splitFromLists(
  7,
  [[0, 1, 2], [2, 3], [4], [0, 5, 6], [1, 3, 6]],
  [[3], [], [5], [], [0]],
  [[4], [0], [6], [1], [2]],
);

/** A fixed batch with repeated users and items (their gradients must accumulate). */
function fixedBatch(): BprBatch {
  return {
    users: Int32Array.of(0, 1, 3, 0, 4, 2),
    pos: Int32Array.of(1, 3, 5, 2, 6, 4),
    neg: Int32Array.of(4, 0, 2, 6, 5, 1),
    size: 6,
  };
}

function mf(overrides: Record<string, unknown>, seed = 3): MfModel {
  const params = resolveParams(mfSpec, overrides);
  return new MfModel(tiny, bprConfig(params), seed, params);
}

/** ∂loss/∂table analytic vs central differences over every entry of the table. */
function checkGradient(model: BprEmbeddingModel, tol: number): void {
  const batch = fixedBatch();
  const { grad } = model.batchGradient(batch, 1);
  const numeric = numericGrad(() => model.batchLoss(batch, 1), model.table, 1e-2);
  const err = gradErr(grad, numeric);
  assert.ok(err < tol, `relative gradient error ${err.toExponential(2)}`);
  // the rows of nodes outside the batch get no gradient in MF
  assert.ok(grad.some((g) => g !== 0));
}

for (const loss of ['bpr', 'bce'] as const) {
  test(`the ${loss.toUpperCase()} + L2 batch gradient of MF matches central finite differences`, () => {
    // a large λ and init so that the L2 term and the curvature of the loss both show
    const model = mf({ dim: 4, reg: 0.5, init_std: 0.7, loss });
    checkGradient(model, 1e-3);
    model.dispose();
  });
}

test('the MF batch loss is the mean BPR term plus λ·Σ‖e‖²/(2b) over the batch’s embeddings', () => {
  const model = mf({ dim: 4, reg: 0.3 });
  const b = fixedBatch();
  const d = 4;
  const U = tiny.numUsers;
  const row = (n: number) => Array.from(model.table.subarray(n * d, n * d + d));
  const dot = (x: number[], y: number[]) => x.reduce((s, v, k) => s + v * y[k], 0);
  let bpr = 0;
  let ss = 0;
  for (let k = 0; k < b.size; k++) {
    const [u, i, j] = [row(b.users[k]), row(U + b.pos[k]), row(U + b.neg[k])];
    bpr += Math.log1p(Math.exp(-(dot(u, i) - dot(u, j))));
    ss += dot(u, u) + dot(i, i) + dot(j, j);
  }
  const expected = bpr / b.size + (0.3 * ss) / (2 * b.size);
  assert.ok(Math.abs(model.batchLoss(b, 1) - expected) < 1e-6);
  model.dispose();
});

/** The fixed batch with three candidates per positive (row k: neg[3k..3k+2]). */
function multiNegBatch(): BprBatch {
  const b = fixedBatch();
  return { ...b, neg: Int32Array.of(4, 0, 6, 0, 5, 1, 2, 0, 4, 6, 5, 0, 5, 0, 1, 1, 0, 5) };
}

test('the softmax loss is the mean of logsumexp(x/τ) − x_ui/τ over each positive and its candidates, plus L2 with candidates weighted 1/N', () => {
  const model = mf({ dim: 4, reg: 0.3, init_std: 0.6, loss: 'softmax', neg_samples: 3, temperature: 0.5 });
  const b = multiNegBatch();
  const d = 4;
  const U = tiny.numUsers;
  const row = (n: number) => Array.from(model.table.subarray(n * d, n * d + d));
  const dot = (x: number[], y: number[]) => x.reduce((s, v, k) => s + v * y[k], 0);
  let ce = 0;
  let ss = 0;
  for (let k = 0; k < b.size; k++) {
    const u = row(b.users[k]);
    const i = row(U + b.pos[k]);
    const js = [0, 1, 2].map((m) => row(U + b.neg[3 * k + m]));
    const z = [dot(u, i), ...js.map((j) => dot(u, j))].map((x) => x / 0.5);
    ce += Math.log(z.reduce((s, v) => s + Math.exp(v), 0)) - z[0];
    ss += dot(u, u) + dot(i, i) + js.reduce((s, j) => s + dot(j, j) / 3, 0);
  }
  const expected = ce / b.size + (0.3 * ss) / (2 * b.size);
  const got = model.batchLoss(b, 3);
  assert.ok(Math.abs(got - expected) < 1e-6, `${got} vs ${expected}`);
  model.dispose();
});

for (const loss of ['softmax', 'bpr', 'bce'] as const) {
  test(`with three candidates per positive the ${loss} + L2 gradient of MF matches central finite differences`, () => {
    const model = mf({ dim: 4, reg: 0.5, init_std: 0.7, loss, neg_samples: 3, temperature: 0.7 });
    const batch = multiNegBatch();
    const { grad } = model.batchGradient(batch, 3);
    const numeric = numericGrad(() => model.batchLoss(batch, 3), model.table, 1e-2);
    const err = gradErr(grad, numeric);
    assert.ok(err < 1e-3, `relative gradient error ${err.toExponential(2)}`);
    model.dispose();
  });
}

test('BPR with N candidates per positive is the mean of the N triples’ BPR terms', () => {
  const model = mf({ dim: 4, reg: 0, init_std: 0.6, neg_samples: 3 });
  const b = multiNegBatch();
  const single = (m: number) => model.batchLoss({ ...b, neg: Int32Array.from({ length: b.size }, (_, k) => b.neg[3 * k + m]) }, 1);
  const mean = (single(0) + single(1) + single(2)) / 3;
  assert.ok(Math.abs(model.batchLoss(b, 3) - mean) < 1e-6);
  model.dispose();
});

test('negatives=hard refuses loss=softmax and neg_samples (it keeps one candidate of hard_candidates)', () => {
  for (const extra of [{ loss: 'softmax' }, { neg_samples: 4 }]) {
    assert.throws(() => bprConfig(resolveParams(mfSpec, { negatives: 'hard', ...extra })), { code: 'PP_MODEL_PARAM' });
  }
});

test('an MF step moves only the rows of the batch (lazy Adam)', () => {
  const model = mf({ dim: 4, lr: 0.1 });
  const before = model.table.slice();
  model.step({ users: Int32Array.of(0), pos: Int32Array.of(1), neg: Int32Array.of(4), size: 1 }, 1);
  const d = 4;
  const U = tiny.numUsers;
  const moved = new Set<number>();
  for (let n = 0; n < model.numNodes; n++) for (let q = 0; q < d; q++) if (model.table[n * d + q] !== before[n * d + q]) moved.add(n);
  assert.deepEqual([...moved].sort((a, b) => a - b), [0, U + 1, U + 4]);
  model.dispose();
});

test('hard negatives train on the highest-scoring candidate of each triple', () => {
  const model = mf({ dim: 4, negatives: 'hard', hard_candidates: 3 });
  const d = 4;
  const U = tiny.numUsers;
  const score = (u: number, i: number) => {
    let s = 0;
    for (let q = 0; q < d; q++) s += model.table[u * d + q] * model.table[(U + i) * d + q];
    return s;
  };
  const cands = [4, 5, 6];
  const best = cands.reduce((a, c) => (score(0, c) > score(0, a) ? c : a));
  const batch: BprBatch = { users: Int32Array.of(0), pos: Int32Array.of(1), neg: Int32Array.from(cands), size: 1 };
  const { grad } = model.batchGradient(batch, 3);
  for (const c of cands) {
    const touched = grad.subarray((U + c) * d, (U + c) * d + d).some((g) => g !== 0);
    assert.equal(touched, c === best, `candidate ${c} (best ${best})`);
  }
  model.dispose();
});

test('MF fitted twice with the same seed gives bitwise identical scores, another seed different ones', async () => {
  const data = plantedSplit(3, 40, 40, 8);
  const params = { dim: 8, epochs: 3, eval_every: 1, batch: 64, lr: 0.01 };
  const run = async (seed: number) => {
    const m = await mfSpec.fit(fitContext(data, params, { seed }));
    const s = await scoresOf(m, allUsers(data));
    m.dispose?.();
    return s;
  };
  const a = await run(5);
  assert.ok(bitwiseEqual(a, await run(5)));
  assert.ok(!bitwiseEqual(a, await run(6)));
});

test('a saved MF model loads with identical scores and embeddings, and refuses another split', async () => {
  const data = plantedSplit(4, 40, 40, 8);
  const model = await getModel('mf').fit(fitContext(data, { dim: 8, epochs: 2, eval_every: 1, batch: 64 }));
  const dir = tempWorkDir('mf-save');
  await model.save(dir);
  const loaded = await getModel('mf').load(dir, data);
  const users = allUsers(data);
  assert.ok(bitwiseEqual(await scoresOf(model, users), await scoresOf(loaded, users)));
  assert.ok(bitwiseEqual(model.embeddings!()!.items, loaded.embeddings!()!.items));
  assert.equal(loaded.modelName, 'mf');
  await assert.rejects(getModel('mf').load(dir, plantedSplit(5, 40, 40, 8)), /PP_MODEL_LOAD|trained on split/);
  await assert.rejects(loadEmbeddings(dir, data, 'lightgcn'), /not lightgcn/);
  model.dispose?.();
  loaded.dispose?.();
});

test('MF resumed from a checkpoint continues the epoch count and ends where an uninterrupted run does', async () => {
  const data = plantedSplit(8, 40, 40, 8);
  const params = { dim: 8, epochs: 4, eval_every: 1, patience: 100, batch: 64, lr: 0.01 };
  const straight = (await mfSpec.fit(fitContext(data, params, { seed: 2 }))) as MfModel;
  const dir = tempWorkDir('mf-resume');
  const first = (await mfSpec.fit(fitContext(data, { ...params, epochs: 2 }, { seed: 2, workDir: dir }))) as MfModel;
  assert.equal(first.training?.epochs, 2);
  const resumed = (await mfSpec.fit(fitContext(data, params, { seed: 2, workDir: dir, resume: true }))) as MfModel;
  assert.equal(resumed.training?.resumedFrom, 2);
  assert.equal(resumed.training?.epochs, 4);
  assert.equal(resumed.training?.bestEpoch, straight.training?.bestEpoch);
  const users = allUsers(data);
  assert.ok(bitwiseEqual(await scoresOf(straight, users), await scoresOf(resumed, users)));
  for (const m of [straight, first, resumed]) m.dispose();
});

test('MF learns planted two-block preferences and beats popularity on test NDCG@20 within seconds', async () => {
  const data = plantedSplit();
  const started = performance.now();
  const model = await mfSpec.fit(fitContext(data, { dim: 16, lr: 0.02, batch: 128, epochs: 60, eval_every: 10, patience: 100 }, { budgetSeconds: 5 }));
  const seconds = (performance.now() - started) / 1000;
  const ndcg = (await evaluateRecommender(model, data, 'test', { ks: [20] })).metrics['ndcg@20'];
  const pop = (await evaluateRecommender(popularityModel(data), data, 'test', { ks: [20] })).metrics['ndcg@20'];
  assert.ok(ndcg > pop + 0.05, `mf ndcg@20 ${ndcg.toFixed(3)} vs popularity ${pop.toFixed(3)}`);
  assert.ok(seconds < 10, `took ${seconds.toFixed(1)} s`);
  model.dispose?.();
});

for (const [negatives, loss, negSamples] of [['popularity', 'bpr', 1], ['hard', 'bpr', 1], ['uniform', 'bce', 1], ['uniform', 'softmax', 8], ['popularity', 'bpr', 4]] as const) {
  test(`MF with ${negSamples} ${negatives} negative(s) per positive and the ${loss} loss lowers its training loss`, () => {
    const data = plantedSplit(11, 40, 40, 8);
    const params = resolveParams(mfSpec, { dim: 8, lr: 0.05, batch: 32, negatives, loss, neg_samples: negSamples });
    const model = new MfModel(data, bprConfig(params), 1, params);
    const first = model.trainEpoch(1);
    let last = first;
    for (let e = 2; e <= 8; e++) last = model.trainEpoch(e);
    assert.ok(Number.isFinite(last) && last < first, `loss ${first} → ${last}`);
    model.dispose();
  });
}

test('lr_schedule=cosine anneals the Adam learning rate per epoch from lr towards 0 over `epochs`; constant keeps lr', () => {
  const data = plantedSplit(3, 30, 30, 6);
  const lrs = (schedule: string) => {
    const p = resolveParams(mfSpec, { dim: 4, batch: 64, lr: 0.02, epochs: 4, lr_schedule: schedule });
    const m = new MfModel(data, bprConfig(p), 1, p);
    const seen: number[] = [];
    for (let e = 1; e <= 4; e++) {
      m.trainEpoch(e);
      seen.push(m.learningRate());
    }
    m.dispose();
    return seen;
  };
  const cos = lrs('cosine');
  const expected = [0, 1, 2, 3].map((t) => (0.02 * (1 + Math.cos((Math.PI * t) / 4))) / 2);
  cos.forEach((lr, t) => assert.ok(Math.abs(lr - expected[t]) < 1e-12, `epoch ${t + 1}: ${lr} vs ${expected[t]}`));
  assert.deepEqual(lrs('constant'), [0.02, 0.02, 0.02, 0.02]);
});
