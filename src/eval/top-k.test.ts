import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isPlotPointeError } from '../errors.js';
import { csrFromLists } from '../core/csr-pattern.js';
import { Prng } from './prng.js';
import { naiveTopK, randomLists, randomScores } from './reference-evaluators.testkit.js';
import { prepareCandidates, topK, topKBatch, TopKSelector } from './top-k.js';

const ids = (a: Int32Array) => Array.from(a);

describe('topK', () => {
  it('returns ids in descending score order', () => {
    const scores = Float32Array.from([0.1, 0.9, 0.5, 0.7, 0.3]);
    assert.deepEqual(ids(topK(scores, 3)), [1, 3, 2]);
  });

  it('breaks ties by the lower item id first', () => {
    // items 0..5 with scores 1, 2, 2, 1, 2, 0 → the 2s (ids 1, 2, 4) then the 1s (ids 0, 3).
    const scores = Float32Array.from([1, 2, 2, 1, 2, 0]);
    assert.deepEqual(ids(topK(scores, 5)), [1, 2, 4, 0, 3]);
    // A constant row ranks purely by id.
    assert.deepEqual(ids(topK(new Float32Array(10), 4)), [0, 1, 2, 3]);
  });

  it('keeps the lower id when a tied later item meets a full heap', () => {
    // K = 2: after items 0 (5) and 1 (3) the threshold is 3; item 2 (3) must not displace item 1.
    const scores = Float32Array.from([5, 3, 3, 3]);
    assert.deepEqual(ids(topK(scores, 2)), [0, 1]);
  });

  it('never returns masked items, given as a byte mask or as a list', () => {
    const scores = Float32Array.from([9, 8, 7, 6, 5]);
    assert.deepEqual(ids(topK(scores, 2, { exclude: [0, 2] })), [1, 3]);
    const mask = Uint8Array.from([1, 1, 0, 0, 0]);
    assert.deepEqual(ids(topK(scores, 2, { exclude: mask })), [2, 3]);
  });

  it('returns fewer than K ids when fewer items are eligible', () => {
    const scores = Float32Array.from([1, 2, 3]);
    assert.deepEqual(ids(topK(scores, 5, { exclude: [1] })), [2, 0]);
  });

  it('ranks NaN scores after every real score, including −Infinity', () => {
    const scores = Float32Array.from([NaN, -Infinity, 0, NaN, 1]);
    // −∞ and NaN tie (NaN counts as −∞), so by id: 0 (NaN), 1 (−∞), 3 (NaN).
    assert.deepEqual(ids(topK(scores, 5)), [4, 2, 0, 1, 3]);
  });

  it('restricts the ranking to candidates in any order', () => {
    const scores = Float32Array.from([9, 1, 8, 2, 7, 3]);
    assert.deepEqual(ids(topK(scores, 2, { candidates: [5, 1, 3, 3] })), [5, 3]);
    assert.deepEqual(ids(topK(scores, 4, { candidates: [5, 1, 3], exclude: [3] })), [5, 1]);
  });

  it('equals a full sort on random data, with and without frequent ties, masks and candidates', () => {
    const rng = new Prng(11);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + rng.int(300);
      const k = 1 + rng.int(60);
      const levels = trial % 3 === 0 ? 4 : trial % 3 === 1 ? 0 : 50;
      const scores = randomScores(rng, 1, n, levels);
      const excluded = new Set<number>();
      if (trial % 2 === 0) for (let t = 0; t < n / 3; t++) excluded.add(rng.int(n));
      const cands = trial % 4 === 1 ? Array.from({ length: 1 + rng.int(n) }, () => rng.int(n)) : null;
      const candSet = cands ? new Set(cands) : null;
      const expected = naiveTopK(scores, k, (i) => !excluded.has(i) && (!candSet || candSet.has(i)));
      assert.deepEqual(ids(topK(scores, k, { exclude: excluded, candidates: cands })), expected, `trial ${trial}`);
    }
  });

  it('rejects a non-positive K', () => {
    assert.throws(() => topK(new Float32Array(3), 0), (e) => isPlotPointeError(e, 'PP_EVAL_INVALID'));
  });
});

describe('topKBatch', () => {
  it('equals topK row by row, with per-row train masks, and pads short rows with −1', () => {
    const rng = new Prng(3);
    const rows = 37;
    const numItems = 120;
    const k = 15;
    const scores = randomScores(rng, rows, numItems, 8);
    const lists = randomLists(rng, rows, numItems, 60);
    lists[5] = Array.from({ length: numItems - 3 }, (_, i) => i); // only 3 eligible items → padding
    const csr = csrFromLists(lists);
    const rowIds = Int32Array.from({ length: rows }, (_, r) => r);
    const out = topKBatch(scores, rows, k, { numItems, exclude: { csr, rows: rowIds } });
    for (let r = 0; r < rows; r++) {
      const row = scores.subarray(r * numItems, (r + 1) * numItems);
      const single = ids(topK(row, k, { exclude: lists[r] }));
      const padded = single.concat(new Array(k - single.length).fill(-1));
      assert.deepEqual(ids(out.subarray(r * k, (r + 1) * k)), padded, `row ${r}`);
    }
    assert.deepEqual(ids(out.subarray(5 * k, 5 * k + 4)), [...naiveTopK(scores.subarray(5 * numItems, 6 * numItems), 3, (i) => i >= numItems - 3), -1]);
  });

  it('maps score rows to arbitrary CSR rows and leaves no mask behind between rows', () => {
    // Two score rows, both for CSR row 1 then row 0; the selector is reused across calls.
    const csr = csrFromLists([[0], [1, 2]]);
    const scores = Float32Array.from([5, 4, 3, 2, /* row 2 */ 5, 4, 3, 2]);
    const selector = new TopKSelector(2);
    const a = selector.selectBatch(scores, 2, { numItems: 4, exclude: { csr, rows: Int32Array.from([1, 0]) } });
    assert.deepEqual(ids(a), [0, 3, 1, 2]);
    const b = selector.selectBatch(scores, 2, { numItems: 4 });
    assert.deepEqual(ids(b), [0, 1, 0, 1]);
  });

  it('restricts every row to the candidate list', () => {
    const scores = Float32Array.from([1, 2, 3, 4, /* row 2 */ 4, 3, 2, 1]);
    const out = topKBatch(scores, 2, 2, { numItems: 4, candidates: [0, 2] });
    assert.deepEqual(ids(out), [2, 0, 0, 2]);
  });

  it('rejects a score block smaller than rows × items', () => {
    assert.throws(
      () => topKBatch(new Float32Array(5), 2, 1, { numItems: 3 }),
      (e) => isPlotPointeError(e, 'PP_EVAL_INVALID'),
    );
  });
});

describe('prepareCandidates', () => {
  it('sorts, de-duplicates and bounds-checks candidate ids', () => {
    assert.deepEqual(ids(prepareCandidates([4, 1, 4, 0], 5)), [0, 1, 4]);
    assert.throws(() => prepareCandidates([5], 5), (e) => isPlotPointeError(e, 'PP_EVAL_INVALID'));
  });
});
