import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPlotPointeError } from '../errors.js';
import { shutdownPool } from '../core/index.js';
import { Rng } from '../core/random.js';
import { getModel } from './index.js';
import { fitContext, plantedSplit } from './bpr-models.testkit.js';
import { foldInRecommender, foldInUser, scoreAllItems } from './fold-in.js';

test('foldInUser is the weighted mean of the history rows scaled to unit length', () => {
  const items = new Float32Array([1, 0, 0, 2, 3, 4]); // 3 items × 2
  const u = foldInUser(items, 2, [0, 1]); // mean (0.5, 1) → /‖·‖ = (1, 2)/√5
  assert.ok(Math.abs(u[0] - 1 / Math.sqrt(5)) < 1e-6 && Math.abs(u[1] - 2 / Math.sqrt(5)) < 1e-6);
  const w = foldInUser(items, 2, [0, 2], { weights: [3, 1], normalise: false }); // (3·(1,0) + (3,4)) / 4
  assert.deepEqual(Array.from(w), [1.5, 1]);
  assert.deepEqual(Array.from(foldInUser(items, 2, [])), [0, 0], 'an empty history gives the zero vector');
  assert.deepEqual(Array.from(foldInUser(items, 2, [1, 1], { weights: [0, 0] })), [0, 0]);
  assert.throws(() => foldInUser(items, 2, [3]), (e) => isPlotPointeError(e, 'PP_EVAL_INVALID'));
  assert.throws(() => foldInUser(items, 2, [0], { weights: [-1] }), (e) => isPlotPointeError(e, 'PP_EVAL_INVALID'));
  assert.throws(() => foldInUser(items, 4, [0]), (e) => isPlotPointeError(e, 'PP_EVAL_INVALID'));
});

test('on a toy model with item clusters, the items of the history’s cluster rank on top', () => {
  // 5 clusters × 20 items, dim 8: item = centre of its cluster + small noise.
  const rng = new Rng(3);
  const dim = 8;
  const centres = Array.from({ length: 5 }, () => Array.from({ length: dim }, () => rng.next() * 2 - 1));
  const items = new Float32Array(100 * dim);
  for (let i = 0; i < 100; i++) for (let j = 0; j < dim; j++) items[i * dim + j] = centres[Math.floor(i / 20)][j] + 0.15 * (rng.next() - 0.5);
  const history = [41, 47, 55]; // cluster 2
  const scores = scoreAllItems(foldInUser(items, dim, history), items, dim);
  const ranked = Array.from(scores.keys()).filter((i) => !history.includes(i)).sort((a, b) => scores[b] - scores[a]);
  const top = ranked.slice(0, 17);
  assert.deepEqual(top.map((i) => Math.floor(i / 20)), Array(17).fill(2), `top 17: ${top}`);
});

test('fold-in over a trained MF: a synthetic user’s held-out items rank far better than random, close to the learned user vectors', async (t) => {
  t.after(() => shutdownPool());
  const data = plantedSplit(5, 120, 120, 12);
  const model = await getModel('mf').fit(fitContext(data, { dim: 16, lr: 0.02, batch: 128, epochs: 40, eval_every: 10, patience: 100 }));
  const emb = model.embeddings!()!;
  // A new user of group 1 (items 60..119) with 4 known items; held out: 10 other group-1 items.
  const history = [61, 64, 70, 83];
  const heldOut = [62, 63, 66, 72, 75, 80, 90, 101, 110, 115];
  const scores = scoreAllItems(foldInUser(emb.items, emb.dim, history), emb.items, emb.dim);
  const pool = Array.from(scores.keys()).filter((i) => !history.includes(i));
  const rankOf = (i: number) => pool.filter((j) => scores[j] > scores[i]).length / (pool.length - 1);
  const meanPercentile = heldOut.reduce((s, i) => s + rankOf(i), 0) / heldOut.length;
  assert.ok(meanPercentile < 0.3, `mean rank percentile of held-out items ${meanPercentile} (random: 0.5)`);

  // Evaluated on the split's test part, fold-in from train histories recovers most of the learned users' quality.
  const { evaluateRecommender } = await import('../eval/evaluate-model.js');
  const learned = (await evaluateRecommender(model, data, 'test', { ks: [20] })).metrics['recall@20'];
  const folded = (await evaluateRecommender(foldInRecommender({ ...emb, numItems: data.numItems, modelName: 'mf' }, data.train), data, 'test', { ks: [20] })).metrics['recall@20'];
  const random = 20 / (data.numItems - 14); // ≈ K / (eligible items) for a random ranking
  assert.ok(folded > 2 * random, `fold-in recall@20 ${folded} vs random ≈ ${random}`);
  assert.ok(folded > 0.6 * learned, `fold-in ${folded} vs learned ${learned}`);
  model.dispose?.();
});
