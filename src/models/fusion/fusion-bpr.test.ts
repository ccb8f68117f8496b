import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rowGrad, shutdownPool } from '../../core/index.js';
import { coldItemNdcg as coldNdcg, randomScorer, syntheticMultimodal } from '../multimodal.testkit.js';
import { fitContext } from '../bpr-models.testkit.js';
import { FusionBprModel, FUSION_TRAIN_DEFAULTS, fusionInputs, trainFusion } from './fusion-bpr.js';

after(async () => {
  await shutdownPool();
});


test('free-user BPR gradients reach the MLP weights, the placeholders of missing modalities and the user vectors', async () => {
  const s = syntheticMultimodal({ seed: 2 });
  const { inputs } = await fusionInputs(s.content, ['text', 'image']);
  const model = new FusionBprModel(s.data, inputs, { ...FUSION_TRAIN_DEFAULTS, userTower: 'free', dim: 8, hidden: 16 }, 1);
  // a batch whose items include ones missing text (i % 7 = 3) and missing image (i % 5 = 1)
  const users = Int32Array.from([0, 1, 2, 3, 4, 5]);
  const pos = Int32Array.from([3, 11, 10, 6, 17, 24]);
  const neg = Int32Array.from([1, 31, 38, 21, 45, 50]);
  const loss = model.batchLoss(users, pos, neg, { backward: true });
  assert.ok(Number.isFinite(loss) && loss > 0);
  // the user vectors' gradient is row-sparse: exactly the batch's users
  const ug = rowGrad(model.users!)!;
  assert.deepEqual(Array.from(ug.rows), Array.from(users));
  assert.ok(ug.values.some((g) => g !== 0));
  assert.equal(model.users!.grad, null);
  for (const [name, t] of Object.entries(model.parameters())) {
    // the output bias adds ⟨p_u, b₂⟩ to a positive and a negative alike: BPR cannot see it
    if (name === 'fusion.b2' || name === 'users') continue;
    assert.ok(t.grad, `${name} got no gradient`);
    let norm = 0;
    for (const g of t.grad!) norm += g * g;
    assert.ok(norm > 0, `${name}: zero gradient`);
  }
  model.dispose();
});

for (const userTower of ['mean', 'free', 'mean+free'] as const)
test(`content-only BPR learns (${userTower} users): cold items (no train interaction) rank far above chance, every item gets a finite vector`, async () => {
  const s = syntheticMultimodal({ seed: 4 });
  const { inputs } = await fusionInputs(s.content, ['text', 'image']);
  const dir = await mkdtemp(join(tmpdir(), 'pp-fusion-'));
  try {
    const { model, result } = await trainFusion(fitContext(s.data, {}, { seed: 3, workDir: dir, budgetSeconds: 60 }), inputs, { userTower, dim: 16, hidden: 32, epochs: 40, evalEvery: 2, patience: 5, lr: 0.01, batchSize: 128 });
    assert.ok(result.bestEpoch > 0);
    const items = model.itemVectors();
    assert.ok(items.every(Number.isFinite));
    const ndcg = await coldNdcg(model, s.data, s.coldFrom);
    // against a random scorer on the same users (a cold test item competes with ~14 unseen items of its own
    // cluster, so even a perfect cluster ranking stays near 0.3)
    const chance = await coldNdcg(randomScorer, s.data, s.coldFrom);
    if (process.env.PP_DEBUG_TEST) console.log({ ndcg, chance });
    assert.ok(ndcg > 3 * chance && ndcg > 0.15, `cold NDCG@10 ${ndcg} vs random ${chance}`);
    // placeholders moved away from their initialisation (trained), and items missing text / image / both differ
    const fresh = new FusionBprModel(s.data, inputs, { ...FUSION_TRAIN_DEFAULTS, userTower, dim: 16, hidden: 32 }, 3);
    const moved = (name: string) => model.fusion.placeholder(name).some((v, k) => Math.abs(v - fresh.fusion.placeholder(name)[k]) > 1e-3);
    assert.ok(moved('text') && moved('image'));
    fresh.dispose();
    const row = (i: number) => Array.from(items.subarray(i * 16, i * 16 + 16));
    // item 3 misses text, item 1 misses image, item 31 (31 % 7 = 3, 31 % 5 = 1) misses both
    assert.equal(s.text.present[3], 0);
    assert.equal(s.image.present[1], 0);
    assert.equal(s.text.present[31] + s.image.present[31], 0);
    const d = (a: number[], b: number[]) => Math.hypot(...a.map((x, k) => x - b[k]));
    assert.ok(d(row(3), row(1)) > 1e-3 && d(row(3), row(31)) > 1e-3 && d(row(1), row(31)) > 1e-3);
    model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an epoch is at most stepsPerEpoch sampled batches, and a full pass when that is fewer', async () => {
  const s = syntheticMultimodal({ seed: 5 });
  const { inputs } = await fusionInputs(s.content, ['text', 'image']);
  const interactions = s.data.train.indices.length;
  const steps = (o: Partial<typeof FUSION_TRAIN_DEFAULTS>) => async () => {
    const m = new FusionBprModel(s.data, inputs, { ...FUSION_TRAIN_DEFAULTS, dim: 8, hidden: 16, batchSize: 16, ...o }, 1);
    await m.trainEpoch();
    await m.trainEpoch();
    const t = (m.getState().meta as { step: number }).step;
    m.dispose();
    return t;
  };
  const pass = Math.ceil(interactions / 16);
  assert.ok(pass > 3, `the synthetic split has ${interactions} train interactions`);
  assert.equal(await steps({ stepsPerEpoch: 3 })(), 2 * 3);
  assert.equal(await steps({ stepsPerEpoch: 0 })(), 2 * pass);
  assert.equal(await steps({ stepsPerEpoch: pass + 5 })(), 2 * pass);
});

test('a training step moves only the sampled users\' vectors (lazy Adam), and training is deterministic for a seed', async () => {
  const s = syntheticMultimodal({ seed: 6, users: 200 });
  const { inputs } = await fusionInputs(s.content, ['text', 'image']);
  const d = 8;
  const movedUsers = (x: Float32Array, y: Float32Array) => {
    let n = 0;
    for (let u = 0; u < s.data.numUsers; u++) if (x.subarray(u * d, (u + 1) * d).some((v, k) => v !== y[u * d + k])) n++;
    return n;
  };
  const run = async () => {
    const m = new FusionBprModel(s.data, inputs, { ...FUSION_TRAIN_DEFAULTS, userTower: 'free', dim: d, hidden: 16, batchSize: 16, stepsPerEpoch: 1 }, 1);
    const before = m.users!.data.slice();
    await m.trainEpoch();
    const mid = m.users!.data.slice();
    await m.trainEpoch();
    const after = m.users!.data.slice();
    const items = m.itemVectors().slice();
    m.dispose();
    return { before, mid, after, items };
  };
  const a = await run();
  // each step samples 16 triples: at most 16 of the 200 users move in it. A dense Adam would also move, in the
  // second step, the first step's users by their momentum (up to 32 users).
  const first = movedUsers(a.before, a.mid);
  const second = movedUsers(a.mid, a.after);
  assert.ok(first >= 1 && first <= 16, `${first} users moved in step 1`);
  assert.ok(second >= 1 && second <= 16, `${second} users moved in step 2`);
  assert.ok(movedUsers(a.before, a.after) > 16, 'the two steps sampled different users');
  const b = await run();
  assert.deepEqual(Array.from(b.after), Array.from(a.after));
  assert.deepEqual(Array.from(b.items), Array.from(a.items));
});
