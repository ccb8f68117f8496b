import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateRecommender } from '../eval/evaluate-model.js';
import { resolveParams } from './registry.js';
import { ItemKnnModel, itemKnnSpec } from './itemknn.js';
import { popSpec } from './pop.js';
import { plantedSplit, scoresOf, splitFromLists, tempDir, testFitContext } from './graph-filter.testkit.js';

// U_0 = {0,1,3}, U_1 = {0,1,2}, U_2 = {1,2}, U_3 = {3}; co-occurrences c01 = 2, c02 = 1, c03 = 1, c12 = 2
const train = [[0, 1], [0, 1, 2, 0], [1, 2], [0, 3]];
const test_ = [[2], [3], [0], [1]];

async function fit(params: Record<string, unknown>, data = splitFromLists(4, train, test_)): Promise<ItemKnnModel> {
  return (await itemKnnSpec.fit(testFitContext(data, resolveParams(itemKnnSpec, params)))) as ItemKnnModel;
}

test('itemknn similarities are co-occurrences over the shrunk cosine denominator', async () => {
  const m = await fit({ k: 3, shrink: 1 });
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);
  close(m.similarity(0, 1), 2 / (Math.sqrt(3 * 3) + 1)); // 0.5
  close(m.similarity(0, 2), 1 / (Math.sqrt(3 * 2) + 1));
  close(m.similarity(0, 3), 1 / (Math.sqrt(3 * 1) + 1));
  close(m.similarity(1, 2), 2 / (Math.sqrt(3 * 2) + 1));
  close(m.similarity(2, 1), m.similarity(1, 2));
  assert.equal(m.similarity(1, 3), 0); // never co-occur
  assert.equal(m.similarity(2, 2), 0); // no self-similarity
});

test('itemknn keeps only the k most similar items of each candidate and sums them over the history', async () => {
  const m = await fit({ k: 2, shrink: 1 });
  // N_2(0) = {1 (0.5), 3 (0.366)}: item 2 (0.290) is dropped
  assert.deepEqual(Array.from(m.neighbours.indices.subarray(m.neighbours.indptr[0], m.neighbours.indptr[1])), [1, 3]);
  assert.equal(m.similarity(2, 0), 0);
  // user 2 has {1, 2}: score(0) = sim(1→0); score(1) = sim(2→1); score(2) = sim(1→2); score(3) = 0 (N(3) = {0})
  const s = await scoresOf(m, [2]);
  const c12 = 2 / (Math.sqrt(6) + 1);
  const expected = [0.5, c12, c12, 0];
  expected.forEach((v, i) => assert.ok(Math.abs(s[i] - v) < 1e-6, `item ${i}: ${s[i]} vs ${v}`));
});

test('itemknn with alpha ≠ 0.5 uses the asymmetric cosine |U_i|^α |U_j|^(1−α)', async () => {
  const m = await fit({ k: 3, shrink: 1, alpha: 1 });
  assert.ok(Math.abs(m.similarity(2, 0) - 1 / (2 + 1)) < 1e-6); // c / (|U_2| + shrink)
  assert.ok(Math.abs(m.similarity(0, 2) - 1 / (3 + 1)) < 1e-6); // c / (|U_0| + shrink)
});

test('itemknn beats popularity on held-out items of a data set with two planted taste groups', async () => {
  const data = plantedSplit(1);
  const knn = await fit({ k: 10, shrink: 1 }, data);
  const pop = await popSpec.fit(testFitContext(data, resolveParams(popSpec)));
  const rk = (await evaluateRecommender(knn, data, 'test', { ks: [5] })).metrics['recall@5'];
  const rp = (await evaluateRecommender(pop, data, 'test', { ks: [5] })).metrics['recall@5'];
  assert.ok(rk > rp + 0.15, `itemknn recall@5 ${rk} vs pop ${rp}`);
});

test('itemknn survives a save/load round trip with identical scores', async () => {
  const data = plantedSplit(2);
  const m = await fit({ k: 5, shrink: 2, alpha: 0.3 }, data);
  const dir = await tempDir();
  await m.save(dir);
  const loaded = (await itemKnnSpec.load(dir, data)) as ItemKnnModel;
  const users = Array.from({ length: data.numUsers }, (_, u) => u);
  assert.deepEqual(await scoresOf(loaded, users), await scoresOf(m, users));
  assert.deepEqual(loaded.settings, { k: 5, shrink: 2, alpha: 0.3 });
});
