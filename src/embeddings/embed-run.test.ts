import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test-support/fixtures.js';
import { writeEmbeddingsManifest } from './embed-run.js';
import { EMBEDDINGS_FORMAT, type EmbeddingMeta } from './store.js';

const meta = (modality: 'text' | 'image', dim: number): EmbeddingMeta => ({
  format: EMBEDDINGS_FORMAT,
  name: modality,
  modality,
  encoder: `${modality}-enc`,
  encoder_id: `${modality}-enc@1`,
  dim,
  normalised: true,
  dtype: 'float32',
  byte_order: 'little-endian',
  count: 3,
  present: 2,
  missing: 1,
  sha256: '0'.repeat(64),
  created_at: new Date(0).toISOString(),
  seconds: 1,
  items_per_s: 2,
});

test('concurrent manifest merges of two modalities keep both entries (the manifest lock)', async () => {
  const dir = tempDir('embed-run-lock');
  // Many rounds of text and image merging at the same time: without the lock, both read the same old
  // manifest and the later write drops the other modality.
  for (let round = 0; round < 5; round++) {
    await Promise.all([
      writeEmbeddingsManifest(dir, meta('text', 8), { batch: 32 }, [], 1),
      writeEmbeddingsManifest(dir, meta('image', 16), { batch: 16 }, [], 1),
    ]);
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    assert.deepEqual(Object.keys(m.files).sort(), ['image', 'text'], `round ${round}`);
    assert.equal(m.counts.text_dim, 8);
    assert.equal(m.counts.image_dim, 16);
    assert.equal(m.config.image.batch, 16);
  }
  assert.equal(existsSync(join(dir, '.manifest.lock')), false, 'the lock is released');
});
