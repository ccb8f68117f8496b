import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test-support/fixtures.js';
import { isPlotPointeError } from '../errors.js';
import { loadEmbeddings, packMask, readEmbeddingRows, unpackMask, writeEmbeddings } from './store.js';

const base = { modality: 'text' as const, encoder: 'fake', encoder_id: 'fake@1', normalised: false, seconds: 1, items_per_s: 10 };

test('embeddings round-trip through .f32/.mask/.json with missing rows as zero rows and a present mask', async () => {
  const dir = tempDir('store');
  const dim = 3;
  const count = 11; // not a multiple of 8: the mask's last byte is partial
  const data = new Float32Array(count * dim);
  const present = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    if (i % 4 === 2) continue;
    present[i] = 1;
    for (let j = 0; j < dim; j++) data[i * dim + j] = i + j / 10;
  }
  const meta = await writeEmbeddings(dir, 'text', { ...base, data, dim, present, extra: { note: 'x' } });
  assert.equal(meta.count, 11);
  assert.equal(meta.missing, 3);
  assert.equal(meta.present, 8);
  assert.equal(readFileSync(join(dir, 'text.f32')).length, count * dim * 4);
  assert.equal(readFileSync(join(dir, 'text.mask')).length, 2);

  const e = await loadEmbeddings(dir, 'text', { verify: true });
  assert.equal(e.dim, 3);
  assert.equal(e.count, 11);
  assert.deepEqual(e.data, data);
  assert.deepEqual(e.present, present);
  assert.equal(e.meta.encoder, 'fake');
  assert.equal(e.meta.note, 'x');
  assert.deepEqual(Array.from(e.data.subarray(2 * dim, 3 * dim)), [0, 0, 0]);
});

test('the present mask packs one bit per row', () => {
  const p = new Uint8Array([1, 0, 1, 1, 0, 0, 0, 0, 1]);
  assert.deepEqual(packMask(p), new Uint8Array([0b1101, 1]));
  assert.deepEqual(unpackMask(packMask(p), p.length), p);
});

test('a missing row that is not zero is refused, and a truncated .f32 or absent meta is PP_EMBED_STORE', async () => {
  const dir = tempDir('store-bad');
  await assert.rejects(
    writeEmbeddings(dir, 'text', { ...base, data: new Float32Array([1, 2]), dim: 1, present: new Uint8Array([1, 0]) }),
    (e) => isPlotPointeError(e, 'PP_EMBED_STORE'),
  );
  assert.equal(existsSync(join(dir, 'text.json')), false);
  await writeEmbeddings(dir, 'text', { ...base, data: new Float32Array([1, 2, 3, 4]), dim: 2 });
  const f32 = join(dir, 'text.f32');
  writeFileSync(f32, readFileSync(f32).subarray(0, 12));
  await assert.rejects(loadEmbeddings(dir, 'text'), (e) => isPlotPointeError(e, 'PP_EMBED_STORE') && /has 12 bytes/.test((e as Error).message));
  await assert.rejects(loadEmbeddings(dir, 'image'), (e) => isPlotPointeError(e, 'PP_EMBED_STORE'));
});

test('reading some rows by positioned reads equals gathering them from the full matrix, whatever the span grouping', async () => {
  const dir = tempDir('store-rows');
  const count = 97;
  const dim = 5;
  const data = new Float32Array(count * dim);
  const present = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    present[i] = i % 4 === 2 ? 0 : 1;
    if (present[i]) for (let k = 0; k < dim; k++) data[i * dim + k] = i + k / 10;
  }
  await writeEmbeddings(dir, 'm', { ...base, data, dim, present });
  const full = await loadEmbeddings(dir, 'm');
  // unsorted, duplicated, absent (i % 4 = 2), out of range and −1 rows, near neighbours and long gaps
  const rows = Int32Array.from([50, 3, 4, 5, -1, 96, 0, 2, 3, 97, 1000, 60, 61, 90, 7, 6]);
  const expected = new Float32Array(rows.length * dim);
  const expectedPresent = new Uint8Array(rows.length);
  rows.forEach((t, r) => {
    if (t < 0 || t >= count || !full.present[t]) return;
    expected.set(full.data.subarray(t * dim, (t + 1) * dim), r * dim);
    expectedPresent[r] = 1;
  });
  for (const opts of [{}, { gapBytes: 0, spanBytes: 1 }, { gapBytes: 4 * dim * 3, spanBytes: 4 * dim * 4 }, { gapBytes: 1 << 20, spanBytes: 1 << 20 }]) {
    const got = await readEmbeddingRows(dir, 'm', rows, opts);
    assert.deepEqual(Array.from(got.data), Array.from(expected), JSON.stringify(opts));
    assert.deepEqual(Array.from(got.present), Array.from(expectedPresent), JSON.stringify(opts));
    assert.equal(got.count, rows.length);
    assert.equal(got.dim, dim);
  }
  assert.ok(expectedPresent.includes(0) && expectedPresent.includes(1));
  // a truncated .f32 is refused as by loadEmbeddings
  writeFileSync(join(dir, 'm.f32'), readFileSync(join(dir, 'm.f32')).subarray(0, 40));
  await assert.rejects(readEmbeddingRows(dir, 'm', rows), (e) => isPlotPointeError(e, 'PP_EMBED_STORE'));
});
