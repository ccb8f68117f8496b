import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ingest } from '../data/ingest.js';
import { createSplit } from '../data/split/index.js';
import { silentProgress } from '../core/progress.js';
import { tempDir, writeLines } from '../test-support/fixtures.js';
import { loadSplit } from './split-data.js';
import { datasetPaths } from '../lake/paths.js';

test('loads a split into per-user CSR rows with ratings and the cold-item flags', async () => {
  const dir = tempDir('split-data');
  writeLines(dir, 'train.txt', ['0 10 11 12', '1 11 13', '2 10']);
  writeLines(dir, 'test.txt', ['0 13', '1 14']);
  const s = await ingest({ format: 'lightgcn', inputs: [dir], lake: join(dir, 'lake'), name: 'g', progress: () => silentProgress });
  const out = datasetPaths(join(dir, 'lake'), 'g').split('given').dir;
  await createSplit({ stagingDir: s.paths.staging, outDir: out, strategy: 'given', validShare: 0 });
  const d = await loadSplit(out);
  assert.equal(d.numUsers, 3);
  assert.equal(d.numItems, 5); // items 10..14 → iid 0..4 in numeric order
  const row = (c: typeof d.train, u: number) => [...c.indices.subarray(c.indptr[u], c.indptr[u + 1])].sort();
  assert.deepEqual(row(d.train, 0), [0, 1, 2]);
  assert.deepEqual(row(d.train, 1), [1, 3]);
  assert.deepEqual(row(d.test, 0), [3]);
  assert.deepEqual(row(d.test, 1), [4]);
  assert.equal(d.valid.indices.length, 0);
  assert.deepEqual([...d.coldItems], [0, 0, 0, 0, 1]);
  assert.ok(Number.isNaN(d.train.ratings[0]), 'implicit feedback has NaN ratings');
  assert.match(d.manifest.split_hash, /^[0-9a-f]{64}$/);
});
