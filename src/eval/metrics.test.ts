import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isPlotPointeError } from '../errors.js';
import { idealDcg, normalizeKs, RankingMetricsAccumulator, userRankingMetrics } from './metrics.js';
import { Prng } from './prng.js';
import {
  lightgcnGetLabel,
  lightgcnNdcgAtKr,
  lightgcnRecallPrecisionATk,
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

describe('userRankingMetrics', () => {
  it('matches the hand-computed values for ranked [3,1,7,2] and relevant {1,2,9}', () => {
    const m = userRankingMetrics([3, 1, 7, 2], [1, 2, 9], [1, 3, 4, 10]);
    // hits by rank: (0, 1, 0, 1); |R| = 3.
    // K = 1: no hit → everything 0.
    for (const name of ['recall', 'ndcg', 'precision', 'hit', 'mrr', 'map']) assert.equal(m[`${name}@1`], 0, name);
    // K = 3: hits@3 = 1
    //   recall    = 1/3
    //   precision = 1/3
    //   ndcg      = (1/log2(3)) / (1 + 1/log2(3) + 1/log2(4))      (IDCG over min(3, 3) = 3 ranks)
    //   hit = 1, mrr = 1/2 (first hit at rank 2)
    //   map       = Precision@2 / min(3, 3) = (1/2) / 3 = 1/6
    close(m['recall@3'], 1 / 3);
    close(m['precision@3'], 1 / 3);
    close(m['ndcg@3'], 1 / Math.log2(3) / (1 + 1 / Math.log2(3) + 1 / Math.log2(4)));
    assert.equal(m['hit@3'], 1);
    close(m['mrr@3'], 1 / 2);
    close(m['map@3'], 1 / 6);
    // K = 4: hits@4 = 2
    //   recall 2/3, precision 2/4
    //   ndcg = (1/log2(3) + 1/log2(5)) / (1 + 1/log2(3) + 1/log2(4))
    //   map  = (Precision@2 + Precision@4) / 3 = (1/2 + 2/4) / 3 = 1/3
    close(m['recall@4'], 2 / 3);
    close(m['precision@4'], 2 / 4);
    close(m['ndcg@4'], (1 / Math.log2(3) + 1 / Math.log2(5)) / (1 + 1 / Math.log2(3) + 1 / Math.log2(4)));
    close(m['mrr@4'], 1 / 2);
    close(m['map@4'], 1 / 3);
    // K = 10 with a 4-long list: nothing more is found, but precision is still divided by K = 10.
    close(m['recall@10'], 2 / 3);
    close(m['precision@10'], 2 / 10);
    close(m['ndcg@10'], m['ndcg@4']);
    close(m['map@10'], 1 / 3);
  });

  it('normalises NDCG and MAP by min(|R|, K), not |R|, when the relevant set is larger than K', () => {
    // ranked [5, 6], relevant {5,6,7,8,9}, K = 2: both slots hit.
    // recall = 2/5, precision = 2/2, ndcg = (1 + 1/log2 3) / (1 + 1/log2 3) = 1, map = (1/1 + 2/2) / 2 = 1
    const m = userRankingMetrics([5, 6], new Set([5, 6, 7, 8, 9]), [2]);
    close(m['recall@2'], 2 / 5);
    close(m['precision@2'], 1);
    close(m['ndcg@2'], 1);
    close(m['map@2'], 1);
    close(m['mrr@2'], 1);
  });

  it('counts duplicate relevant ids once and never counts −1 padding as a hit', () => {
    // relevant {4} (given twice), ranked [-1, 4]: hit at rank 2 → recall 1, ndcg = (1/log2 3) / 1.
    const m = userRankingMetrics([-1, 4, -1], [4, 4], [3]);
    close(m['recall@3'], 1);
    close(m['ndcg@3'], 1 / Math.log2(3));
    close(m['precision@3'], 1 / 3);
  });

  it('gives zeros for a user without relevant items instead of NaN', () => {
    const m = userRankingMetrics([1, 2, 3], [], [2]);
    for (const v of Object.values(m)) assert.equal(v, 0);
  });

  it('keys results as metric@K in metric-then-K order', () => {
    const m = userRankingMetrics([1], [1], [20, 5]);
    assert.deepEqual(Object.keys(m), [
      'recall@5', 'recall@20', 'ndcg@5', 'ndcg@20', 'precision@5', 'precision@20',
      'hit@5', 'hit@20', 'mrr@5', 'mrr@20', 'map@5', 'map@20',
    ]);
  });
});

describe('normalizeKs and idealDcg', () => {
  it('sorts and de-duplicates cut-offs and rejects non-positive or fractional K', () => {
    assert.deepEqual(normalizeKs([20, 10, 20, 1]), [1, 10, 20]);
    for (const bad of [[], [0], [2.5], [-1]]) {
      assert.throws(() => normalizeKs(bad), (e) => isPlotPointeError(e, 'PP_EVAL_INVALID'));
    }
  });

  it('sums 1/log2(i+1) over min(|R|, K) ranks', () => {
    // min(2, 5) = 2 → 1/log2(2) + 1/log2(3)
    close(idealDcg(2, 5), 1 + 1 / Math.log2(3));
    close(idealDcg(10, 1), 1);
    assert.equal(idealDcg(0, 5), 0);
  });
});

describe('agreement with the reference evaluators on random rankings', () => {
  const rng = new Prng(7);
  const numUsers = 400;
  const numItems = 60;
  const maxK = 25;
  const ks = [1, 3, 5, 10, 20, 25];
  const ranked: number[][] = [];
  const relevant: number[][] = [];
  for (let u = 0; u < numUsers; u++) {
    // A random permutation prefix of length maxK, and 1..30 distinct relevant items.
    const perm = Array.from({ length: numItems }, (_, i) => i);
    for (let i = numItems - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    ranked.push(perm.slice(0, maxK));
    const rel = new Set<number>();
    const n = 1 + rng.int(30);
    while (rel.size < n) rel.add(rng.int(numItems));
    relevant.push([...rel]);
  }
  const acc = new RankingMetricsAccumulator(ks);
  for (let u = 0; u < numUsers; u++) {
    const rel = new Set(relevant[u]);
    acc.addUser(ranked[u].map((i) => (rel.has(i) ? 1 : 0)), maxK, rel.size);
  }
  const ours = acc.mean();

  it("agrees with LightGCN-PyTorch's getLabel / RecallPrecision_ATk / NDCGatK_r to 1e-9", () => {
    const r = lightgcnGetLabel(relevant, ranked);
    for (const k of ks) {
      const rp = lightgcnRecallPrecisionATk(relevant, r, k);
      close(ours[`recall@${k}`], rp.recall / numUsers, 1e-9, `recall@${k}`);
      close(ours[`precision@${k}`], rp.precision / numUsers, 1e-9, `precision@${k}`);
      close(ours[`ndcg@${k}`], lightgcnNdcgAtKr(relevant, r, k) / numUsers, 1e-9, `ndcg@${k}`);
    }
  });

  it("agrees with RecBole's NDCG, Recall, Precision, Hit, MRR and MAP to 1e-9", () => {
    const posIndex = ranked.map((row, u) => row.map((i) => (relevant[u].includes(i) ? 1 : 0)));
    const posLen = relevant.map((r) => r.length);
    const tables = {
      ndcg: recboleNdcg(posIndex, posLen),
      recall: recboleRecall(posIndex, posLen),
      precision: recbolePrecision(posIndex),
      hit: recboleHit(posIndex),
      mrr: recboleMrr(posIndex),
      map: recboleMap(posIndex, posLen),
    };
    for (const [name, table] of Object.entries(tables)) {
      for (const k of ks) close(ours[`${name}@${k}`], recboleTopkResult(table, k), 1e-9, `${name}@${k}`);
    }
  });
});

describe('RankingMetricsAccumulator', () => {
  it('averages users with equal weight and merges by summing', () => {
    const a = new RankingMetricsAccumulator([2]);
    a.addUser([1, 0], 2, 1); // recall 1
    a.addUser([0, 0], 2, 4); // recall 0
    close(a.mean()['recall@2'], 0.5);
    const b = new RankingMetricsAccumulator([2]);
    b.addUser([0, 1], 2, 2); // recall 1/2
    a.merge(b);
    assert.equal(a.count, 3);
    close(a.mean()['recall@2'], (1 + 0 + 0.5) / 3);
    close(a.sum()['recall@2'], 1.5);
  });

  it('reports zeros, not NaN, when no user was added', () => {
    const a = new RankingMetricsAccumulator([5]);
    assert.equal(a.mean()['ndcg@5'], 0);
  });
});
