import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { tempDir } from '../test-support/fixtures.js';
import { isPlotPointeError } from '../errors.js';
import { clusteredVectors } from './synthetic-vectors.js';
import { AnnIndex } from './ann-index.js';

const n = 3000;
const d = 24;
const { vectors } = clusteredVectors(n, d, { seed: 11 });

test('finds each indexed vector as its own nearest neighbour, with cosine distance ≈ 0', () => {
  const index = AnnIndex.build(vectors, { dimensions: d, threads: 2 });
  assert.equal(index.size, n);
  const m = index.search(vectors.subarray(0, 50 * d), 5);
  for (let q = 0; q < 50; q++) {
    assert.equal(m.counts[q], 5);
    assert.equal(m.keys[q * 5], q);
    assert.ok(Math.abs(m.distances[q * 5]) < 1e-5);
    for (let t = 1; t < 5; t++) assert.ok(m.distances[q * 5 + t] >= m.distances[q * 5 + t - 1], 'best first');
  }
  const one = index.searchOne(vectors.subarray(7 * d, 8 * d), 3);
  assert.equal(one.keys.length, 3);
  assert.equal(one.keys[0], 7);
});

test('pads with -1 when fewer than k vectors exist, and honours explicit keys', () => {
  const index = new AnnIndex({ dimensions: d, threads: 2 });
  index.add(vectors.subarray(0, 3 * d), { keys: Int32Array.of(100, 200, 300) });
  const m = index.search(vectors.subarray(0, d), 5);
  assert.equal(m.counts[0], 3);
  assert.deepEqual([...m.keys].slice(3), [-1, -1]);
  assert.equal(m.keys[0], 100);
});

test('batched search on the construction thread count works after adds in several batches', () => {
  const index = new AnnIndex({ dimensions: d, threads: 2, connectivity: 8 });
  const seen: number[] = [];
  index.add(vectors, { batch: 700, onProgress: (done) => seen.push(done) });
  assert.deepEqual(seen, [700, 1400, 2100, 2800, 3000]);
  const m = index.search(vectors, 1, { batch: 1000 });
  let self = 0;
  for (let q = 0; q < n; q++) if (m.keys[q] === q) self++;
  assert.ok(self / n > 0.99, `self-hit rate ${self / n}`);
});

test('a saved index loads and views with identical search results and settings', async () => {
  const dir = tempDir('ann-index');
  const index = AnnIndex.build(vectors, { dimensions: d, threads: 2, connectivity: 12, expansionSearch: 40, quantization: 'f16' });
  const path = join(dir, 'text.usearch');
  await index.save(path);
  assert.ok(existsSync(`${path}.json`));
  const before = index.search(vectors.subarray(0, 200 * d), 10);
  for (const open of [AnnIndex.load, AnnIndex.view]) {
    const other = await open(path, { threads: 2 });
    assert.deepEqual(other.meta(), index.meta());
    const after = other.search(vectors.subarray(0, 200 * d), 10);
    assert.deepEqual(after.keys, before.keys);
    assert.deepEqual(after.distances, before.distances);
  }
  const viewed = await AnnIndex.view(path);
  assert.throws(() => viewed.add(vectors.subarray(0, d)), (e) => isPlotPointeError(e, 'PP_INDEX_INVALID'));
});

test('rejects bad settings and missing files with registered error codes', async () => {
  assert.throws(() => new AnnIndex({ dimensions: 0 }), (e) => isPlotPointeError(e, 'PP_INDEX_INVALID'));
  assert.throws(() => new AnnIndex({ dimensions: 4, metric: 'l2' as never }), (e) => isPlotPointeError(e, 'PP_INDEX_INVALID'));
  const index = new AnnIndex({ dimensions: 4 });
  assert.throws(() => index.add(new Float32Array(6)), (e) => isPlotPointeError(e, 'PP_INDEX_INVALID'));
  await assert.rejects(AnnIndex.load(join(tempDir('ann-missing'), 'nope.usearch')), (e) => isPlotPointeError(e, 'PP_INDEX_LOAD'));
});

test('i8 quantisation keeps self-hits; the query-time ef can be overridden at load without rebuilding', async () => {
  const index = AnnIndex.build(vectors, { dimensions: d, threads: 2, quantization: 'i8', expansionSearch: 8 });
  const m = index.search(vectors.subarray(0, 100 * d), 1);
  let self = 0;
  for (let q = 0; q < 100; q++) if (m.keys[q] === q) self++;
  assert.ok(self >= 95, `i8 self-hits ${self}/100`);
  assert.throws(() => new AnnIndex({ dimensions: d, quantization: 'i8', metric: 'ip' }), (e) => isPlotPointeError(e, 'PP_INDEX_INVALID'));
  const path = join(tempDir('ann-ef'), 'graph.usearch');
  await index.save(path);
  const wide = await AnnIndex.view(path, { expansionSearch: 200 });
  assert.equal(wide.expansionSearch, 200);
  assert.equal(wide.quantization, 'i8');
  assert.equal((await AnnIndex.load(path)).expansionSearch, 8);
});
