import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shutdownPool } from '../core/index.js';
import { ppError } from '../errors.js';
import { registerModel } from '../models/registry.js';
import '../models/index.js';
import type { ModelSpec, Recommender } from '../models/model.js';
import type { SplitData } from '../graphs/split-data.js';
import { RunStore } from '../tracking/index.js';
import { buildDemoLake } from '../eval/cold-start-lake.testkit.js';
import { contentSimilarityRecommender } from '../eval/content-similarity.js';
import { gridCells, parseGrid, runAblation, stat } from './ablation.js';

/**
 * A test-only content model: features=none scores by train popularity, text/image by content similarity of
 * the user's train history. It needs the ContentSource and fails with PP_EMBED_STORE when the modality is
 * missing — the situation `ablate` must mark instead of failing the grid.
 */
const probe: ModelSpec = registerModel({
  name: 'test-content-probe',
  description: 'test only',
  kind: 'heuristic',
  params: { features: { default: 'none', doc: 'content modality', choices: ['none', 'text', 'image'] } },
  async fit(ctx) {
    return build(ctx.data, String(ctx.params.features), ctx.content);
  },
  async load(dir, data, content) {
    return build(data, JSON.parse(readFileSync(join(dir, 'probe.json'), 'utf8')).features, content);
  },
});

async function build(data: SplitData, features: string, content: Parameters<ModelSpec['load']>[2]): Promise<Recommender> {
  const save = async (dir: string) => writeFileSync(join(dir, 'probe.json'), JSON.stringify({ features }));
  if (features === 'none') {
    const counts = new Float32Array(data.numItems);
    for (const i of data.train.indices) counts[i]++;
    return { modelName: probe.name, numUsers: data.numUsers, numItems: data.numItems, scoreUsers: (u, out) => { for (let r = 0; r < u.length; r++) out.set(counts, r * data.numItems); }, save };
  }
  const c = await content?.modality(features as 'text' | 'image');
  if (!c) throw ppError('PP_EMBED_STORE', `no ${features} embeddings`);
  const rec = contentSimilarityRecommender(c, data.train);
  return { modelName: probe.name, numUsers: data.numUsers, numItems: data.numItems, scoreUsers: (u, out) => rec.scoreUsers(u, out), save };
}

test('parseGrid and gridCells: key=v1,v2 lists, cartesian product with the first key slowest', () => {
  const g = parseGrid(['features=none,text', 'layers=1,2,3']);
  assert.deepEqual(g, { features: ['none', 'text'], layers: ['1', '2', '3'] });
  const cells = gridCells(g);
  assert.equal(cells.length, 6);
  assert.deepEqual(cells[0], { features: 'none', layers: '1' });
  assert.deepEqual(cells[3], { features: 'text', layers: '1' });
  assert.throws(() => parseGrid(['features']), /PP_USAGE|key=v1/);
  assert.throws(() => parseGrid(['a=1,1']), /repeats/);
  const s = stat([1, 2, 3, NaN]);
  assert.deepEqual(s, { mean: 2, sd: 1, n: 3 });
});

test('ablate: every cell × seed is a tracked run, the table holds mean ± sd of those runs, a cell without its modality is marked unavailable', async (t) => {
  t.after(() => shutdownPool());
  const { lake, name } = await buildDemoLake({ users: 150, items: 120, splits: { r: { strategy: 'ratio' } } });

  // a content model: the image cell cannot run on this lake (text embeddings only)
  const probeReport = await runAblation({ lake, name, split: 'r', model: 'test-content-probe', grid: { features: ['none', 'text', 'image'] }, seeds: 2, ks: [20] });
  assert.deepEqual(probeReport.cells.map((c) => c.status), ['ok', 'ok', 'unavailable']);
  const image = probeReport.cells[2];
  assert.equal(image.error?.code, 'PP_EMBED_STORE');
  assert.equal(image.runs.length, 1, 'the other seeds of an unavailable cell are skipped');
  assert.equal(image.test['ndcg@20'].n, 0);
  const md = readFileSync(probeReport.paths.md, 'utf8');
  assert.match(md, /\| image \| – \|.*unavailable: PP_EMBED_STORE/);
  assert.ok(probeReport.cells[1].test['recall@20'].mean > probeReport.cells[0].test['recall@20'].mean, 'text similarity beats popularity on the demo tastes');

  // a trained model with 2 seeds: the numbers are the runs' numbers, read back from the run store
  const mf = await runAblation({ lake, name, split: 'r', model: 'mf', grid: { dim: ['4', '8'] }, params: { epochs: 6, eval_every: 3, batch: 256, lr: 0.01 }, seeds: 2, firstSeed: 5, ks: [20] });
  assert.deepEqual(mf.seeds, [5, 6]);
  const store = await RunStore.open(lake);
  for (const cell of mf.cells) {
    assert.equal(cell.status, 'ok');
    assert.equal(cell.runs.length, 2);
    const recorded = [];
    for (const r of cell.runs) {
      const run = await store.require(r.run_id!);
      assert.equal(run.kind, 'train');
      assert.equal(run.parentRunId, mf.id);
      assert.equal((run.config as { params: { dim: number } }).params.dim, Number(cell.params.dim));
      assert.equal((run.config as { seed: number }).seed, r.seed);
      recorded.push(run.metrics.test['ndcg@20']);
    }
    const mean = (recorded[0] + recorded[1]) / 2;
    const sd = Math.abs(recorded[0] - recorded[1]) / Math.SQRT2;
    assert.ok(Math.abs(cell.test['ndcg@20'].mean - mean) < 1e-12, `mean ${cell.test['ndcg@20'].mean} vs runs ${recorded}`);
    assert.ok(Math.abs(cell.test['ndcg@20'].sd - sd) < 1e-12);
    assert.ok(cell.fit_seconds.mean > 0);
  }
  const json = JSON.parse(readFileSync(mf.paths.json, 'utf8'));
  assert.equal(json.cells[1].test['ndcg@20'].mean, mf.cells[1].test['ndcg@20'].mean);
  const row = readFileSync(mf.paths.md, 'utf8').split('\n').find((l) => l.startsWith('| 8 |'))!;
  assert.ok(row.includes(`${mf.cells[1].test['ndcg@20'].mean.toFixed(4)} ± ${mf.cells[1].test['ndcg@20'].sd.toFixed(4)}`), row);
  const abl = await store.require(mf.id);
  assert.equal(abl.kind, 'ablate');
  assert.equal(abl.status, 'finished');

  assert.equal(mf.cold, null, 'a ratio split has no cold items: no cold columns');
  assert.ok(!readFileSync(mf.paths.md, 'utf8').includes('cold recall@20'));

  // a value the model refuses fails the whole grid before training anything
  await assert.rejects(runAblation({ lake, name, split: 'r', model: 'mf', grid: { dim: ['8', '-1'] }, seeds: 1 }), /PP_MODEL_PARAM|dim/);
});

test('ablate on a cold-item split adds cold-item metrics per run (equal to the cold-start report of that run) and the analytic random line', async (t) => {
  t.after(() => shutdownPool());
  const { lake, name } = await buildDemoLake({ users: 150, items: 200, splits: { cold: { strategy: 'cold-item', coldItemShare: 0.3 } } });
  const r = await runAblation({ lake, name, split: 'cold', model: 'test-content-probe', grid: { features: ['none', 'text'] }, seeds: 1, ks: [20] });
  assert.ok(r.cold && r.cold.items > 0 && r.cold.users > 0);
  const { coldItemsReport } = await import('./cold-start-report.js');
  for (const cell of r.cells) {
    const report = await coldItemsReport({ lake, runId: cell.runs[0].run_id!, ks: [20], modalities: [] });
    assert.equal(cell.cold!['recall@20'].mean, report.results[0].metrics['recall@20']);
    assert.equal(r.cold.random['recall@20'], report.results.find((x) => x.method === 'random')!.metrics['recall@20']);
  }
  // popularity cannot rank cold items (all zero: ties); text similarity can
  assert.ok(r.cells[1].cold!['recall@20'].mean > 1.5 * r.cold.random['recall@20']);
  const md = readFileSync(r.paths.md, 'utf8');
  assert.match(md, /cold recall@20/);
  assert.match(md, /Random ranking \(analytic expectation\): recall@20 0\.\d{4}/);
});
