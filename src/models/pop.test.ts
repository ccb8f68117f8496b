import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateRecommender } from '../eval/evaluate-model.js';
import { resolveParams } from './registry.js';
import { popSpec } from './pop.js';
import { scoresOf, splitFromLists, tempDir, testFitContext } from './graph-filter.testkit.js';

// item 2 has 5 train interactions (user 3 twice), item 0 three, item 1 two, item 3 one, item 4 none
const train = [[0, 2], [0, 1, 2], [2, 1], [0, 2, 3, 2]];
const test_ = [[1], [3], [0], [1]];

test('pop scores every user with the train counts of the items', async () => {
  const data = splitFromLists(5, train, test_);
  const model = await popSpec.fit(testFitContext(data, resolveParams(popSpec)));
  const scores = await scoresOf(model, [1, 3]);
  assert.deepEqual(Array.from(scores), [3, 2, 5, 1, 0, 3, 2, 5, 1, 0]);
});

test('pop recommends the most popular unseen items once train items are masked', async () => {
  const data = splitFromLists(5, train, test_);
  const model = await popSpec.fit(testFitContext(data, resolveParams(popSpec)));
  const result = await evaluateRecommender(model, data, 'test', { ks: [1] });
  // top-1 after masking: user 0 → 1 (hit), user 1 → 3 (hit), user 2 → 0 (hit), user 3 → 1 (hit)
  assert.equal(result.metrics['recall@1'], 1);
});

test('pop survives a save/load round trip with identical scores', async () => {
  const data = splitFromLists(5, train, test_);
  const model = await popSpec.fit(testFitContext(data, resolveParams(popSpec)));
  const dir = await tempDir();
  await model.save(dir);
  const loaded = await popSpec.load(dir, data);
  assert.deepEqual(await scoresOf(loaded, [0, 1, 2, 3]), await scoresOf(model, [0, 1, 2, 3]));
  await assert.rejects(popSpec.load(dir, splitFromLists(6, train, test_)), { code: 'PP_MODEL_LOAD' });
});
