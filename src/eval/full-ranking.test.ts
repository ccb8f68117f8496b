import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isPlotPointeError } from '../errors.js';
import { columnCounts, csrFromLists, type CsrPattern } from '../core/csr-pattern.js';
import {
  DEFAULT_DEGREE_BUCKETS,
  evaluateFullRanking,
  evaluateFullRankingParts,
  FullRankingTally,
  rankFullRankingParts,
  type FullRankingOptions,
  type FullRankingResult,
} from './full-ranking.js';
import { Prng } from './prng.js';
import {
  lightgcnTest,
  naiveTopK,
  randomLists,
  randomScores,
  recboleHit,
  recboleMap,
  recboleMrr,
  recboleNdcg,
  recbolePrecision,
  recboleRecall,
  recboleTopkResult,
} from './reference-evaluators.testkit.js';

const close = (actual: number, expected: number, tol = 1e-12, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected}, got ${actual}`);

/** A scorer that copies rows of a dense user × item matrix, recording which users it was asked for. */
function matrixScorer(matrix: Float32Array, numItems: number, seen: number[] = []) {
  return (users: Int32Array, out: Float32Array) => {
    for (let r = 0; r < users.length; r++) {
      seen.push(users[r]);
      out.set(matrix.subarray(users[r] * numItems, (users[r] + 1) * numItems), r * numItems);
    }
  };
}

/** Drops the timing fields so that two runs can be compared exactly. */
function stable(result: FullRankingResult) {
  const { seconds: _s, usersPerSecond: _u, ...rest } = result;
  return rest;
}

// The hand-computed fixture: 4 users, 6 items.
//   user 0: train [0],    test [2, 5], scores 0.9 0.8 0.7 0.6 0.5 0.4 → masked ranking 1, 2, 3, 4, 5
//   user 1: train [1, 2], test []     → skipped (never scored)
//   user 2: train [3],    test [4],    scores 0.1 … 0.6 ascending    → masked ranking 5, 4, 2, 1, 0
//   user 3: train [],     test [0],    scores all 0 (ties)           → ranking by id 0, 1, 2, …
const NUM_ITEMS = 6;
const SCORES = Float32Array.from([
  0.9, 0.8, 0.7, 0.6, 0.5, 0.4,
  0, 0, 0, 0, 0, 0,
  0.1, 0.2, 0.3, 0.4, 0.5, 0.6,
  0, 0, 0, 0, 0, 0,
]);
const TRAIN = csrFromLists([[0], [1, 2], [3], []]);
const TEST = csrFromLists([[2, 5], [], [4], [0]]);
const A = 1 / Math.log2(3); // DCG weight of rank 2

function fixture(extra: Partial<FullRankingOptions> = {}, seen: number[] = []): FullRankingOptions {
  return {
    numUsers: 4,
    numItems: NUM_ITEMS,
    scoreBatch: matrixScorer(SCORES, NUM_ITEMS, seen),
    train: TRAIN,
    test: TEST,
    ks: [2, 3],
    batchSize: 2,
    ...extra,
  };
}

describe('evaluateFullRanking on a hand-computed fixture', () => {
  it('masks train items and averages over users with test items only', async () => {
    const seen: number[] = [];
    const r = await evaluateFullRanking(fixture({}, seen));
    assert.equal(r.protocol, 'full-ranking');
    assert.equal(r.usersEvaluated, 3);
    assert.equal(r.usersSkipped, 1);
    assert.deepEqual(seen, [0, 2, 3], 'the user without test items is never scored');
    // K = 2 — user 0: top [1, 2], hit at rank 2 of |R| = 2: recall 1/2, ndcg A / (1 + A), mrr 1/2
    //         user 2: top [5, 4], hit at rank 2 of |R| = 1: recall 1,   ndcg A / 1,       mrr 1/2
    //         user 3: top [0, 1], hit at rank 1 of |R| = 1: recall 1,   ndcg 1,           mrr 1
    close(r.metrics['recall@2'], (1 / 2 + 1 + 1) / 3);
    close(r.metrics['ndcg@2'], (A / (1 + A) + A + 1) / 3);
    close(r.metrics['precision@2'], (1 / 2 + 1 / 2 + 1 / 2) / 3);
    close(r.metrics['hit@2'], 1);
    close(r.metrics['mrr@2'], (1 / 2 + 1 / 2 + 1) / 3);
    // K = 3 adds no hit (user 0: item 3, user 2: item 2, user 3: item 2): precision (1+1+1)/3/3.
    close(r.metrics['recall@3'], r.metrics['recall@2']);
    close(r.metrics['precision@3'], 1 / 3);
  });

  it('does not mask train items when maskTrain is false', async () => {
    const r = await evaluateFullRanking(fixture({ maskTrain: false }));
    assert.equal(r.maskTrain, false);
    // user 0 now gets top [0, 1] (no hit); users 2 and 3 are unchanged: recall@2 = (0 + 1 + 1) / 3.
    close(r.metrics['recall@2'], 2 / 3);
  });

  it('reports item coverage and the average train popularity of the recommendations', async () => {
    const r = await evaluateFullRanking(fixture());
    // top-2 sets {1,2}, {5,4}, {0,1} → 5 of 6 items; top-3 sets add 3 → all 6.
    close(r.coverage['coverage@2'], 5 / 6);
    close(r.coverage['coverage@3'], 1);
    // train counts: items 0..3 have 1 each, items 4 and 5 have 0.
    // @2: (1 + 1) + (0 + 0) + (1 + 1) = 4 over 6 slots; @3: 4 + pop(3) + pop(2) + pop(2) = 7 over 9 slots.
    close(r.avgPopularity['avg_popularity@2'], 4 / 6);
    close(r.avgPopularity['avg_popularity@3'], 7 / 9);
    // Given popularity overrides the train counts.
    const pop = Float32Array.from([10, 0, 0, 0, 0, 0]);
    const r2 = await evaluateFullRanking(fixture({ itemPopularity: pop }));
    close(r2.avgPopularity['avg_popularity@2'], 10 / 6);
  });

  it('splits the metrics by train degree, adding a bucket below the first edge when needed', async () => {
    const r = await evaluateFullRanking(fixture());
    assert.deepEqual(
      r.byDegree.map((b) => [b.bucket, b.minDegree, b.maxDegree, b.users]),
      [['0', 0, 0, 1], ['1-5', 1, 5, 2], ['6-10', 6, 10, 0], ['11-20', 11, 20, 0], ['21-50', 21, 50, 0], ['51+', 51, null, 0]],
    );
    // bucket 0 is user 3 (recall 1); bucket 1-5 is users 0 and 2: (1/2 + 1) / 2.
    close(r.byDegree[0].metrics['recall@2'], 1);
    close(r.byDegree[1].metrics['recall@2'], 3 / 4);
    assert.equal(r.byDegree[2].metrics['recall@2'], 0);
    const custom = await evaluateFullRanking(fixture({ userDegreeBuckets: [0, 2] }));
    assert.deepEqual(custom.byDegree.map((b) => [b.bucket, b.users]), [['0-1', 3], ['2+', 0]]);
  });

  it('reports progress after every batch', async () => {
    const calls: [number, number][] = [];
    await evaluateFullRanking(fixture({ batchSize: 2, onProgress: (d, t) => calls.push([d, t]) }));
    assert.deepEqual(calls, [[2, 3], [3, 3]]);
  });

  it('evaluates only the requested users', async () => {
    const r = await evaluateFullRanking(fixture({ users: [1, 3] }));
    assert.equal(r.usersEvaluated, 1);
    assert.equal(r.usersSkipped, 1);
    close(r.metrics['recall@2'], 1);
  });

  it('rejects inconsistent inputs with PP_EVAL_INVALID', async () => {
    const bad: Partial<FullRankingOptions>[] = [
      { train: csrFromLists([[0], [1]]) }, // 2 rows for 4 users
      { test: csrFromLists([[7], [], [], []]) }, // item 7 ≥ numItems
      { ks: [0] },
      { batchSize: 0 },
      { itemPopularity: new Float32Array(2) },
      { userDegreeBuckets: [5, 5] },
      { users: [4] },
    ];
    for (const extra of bad) {
      await assert.rejects(evaluateFullRanking(fixture(extra)), (e) => isPlotPointeError(e, 'PP_EVAL_INVALID'));
    }
  });
});

describe('evaluateFullRanking on random data', () => {
  const rng = new Prng(2024);
  const numUsers = 300;
  const numItems = 400;
  const train = randomLists(rng, numUsers, numItems, 60);
  const test = randomLists(rng, numUsers, numItems, 25, 0.2);
  const scores = randomScores(rng, numUsers, numItems);
  const trainCsr: CsrPattern = csrFromLists(train);
  const testCsr: CsrPattern = csrFromLists(test);
  const ks = [5, 20, 50];
  const testUsers = test.flatMap((t, u) => (t.length > 0 ? [u] : []));
  const options = (extra: Partial<FullRankingOptions> = {}): FullRankingOptions => ({
    numUsers,
    numItems,
    scoreBatch: matrixScorer(scores, numItems),
    train: trainCsr,
    test: testCsr,
    ks,
    batchSize: 64,
    ...extra,
  });
  const row = (u: number) => scores.subarray(u * numItems, (u + 1) * numItems);
  const naiveTop = (u: number, k: number) => {
    const seen = new Set(train[u]);
    return naiveTopK(row(u), k, (i) => !seen.has(i));
  };

  it('skips exactly the users without test items', async () => {
    const r = await evaluateFullRanking(options());
    assert.equal(r.usersEvaluated, testUsers.length);
    assert.equal(r.usersSkipped, numUsers - testUsers.length);
    assert.ok(r.usersSkipped > 0);
  });

  it('gives identical results for any batch size', async () => {
    const ref = stable(await evaluateFullRanking(options({ batchSize: numUsers })));
    for (const batchSize of [1, 7, 64, 1000]) {
      assert.deepEqual(stable(await evaluateFullRanking(options({ batchSize }))), ref, `batchSize ${batchSize}`);
    }
  });

  it("agrees with LightGCN-PyTorch's evaluator (Procedure.Test) to 1e-9", async () => {
    const r = await evaluateFullRanking(options());
    const ref = lightgcnTest(testUsers, (u) => row(u), (u) => train[u], (u) => test[u], ks, 100);
    ks.forEach((k, j) => {
      close(r.metrics[`recall@${k}`], ref.recall[j], 1e-9, `recall@${k}`);
      close(r.metrics[`precision@${k}`], ref.precision[j], 1e-9, `precision@${k}`);
      close(r.metrics[`ndcg@${k}`], ref.ndcg[j], 1e-9, `ndcg@${k}`);
    });
  });

  it("agrees with RecBole's full-sort metrics (NDCG, Recall, Precision, Hit, MRR, MAP) to 1e-9", async () => {
    const r = await evaluateFullRanking(options());
    const maxK = Math.max(...ks);
    const posIndex = testUsers.map((u) => naiveTop(u, maxK).map((i) => (test[u].includes(i) ? 1 : 0)));
    const posLen = testUsers.map((u) => test[u].length);
    const tables = {
      ndcg: recboleNdcg(posIndex, posLen),
      recall: recboleRecall(posIndex, posLen),
      precision: recbolePrecision(posIndex),
      hit: recboleHit(posIndex),
      mrr: recboleMrr(posIndex),
      map: recboleMap(posIndex, posLen),
    };
    for (const [name, table] of Object.entries(tables)) {
      for (const k of ks) close(r.metrics[`${name}@${k}`], recboleTopkResult(table, k), 1e-9, `${name}@${k}`);
    }
  });

  it('computes coverage and popularity like a naive pass over the top-K lists', async () => {
    const r = await evaluateFullRanking(options());
    const pop = columnCounts(trainCsr, numItems);
    for (const k of ks) {
      const covered = new Set<number>();
      let popSum = 0;
      let slots = 0;
      for (const u of testUsers) {
        for (const i of naiveTop(u, k)) {
          covered.add(i);
          popSum += pop[i];
          slots++;
        }
      }
      close(r.coverage[`coverage@${k}`], covered.size / numItems, 1e-12, `coverage@${k}`);
      close(r.avgPopularity[`avg_popularity@${k}`], popSum / slots, 1e-9, `avg_popularity@${k}`);
    }
  });

  it('has degree buckets whose user counts and weighted metrics sum to the overall ones', async () => {
    const r = await evaluateFullRanking(options({ userDegreeBuckets: [1, 6, 11, 21, 51] }));
    const total = r.byDegree.reduce((s, b) => s + b.users, 0);
    assert.equal(total, r.usersEvaluated);
    assert.ok(r.byDegree.filter((b) => b.users > 0).length >= 3, 'the random degrees spread over several buckets');
    for (const key of Object.keys(r.metrics)) {
      const weighted = r.byDegree.reduce((s, b) => s + b.users * b.metrics[key], 0);
      close(weighted, r.usersEvaluated * r.metrics[key], 1e-9, key);
    }
    for (const b of r.byDegree) {
      const expected = testUsers.filter((u) => train[u].length >= b.minDegree && (b.maxDegree === null || train[u].length <= b.maxDegree));
      assert.equal(b.users, expected.length, b.bucket);
    }
  });

  it('returns a JSON-serialisable object', async () => {
    const r = await evaluateFullRanking(options());
    assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
  });
});

describe('evaluateFullRankingParts: valid and test ranked in one pass over the scores', () => {
  const rng = new Prng(77);
  const numUsers = 240;
  const numItems = 300;
  const train = randomLists(rng, numUsers, numItems, 40);
  const valid = randomLists(rng, numUsers, numItems, 10, 0.3);
  const test = randomLists(rng, numUsers, numItems, 10, 0.3);
  // 16 score levels: many exact ties, broken by item id.
  const scores = randomScores(rng, numUsers, numItems, 16);
  const seenAll = train.map((t, u) => [...new Set([...t, ...valid[u]])]);
  const trainCsr = csrFromLists(train);
  const validCsr = csrFromLists(valid);
  const testCsr = csrFromLists(test);
  const seenCsr = csrFromLists(seenAll);
  const ks = [1, 10, 20];
  const common = { numUsers, numItems, ks, batchSize: 33 };
  const parts = [
    { train: trainCsr, test: validCsr },
    { train: seenCsr, test: testCsr },
  ];
  // The same, with test's top K read off valid's extended selection instead of its own pass.
  const derivedParts = [parts[0], { ...parts[1], derivedFrom: { part: 0, extra: validCsr } }];
  const row = (u: number) => scores.subarray(u * numItems, (u + 1) * numItems);

  it('scores each user once and gives each part the result of its own evaluation', async () => {
    const asked: number[] = [];
    const joint = await evaluateFullRankingParts({ ...common, scoreBatch: matrixScorer(scores, numItems, asked) }, parts);
    assert.equal(asked.length, new Set(asked).size, 'no user is scored twice');
    const either = new Set([...valid.flatMap((v, u) => (v.length ? [u] : [])), ...test.flatMap((t, u) => (t.length ? [u] : []))]);
    assert.deepEqual(asked, [...either].sort((a, b) => a - b));
    const viaValid = await evaluateFullRankingParts({ ...common, scoreBatch: matrixScorer(scores, numItems) }, derivedParts);
    const unmasked = await evaluateFullRankingParts({ ...common, maskTrain: false, scoreBatch: matrixScorer(scores, numItems) }, derivedParts);
    for (let p = 0; p < parts.length; p++) {
      const alone = await evaluateFullRanking({ ...common, scoreBatch: matrixScorer(scores, numItems), ...parts[p] });
      assert.deepEqual(stable(joint[p]), stable(alone), `part ${p}`);
      assert.deepEqual(stable(viaValid[p]), stable(alone), `part ${p}, test derived from valid's selection`);
      const aloneUnmasked = await evaluateFullRanking({ ...common, maskTrain: false, scoreBatch: matrixScorer(scores, numItems), ...parts[p] });
      assert.deepEqual(stable(unmasked[p]), stable(aloneUnmasked), `part ${p} unmasked`);
    }
    // Candidates (ranking among them) go through the same derived path.
    const cands = Array.from({ length: 120 }, (_, i) => (i * 7) % numItems);
    const c = await evaluateFullRankingParts({ ...common, candidates: cands, scoreBatch: matrixScorer(scores, numItems) }, derivedParts);
    const cAlone = await evaluateFullRanking({ ...common, candidates: cands, scoreBatch: matrixScorer(scores, numItems), ...parts[1] });
    assert.deepEqual(stable(c[1]), stable(cAlone));
  });

  it("agrees with LightGCN-PyTorch's evaluator to 1e-9 on each part, ties included", async () => {
    const [v, t] = await evaluateFullRankingParts({ ...common, scoreBatch: matrixScorer(scores, numItems) }, derivedParts);
    const checks: [FullRankingResult, number[][], number[][]][] = [
      [v, train, valid],
      [t, seenAll, test],
    ];
    for (const [r, seen, rel] of checks) {
      const users = rel.flatMap((x, u) => (x.length > 0 ? [u] : []));
      const ref = lightgcnTest(users, (u) => row(u), (u) => seen[u], (u) => rel[u], ks, 50);
      ks.forEach((k, j) => {
        close(r.metrics[`recall@${k}`], ref.recall[j], 1e-9, `recall@${k}`);
        close(r.metrics[`precision@${k}`], ref.precision[j], 1e-9, `precision@${k}`);
        close(r.metrics[`ndcg@${k}`], ref.ndcg[j], 1e-9, `ndcg@${k}`);
      });
    }
  });

  it('replaying the per-user rows of consecutive user ranges gives the one-pass result bit for bit', async () => {
    const whole = await evaluateFullRankingParts({ ...common, scoreBatch: matrixScorer(scores, numItems) }, parts);
    const cuts = [0, 50, 51, 170, numUsers];
    const merged = parts.map(() => new FullRankingTally(ks, DEFAULT_DEGREE_BUCKETS, numItems));
    for (let s = 0; s + 1 < cuts.length; s++) {
      const users = Array.from({ length: cuts[s + 1] - cuts[s] }, (_, i) => cuts[s] + i);
      const ranked = await rankFullRankingParts({ ...common, users, scoreBatch: matrixScorer(scores, numItems) }, parts, { record: true });
      ranked.tallies.forEach((tally, p) => merged[p].replay(tally.rows()));
    }
    for (let p = 0; p < parts.length; p++) {
      const r = merged[p].result({ maskTrain: true, rankedItems: numItems, candidateItems: null, rankAmong: 'all', seconds: 0 });
      assert.equal(JSON.stringify(stable(r)), JSON.stringify(stable(whole[p])), `part ${p}`);
    }
  });
});
