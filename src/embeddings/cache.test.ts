import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test-support/fixtures.js';
import { EmbeddingCache, cacheKey, encoderCacheDirName } from './cache.js';

test('cache vectors survive a reopen and count hits and misses', async () => {
  const dir = join(tempDir('cache'), 'c');
  const c = await EmbeddingCache.openDir(dir, 'enc@1', 4);
  const k1 = cacheKey('enc@1', 'hello');
  c.put(k1, [1, 2, 3, 4]);
  assert.equal(await c.flush(), 1);
  assert.equal(await c.flush(), 0);
  c.put(cacheKey('enc@1', 'world'), new Float32Array([5, 6, 7, 8]));
  await c.flush();

  const again = await EmbeddingCache.openDir(dir, 'enc@1', 4);
  assert.equal(again.size, 2);
  assert.equal(again.segmentsRead, 2);
  assert.deepEqual(Array.from(again.get(k1)!), [1, 2, 3, 4]);
  assert.equal(again.get(cacheKey('enc@1', 'other')), undefined);
  assert.equal(again.hits, 1);
  assert.equal(again.misses, 1);
});

test('keys depend on the encoder id and the text; corrupt or other-dim segments are skipped', async () => {
  assert.notEqual(cacheKey('a@1', 'x'), cacheKey('a@2', 'x'));
  assert.notEqual(cacheKey('a@1', 'x'), cacheKey('a@1', 'y'));
  assert.match(encoderCacheDirName('st:/models/MiniLM:fp32'), /^st_models_MiniLM_fp32-[0-9a-f]{12}$/);
  const dir = join(tempDir('cache-bad'), 'c');
  const c = await EmbeddingCache.openDir(dir, 'e', 2);
  c.put(cacheKey('e', 'a'), [1, 1]);
  await c.flush();
  writeFileSync(join(dir, 'seg-99999999999999-1-bad.bin'), Buffer.from('PPEMBC01 truncated'));
  const other = await EmbeddingCache.openDir(dir, 'e', 3);
  assert.equal(other.size, 0);
  assert.equal(other.segmentsSkipped, 2);
  const same = await EmbeddingCache.openDir(dir, 'e', 2);
  assert.equal(same.size, 1);
  assert.equal(same.segmentsSkipped, 1);
  assert.equal(readdirSync(dir).filter((n) => n.startsWith('.')).length, 0, 'no temporary files left');
});

test('compaction merges this cache\'s segments into one and keeps every vector', async () => {
  const dir = join(tempDir('cache-compact'), 'c');
  for (let i = 0; i < 5; i++) {
    const c = await EmbeddingCache.openDir(dir, 'e', 2);
    c.put(cacheKey('e', `t${i}`), [i, -i]);
    await c.flush();
  }
  const c = await EmbeddingCache.openDir(dir, 'e', 2);
  assert.equal(c.segmentsRead, 5);
  c.put(cacheKey('e', 'new'), [9, 9]);
  await c.flush();
  assert.equal(await c.compact(), 6);
  assert.equal(readdirSync(dir).length, 1);
  const after = await EmbeddingCache.openDir(dir, 'e', 2);
  assert.equal(after.size, 6);
  assert.deepEqual(Array.from(after.get(cacheKey('e', 't3'))!), [3, -3]);
  assert.deepEqual(Array.from(after.get(cacheKey('e', 'new'))!), [9, 9]);
});

test('a flush larger than the segment cap is written as several segments, each readable, every vector kept', async () => {
  const dir = join(tempDir('cache-cap'), 'c');
  // dim 2: an entry is 32 + 8 bytes; a cap of 16 + 3 × 40 bytes holds 3 entries per segment
  const c = await EmbeddingCache.openDir(dir, 'e', 2, 16 + 3 * 40);
  for (let i = 0; i < 7; i++) c.put(cacheKey('e', `t${i}`), [i, i + 0.5]);
  assert.equal(await c.flush(), 7);
  const segs = readdirSync(dir).filter((n) => n.startsWith('seg-'));
  assert.equal(segs.length, 3, '7 entries at 3 per segment');
  for (const n of segs) assert.ok(statSync(join(dir, n)).size <= 16 + 3 * 40, `${n} within the cap`);
  const after = await EmbeddingCache.openDir(dir, 'e', 2);
  assert.equal(after.size, 7);
  for (let i = 0; i < 7; i++) assert.deepEqual(Array.from(after.get(cacheKey('e', `t${i}`))!), [i, i + 0.5]);
});
