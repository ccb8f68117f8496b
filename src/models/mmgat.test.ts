import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, shutdownPool } from '../core/index.js';
import type { ContentSource, FitContext, Params } from './model.js';
import { MmgatModel, MmgatScorer, PRIOR_WEIGHT_FACTORS, fitMmgat, loadMmgat, resolveMmgatInputs } from './mmgat.js';
import { getModel } from './index.js';
import { coldItemNdcg, memoryContent, randomScorer, syntheticMultimodal } from './multimodal.testkit.js';
import { fitContext } from './bpr-models.testkit.js';

after(async () => {
  await shutdownPool();
});


async function build(params: Params, opts: { seed?: number; content?: 'both' | 'text' } = {}) {
  const s = syntheticMultimodal({ seed: opts.seed ?? 1, users: 24, items: 32, cold: 8, ratings: true });
  const content = opts.content === 'text' ? memoryContent({ text: s.text }) : s.content;
  const inputs = await resolveMmgatInputs(s.data, { ...params } as Params, content);
  return { s, content, model: new MmgatModel(s.data, params, 3, inputs) };
}

const batch = { users: Int32Array.from([0, 1, 2, 3, 5, 8]), pos: [] as number[], neg: Int32Array.from([30, 27, 1, 25, 31, 3]) };

/**
 * Central differences of the loss w.r.t. sampled entries of every parameter against the tape's gradients
 * (entries whose perturbation crosses a LeakyReLU/GELU kink disagree one-sidedly; at most a third skipped).
 */
function checkGradients(name: string, model: MmgatModel, users: Int32Array, pos: Int32Array, neg: Int32Array, dropoutSeed: number | null): void {
  const params = model.parameters();
  for (const t of Object.values(params)) t.grad = null;
  model.batchLoss(users, pos, neg, { backward: true, dropoutSeed });
  const f = () => model.batchLoss(users, pos, neg, { dropoutSeed });
  const h = 2e-3;
  const rng = new Rng(11);
  let checked = 0;
  let skipped = 0;
  for (const [key, t] of Object.entries(params)) {
    if (key === 'fusion.b2') continue; // a constant shift of every item: BPR cannot see it (zero gradient)
    assert.ok(t.grad, `${name}: ${key} got no gradient`);
    const analytic = Float64Array.from(t.grad!);
    const idx = t.size <= 8 ? [...Array(t.size).keys()] : Array.from({ length: 8 }, () => rng.int(t.size));
    const scale = Math.max(1e-3, ...idx.map((i) => Math.abs(analytic[i])));
    for (const i of idx) {
      const orig = t.data[i];
      t.data[i] = orig + h;
      const fp = f();
      t.data[i] = orig - h;
      const fm = f();
      t.data[i] = orig;
      const f0 = f();
      const central = (fp - fm) / (2 * h);
      const fwd = (fp - f0) / h;
      const bwd = (f0 - fm) / h;
      checked++;
      if (Math.abs(fwd - bwd) > 0.2 * Math.max(Math.abs(central), 1e-3) + 1e-3) {
        skipped++;
        continue;
      }
      assert.ok(Math.abs(central - analytic[i]) <= 3e-2 * scale + 2e-4, `${name}: ${key}[${i}] analytic ${analytic[i]} vs numeric ${central}`);
    }
  }
  assert.ok(skipped <= checked / 3, `${name}: skipped ${skipped} of ${checked}`);
}

test('mmgat loss gradients match finite differences: fused features, both relations, ID embeddings, ratings', async () => {
  const { s, model } = await build({ dim: 8, hidden: 12, layers: 2, features: 'fused', item_edges: true, ii_k: 4 });
  const pos = Int32Array.from([0, 1, 2, 3, 5, 8].map((u) => s.data.train.indices[s.data.train.indptr[u]]));
  checkGradients('fused', model, batch.users, pos, batch.neg, null);
  checkGradients('fused+dropout', model, batch.users, pos, batch.neg, 5);
  model.dispose();
});

test('mmgat gradients: concat readout, uniform attention, text only, ID-only ablation', async () => {
  for (const [name, params] of [
    ['concat', { dim: 8, hidden: 8, layers: 2, readout: 'concat', features: 'text', ii_k: 3 }],
    ['uniform', { dim: 8, hidden: 8, layers: 1, attention: 'none', features: 'image', ii_modality: 'image', ii_k: 3 }],
    ['id-only', { dim: 8, layers: 2, features: 'none', ii_k: 3 }],
  ] as const) {
    const { s, model } = await build(params as Params);
    const pos = Int32Array.from([0, 1, 2, 3, 5, 8].map((u) => s.data.train.indices[s.data.train.indptr[u] + 1]));
    checkGradients(name, model, batch.users, pos, batch.neg, null);
    model.dispose();
  }
});

test('mmgat gradients with three candidates per positive: sampled softmax and BPR (mean over candidates), with an ID-only and a fused model', async () => {
  const neg3 = Int32Array.from({ length: 18 }, (_, k) => [30, 27, 1, 25, 31, 3, 29, 26, 4][k % 9]);
  for (const [name, params] of [
    ['softmax fused', { dim: 8, hidden: 8, layers: 2, features: 'fused', ii_k: 3, loss: 'softmax', neg_samples: 3, temperature: 0.5, reg: 0.05 }],
    ['bpr×3 id-only', { dim: 8, layers: 2, features: 'none', ii_k: 3, neg_samples: 3, reg: 0.05 }],
  ] as const) {
    const { s, model } = await build(params as Params);
    const pos = Int32Array.from([0, 1, 2, 3, 5, 8].map((u) => s.data.train.indices[s.data.train.indptr[u]]));
    checkGradients(name, model, batch.users, pos, neg3, null);
    model.dispose();
  }
});

test('cold items (no train edges) get finite, distinct representations from content; their ID rows stay zero', async () => {
  const { s, model } = await build({ dim: 8, hidden: 8, features: 'text', item_edges: true, ii_k: 4 }, { content: 'text' });
  const { items } = model.embeddings()!;
  assert.ok(items.every(Number.isFinite));
  const row = (i: number) => Array.from(items.subarray(i * 8, i * 8 + 8));
  const cold = [...Array(s.data.numItems).keys()].filter((i) => s.data.coldItems[i]);
  assert.ok(cold.length >= 4);
  for (const i of cold) assert.ok(row(i).some((v) => Math.abs(v) > 1e-6), `cold item ${i} has a zero vector`);
  // two cold items with text differ (two without text and without ID share the placeholder representation)
  const withText = cold.filter((i) => s.text.present[i]);
  assert.ok(withText.length >= 2);
  assert.notDeepEqual(row(withText[0]), row(withText[1]));
  const id = model.parameters().itemId.data;
  for (const i of cold) for (let k = 0; k < 8; k++) assert.ok(id[i * 8 + k] === 0, `ID row of cold item ${i} is not zero`);
  model.dispose();
});

test('features text works without image embeddings; image or missing content fails with a clear message', async () => {
  const s = syntheticMultimodal({ seed: 2, users: 20, items: 24, cold: 4 });
  const textOnly = memoryContent({ text: s.text });
  const inputs = await resolveMmgatInputs(s.data, { features: 'fused', item_edges: true, ii_modality: 'text', ii_k: 3 } as unknown as Params, textOnly);
  assert.deepEqual(inputs.modalities.map((m) => m.name), ['text']);
  assert.equal(inputs.graphSource, 'built');
  await assert.rejects(resolveMmgatInputs(s.data, { features: 'image', item_edges: false } as unknown as Params, textOnly), /image embeddings/);
  await assert.rejects(resolveMmgatInputs(s.data, { features: 'text', item_edges: false } as unknown as Params, undefined), /embed text/);
  await assert.rejects(resolveMmgatInputs(s.data, { features: 'none', item_edges: true, ii_modality: 'fused' } as unknown as Params, textOnly), /embed fuse/);
});

test('on a split where content is informative, content-aware mmgat beats the ID-only ablation on cold items', async () => {
  const s = syntheticMultimodal({ seed: 5, users: 80, items: 80, cold: 16 });
  const dir = await mkdtemp(join(tmpdir(), 'pp-mmgat-'));
  try {
    const common = { dim: 16, hidden: 32, layers: 2, lr: 0.01, batch: 128, epochs: 40, eval_every: 2, patience: 5, ii_k: 5 };
    const content = await fitMmgat(fitContext(s.data, { ...common, features: 'fused', item_edges: true }, { content: s.content, workDir: join(dir, 'a'), seed: 7, budgetSeconds: 60 }));
    const idOnly = await fitMmgat(fitContext(s.data, { ...common, features: 'none', item_edges: false }, { content: s.content, workDir: join(dir, 'b'), seed: 7, budgetSeconds: 60 }));
    const c = await coldItemNdcg(content, s.data, s.coldFrom);
    const b = await coldItemNdcg(idOnly, s.data, s.coldFrom);
    const r = await coldItemNdcg(randomScorer, s.data, s.coldFrom);
    if (process.env.PP_DEBUG_TEST) console.log({ content: c, idOnly: b, random: r });
    assert.ok(c > b + 0.05 && c > 3 * r, `cold NDCG@10: content ${c}, ID-only ${b}, random ${r}`);
    content.dispose();
    idOnly.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('save/load: with content the full model comes back (same scores, explanations); without content a scorer of the saved embeddings', async () => {
  const s = syntheticMultimodal({ seed: 6, users: 30, items: 40, cold: 6, ratings: true });
  const dir = await mkdtemp(join(tmpdir(), 'pp-mmgat-'));
  try {
    const model = await fitMmgat(fitContext(s.data, { dim: 8, hidden: 16, epochs: 4, eval_every: 2, batch: 64, ii_k: 4 }, { content: s.content, workDir: join(dir, 'work'), seed: 7, budgetSeconds: 60 }));
    await model.save(dir);
    const users = Int32Array.from([0, 3, 7, 29]);
    const want = new Float32Array(users.length * 40);
    model.scoreUsers(users, want);
    const full = await getModel('mmgat').load(dir, s.data, s.content);
    assert.ok(full instanceof MmgatModel);
    const got = new Float32Array(want.length);
    await full.scoreUsers(users, got);
    for (let k = 0; k < want.length; k++) assert.ok(Math.abs(got[k] - want[k]) < 1e-5, `score ${k}: ${got[k]} vs ${want[k]}`);
    const bare = await loadMmgat(dir, s.data);
    assert.ok(bare instanceof MmgatScorer);
    const got2 = new Float32Array(want.length);
    bare.scoreUsers(users, got2);
    assert.deepEqual(got2, want);
    // explanation: the user's history items with attention weights summing to 1, the item's content neighbours
    const ex = (full as MmgatModel).explain(0, s.data.test.indices[0], 100);
    const sum = ex.history.reduce((a, n) => a + n.attention, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4, `history attention sums to ${sum}`);
    assert.ok(ex.itemNeighbours.length > 0 && ex.itemNeighbours.every((n) => n.similarity! > 0 && n.attention > 0));
    const nb = ex.itemNeighbours.reduce((a, n) => a + n.attention, 0);
    assert.ok(Math.abs(nb - 1) < 1e-4);
    assert.ok(Math.abs(ex.score - want[s.data.test.indices[0]]) < 1e-5);
    model.dispose();
    (full as MmgatModel).dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('mmgat training is deterministic for a seed', async () => {
  const s = syntheticMultimodal({ seed: 8, users: 20, items: 24, cold: 4 });
  const dir = await mkdtemp(join(tmpdir(), 'pp-mmgat-'));
  try {
    const p = { dim: 8, hidden: 8, epochs: 3, eval_every: 3, batch: 32, ii_k: 3 };
    const a = await fitMmgat(fitContext(s.data, p, { content: s.content, workDir: join(dir, 'a'), seed: 7, budgetSeconds: 60 }));
    const b = await fitMmgat(fitContext(s.data, p, { content: s.content, workDir: join(dir, 'b'), seed: 7, budgetSeconds: 60 }));
    assert.deepEqual(a.embeddings()!.items, b.embeddings()!.items);
    a.dispose();
    b.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a stored item–item graph built with another k is cut to ii_k neighbours and symmetrised before mmgat uses it', async () => {
  const s = syntheticMultimodal({ seed: 2, users: 20, items: 24, cold: 4 });
  // a stored kNN graph with k = 6 over the text vectors, not symmetric: every item lists items (i + 1 … i + 6) mod I
  const I = s.data.numItems;
  const indptr = new Int32Array(I + 1);
  const indices: number[] = [];
  const weights: number[] = [];
  for (let i = 0; i < I; i++) {
    const row = Array.from({ length: 6 }, (_, k) => [(i + 1 + k) % I, 1 - k / 10] as const).sort((a, b) => a[0] - b[0]);
    for (const [j, w] of row) {
      indices.push(j);
      weights.push(w);
    }
    indptr[i + 1] = indices.length;
  }
  const stored = { rows: I, cols: I, indptr, indices: Int32Array.from(indices), weights: Float32Array.from(weights) };
  const content = memoryContent({ text: s.text }, { text: stored });
  const inputs = await resolveMmgatInputs(s.data, { features: 'text', item_edges: true, ii_modality: 'text', ii_k: 2 } as unknown as Params, content);
  assert.equal(inputs.graphSource, 'stored');
  const g = inputs.graph!;
  const row = (i: number) => Array.from(g.indices.subarray(g.indptr[i], g.indptr[i + 1]));
  for (let i = 0; i < I; i++) {
    // its own 2 most similar (i + 1, i + 2) and the items that have i among theirs (i − 1, i − 2)
    assert.deepEqual(row(i), [(i + I - 2) % I, (i + I - 1) % I, (i + 1) % I, (i + 2) % I].sort((a, b) => a - b), `item ${i}`);
  }
});

test('prior=ease with weight 0 (no selection) trains and scores exactly as plain mmgat', async () => {
  const s = syntheticMultimodal({ seed: 9, users: 24, items: 30, cold: 4 });
  const dir = await mkdtemp(join(tmpdir(), 'pp-mmgat-'));
  try {
    const p = { dim: 8, hidden: 8, epochs: 3, eval_every: 3, batch: 32, ii_k: 3 };
    const plain = await fitMmgat(fitContext(s.data, p, { content: s.content, workDir: join(dir, 'a'), seed: 7, budgetSeconds: 60 }));
    const zero = await fitMmgat(fitContext(s.data, { ...p, prior: 'ease', prior_weight: 0, prior_select: false, prior_lambda: 10 }, { content: s.content, workDir: join(dir, 'b'), seed: 7, budgetSeconds: 60 }));
    assert.ok(zero.prior);
    const users = Int32Array.from([0, 5, 11, 23]);
    const a = new Float32Array(users.length * 30);
    const b = new Float32Array(users.length * 30);
    plain.scoreUsers(users, a);
    zero.scoreUsers(users, b);
    assert.deepEqual(b, a);
    plain.dispose();
    zero.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('prior=ease scores graph + w·prior with w chosen on valid from prior_weight × the factors, and reloads with it', async () => {
  const s = syntheticMultimodal({ seed: 10, users: 30, items: 36, cold: 4 });
  const dir = await mkdtemp(join(tmpdir(), 'pp-mmgat-'));
  try {
    const ctx = fitContext(s.data, { dim: 8, hidden: 8, epochs: 2, eval_every: 2, batch: 64, ii_k: 3, prior: 'ease', prior_weight: 2, prior_lambda: 10 }, { content: s.content, workDir: join(dir, 'w'), seed: 7, budgetSeconds: 60 });
    const fitted = await fitMmgat(ctx);
    // the weight is one of the grid and its valid NDCG@20 is the best seen on the final graph part
    await assertChosenWeightBest(fitted, PRIOR_WEIGHT_FACTORS.map((f) => f * 2), ctx.validate);
    await checkBlendAndReload(fitted, s, dir, Int32Array.from([0, 7, 29]));
    fitted.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** The prior weight chosen after training is one of `grid` and none of the grid's weights beats it on valid NDCG@20 (the weight is left as chosen). */
async function assertChosenWeightBest(fitted: MmgatModel, grid: number[], validate: FitContext['validate']): Promise<void> {
  const chosen = fitted.priorWeight;
  assert.ok(grid.includes(chosen), `weight ${chosen}`);
  const at = async (w: number) => {
    fitted.setPriorWeight(w);
    return (await validate(fitted))['ndcg@20'];
  };
  const best = await at(chosen);
  for (const w of grid) assert.ok((await at(w)) <= best + 1e-12, `w ${w} beats the chosen ${chosen} on valid`);
  fitted.setPriorWeight(chosen);
}

/**
 * score = graph part (weight 0) + w · prior (w = ∞: the prior alone); no embeddings while the prior counts;
 * the saved model (with and without content) scores the same.
 */
async function checkBlendAndReload(fitted: MmgatModel, s: { data: FitContext['data']; content: ContentSource }, dir: string, users: Int32Array): Promise<void> {
  const chosen = fitted.priorWeight;
  const I = s.data.numItems;
  const total = new Float32Array(users.length * I);
  fitted.scoreUsers(users, total);
  fitted.setPriorWeight(0);
  const graph = new Float32Array(total.length);
  fitted.scoreUsers(users, graph);
  fitted.setPriorWeight(chosen);
  const prior = new Float32Array(total.length);
  fitted.prior!.addScores(users, prior, chosen === Infinity ? 1 : chosen);
  const want = chosen === Infinity ? prior : prior.map((v, k) => v + graph[k]);
  for (let k = 0; k < total.length; k++) assert.ok(Math.abs(total[k] - want[k]) < 1e-4, `score ${k}: ${total[k]} vs ${want[k]} (w ${chosen})`);
  assert.equal(fitted.embeddings() === null, chosen > 0, 'no dot-product embeddings while the prior adds to the score');
  await fitted.save(dir);
  for (const back of [await loadMmgat(dir, s.data, s.content), await loadMmgat(dir, s.data)]) {
    const got = new Float32Array(total.length);
    await back.scoreUsers(users, got);
    for (let k = 0; k < total.length; k++) assert.ok(Math.abs(got[k] - total[k]) < 1e-4, `reloaded score ${k}: ${got[k]} vs ${total[k]}`);
    back.dispose();
  }
}

for (const kind of ['gfcf', 'bspm'] as const) {
  test(`prior=${kind} trains on a tiny set (BPR on graph + w·prior), w chosen on valid is at least the prior alone there, and it reloads`, async () => {
    const s = syntheticMultimodal({ seed: 12, users: 30, items: 36, cold: 4 });
    const dir = await mkdtemp(join(tmpdir(), 'pp-mmgat-'));
    try {
      const ctx = fitContext(s.data, { dim: 8, hidden: 8, epochs: 2, eval_every: 2, batch: 64, features: 'none', item_edges: false, prior: kind, prior_weight: 1, prior_params: 'k=4' }, { content: s.content, workDir: join(dir, 'w'), seed: 7, budgetSeconds: 60 });
      const fitted = await fitMmgat(ctx);
      assert.equal(fitted.prior?.kind, kind);
      await assertChosenWeightBest(fitted, PRIOR_WEIGHT_FACTORS.map((f) => f * 1), ctx.validate);
      await checkBlendAndReload(fitted, s, dir, Int32Array.from([0, 7, 29]));
      fitted.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
