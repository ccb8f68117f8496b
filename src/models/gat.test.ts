import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shutdownPool, Rng } from '../core/index.js';
import { csrFromLists } from '../core/csr-pattern.js';
import { evaluateRecommender } from '../eval/evaluate-model.js';
import type { PartCsr, SplitData } from '../graphs/split-data.js';
import { silentProgress } from '../core/progress.js';
import type { FitContext, Params, Recommender } from './model.js';
import { GatModel, fitGat, gatSpec } from './gat.js';
import { getModel } from './registry.js';

after(async () => {
  await shutdownPool();
});

function part(lists: number[][], ratings?: number[][]): PartCsr {
  const csr = csrFromLists(lists);
  const r = new Float32Array(csr.indices.length).fill(NaN);
  if (ratings) r.set(ratings.flat());
  return { ...csr, ratings: r, ts: new Float64Array(csr.indices.length).fill(NaN) };
}

function split(numItems: number, train: number[][], valid: number[][], test: number[][], ratings?: number[][]): SplitData {
  const coldItems = new Uint8Array(numItems).fill(1);
  for (const l of train) for (const i of l) coldItems[i] = 0;
  return {
    dir: '(memory)',
    numUsers: train.length,
    numItems,
    train: part(train, ratings),
    valid: part(valid),
    test: part(test),
    coldItems,
    manifest: { split_hash: 'test' },
  };
}

/** A tiny irregular graph: 5 users, 6 items (item 5 cold). */
function tiny(ratings = false): SplitData {
  const train = [[0, 1, 3], [1, 2], [0, 2, 3, 4], [4], [1, 3]];
  const r = ratings ? [[5, 1, 3], [2, 4], [1, 5, 5, 2], [3], [4, 1]] : undefined;
  return split(6, train, [[2], [0], [1], [0], [4]], [[4], [3], [5], [1], [0]], r);
}

/**
 * Planted structure: users 0..G−1 like items of block A (0..B−1), users G..2G−1 block B (B..2B−1), with
 * Zipf-like popularity inside each block and a little cross-block noise; per user 8 train, 2 valid and 3
 * test items. Block B is more popular overall, so a popularity ranking serves group A badly.
 */
function planted(seed: number): SplitData {
  const rng = new Rng(seed);
  const G = 40;
  const B = 30;
  const pick = (block: number): number => {
    // popularity ∝ 1/(rank+3) inside the block
    const w = Array.from({ length: B }, (_, k) => 1 / (k + 3));
    const z = w.reduce((a, b) => a + b, 0);
    let r = rng.next() * z;
    for (let k = 0; k < B; k++) if ((r -= w[k]) <= 0) return block * B + k;
    return block * B + B - 1;
  };
  const train: number[][] = [];
  const valid: number[][] = [];
  const test: number[][] = [];
  for (let u = 0; u < 2 * G; u++) {
    const own = u < G ? 0 : 1;
    const n = u < G ? 13 : 16;
    const items = new Set<number>();
    while (items.size < n) items.add(rng.next() < 0.05 ? pick(1 - own) : pick(own));
    const list = [...items];
    const nt = list.length - 5;
    train.push(list.slice(0, nt));
    valid.push(list.slice(nt, nt + 2));
    test.push(list.slice(nt + 2));
  }
  // group B users are more active: block B more popular
  for (let u = G; u < 2 * G; u++) for (let k = 0; k < 4; k++) train[u].push(...[pick(1)].filter((i) => !train[u].includes(i) && !valid[u].includes(i) && !test[u].includes(i)));
  return split(2 * B, train, valid, test);
}

function context(data: SplitData, params: Params, workDir: string, seed = 7): FitContext {
  return {
    data,
    params,
    seed,
    budgetSeconds: 30,
    workDir,
    resume: false,
    validate: async (m: Recommender) => (await evaluateRecommender(m, data, 'valid', { ks: [10] })).metrics,
    onEpoch: () => {},
    progress: () => silentProgress,
  };
}

const batch = { users: Int32Array.from([0, 2, 4, 1, 2]), pos: Int32Array.from([1, 3, 3, 2, 0]), neg: Int32Array.from([5, 1, 0, 4, 5]) };

/**
 * Central differences of the float32 loss w.r.t. sampled entries of every parameter, against the tape's
 * gradients. Attention logits go through a LeakyReLU, whose kink a perturbation may cross: there the
 * one-sided differences disagree, and such entries are skipped (at most a third of them).
 */
function checkGradients(name: string, model: GatModel, dropoutSeed: number | null, b: { users: Int32Array; pos: Int32Array; neg: Int32Array } = batch): void {
  const params = model.parameters();
  for (const t of Object.values(params)) t.grad = null;
  model.batchLoss(b.users, b.pos, b.neg, { backward: true, dropoutSeed });
  const f = () => model.batchLoss(b.users, b.pos, b.neg, { dropoutSeed });
  const f0 = f();
  const h = 2e-3;
  const rng = new Rng(11);
  let checked = 0;
  let skipped = 0;
  for (const [key, t] of Object.entries(params)) {
    assert.ok(t.grad, `${name}: ${key} got no gradient`);
    const analytic = t.grad!;
    const idx = t.size <= 8 ? [...Array(t.size).keys()] : Array.from({ length: 8 }, () => rng.int(t.size));
    const scale = Math.max(1e-3, ...idx.map((i) => Math.abs(analytic[i])));
    for (const i of idx) {
      const orig = t.data[i];
      t.data[i] = orig + h;
      const hp = t.data[i] - orig;
      const fp = f();
      t.data[i] = orig - h;
      const hm = orig - t.data[i];
      const fm = f();
      t.data[i] = orig;
      const fwd = (fp - f0) / hp;
      const bwd = (f0 - fm) / hm;
      if (Math.abs(fwd - bwd) > 0.05 * scale) {
        skipped++;
        continue;
      }
      const central = (fp - fm) / (hp + hm);
      const err = Math.abs(central - analytic[i]) / scale;
      assert.ok(err < 2e-2, `${name}: ∂loss/∂${key}[${i}] analytic ${analytic[i].toExponential(4)}, numeric ${central.toExponential(4)} (relative error ${err.toExponential(2)})`);
      checked++;
    }
  }
  assert.ok(skipped <= checked / 2, `${name}: ${skipped} entries at a kink, ${checked} checked`);
  for (const t of Object.values(params)) t.grad = null;
}

test('loss gradients w.r.t. embeddings and attention vectors match central finite differences (light attention, degree norm, dropout mask fixed)', () => {
  const model = new GatModel(tiny(), { dim: 4, layers: 2, heads: 2, attn_dropout: 0.3, reg: 0.01, init_std: 0.5, attn_init_std: 0.5 }, 3);
  try {
    checkGradients('identity/degree', model, 1234);
  } finally {
    model.dispose();
  }
});

test('loss gradients match finite differences for the full GAT variant (linear W, concatenated heads, ELU, self-loops, rating logits, item features, concat-proj)', () => {
  const rng = new Rng(5);
  const features = { data: Float32Array.from({ length: 6 * 3 }, () => rng.normal()), dim: 3 };
  const model = new GatModel(
    tiny(true),
    {
      dim: 4,
      layers: 2,
      heads: 2,
      attn_dropout: 0,
      transform: 'linear',
      head_merge: 'concat',
      activation: 'elu',
      self_loops: true,
      norm: 'softmax',
      rating_weighted: 'logit',
      readout: 'concat-proj',
      reg: 0.01,
      init_std: 0.5,
      attn_init_std: 0.5,
    },
    4,
    features,
  );
  try {
    assert.ok(model.parameters()['l0.h1.W'] && model.parameters().featProj && model.parameters().proj);
    checkGradients('linear/concat', model, null);
  } finally {
    model.dispose();
  }
});

test('with three candidates per positive the sampled-softmax and the BPR (mean over candidates) gradients match finite differences', () => {
  const b3 = { ...batch, neg: Int32Array.from([5, 1, 0, 4, 5, 2, 1, 0, 5, 4, 5, 2, 5, 1, 3]) };
  for (const loss of ['softmax', 'bpr'] as const) {
    const model = new GatModel(tiny(), { dim: 4, layers: 2, heads: 2, reg: 0.05, init_std: 0.5, attn_init_std: 0.5, loss, neg_samples: 3, temperature: 0.5, negatives: 'uniform' }, 3);
    try {
      checkGradients(`${loss}×3`, model, null, b3);
    } finally {
      model.dispose();
    }
  }
});

test('dot-product attention and rating-weighted messages have correct gradients too', () => {
  const model = new GatModel(tiny(true), { dim: 4, layers: 1, heads: 1, attn_dropout: 0, attention: 'dot', rating_weighted: 'message', reg: 0, init_std: 0.5 }, 9);
  try {
    checkGradients('dot/message', model, null);
  } finally {
    model.dispose();
  }
});

test('attention weights sum to 1 over each node’s incoming edges, in every layer', () => {
  const model = new GatModel(tiny(), { dim: 8, layers: 2, heads: 3, self_loops: true, attn_init_std: 1, init_std: 1 }, 1);
  try {
    const { indptr, rows } = model.adjacency;
    for (let l = 0; l < 2; l++) {
      const alpha = model.attention(l);
      let nonUniform = false;
      for (let i = 0; i < rows; i++) {
        let s = 0;
        for (let e = indptr[i]; e < indptr[i + 1]; e++) {
          s += alpha[e];
          if (Math.abs(alpha[e] - 1 / (indptr[i + 1] - indptr[i])) > 1e-3) nonUniform = true;
        }
        assert.ok(Math.abs(s - 1) < 1e-5, `layer ${l}, node ${i}: Σα = ${s}`);
      }
      assert.ok(nonUniform, 'attention should not be uniform with random attention vectors');
    }
  } finally {
    model.dispose();
  }
});

test('rating-weighted logits make a node attend more to its highly rated neighbours', () => {
  const model = new GatModel(tiny(true), { dim: 4, layers: 1, heads: 1, rating_weighted: 'logit', rating_scale: 2, attn_init_std: 0 }, 1);
  try {
    const alpha = model.attention(0);
    // user 2 rated items 0, 2, 3, 4 with 1, 5, 5, 2
    const { indptr } = model.adjacency;
    const w = Array.from(alpha.subarray(indptr[2], indptr[3]));
    assert.ok(w[1] > w[3] && w[3] > w[0] && Math.abs(w[1] - w[2]) < 1e-6, `weights ${w}`);
  } finally {
    model.dispose();
  }
});

test('training is deterministic for a seed and differs across seeds', async () => {
  const data = planted(1);
  const run = async (seed: number) => {
    const m = new GatModel(data, { dim: 8, batch: 128, lr: 0.01 }, seed);
    for (let e = 1; e <= 2; e++) await m.trainEpoch(e);
    const emb = m.embeddings()!;
    m.dispose();
    return emb;
  };
  const a = await run(3);
  const b = await run(3);
  const c = await run(4);
  assert.deepEqual(a.users, b.users);
  assert.deepEqual(a.items, b.items);
  assert.notDeepEqual(a.items, c.items);
});

test('a saved and loaded model gives identical scores and explanations', async () => {
  const data = planted(2);
  const dir = await mkdtemp(join(tmpdir(), 'pp-gat-'));
  try {
    const m = new GatModel(data, { dim: 8, batch: 128, lr: 0.01, readout: 'concat-proj', transform: 'linear' }, 5);
    await m.trainEpoch(1);
    await m.save(dir);
    const loaded = (await gatSpec.load(dir, data)) as GatModel;
    const users = Int32Array.from([0, 5, 41, 79]);
    const s1 = new Float32Array(users.length * data.numItems);
    const s2 = new Float32Array(users.length * data.numItems);
    m.scoreUsers(users, s1);
    loaded.scoreUsers(users, s2);
    assert.deepEqual(s2, s1);
    assert.deepEqual(loaded.explain(5, 3), m.explain(5, 3));
    m.dispose();
    loaded.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('explain lists the user’s train items and the item’s users with their attention weights, by contribution', () => {
  const data = tiny();
  const model = new GatModel(data, { dim: 8, layers: 2, heads: 2, attn_init_std: 1, init_std: 1 }, 2);
  try {
    const x = model.explain(2, 1, 10);
    assert.deepEqual(x.items.map((n) => n.id).sort(), [0, 2, 3, 4]);
    assert.deepEqual(x.users.map((n) => n.id).sort(), [0, 1, 4]);
    const sum = x.items.reduce((s, n) => s + n.attention, 0);
    assert.ok(Math.abs(sum - 1) < 1e-5, `user attention sums to ${sum}`);
    for (let k = 1; k < x.items.length; k++) assert.ok(x.items[k - 1].contribution >= x.items[k].contribution);
    const scores = new Float32Array(data.numItems);
    model.scoreUsers(Int32Array.of(2), scores);
    assert.ok(Math.abs(scores[1] - x.score) < 1e-5);
    assert.equal(model.explain(2, 1, 2).items.length, 2);
  } finally {
    model.dispose();
  }
});

test('gat learns planted user groups and beats a popularity ranking within a few seconds', async () => {
  const data = planted(3);
  const dir = await mkdtemp(join(tmpdir(), 'pp-gat-fit-'));
  const t0 = performance.now();
  try {
    const model = await fitGat(context(data, { dim: 16, batch: 256, lr: 0.02, epochs: 40, eval_every: 5, patience: 3 }, dir));
    const counts = new Float32Array(data.numItems);
    for (const i of data.train.indices) counts[i]++;
    const pop: Recommender = {
      modelName: 'pop',
      numUsers: data.numUsers,
      numItems: data.numItems,
      scoreUsers: (users, out) => {
        for (let r = 0; r < users.length; r++) out.set(counts, r * data.numItems);
      },
      save: async () => {},
    };
    const g = (await evaluateRecommender(model, data, 'test', { ks: [10] })).metrics;
    const p = (await evaluateRecommender(pop, data, 'test', { ks: [10] })).metrics;
    assert.ok(g['ndcg@10'] > p['ndcg@10'] * 1.2 && g['recall@10'] > p['recall@10'] * 1.2, `gat ${JSON.stringify(g)} vs pop ${JSON.stringify(p)}`);
    model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.ok(performance.now() - t0 < 20000);
});

test('an interrupted fit resumes from its last checkpoint (parameters and Adam moments), also with hard negatives', async () => {
  const data = planted(4);
  const dir = await mkdtemp(join(tmpdir(), 'pp-gat-resume-'));
  try {
    const params = { dim: 8, batch: 128, lr: 0.01, eval_every: 1, patience: 10, negatives: 'hard', hard_candidates: 4 };
    const epochs: number[] = [];
    const ctx = (extra: Partial<FitContext>): FitContext => ({ ...context(data, params, dir), onEpoch: (r) => epochs.push(r.epoch), ...extra });
    const first = await fitGat(ctx({ params: { ...params, epochs: 2 } }));
    const resumed = await fitGat(ctx({ params: { ...params, epochs: 3 }, resume: true }));
    assert.deepEqual(epochs, [1, 2, 3]);
    assert.notDeepEqual(resumed.embeddings()!.items, first.embeddings()!.items);
    // a state moved into another instance (other seed) scores identically
    const clone = new GatModel(data, params, 99);
    clone.setState(first.getState());
    assert.deepEqual(clone.embeddings(), first.embeddings());
    for (const m of [first, resumed, clone]) m.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('gat is registered with documented defaults and refuses inconsistent options', () => {
  assert.equal(getModel('gat'), gatSpec);
  assert.equal(gatSpec.params.layers.default, 2);
  assert.equal(gatSpec.params.heads.default, 2);
  assert.equal(gatSpec.params.dim.default, 64);
  assert.equal(gatSpec.params.attn_dropout.default, 0.1);
  assert.equal(gatSpec.params.readout.default, 'mean');
  assert.throws(() => new GatModel(tiny(), { head_merge: 'concat' }, 1), /PP_MODEL_PARAM|needs transform/);
  assert.throws(() => new GatModel(tiny(), { heads: 0 }, 1), /heads/);
});
