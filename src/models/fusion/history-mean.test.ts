import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, rowGrad, shutdownPool } from '../../core/index.js';
import { csrFromLists } from '../../core/csr-pattern.js';
import { gradErr, numericGrad } from '../../core/testing.js';
import { evaluateRecommender } from '../../eval/evaluate-model.js';
import type { PartCsr, SplitData } from '../../graphs/split-data.js';
import type { Recommender } from '../model.js';
import { coldItemNdcg, randomScorer, syntheticMultimodal } from '../multimodal.testkit.js';
import { fitContext } from '../bpr-models.testkit.js';
import { FusionBprModel, FUSION_TRAIN_DEFAULTS, fusionInputs, trainFusion } from './fusion-bpr.js';

after(async () => {
  await shutdownPool();
});

const MEAN = { ...FUSION_TRAIN_DEFAULTS, userTower: 'mean' as const };


const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k] * b[k];
  return s;
};

/** The mean of rows `items` of a [n × d] table. */
function meanOf(table: Float32Array, items: ArrayLike<number>, d: number): Float64Array {
  const m = new Float64Array(d);
  for (let r = 0; r < items.length; r++) for (let k = 0; k < d; k++) m[k] += table[items[r] * d + k] / items.length;
  return m;
}

for (const userTower of ['mean', 'mean+free'] as const)
test(`${userTower} BPR gradients match central finite differences for every parameter (history frozen), b₂ included`, async () => {
  const s = syntheticMultimodal({ seed: 2 });
  const { inputs } = await fusionInputs(s.content, ['text', 'image']);
  const model = new FusionBprModel(s.data, inputs, { ...MEAN, userTower, dim: 4, hidden: 6 }, 1);
  assert.equal(model.users === null, userTower === 'mean');
  // the residual starts at 0: move it so that its own terms (and the L2 penalty) are not all zero
  if (model.users) for (let k = 0; k < model.users.size; k++) model.users.data[k] = Math.sin(k + 1) * 0.3;
  // train pairs (u, i ∈ I_u) whose items include ones missing text (i % 7 = 3) and image (i % 5 = 1)
  const users: number[] = [];
  const pos: number[] = [];
  for (let u = 0; u < 10; u++) {
    users.push(u);
    pos.push(s.data.train.indices[s.data.train.indptr[u] + (u % 3)]);
  }
  const neg = Int32Array.from([1, 3, 31, 38, 21, 45, 50, 66, 70, 75]);
  const U = Int32Array.from(users);
  const P = Int32Array.from(pos);
  const loss = (backward: boolean) => model.batchLoss(U, P, neg, { backward });
  for (const [, t] of Object.entries(model.parameters())) t.grad = null;
  const v = loss(true);
  assert.ok(Number.isFinite(v) && v > 0);
  for (const [name, t] of Object.entries(model.parameters())) {
    let analytic: Float64Array;
    let idx: number[];
    if (name === 'users') {
      // row-sparse: the batch's users' rows only
      const g = rowGrad(t)!;
      assert.deepEqual(Array.from(g.rows), users);
      analytic = new Float64Array(t.size);
      g.rows.forEach((u, r) => { for (let k = 0; k < 4; k++) analytic[u * 4 + k] = g.values[r * 4 + k]; });
      idx = [0, 1, 2, 3, 9 * 4, 9 * 4 + 3];
    } else {
      assert.ok(t.grad, `${name} got no gradient`);
      analytic = Float64Array.from(t.grad!);
      const rng = new Rng(name.length);
      idx = t.size <= 12 ? [...Array(t.size).keys()] : Array.from({ length: 12 }, () => rng.int(t.size));
    }
    const numeric = numericGrad(() => loss(false), t.data, 1e-2, idx);
    const a = idx.map((i) => analytic[i]);
    const b = idx.map((i) => numeric[i]);
    assert.ok(b.some((x) => Math.abs(x) > 1e-5), `${name}: the loss does not depend on it`);
    assert.ok(gradErr(a, b) < 2e-2, `${name}: analytic ${a.map((x) => x.toFixed(4))} vs numeric ${b.map((x) => x.toFixed(4))}`);
  }
  model.dispose();
});

test('in training the positive is left out of its own user\'s mean; a user with one train item is skipped', async () => {
  const s = syntheticMultimodal({ seed: 3 });
  const { inputs } = await fusionInputs(s.content, ['text', 'image']);
  // user 0 keeps its 5 train items; user 1 keeps one
  const lists = Array.from({ length: s.data.numUsers }, (_, u) => Array.from(s.data.train.indices.subarray(s.data.train.indptr[u], s.data.train.indptr[u + 1])));
  lists[1] = lists[1].slice(0, 1);
  const csr = csrFromLists(lists);
  const train: PartCsr = { ...csr, ratings: new Float32Array(csr.indices.length).fill(NaN), ts: new Float64Array(csr.indices.length).fill(NaN) };
  const data: SplitData = { ...s.data, train };
  const model = new FusionBprModel(data, inputs, { ...MEAN, dim: 8, hidden: 16 }, 1);
  const d = 8;
  const items = model.itemVectors();
  const [i, ...rest] = lists[0];
  const j = [...Array(s.data.numItems).keys()].find((x) => !lists[0].includes(x) && !lists[1].includes(x))!;
  // history frozen at the current parameters, so h̃ = h and the user side is exactly the mean of f over the rest
  const p = meanOf(items, rest, d);
  const x = dot(p, items.subarray(i * d, i * d + d)) - dot(p, items.subarray(j * d, j * d + d));
  const expected = Math.log1p(Math.exp(-x));
  const got = model.batchLoss(Int32Array.of(0), Int32Array.of(i), Int32Array.of(j));
  assert.ok(Math.abs(got - expected) < 1e-4 * Math.max(1, expected), `loss ${got}, leave-one-out ${expected}`);
  // with the positive inside the mean the loss would differ (the test can tell the two apart)
  const pAll = meanOf(items, lists[0], d);
  const xAll = dot(pAll, items.subarray(i * d, i * d + d)) - dot(pAll, items.subarray(j * d, j * d + d));
  const lossAll = Math.log1p(Math.exp(-xAll));
  assert.ok(Math.abs(lossAll - expected) > 1e-3, `leave-one-out ${expected}, positive included ${lossAll}`);
  // the one-item user contributes nothing: alone it trains nothing, beside user 0 the loss is user 0's
  assert.equal(model.batchLoss(Int32Array.of(1), Int32Array.of(lists[1][0]), Int32Array.of(j)), 0);
  const both = model.batchLoss(Int32Array.of(1, 0), Int32Array.of(lists[1][0], i), Int32Array.of(j, j));
  assert.ok(Math.abs(both - got) < 1e-6, `${both} vs ${got}`);
  model.dispose();
});

test('evaluation scores a user with the mean of their train items\' fused vectors only (never valid or test items)', async () => {
  const s = syntheticMultimodal({ seed: 5 });
  const { inputs } = await fusionInputs(s.content, ['text', 'image']);
  const model = new FusionBprModel(s.data, inputs, { ...MEAN, dim: 8, hidden: 16 }, 2);
  await model.trainEpoch();
  const d = 8;
  const items = model.itemVectors();
  const users = Int32Array.of(0, 7, 13);
  const out = new Float32Array(users.length * s.data.numItems);
  model.scoreUsers(users, out);
  for (let r = 0; r < users.length; r++) {
    const u = users[r];
    const train = s.data.train.indices.subarray(s.data.train.indptr[u], s.data.train.indptr[u + 1]);
    const held = [...s.data.valid.indices.subarray(s.data.valid.indptr[u], s.data.valid.indptr[u + 1])];
    assert.ok(held.length > 0 && held.every((h) => !train.includes(h)));
    const p = meanOf(items, train, d);
    for (let i = 0; i < s.data.numItems; i++) {
      const want = dot(p, items.subarray(i * d, i * d + d));
      assert.ok(Math.abs(out[r * s.data.numItems + i] - want) < 1e-4 * Math.max(1, Math.abs(want)), `user ${u} item ${i}`);
    }
  }
  model.dispose();
});

test('the mean tower learns where content predicts preference: test NDCG@20 and cold-item NDCG well above the untrained fusion', async () => {
  const s = syntheticMultimodal({ seed: 7, users: 120, items: 96, cold: 24 });
  const { inputs } = await fusionInputs(s.content, ['text', 'image']);
  const dir = await mkdtemp(join(tmpdir(), 'pp-fusion-mean-'));
  const testNdcg = async (m: Recommender) => (await evaluateRecommender(m, s.data, 'test', { ks: [20] })).metrics['ndcg@20'];
  try {
    // the untrained mean tower already ranks by content similarity to the history (a random MLP keeps some of
    // it): training has to beat that, not only chance
    const untrained = new FusionBprModel(s.data, inputs, { ...MEAN, dim: 16, hidden: 32 }, 3);
    const before = { test: await testNdcg(untrained), cold: await coldItemNdcg(untrained, s.data, s.coldFrom) };
    untrained.dispose();
    const { model, result } = await trainFusion(fitContext(s.data, {}, { seed: 3, workDir: dir, budgetSeconds: 60 }), inputs, { userTower: 'mean', dim: 16, hidden: 32, epochs: 40, evalEvery: 2, patience: 5, lr: 0.01, batchSize: 128 });
    const after = { test: await testNdcg(model), cold: await coldItemNdcg(model, s.data, s.coldFrom) };
    const chance = await coldItemNdcg(randomScorer, s.data, s.coldFrom);
    if (process.env.PP_DEBUG_TEST) console.log({ before, after, chance, best: result.bestEpoch, valid: result.bestMetrics });
    assert.ok(result.bestEpoch > 0);
    assert.ok(after.test > 1.5 * before.test, `test NDCG@20 trained ${after.test}, untrained ${before.test}`);
    assert.ok(after.cold > 1.5 * before.cold && after.cold > 3 * chance, `cold NDCG@10 trained ${after.cold}, untrained ${before.cold}, random ${chance}`);
    model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
