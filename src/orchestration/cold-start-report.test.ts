import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { shutdownPool } from '../core/index.js';
import { Rng } from '../core/random.js';
import { csrFromLists } from '../core/csr-pattern.js';
import { evaluateFullRanking } from '../eval/full-ranking.js';
import { expectedRandomMetrics, coldItemsReport, foldInReport } from './cold-start-report.js';
import { contentSimilarityRecommender } from '../eval/content-similarity.js';
import { buildDemoLake } from '../eval/cold-start-lake.testkit.js';
import { runTraining } from './run-training.js';
import { isPlotPointeError } from '../errors.js';
import type { ItemContent } from '../models/model.js';

test('the analytic random expectation matches the mean of many seeded random rankings', async () => {
  const numItems = 40;
  const candidates = Array.from({ length: 25 }, (_, i) => i + 10);
  // seen includes some candidates (and one relevant item: retrievable count < relevant count for user 2)
  const seen = csrFromLists([[10, 11, 1], [2, 3], [30, 12, 13, 14]]);
  const test_ = csrFromLists([[20, 21, 5], [34], [30, 31, 32, 33]]);
  const ks = [5, 20];
  const exp = expectedRandomMetrics({ seen, test: test_, candidates, numItems, ks });
  assert.equal(exp.users, 3);
  const rng = new Rng(11);
  const draws = 3000;
  const acc: Record<string, number> = {};
  for (let t = 0; t < draws; t++) {
    const r = await evaluateFullRanking({
      numUsers: 3,
      numItems,
      scoreBatch: (users, out) => {
        for (let x = 0; x < out.length; x++) out[x] = rng.next();
      },
      train: seen,
      test: test_,
      ks,
      candidates,
    });
    for (const k of Object.keys(exp.metrics)) acc[k] = (acc[k] ?? 0) + r.metrics[k] / draws;
  }
  for (const k of Object.keys(exp.metrics)) assert.ok(Math.abs(acc[k] - exp.metrics[k]) < 0.01, `${k}: draws ${acc[k]} vs analytic ${exp.metrics[k]}`);
  // a hand check: user 1 (1 relevant of 25 eligible), K = 5 → recall 5/25
  const one = expectedRandomMetrics({ seen, test: csrFromLists([[], [34], []]), candidates, numItems, ks: [5] });
  assert.ok(Math.abs(one.metrics['recall@5'] - 5 / 25) < 1e-12);
});

test('content similarity ranks items near the mean of the history first and puts items without the modality last', async () => {
  const dim = 2;
  // items 0..3 point along x, 4..7 along y, item 8 has no vector
  const vectors = new Float32Array([1, 0, 2, 0.1, 3, -0.1, 1, 0.05, 0, 1, 0.1, 2, -0.1, 1, 0, 3, 0, 0]);
  const present = new Uint8Array([1, 1, 1, 1, 1, 1, 1, 1, 0]);
  const content: ItemContent = { modality: 'text', vectors, dim, present, encoder: 'toy' };
  const rec = contentSimilarityRecommender(content, csrFromLists([[0, 1], [8]]));
  const out = new Float32Array(2 * 9);
  await rec.scoreUsers(new Int32Array([0, 1]), out);
  const row0 = Array.from(out.subarray(0, 9));
  for (const i of [2, 3]) for (const j of [4, 5, 6, 7]) assert.ok(row0[i] > row0[j]);
  assert.equal(row0[8], -2);
  assert.equal(rec.usersWithoutProfile([0, 1]), 1, 'user 1 only knows an item without text');
});

test('cold-start items and fold-in reports on a demo cold-item split: model, analytic random and content similarity', async (t) => {
  t.after(() => shutdownPool());
  const { lake, name } = await buildDemoLake({ users: 300, items: 400, splits: { cold: { strategy: 'cold-item', coldItemShare: 0.3 } } });
  const baseline = await coldItemsReport({ lake, name, split: 'cold', ks: [10, 20] });
  assert.equal(baseline.run_id, null);
  assert.ok(baseline.cold_items >= 100, `cold items ${baseline.cold_items}`);
  const random = baseline.results.find((r) => r.method === 'random')!;
  const text = baseline.results.find((r) => r.method === 'content-similarity:text')!;
  assert.ok(text, 'text similarity is reported when the lake has text embeddings');
  assert.equal(baseline.results.length, 2, 'no image or fused embeddings in this lake: no baseline for them');
  assert.equal(text.users, random.users);
  assert.ok(text.metrics['recall@10'] > 1.5 * random.metrics['recall@10'], `text ${text.metrics['recall@10']} vs random ${random.metrics['recall@10']}`);

  const mf = await runTraining({ lake, name, split: 'cold', model: 'mf', params: { dim: 16, epochs: 20, eval_every: 5, batch: 256, lr: 0.01 }, ks: [10, 20] });
  const withModel = await coldItemsReport({ lake, runId: mf.run_id, ks: [10, 20] });
  const m = withModel.results[0];
  assert.equal(m.method, 'model:mf');
  assert.equal(m.users, random.users);
  assert.ok(Number.isFinite(withModel.summary.model_over_random!));
  assert.ok(withModel.path && existsSync(withModel.path));
  assert.deepEqual(JSON.parse(readFileSync(withModel.path, 'utf8')).results[0].metrics, m.metrics);

  const fold = await foldInReport({ lake, runId: mf.run_id, ks: [20] });
  // Random full ranking finds ≈ 20 of the ~400 items' test hits: both user vectors must do far better.
  const randomRecall = 20 / 400;
  for (const [how, r] of [['learned', fold.learned], ['fold-in', fold.fold_in]] as const) {
    assert.ok(r['recall@20'] > 2 * randomRecall, `${how} recall@20 ${r['recall@20']} vs random ≈ ${randomRecall}`);
  }
  assert.ok(fold.users_evaluated > 0);

  // a split without cold items is refused
  const warm = await buildDemoLake({ users: 60, items: 50, text: false, splits: { r: { strategy: 'ratio' } } });
  await assert.rejects(coldItemsReport({ lake: warm.lake, name: warm.name, split: 'r' }), (e) => isPlotPointeError(e, 'PP_EVAL_INVALID'));
});
