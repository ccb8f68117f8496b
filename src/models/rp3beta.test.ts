import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateRecommender } from '../eval/evaluate-model.js';
import { resolveParams } from './registry.js';
import { rp3betaSpec, type Rp3betaModel } from './rp3beta.js';
import { popSpec } from './pop.js';
import { plantedSplit, scoresOf, splitFromLists, tempDir, testFitContext } from './graph-filter.testkit.js';

// U_0 = {0,1,3}, U_1 = {0,1,2}, U_2 = {1,2}, U_3 = {3}; user degrees 2, 3, 2, 2
const train = [[0, 1], [0, 1, 2, 0], [1, 2], [0, 3]];
const data = splitFromLists(4, train, [[2], [3], [0], [1]]);

async function fit(params: Record<string, unknown>, d = data): Promise<Rp3betaModel> {
  return (await rp3betaSpec.fit(testFitContext(d, resolveParams(rp3betaSpec, params)))) as Rp3betaModel;
}

test('rp3beta weights are the α-powered random walk item → user → item over deg_j^β', async () => {
  const m = await fit({ k: 3, alpha: 1, beta: 0.5 });
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);
  // W_01 = 1/deg_0 · (1/deg_u0 + 1/deg_u1) / deg_1^0.5 = 1/3 · (1/2 + 1/3) / √3
  close(m.weight(0, 1), (1 / 3) * (1 / 2 + 1 / 3) / Math.sqrt(3));
  // W_10 = 1/deg_1 · (1/2 + 1/3) / √deg_0
  close(m.weight(1, 0), (1 / 3) * (1 / 2 + 1 / 3) / Math.sqrt(3));
  // W_03 = 1/3 · 1/2 (user 3, degree 2) / √1
  close(m.weight(0, 3), (1 / 3) * (1 / 2));
  // W_12 = 1/3 · (1/3 + 1/2) / √2 — users 1 and 2
  close(m.weight(1, 2), (1 / 3) * (1 / 3 + 1 / 2) / Math.sqrt(2));
  assert.equal(m.weight(1, 3), 0);
  assert.equal(m.weight(2, 2), 0);
  // s_u = Σ_{i ∈ u} W_ij: user 2 has {1, 2}
  const s = await scoresOf(m, [2]);
  close(s[0], m.weight(1, 0) + m.weight(2, 0));
  close(s[3], m.weight(1, 3) + m.weight(2, 3));
});

test('β = 0 and α = 0 give plain co-occurrence counts; k keeps the strongest sources', async () => {
  const m = await fit({ k: 1, alpha: 0, beta: 0 });
  // candidate 0: sources 1 (2 users), 2 (1), 3 (1) → keeps 1 only
  assert.equal(m.weight(1, 0), 2);
  assert.equal(m.weight(2, 0), 0);
});

test('rp3beta beats popularity on planted blocks and reloads to identical scores', async () => {
  const planted = plantedSplit(5);
  const m = await fit({}, planted);
  const pop = await popSpec.fit(testFitContext(planted, {}));
  const r = (await evaluateRecommender(m, planted, 'test', { ks: [10] })).metrics['ndcg@10'];
  const p = (await evaluateRecommender(pop, planted, 'test', { ks: [10] })).metrics['ndcg@10'];
  assert.ok(r > p, `rp3beta ${r} vs pop ${p}`);
  const dir = await tempDir();
  await m.save(dir);
  const back = await rp3betaSpec.load(dir, planted);
  assert.deepEqual(await scoresOf(back, [0, 40, 79]), await scoresOf(m, [0, 40, 79]));
  await assert.rejects(rp3betaSpec.load(dir, data), { code: 'PP_MODEL_LOAD' });
});
