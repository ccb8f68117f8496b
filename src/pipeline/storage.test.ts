import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test-support/fixtures.js';
import { openStorage, SharedFsStorage } from './storage.js';
import { datasetPaths } from '../lake/paths.js';

test('shared-FS storage lets a worker run only when the step inputs are visible on its host', async () => {
  const lake = tempDir('pipeline-storage');
  mkdirSync(datasetPaths(lake, 'demo').staging, { recursive: true });
  writeFileSync(datasetPaths(lake, 'demo').stagingFiles.items, 'x');
  const s = new SharedFsStorage(lake);
  await s.pull(['staging/demo/items.parquet', 'staging/demo']);
  await assert.rejects(s.pull(['staging/demo/items.parquet', 'artifacts/demo/embeddings/text.f32']), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'PP_PIPELINE_STORAGE');
    assert.match(err.message, /artifacts\/demo\/embeddings\/text\.f32/);
    assert.doesNotMatch(err.message, /items\.parquet/);
    return true;
  });
  assert.equal(openStorage(`file://${lake}`).lake, lake);
  assert.throws(() => openStorage('s3://bucket/lake'), /only shared file-system lakes/);
});
