import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { silentProgress } from '../core/progress.js';
import { runSplit, splitOptionsFromConfig } from '../data/split/run-split.js';
import { loadConfig } from '../config/load.js';
import { shutdownPool } from '../core/index.js';
import { generateDemo } from '../data/demo/generate.js';
import { ingest } from '../data/ingest.js';
import { isPlotPointeError } from '../errors.js';
import { parseVariants, VariantAssigner } from '../serving/experiments.js';
import { ServedModel } from '../serving/served-model.js';
import { tempDir } from '../test-support/fixtures.js';
import { runTraining } from '../orchestration/run-training.js';
import { buildServingBundle } from './build-serving.js';
import { openServingBundle } from './serving-bundle.js';
import { datasetPaths } from '../lake/paths.js';

after(() => shutdownPool());

/** A demo lake split for the bundle tests. */
async function demoLake(label: string): Promise<string> {
  const dir = tempDir(label);
  const lake = join(dir, 'lake');
  const demo = await generateDemo({ out: join(dir, 'demo'), seed: 7, users: 120, items: 100, catalogItems: 100, images: false, format: 'amazon2018' });
  await ingest({ format: 'amazon2018', inputs: [demo.files.meta, demo.files.reviews], lake, name: 'demo', progress: () => silentProgress });
  await runSplit(lake, 'demo', 'default', splitOptionsFromConfig(loadConfig()));
  return lake;
}

/** Checks the bundle’s per-edge attention (each user’s sums to at most 1; to exactly 1 over the train items with `exact`) and that explanations report it; returns the bundle. */
async function checkServedAttention(lake: string, runId: string, exact: boolean) {
  const bundle = await openServingBundle(datasetPaths(lake, 'demo').run(runId).serving);
  const { indptr, indices, attention } = bundle.history;
  assert.ok(attention);
  let finite = 0;
  for (let u = 0; u < bundle.manifest.num_users; u++) {
    let sum = 0;
    let n = 0;
    for (let e = indptr[u]; e < indptr[u + 1]; e++) {
      if (e > indptr[u]) assert.ok(indices[e] > indices[e - 1], 'history rows are sorted and unique');
      if (Number.isFinite(attention![e])) {
        finite++;
        n++;
        assert.ok(attention![e] > 0 && attention![e] <= 1);
        sum += attention![e];
      }
    }
    assert.ok(sum <= 1 + 1e-4, `user ${u}: attention over train items sums to ${sum}`);
    if (exact && n > 0) assert.ok(Math.abs(sum - 1) < 1e-4, `user ${u}: attention over the user's train items sums to ${sum}, not 1`);
  }
  assert.ok(finite > 0);
  const model = new ServedModel(bundle, { explainHistory: 50 });
  const recs = model.recommend(model.userVector(0), 5, model.history(0), { history: model.history(0), attentionFrom: indptr[0] });
  assert.equal(recs.length, 5);
  assert.ok(recs.some((r) => r.explanation!.some((x) => typeof x.attention === 'number')), 'explanations carry attention weights');
  return bundle;
}

test('a GAT run serves its attention weights: train edges carry the model’s attention, explanations report it', async () => {
  const lake = await demoLake('bundle-gat');
  const gat = await runTraining({ lake, name: 'demo', split: 'default', model: 'gat', params: { epochs: 2, eval_every: 1, dim: 16 }, ks: [20] });
  const summary = await buildServingBundle({ lake, name: 'demo', runId: gat.run_id, threads: 1 });
  assert.equal(summary.attention, true);
  assert.equal(summary.item_graph, null);
  assert.deepEqual(Object.keys(summary.indexes), ['graph']);
  // GAT's user rows hold a self-loop besides the train items: their attention sums to at most 1
  const bundle = await checkServedAttention(lake, gat.run_id, false);

  // A corrupt bundle is refused with a code.
  await truncate(join(bundle.dir, 'items.f32'), 8);
  await assert.rejects(openServingBundle(bundle.dir), (e) => isPlotPointeError(e, 'PP_SERVE_BUNDLE'));
  await writeFile(join(bundle.dir, 'manifest.json'), '{"format":"other"}');
  await assert.rejects(openServingBundle(bundle.dir), (e) => isPlotPointeError(e, 'PP_SERVE_BUNDLE'));
});

test('an mmgat run serves its user–item attention: over each user’s train items it sums to 1', async () => {
  const lake = await demoLake('bundle-mmgat');
  const run = await runTraining({ lake, name: 'demo', split: 'default', model: 'mmgat', params: { features: 'none', item_edges: false, epochs: 2, eval_every: 1, dim: 16 }, ks: [20] });
  const summary = await buildServingBundle({ lake, name: 'demo', runId: run.run_id, threads: 1 });
  assert.equal(summary.attention, true);
  await checkServedAttention(lake, run.run_id, true);
});

test('A/B variants: parsing, validation and weighted deterministic assignment', () => {
  assert.deepEqual(parseVariants('', 'R1'), [{ name: 'default', runId: 'R1', weight: 1 }]);
  assert.deepEqual(parseVariants('a=R1:3, b=R2', null), [
    { name: 'a', runId: 'R1', weight: 3 },
    { name: 'b', runId: 'R2', weight: 1 },
  ]);
  for (const bad of ['a', 'a=R1:0', 'a=R1:x', 'a=R1,a=R2', 'bad name=R1']) {
    assert.throws(() => parseVariants(bad, null), (e) => isPlotPointeError(e, 'PP_SERVE_INVALID'), bad);
  }
  const assigner = new VariantAssigner(parseVariants('a=R1:9,b=R2:1', null));
  const counts = { a: 0, b: 0 } as Record<string, number>;
  for (let i = 0; i < 10_000; i++) counts[assigner.assign(`user-${i}`)]++;
  assert.ok(counts.b > 800 && counts.b < 1200, JSON.stringify(counts));
  assert.equal(assigner.assign('user-42'), assigner.assign('user-42'));
});
