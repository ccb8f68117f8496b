import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isPlotPointeError } from '../errors.js';
import { csrFromLists, type CsrPattern } from '../core/csr-pattern.js';
import { Prng } from './prng.js';
import { randomLists } from './reference-evaluators.testkit.js';
import { evaluateSampled, type SampledOptions, type ScoreCandidatesFn } from './sampled.js';

const close = (actual: number, expected: number, tol: number, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ≈${expected}, got ${actual}`);

const rng = new Prng(99);
const numUsers = 500;
const numItems = 2000;
const trainLists = randomLists(rng, numUsers, numItems, 40);
const testLists = randomLists(rng, numUsers, numItems, 8, 0.1);
const train: CsrPattern = csrFromLists(trainLists);
const test: CsrPattern = csrFromLists(testLists);
const totalPairs = testLists.reduce((s, t) => s + t.length, 0);

const options = (scoreCandidates: ScoreCandidatesFn, extra: Partial<SampledOptions> = {}): SampledOptions => ({
  numUsers,
  numItems,
  train,
  test,
  scoreCandidates,
  numNegatives: 99,
  ks: [1, 10, 50],
  seed: 5,
  batchSize: 256,
  ...extra,
});

/** Scores 1 for the user's test items and 0 otherwise: the positive always wins. */
const perfect: ScoreCandidatesFn = (users, items, width, out) => {
  for (let r = 0; r < users.length; r++) {
    const rel = new Set(testLists[users[r]]);
    for (let c = 0; c < width; c++) out[r * width + c] = rel.has(items[r * width + c]) ? 1 : 0;
  }
};
const constant: ScoreCandidatesFn = (_users, _items, _width, out) => {
  out.fill(0.5);
};
const randomScorer = (seed: number): ScoreCandidatesFn => {
  const g = new Prng(seed);
  return (_users, _items, _width, out) => {
    for (let t = 0; t < out.length; t++) out[t] = g.next();
  };
};

describe('evaluateSampled', () => {
  it('labels its output as the sampled 1+N protocol and warns it is not full ranking', async () => {
    const r = await evaluateSampled(options(perfect));
    assert.equal(r.protocol, 'sampled-1+N');
    assert.equal(r.numNegatives, 99);
    assert.match(r.note, /not comparable to full-ranking/);
    assert.deepEqual(Object.keys(r.metrics), ['hit@1', 'hit@10', 'hit@50', 'ndcg@1', 'ndcg@10', 'ndcg@50', 'mrr']);
  });

  it('gives a perfect scorer HR = NDCG = MRR = 1 on every test pair', async () => {
    const r = await evaluateSampled(options(perfect));
    assert.equal(r.pairsEvaluated, totalPairs);
    assert.equal(r.usersEvaluated, testLists.filter((t) => t.length > 0).length);
    for (const v of Object.values(r.metrics)) assert.equal(v, 1);
  });

  it('gives a constant scorer HR@K ≈ K/(N+1) by breaking ties at random', async () => {
    const r = await evaluateSampled(options(constant));
    // HR@K is a mean of ~2,200 Bernoulli(K/100) draws: sd ≤ 0.011, tolerance ≈ 4 sd.
    close(r.metrics['hit@1'], 1 / 100, 0.01, 'hit@1');
    close(r.metrics['hit@10'], 10 / 100, 0.03, 'hit@10');
    close(r.metrics['hit@50'], 50 / 100, 0.045, 'hit@50');
    // E[MRR] = (1/100) Σ_{r=1..100} 1/r = H_100 / 100 ≈ 0.0519
    close(r.metrics.mrr, 5.187377517639621 / 100, 0.01, 'mrr');
  });

  it('gives a random scorer HR@K ≈ K/(N+1)', async () => {
    const r = await evaluateSampled(options(randomScorer(1)));
    close(r.metrics['hit@10'], 0.1, 0.03, 'hit@10');
    close(r.metrics['hit@50'], 0.5, 0.045, 'hit@50');
  });

  it('draws N distinct negatives outside the user’s train and test items, the same for every model', async () => {
    const drawn: string[] = [];
    const recorder: ScoreCandidatesFn = (users, items, width, out) => {
      for (let r = 0; r < users.length; r++) {
        const u = users[r];
        const row = Array.from(items.subarray(r * width, (r + 1) * width));
        assert.ok(testLists[u].includes(row[0]), 'column 0 is a test item of the user');
        const negatives = row.slice(1);
        assert.equal(new Set(negatives).size, 99, 'negatives are distinct');
        const seen = new Set([...trainLists[u], ...testLists[u]]);
        for (const j of negatives) assert.ok(!seen.has(j) && j >= 0 && j < numItems, `negative ${j} of user ${u}`);
        drawn.push(`${u}:${row.join(',')}`);
      }
      out.fill(0);
    };
    await evaluateSampled(options(recorder));
    const first = drawn.splice(0);
    await evaluateSampled(options(recorder, { batchSize: 7 }));
    assert.deepEqual(drawn, first, 'same seed → same negatives, whatever the batch size');
    drawn.length = 0;
    await evaluateSampled(options(recorder, { seed: 6 }));
    assert.notDeepEqual(drawn, first, 'another seed → other negatives');
  });

  it('is deterministic for a given seed', async () => {
    const a = await evaluateSampled(options(constant));
    const b = await evaluateSampled(options(constant));
    assert.deepEqual(a, b);
  });

  it('computes rank-based metrics from the number of negatives scoring above the positive', async () => {
    // One user, one test item (0), N = 3 negatives from items 1..4 minus the train item 4 → exactly {1, 2, 3}.
    // Scores: item 2 beats the positive, items 1 and 3 lose → rank 2: HR@1 0, HR@2 1,
    // NDCG@2 = 1/log2(3), MRR = 1/2.
    const scorer: ScoreCandidatesFn = (_u, items, width, out) => {
      for (let c = 0; c < width; c++) out[c] = items[c] === 2 ? 0.9 : items[c] === 0 ? 0.5 : 0.1;
    };
    const r = await evaluateSampled({
      numUsers: 1,
      numItems: 5,
      train: csrFromLists([[4]]),
      test: csrFromLists([[0]]),
      scoreCandidates: scorer,
      numNegatives: 3,
      ks: [1, 2],
    });
    assert.equal(r.metrics['hit@1'], 0);
    assert.equal(r.metrics['hit@2'], 1);
    assert.equal(r.metrics['ndcg@2'], 1 / Math.log2(3));
    assert.equal(r.metrics.mrr, 1 / 2);
  });

  it('skips users with fewer eligible negatives than N, and counts their pairs', async () => {
    const r = await evaluateSampled({
      numUsers: 2,
      numItems: 5,
      train: csrFromLists([[1, 2], []]),
      test: csrFromLists([[0, 0, 3], [0]]), // user 0: eligible {4} only; its duplicate test entry counts once
      scoreCandidates: perfect,
      numNegatives: 2,
    });
    assert.equal(r.pairsSkipped, 2);
    assert.equal(r.pairsEvaluated, 1);
    assert.equal(r.usersEvaluated, 1);
  });

  it('rejects invalid settings with PP_EVAL_INVALID', async () => {
    for (const extra of [{ numNegatives: 0 }, { batchSize: 0 }, { ks: [0] }, { numUsers: 3 }] as Partial<SampledOptions>[]) {
      await assert.rejects(evaluateSampled(options(constant, extra)), (e) => isPlotPointeError(e, 'PP_EVAL_INVALID'));
    }
  });
});
