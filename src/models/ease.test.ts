import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateRecommender } from '../eval/evaluate-model.js';
import { chooseEaseVariant, easeSpec, fitEase, type DenseEase, type LowRankEase } from './ease.js';
import { resolveParams } from './registry.js';
import { popSpec } from './pop.js';
import { plantedSplit, randomLists, scoresOf, splitFromLists, tempDir, testFitContext } from './graph-filter.testkit.js';

/** Reference EASE in float64: B = I − P diag(1/diag P), P = (XᵀX + Λ)⁻¹ by Gauss–Jordan. */
function referenceB(numItems: number, lists: number[][], lambda: number, dropout = 0): Float64Array {
  const n = numItems;
  const g = new Float64Array(n * n);
  for (const items of lists) {
    const s = [...new Set(items)];
    for (const i of s) for (const j of s) g[i * n + j]++;
  }
  const w = 2 * n;
  const m = new Float64Array(n * w);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) m[i * w + j] = g[i * n + j];
    m[i * w + i] += lambda + (dropout > 0 ? (dropout / (1 - dropout)) * g[i * n + i] : 0);
    m[i * w + n + i] = 1;
  }
  for (let c = 0; c < n; c++) {
    const d = m[c * w + c];
    for (let j = 0; j < w; j++) m[c * w + j] /= d;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r * w + c];
      for (let j = 0; j < w; j++) m[r * w + j] -= f * m[c * w + j];
    }
  }
  const b = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) b[i * n + j] = i === j ? 0 : -m[i * w + n + j] / m[j * w + n + j];
  return b;
}

const lists = randomLists(3, 60, 200, 0.06);
const data = splitFromLists(200, lists, lists.map(() => [0]));

async function fit(params: Record<string, unknown>, d = data) {
  return (await easeSpec.fit(testFitContext(d, resolveParams(easeSpec, params)))) as DenseEase | LowRankEase;
}

test('dense EASE equals the float64 reference B = I − P·diag(1/diag P) (and EDLAE with dropout), diag(B) = 0', async () => {
  for (const [lambda, dropout] of [[5, 0], [2, 0.3]]) {
    const m = (await fit({ lambda, dropout, variant: 'dense' })) as DenseEase;
    assert.equal(m.variant, 'dense');
    const ref = referenceB(200, lists, lambda, dropout);
    let err = 0;
    let scale = 0;
    for (let e = 0; e < ref.length; e++) {
      err = Math.max(err, Math.abs(m.weights[e] - ref[e]));
      scale = Math.max(scale, Math.abs(ref[e]));
    }
    assert.ok(err / scale < 1e-3, `λ ${lambda} p ${dropout}: relative error ${err / scale}`);
    for (let i = 0; i < 200; i++) assert.equal(m.weights[i * 200 + i], 0);
    // s_u = x_u B
    const s = await scoresOf(m, [4]);
    const items = [...new Set(lists[4])];
    for (let j = 0; j < 200; j += 7) {
      const want = items.reduce((acc, i) => acc + ref[i * 200 + j], 0);
      assert.ok(Math.abs(s[j] - want) < 1e-3 * scale, `item ${j}: ${s[j]} vs ${want}`);
    }
    m.dispose();
  }
});

test('low-rank EASE at full rank ranks unseen items exactly as dense EASE (the Woodbury form is exact when VEVᵀ = XᵀX)', async () => {
  const small = randomLists(5, 80, 40, 0.15);
  const d = splitFromLists(40, small, small.map(() => [0]));
  const dense = (await fit({ lambda: 3, variant: 'dense' }, d)) as DenseEase;
  const low = (await fit({ lambda: 3, variant: 'lowrank', rank: 40, oversample: 0, power_iters: 8 }, d)) as LowRankEase;
  assert.equal(low.variant, 'lowrank');
  const users = [0, 1, 2, 3, 4, 5];
  const a = await scoresOf(dense, users);
  const b = await scoresOf(low, users);
  let err = 0;
  let scale = 0;
  users.forEach((u, r) => {
    const seen = new Set(small[u]);
    for (let j = 0; j < 40; j++) {
      if (seen.has(j)) continue;
      err = Math.max(err, Math.abs(a[r * 40 + j] - b[r * 40 + j]));
      scale = Math.max(scale, Math.abs(a[r * 40 + j]));
    }
  });
  assert.ok(err / scale < 2e-3, `relative error ${err / scale}`);
  // its scores on unseen items are dot products of the exported embeddings
  const emb = low.embeddings();
  for (const j of [1, 7, 33]) {
    if (small[2].includes(j)) continue;
    let dot = 0;
    for (let k = 0; k < emb.dim; k++) dot += emb.users[2 * emb.dim + k] * emb.items[j * emb.dim + k];
    assert.ok(Math.abs(dot - b[2 * 40 + j]) < 1e-4 * scale, `item ${j}: ${dot} vs ${b[2 * 40 + j]}`);
  }
});

test('auto picks dense within the memory budget and low-rank beyond it', () => {
  assert.equal(chooseEaseVariant(4385, 2048), 'dense');
  assert.equal(chooseEaseVariant(40981, 2048), 'lowrank');
  assert.equal(chooseEaseVariant(63000, 1e9), 'dense');
});

test('λ is chosen on valid NDCG@20 from the grid, every grid value reported; EASE beats popularity on planted blocks', async () => {
  const planted = plantedSplit(11);
  // valid = one held-out test item per user, moved out of test so selection never sees test
  const validData = { ...planted, valid: planted.test };
  const reports: { lambda: number; ndcg: number }[] = [];
  const validate = async (m: Parameters<typeof evaluateRecommender>[0]) => (await evaluateRecommender(m, validData, 'valid', { ks: [20] })).metrics;
  const model = await fitEase(validData, resolveParams(easeSpec, { grid: '0.1,10,1000' }), 1, validate, (_s, lambda, metrics) => reports.push({ lambda, ndcg: metrics['ndcg@20'] }));
  assert.deepEqual(reports.map((r) => r.lambda), [0.1, 10, 1000]);
  const best = reports.reduce((a, b) => (b.ndcg > a.ndcg ? b : a));
  assert.equal(model.lambda, best.lambda);
  const pop = await popSpec.fit(testFitContext(planted, {}));
  const e = (await evaluateRecommender(model, planted, 'test', { ks: [10] })).metrics['ndcg@10'];
  const p = (await evaluateRecommender(pop, planted, 'test', { ks: [10] })).metrics['ndcg@10'];
  assert.ok(e > p, `ease ${e} vs pop ${p}`);
});

test('a saved EASE model (both variants) reloads and scores identically', async () => {
  for (const variant of ['dense', 'lowrank']) {
    const m = await fit({ lambda: 4, variant, rank: 16 });
    const dir = await tempDir();
    await m.save(dir);
    const back = await easeSpec.load(dir, data);
    assert.deepEqual(await scoresOf(back, [0, 9, 33]), await scoresOf(m, [0, 9, 33]));
  }
  await assert.rejects(easeSpec.load(await tempDir(), data), { code: 'PP_MODEL_LOAD' });
  await assert.rejects(fit({ grid: '10,-1' }), { code: 'PP_MODEL_PARAM' });
});
