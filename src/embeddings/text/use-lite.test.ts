import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cosine } from '../encoder.js';
import { UseLiteEncoder } from './use-lite.js';

/** The model package is a dependency, but a broken install should skip these tests with the reason, not fail them. */
let loaded: UseLiteEncoder | undefined;
let skip: string | false = false;
try {
  loaded = await UseLiteEncoder.load();
} catch (err) {
  skip = `USE lite cannot load here: ${err instanceof Error ? err.message : String(err)}`;
}

const titles = [
  'wireless bluetooth headphones',
  'noise cancelling over-ear headphones',
  'stainless steel kitchen knife',
  'USB-C fast charging cable, 2 m',
];

test('USE lite gives one 512-d unit-norm float32 row per title', { skip }, async () => {
  const enc = loaded!;
  const out = await enc.encode(titles);
  assert.ok(out instanceof Float32Array);
  assert.equal(enc.dim, 512);
  assert.equal(out.length, titles.length * 512);
  for (let i = 0; i < titles.length; i++) {
    const row = out.subarray(i * 512, (i + 1) * 512);
    const norm = Math.sqrt(row.reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(norm - 1) < 1e-4, `row ${i} norm ${norm}`);
  }
});

test('USE lite puts related product titles closer than unrelated ones', { skip }, async () => {
  const out = await loaded!.encode(titles);
  const row = (i: number) => out.subarray(i * 512, (i + 1) * 512);
  const related = cosine(row(0), row(1));
  const unrelated = cosine(row(0), row(2));
  assert.ok(related > unrelated + 0.1, `headphones/headphones ${related.toFixed(3)} vs headphones/knife ${unrelated.toFixed(3)}`);
});

test('USE lite is deterministic across batches and keeps empty texts as a row', { skip }, async () => {
  const enc = loaded!;
  const a = await enc.encode([titles[0]]);
  const b = (await enc.encode(['', titles[0]])).subarray(512);
  assert.equal(b.length, 512);
  assert.ok(cosine(a, b) > 0.9999);
  await enc.dispose();
  await assert.rejects(enc.encode(['x']));
});
