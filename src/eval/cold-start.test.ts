import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isPlotPointeError } from '../errors.js';
import { coldItems, evaluateColdStart, itemMask, itemTrainCounts, restrictCsrToItems, warmItems } from './cold-start.js';
import { csrFromLists } from '../core/csr-pattern.js';
import { evaluateFullRanking } from './full-ranking.js';

const close = (actual: number, expected: number, tol = 1e-12, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected}, got ${actual}`);

// 4 users × 6 items. Train counts: items 0–3 once each, items 4 and 5 never → cold = {4, 5}.
//   user 0: train [0],    test [2, 5] → cold relevant {5}; scores 0.9 0.8 0.7 0.6 0.5 0.4
//   user 1: train [1, 2], test []     → skipped
//   user 2: train [3],    test [4]    → cold relevant {4}; scores 0.1 0.2 0.3 0.4 0.5 0.6
//   user 3: train [],     test [0]    → no cold test item → skipped
const NUM_ITEMS = 6;
const SCORES = Float32Array.from([
  0.9, 0.8, 0.7, 0.6, 0.5, 0.4,
  0, 0, 0, 0, 0, 0,
  0.1, 0.2, 0.3, 0.4, 0.5, 0.6,
  0, 0, 0, 0, 0, 0,
]);
const TRAIN = csrFromLists([[0], [1, 2], [3], []]);
const TEST = csrFromLists([[2, 5], [], [4], [0]]);
const base = {
  numUsers: 4,
  numItems: NUM_ITEMS,
  train: TRAIN,
  test: TEST,
  ks: [1, 2, 5],
  scoreBatch: (users: Int32Array, out: Float32Array) => {
    for (let r = 0; r < users.length; r++) out.set(SCORES.subarray(users[r] * NUM_ITEMS, (users[r] + 1) * NUM_ITEMS), r * NUM_ITEMS);
  },
};

describe('cold item sets', () => {
  it('selects items by train count threshold and its complement', () => {
    const counts = itemTrainCounts(TRAIN, NUM_ITEMS);
    assert.deepEqual(Array.from(counts), [1, 1, 1, 1, 0, 0]);
    assert.deepEqual(Array.from(coldItems(counts)), [4, 5]);
    assert.deepEqual(Array.from(coldItems([0, 3, 5, 2], 2)), [0, 3]);
    assert.deepEqual(Array.from(warmItems([0, 3, 5, 2], 2)), [1, 2]);
  });

  it('restricts CSR rows to an item subset, keeping order', () => {
    const r = restrictCsrToItems(csrFromLists([[5, 1, 4], [2], []]), [4, 5], 6);
    assert.deepEqual(Array.from(r.indptr), [0, 2, 2, 2]);
    assert.deepEqual(Array.from(r.indices), [5, 4]);
    assert.deepEqual(Array.from(itemMask([1, 3], 4)), [0, 1, 0, 1]);
    assert.throws(() => itemMask([4], 4), (e) => isPlotPointeError(e, 'PP_EVAL_INVALID'));
  });
});

describe('evaluateColdStart', () => {
  it('ranks only among the cold candidates by default', async () => {
    const r = await evaluateColdStart(base);
    assert.equal(r.subset, 'cold-items');
    assert.equal(r.maxTrainCount, 0);
    assert.equal(r.rankAmong, 'candidates');
    assert.equal(r.candidateItems, 2);
    assert.equal(r.rankedItems, 2);
    assert.equal(r.usersEvaluated, 2);
    assert.equal(r.usersSkipped, 2);
    // user 0 ranks the cold items [4 (0.5), 5 (0.4)]: relevant 5 at rank 2.
    // user 2 ranks them [5 (0.6), 4 (0.5)]: relevant 4 at rank 2.
    // recall@1 = 0, recall@2 = 1, ndcg@2 = 1/log2(3) for both.
    close(r.metrics['recall@1'], 0);
    close(r.metrics['recall@2'], 1);
    close(r.metrics['ndcg@2'], 1 / Math.log2(3));
    // K = 5 exceeds the pool: lists have 2 items, precision still divides by 5.
    close(r.metrics['precision@5'], 1 / 5);
    // Coverage is relative to the pool: top-1 lists {4} and {5} cover both cold items.
    close(r.coverage['coverage@1'], 1);
  });

  it('ranks among all items but counts only cold hits when rankAmong is all', async () => {
    const r = await evaluateColdStart({ ...base, rankAmong: 'all' });
    assert.equal(r.rankAmong, 'all');
    assert.equal(r.rankedItems, NUM_ITEMS);
    // user 0's masked ranking over all items: 1, 2, 3, 4, 5 → cold relevant 5 at rank 5 (test item 2 at rank
    // 2 is warm and does not count). user 2: 5, 4, 2, 1, 0 → cold relevant 4 at rank 2.
    close(r.metrics['recall@2'], (0 + 1) / 2);
    close(r.metrics['recall@5'], 1);
    close(r.metrics['ndcg@5'], (1 / Math.log2(6) + 1 / Math.log2(3)) / 2);
    close(r.coverage['coverage@1'], 2 / 6); // top-1 lists {1} and {5}
  });

  it('accepts an explicit candidate set, equivalent to evaluateFullRanking with candidates', async () => {
    const a = await evaluateColdStart({ ...base, coldItems: [5, 4] });
    const b = await evaluateFullRanking({ ...base, candidates: [4, 5] });
    assert.equal(a.maxTrainCount, null);
    assert.deepEqual(a.metrics, b.metrics);
    assert.deepEqual(a.coverage, b.coverage);
  });

  it('rejects an empty cold set', async () => {
    await assert.rejects(evaluateColdStart({ ...base, coldItems: [] }), (e) => isPlotPointeError(e, 'PP_EVAL_INVALID'));
  });
});
