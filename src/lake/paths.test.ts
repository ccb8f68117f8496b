import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPlotPointeError } from '../errors.js';
import { datasetPaths, lakePaths, splitFiles } from './paths.js';

// The on-disk layout, written out: existing lakes must keep working, so a change here is a migration.
test('the handles give the documented on-disk layout, byte for byte', () => {
  const l = lakePaths('/L');
  assert.deepEqual(
    [l.runStore, l.servingLog, l.drift, l.pipeline.lock, l.pipeline.hashCache, l.pipeline.record('train', 'k'), l.pipeline.run('R').journal, l.pipeline.run('R').log('train'), l.pipeline.shards('embed-text'), l.embeddingCache('enc-1'), l.imageCache, l.sources('demo')],
    ['/L/runs.duckdb', '/L/logs/serving.duckdb', '/L/logs/drift.parquet', '/L/pipeline/lock', '/L/pipeline/hash-cache.json', '/L/pipeline/cache/train/k.json', '/L/pipeline/R/journal.jsonl', '/L/pipeline/R/logs/train.log', '/L/pipeline/shards/embed-text', '/L/cache/embeddings/enc-1', '/L/cache/images', '/L/sources/demo'],
  );
  const d = datasetPaths('/L', 'g');
  assert.deepEqual(
    [d.raw, d.staging, d.stagingFiles.items, d.stagingFiles.interactions, d.stagingFiles.rejects, d.stagingFiles.userMap, d.stagingFiles.itemMap, d.stagingFiles.datacardJson, d.stagingFiles.datacardMd, d.stagingFiles.manifest, d.splits, d.embeddings, d.graphs, d.ablation('a1')],
    ['/L/raw/g', '/L/staging/g', '/L/staging/g/items.parquet', '/L/staging/g/interactions.parquet', '/L/staging/g/rejects.parquet', '/L/staging/g/user_map.parquet', '/L/staging/g/item_map.parquet', '/L/staging/g/datacard.json', '/L/staging/g/datacard.md', '/L/staging/g/manifest.json', '/L/staging/g/splits', '/L/artifacts/g/embeddings', '/L/artifacts/g/graphs', '/L/artifacts/g/ablations/a1'],
  );
  const s = d.split('s');
  assert.deepEqual(
    [s.dir, s.part('train'), s.part('valid'), s.part('test'), s.userMap, s.itemMap, s.manifest, s.artifacts, s.embeddings, s.graphs, s.work],
    ['/L/staging/g/splits/s', '/L/staging/g/splits/s/train.parquet', '/L/staging/g/splits/s/valid.parquet', '/L/staging/g/splits/s/test.parquet', '/L/staging/g/splits/s/user_map.parquet', '/L/staging/g/splits/s/item_map.parquet', '/L/staging/g/splits/s/manifest.json', '/L/artifacts/g/splits/s', '/L/artifacts/g/splits/s/embeddings', '/L/artifacts/g/splits/s/graphs', '/L/artifacts/g/splits/s/work'],
  );
  assert.deepEqual(s.embeddingOf('text'), { dir: '/L/artifacts/g/embeddings', file: 'text', order: 'staging' });
  assert.deepEqual(s.embeddingOf('fused'), { dir: '/L/artifacts/g/splits/s/embeddings', file: 'fused', order: 'split' });
  assert.deepEqual(s.graphOf('image'), { dir: '/L/artifacts/g/graphs', file: 'knn-image', order: 'staging' });
  assert.deepEqual(s.graphOf('fused'), { dir: '/L/artifacts/g/splits/s/graphs', file: 'knn-fused', order: 'split' });
  const r = d.run('r1');
  assert.deepEqual([r.dir, r.work, r.model, r.metrics, r.coldStart, r.serving], ['/L/artifacts/g/r1', '/L/artifacts/g/r1/work', '/L/artifacts/g/r1/model', '/L/artifacts/g/r1/metrics.json', '/L/artifacts/g/r1/cold-start.json', '/L/artifacts/g/r1/serving']);
  assert.equal(splitFiles('/x').part('test'), '/x/test.parquet');
});

test('a split handle reads the dataset version openDataset resolved, artifacts stay per dataset', () => {
  const d = datasetPaths('/L', 'g', { raw: '/L/datasets/.g@v1/raw', staging: '/L/datasets/.g@v1/staging' });
  assert.equal(d.split('s').itemMap, '/L/datasets/.g@v1/staging/splits/s/item_map.parquet');
  assert.equal(d.split('s').dataset.stagingFiles.itemMap, '/L/datasets/.g@v1/staging/item_map.parquet');
  assert.equal(d.split('s').embeddings, '/L/artifacts/g/splits/s/embeddings');
});

test('names that would leave their folder are refused', () => {
  for (const bad of ['..', '../x', 'a/b', '.hidden', '']) {
    assert.throws(() => datasetPaths('/L', bad), (e) => isPlotPointeError(e, 'PP_USAGE'), `dataset ${bad}`);
    assert.throws(() => datasetPaths('/L', 'g').split(bad), (e) => isPlotPointeError(e, 'PP_USAGE'), `split ${bad}`);
    assert.throws(() => datasetPaths('/L', 'g').run(bad), (e) => isPlotPointeError(e, 'PP_USAGE'), `run ${bad}`);
  }
});
