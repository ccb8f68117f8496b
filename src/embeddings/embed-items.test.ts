import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test-support/fixtures.js';
import { isPlotPointeError } from '../errors.js';
import { silentProgress } from '../core/progress.js';
import { embedItemsText, readStagedItems } from './embed-items.js';
import { loadEmbeddings } from './store.js';
import { CountingEncoder, TINY_PRODUCTS, tinyLake } from './testkit.js';
import { lakePaths } from '../lake/paths.js';

const quiet = { progress: () => silentProgress };

test('embed text writes row i = dense item i, zero rows for items without text, and a manifest', async () => {
  const lake = await tinyLake(tempDir('embed'));
  const enc = new CountingEncoder(8);
  const s = await embedItemsText({ lake, name: 'tiny', encoder: enc, batch: 2, ...quiet });
  assert.equal(s.count, 5);
  assert.equal(s.dim, 8);
  assert.equal(s.missing, 1, 'B04 has no text');
  assert.equal(s.encoded, 4);
  assert.equal(enc.calls, 2, 'batches of 2');
  assert.equal(enc.disposed, false, 'a caller-owned encoder is not disposed');

  const e = await loadEmbeddings(s.paths.dir, 'text', { verify: true });
  const { rows } = await readStagedItems(lake, 'tiny');
  const asins = Object.keys(TINY_PRODUCTS);
  const expected = await new CountingEncoder(8).encode(['Wireless Bluetooth Headphones. Brand: Sonic. Category: Electronics > Headphones. Over-ear, 30 h battery.']);
  for (let i = 0; i < e.count; i++) {
    const noText = rows[i].title === null;
    assert.equal(e.present[i], noText ? 0 : 1, `row ${i}`);
    if (noText) assert.deepEqual(Array.from(e.data.subarray(i * 8, (i + 1) * 8)), new Array(8).fill(0));
    if (rows[i].title === 'Wireless Bluetooth Headphones') assert.deepEqual(e.data.subarray(i * 8, (i + 1) * 8), expected);
  }
  assert.equal(rows.length, asins.length);
  assert.equal(e.meta.encoder_id, 'fake@v1');
  const manifest = JSON.parse(readFileSync(join(s.paths.dir, 'manifest.json'), 'utf8'));
  assert.equal(manifest.stage, 'embed');
  assert.equal(manifest.counts.text_items, 5);
  assert.deepEqual(manifest.inputs.map((i: { name: string }) => i.name), ['items', 'item_map']);
  assert.match(manifest.inputs[0].sha256, /^[0-9a-f]{64}$/);
});

test('a re-run answers unchanged items from the cache and encodes only new or changed items', async () => {
  const dir = tempDir('embed-cache');
  const lake = await tinyLake(dir);
  const first = new CountingEncoder(8);
  const s1 = await embedItemsText({ lake, name: 'tiny', encoder: first, ...quiet });
  assert.equal(s1.cache_hits, 0);
  assert.equal(s1.encoded, 4);
  const before = await loadEmbeddings(s1.paths.dir, 'text');

  const second = new CountingEncoder(8);
  const s2 = await embedItemsText({ lake, name: 'tiny', encoder: second, ...quiet });
  assert.equal(s2.cache_hits, 4);
  assert.equal(s2.encoded, 0);
  assert.equal(second.calls, 0, 'the encoder is not called at all');
  assert.deepEqual((await loadEmbeddings(s2.paths.dir, 'text')).data, before.data);

  // Change one title, add one item: only those two are encoded again.
  const changed = { ...TINY_PRODUCTS, B03: { ...TINY_PRODUCTS.B03, title: 'Ceramic Kitchen Knife' }, B06: { title: 'Bluetooth Speaker' } };
  await tinyLake(dir, 'tiny', changed);
  const third = new CountingEncoder(8);
  const s3 = await embedItemsText({ lake, name: 'tiny', encoder: third, ...quiet });
  assert.equal(s3.count, 6);
  assert.equal(s3.cache_hits, 3);
  assert.equal(s3.encoded, 2);
  assert.deepEqual(third.texts.map((t) => t.split('.')[0]).sort(), ['Bluetooth Speaker', 'Ceramic Kitchen Knife']);

  // Another encoder id shares nothing; --no-cache encodes everything.
  const v2 = new CountingEncoder(8, 'v2');
  assert.equal((await embedItemsText({ lake, name: 'tiny', encoder: v2, ...quiet })).cache_hits, 0);
  const nocache = new CountingEncoder(8);
  const s4 = await embedItemsText({ lake, name: 'tiny', encoder: nocache, cache: false, ...quiet });
  assert.equal(s4.encoded, 5);
  assert.equal(s4.cache_hits, 0);
});

test('embed text on a dataset that was never ingested is PP_LAKE_NOT_FOUND and writes nothing', async () => {
  const dir = tempDir('embed-none');
  await assert.rejects(
    embedItemsText({ lake: dir, name: 'nope', encoder: new CountingEncoder(), ...quiet }),
    (e) => isPlotPointeError(e, 'PP_LAKE_NOT_FOUND'),
  );
  assert.equal(existsSync(lakePaths(dir).artifactsRoot), false);
  const lake = await tinyLake(dir);
  await assert.rejects(
    embedItemsText({ lake, name: 'tiny', encoder: new CountingEncoder(), batch: 0, ...quiet }),
    (e) => isPlotPointeError(e, 'PP_EMBED_INVALID'),
  );
});
