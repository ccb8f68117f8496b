import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cosine } from '../encoder.js';
import type { Vocabulary } from './sentencepiece.js';
import { composeStaticTable, loadUseLiteTable, UseLiteStaticEncoder } from './use-lite-static.js';
import { UseLiteEncoder } from './use-lite.js';

const titles = [
  'wireless bluetooth headphones',
  'noise cancelling over-ear headphones',
  'stainless steel kitchen knife',
  'USB-C fast charging cable, 2 m',
  'chef knife with a carbon steel blade',
];

/** One distillation (≈ 7 CPU-s) into a temporary model cache shared by the tests below. */
const cacheDir = await mkdtemp(join(tmpdir(), 'pp-static-'));
let skip: string | false = false;
let encoder: UseLiteStaticEncoder | undefined;
try {
  encoder = await UseLiteStaticEncoder.load({ cacheDir });
} catch (err) {
  skip = `USE lite cannot load here: ${err instanceof Error ? err.message : String(err)}`;
}
test.after(() => rm(cacheDir, { recursive: true, force: true }));

test('the static encoder gives unit-norm 512-d rows, one per text, deterministic across batches, empty text included', { skip }, async () => {
  const out = await encoder!.encode(titles);
  assert.equal(out.length, titles.length * 512);
  for (let i = 0; i < titles.length; i++) {
    const row = out.subarray(i * 512, (i + 1) * 512);
    assert.ok(Math.abs(Math.hypot(...row) - 1) < 1e-4);
  }
  const again = (await encoder!.encode(['', titles[2]])).subarray(512);
  assert.deepEqual(again, out.subarray(2 * 512, 3 * 512));
  const empty = (await encoder!.encode(['']));
  assert.ok(Math.abs(Math.hypot(...empty) - 1) < 1e-4, 'an empty text still gets a row');
});

test('the static encoder ranks related titles as USE lite does', { skip }, async () => {
  const use = await UseLiteEncoder.load();
  try {
    const a = await encoder!.encode(titles);
    const b = await use.encode(titles);
    const row = (m: Float32Array, i: number) => m.subarray(i * 512, (i + 1) * 512);
    // headphones ~ headphones, knife ~ knife, in both encoders
    for (const m of [a, b]) {
      assert.ok(cosine(row(m, 0), row(m, 1)) > cosine(row(m, 0), row(m, 2)) + 0.05);
      assert.ok(cosine(row(m, 2), row(m, 4)) > cosine(row(m, 2), row(m, 3)) + 0.05);
    }
    // and each static vector is closer to its own USE-lite vector than to any title of another topic
    const topic = ['audio', 'audio', 'knife', 'cable', 'knife'];
    for (let i = 0; i < titles.length; i++) {
      const own = cosine(row(a, i), row(b, i));
      for (let j = 0; j < titles.length; j++) if (topic[j] !== topic[i]) assert.ok(own > cosine(row(a, i), row(b, j)), `title ${i} vs ${j}`);
    }
  } finally {
    await use.dispose();
  }
});

test('the distilled table is cached content-addressed, read back as is, and rebuilt identically when the file is damaged', { skip }, async () => {
  const files = (await readdir(cacheDir)).filter((f) => f.startsWith('use-lite-static-'));
  assert.equal(files.length, 1);
  const first = await loadUseLiteTable({ cacheDir });
  const t0 = performance.now();
  const cached = await loadUseLiteTable({ cacheDir });
  assert.ok(performance.now() - t0 < 5000);
  assert.deepEqual(cached.table, first.table);
  await truncate(join(cacheDir, files[0]), 1000);
  const rebuilt = await loadUseLiteTable({ cacheDir });
  assert.equal(rebuilt.address, first.address);
  assert.deepEqual(rebuilt.table, first.table, 'distillation is deterministic');
  assert.deepEqual(await readdir(cacheDir), files);
});

test('composeStaticTable weights a piece by a/(a+P) and removes the probability-weighted mean row', () => {
  const v: Vocabulary = [['<unk>', 0], ['<s>', 0], ['</s>', 0], ['e1', 0], ['e2', 0], ['e3', 0], ['x', Math.log(0.75)], ['y', Math.log(0.25)]];
  const raw = new Float32Array(8 * 2);
  raw.set([1, 0], 6 * 2);
  raw.set([0, 1], 7 * 2);
  raw.set([5, 5], 1 * 2); // reserved rows stay zero
  const t = composeStaticTable(v, raw, 2, 0.25);
  const mu = [0.75, 0.25];
  const w = (p: number) => 0.25 / (0.25 + p);
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);
  close(t[12], w(0.75) * (1 - mu[0]));
  close(t[13], w(0.75) * (0 - mu[1]));
  close(t[14], w(0.25) * (0 - mu[0]));
  close(t[15], w(0.25) * (1 - mu[1]));
  assert.deepEqual([...t.subarray(2, 12)], new Array(10).fill(0), 'reserved pieces 1–5 are never produced: zero rows');
  close(t[0], 1 * (0 - mu[0])); // the unknown piece (P = 0 ⇒ weight 1)
});
