import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test-support/fixtures.js';
import { isPlotPointeError } from '../errors.js';
import { loadEmbeddings, packMask, unpackMask, writeEmbeddings } from './store.js';

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
