import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../test-support/fixtures.js';
import { silentProgress } from '../../core/progress.js';
import { isPlotPointeError } from '../../errors.js';
import { l2NormaliseRows, type Encoder } from '../encoder.js';
import { loadEmbeddings } from '../store.js';
import { embedItemsText } from '../embed-items.js';
import { CountingEncoder, tinyLake } from '../testkit.js';
import { decodeRgb } from './preprocess.js';
import { embedItemsImage, imageDownloadPath } from './embed-images.js';
import { demoImageLake, solidPng } from './testkit.js';
import { lakePaths } from '../../lake/paths.js';

const quiet = { progress: () => silentProgress };

/**
 * A fast, deterministic image encoder for pipeline tests: the mean colour of the 8 × 8 thumbnail and of its
 * four quadrants (15 values), L2-normalised. Undecodable bytes → PP_EMBED_IMAGE_DECODE, like the real ones.
 */
class ColourEncoder implements Encoder<Buffer> {
  readonly name = 'colour';
  readonly id: string;
  readonly modality = 'image' as const;
  readonly dim = 15;
  readonly normalised = true;
  calls = 0;
  inputs = 0;
  constructor(version = 'v1') {
    this.id = `colour@${version}`;
  }
  async encode(batch: readonly Buffer[]): Promise<Float32Array> {
    this.calls++;
    this.inputs += batch.length;
    const out = new Float32Array(batch.length * this.dim);
    for (let i = 0; i < batch.length; i++) {
      const rgb = await decodeRgb(batch[i]!, { size: 8, fit: 'fill', mean: [0, 0, 0], std: [1, 1, 1], layout: 'nhwc' });
      for (let y = 0; y < 8; y++) {
        for (let x = 0; x < 8; x++) {
          const q = 1 + (y >> 2) * 2 + (x >> 2);
          for (let c = 0; c < 3; c++) {
            const v = rgb[3 * (y * 8 + x) + c]! / 255 + 0.01;
            out[i * 15 + c] += v / 64;
            out[i * 15 + 3 * q + c] += v / 16;
          }
        }
      }
    }
    return l2NormaliseRows(out, this.dim);
  }
  async dispose(): Promise<void> {}
}

test('embed image writes one row per staged item from the demo pictures, and a re-run encodes only changed pictures', async () => {
  const { lake, name, imagesDir } = await demoImageLake(tempDir('embed-img'), 24);
  const enc = new ColourEncoder();
  const s1 = await embedItemsImage({ lake, name, encoder: enc, batch: 5, ...quiet });
  assert.equal(s1.count, 24);
  assert.equal(s1.present, 24);
  assert.equal(s1.local_files, 24);
  assert.equal(s1.encoded + s1.duplicates, 24);
  assert.equal(s1.cache_hits, 0);
  assert.equal(enc.calls, Math.ceil(s1.encoded / 5), 'batches of 5');
  const e1 = await loadEmbeddings(s1.paths.dir, 'image', { verify: true });
  assert.equal(e1.meta.modality, 'image');
  assert.equal(e1.meta.encoder_id, 'colour@v1');
  assert.equal(e1.dim, 15);
  assert.ok(e1.present.every((p) => p === 1));
  const manifest = JSON.parse(readFileSync(s1.paths.manifest, 'utf8'));
  assert.equal(manifest.counts.image_items, 24);
  assert.equal(manifest.config.image.encoder_id, 'colour@v1');

  // Re-run: everything from the cache, same matrix.
  const again = new ColourEncoder();
  const s2 = await embedItemsImage({ lake, name, encoder: again, ...quiet });
  assert.equal(again.calls, 0);
  assert.equal(s2.cache_hits, s1.encoded);
  assert.deepEqual((await loadEmbeddings(s2.paths.dir, 'image')).data, e1.data);

  // Repaint one picture, corrupt one, delete one: one encode, two failures marked missing, counted by code.
  const files = readdirSync(imagesDir).sort();
  const repainted = await solidPng([10, 200, 30], 128, 128);
  writeFileSync(join(imagesDir, files[0]!), repainted);
  writeFileSync(join(imagesDir, files[1]!), Buffer.from('GIF89a garbage'));
  rmSync(join(imagesDir, files[2]!));
  const third = new ColourEncoder();
  const s3 = await embedItemsImage({ lake, name, encoder: third, ...quiet });
  assert.equal(s3.encoded, 1, 'only the repainted picture is encoded (the corrupt one fails in the encoder)');
  assert.equal(third.inputs, 4, 'the failing batch of two, then each picture alone');
  assert.equal(s3.present, 22);
  assert.equal(s3.missing, 2);
  assert.equal(s3.failed, 2);
  assert.deepEqual(s3.failure_counts, { PP_EMBED_IMAGE_DECODE: 1, PP_INPUT_NOT_FOUND: 1 });
  const e3 = await loadEmbeddings(s3.paths.dir, 'image');
  assert.equal(e3.present.reduce((a, b) => a + b, 0), 22);
  for (let i = 0; i < e3.count; i++) {
    if (!e3.present[i]) assert.ok(e3.data.subarray(i * 15, (i + 1) * 15).every((v) => v === 0), `missing row ${i} is zero`);
  }
  // Some row now holds the repainted picture's vector.
  const expected = await new ColourEncoder().encode([repainted]);
  const rowsLikeIt = [...Array(e3.count).keys()].filter((i) => e3.data.subarray(i * 15, (i + 1) * 15).every((v, j) => Math.abs(v - expected[j]!) < 1e-6));
  assert.equal(rowsLikeIt.length, 1, 'the repainted picture was re-embedded');

  // --no-cache encodes everything again.
  const fresh = new ColourEncoder();
  const s4 = await embedItemsImage({ lake, name, encoder: fresh, cache: false, ...quiet });
  assert.equal(s4.cache_hits, 0);
  assert.equal(s4.encoded + s4.duplicates, 22);
  assert.equal(s4.failed, 2);
});

test('text and image embeddings share the folder: each run keeps the other modality in the manifest', async () => {
  const { lake, name } = await demoImageLake(tempDir('embed-img-both'), 12);
  await embedItemsText({ lake, name, encoder: new CountingEncoder(8), ...quiet });
  const s = await embedItemsImage({ lake, name, encoder: new ColourEncoder(), ...quiet });
  await embedItemsText({ lake, name, encoder: new CountingEncoder(8), ...quiet });
  const manifest = JSON.parse(readFileSync(s.paths.manifest, 'utf8'));
  assert.deepEqual(Object.keys(manifest.files).sort(), ['image', 'text']);
  assert.equal(manifest.counts.image_dim, 15);
  assert.equal(manifest.counts.text_dim, 8);
  assert.equal(existsSync(join(s.paths.dir, '.manifest.lock')), false);
});

describe('image URLs', () => {
  let server: Server;
  let base: string;
  let requests: string[] = [];
  const pics = new Map<string, Buffer>();

  before(async () => {
    pics.set('/red.png', await solidPng([220, 20, 20]));
    pics.set('/blue.png', await solidPng([20, 20, 220]));
    pics.set('/red-again.png', await solidPng([220, 20, 20]));
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      const body = pics.get(req.url ?? '');
      if (req.url === '/boom.png') {
        res.statusCode = 503;
        res.end();
      } else if (body) res.end(body);
      else {
        res.statusCode = 404;
        res.end('no');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  async function urlLake() {
    const dir = tempDir('embed-img-url');
    const lake = await tinyLake(dir, 'web', {
      A1: { title: 'red', imageURL: [`${base}/red.png`] },
      A2: { title: 'blue', imageURLHighRes: [`${base}/blue.png`] },
      A3: { title: 'same red bytes', imageURL: [`${base}/red-again.png`] },
      A4: { title: 'gone', imageURL: [`${base}/missing.png`] },
      A5: { title: 'server error', imageURL: [`${base}/boom.png`] },
      A6: { title: 'no picture' },
    });
    return lake;
  }

  test('loopback URLs are refused by default: every picture fails PP_FETCH_BLOCKED, nothing is requested', async () => {
    const lake = await urlLake();
    requests = [];
    const s = await embedItemsImage({ lake, name: 'web', encoder: new ColourEncoder(), retries: 0, ...quiet });
    assert.equal(s.present, 0);
    assert.equal(s.no_image, 1);
    assert.deepEqual(s.failure_counts, { PP_FETCH_BLOCKED: 5 });
    assert.deepEqual(requests, []);
  });

  test('with allowPrivate: downloads, caches the downloads, embeds identical bytes once, marks 404/503 missing', async () => {
    const lake = await urlLake();
    requests = [];
    const enc = new ColourEncoder();
    const s = await embedItemsImage({ lake, name: 'web', encoder: enc, allowPrivate: true, retries: 1, concurrency: 2, ...quiet });
    assert.equal(s.count, 6);
    assert.equal(s.present, 3);
    assert.equal(s.no_image, 1);
    assert.equal(s.downloaded, 3);
    assert.equal(s.encoded, 2, 'red.png and red-again.png have the same bytes');
    assert.equal(s.duplicates, 1);
    assert.deepEqual(s.failure_counts, { PP_FETCH_FAILED: 2 });
    assert.equal(requests.filter((r) => r === '/boom.png').length, 2, '503 retried once');
    assert.ok(existsSync(imageDownloadPath(lake, `${base}/red.png`)));
    const e = await loadEmbeddings(s.paths.dir, 'image');
    const red = e.data.subarray(0, 15);
    assert.deepEqual(e.data.subarray(2 * 15, 3 * 15), red, 'A3 has A1 vector (rows in staging order A1..A6)');

    // Second run: pictures come from the download cache; only the failures are requested again.
    requests = [];
    const s2 = await embedItemsImage({ lake, name: 'web', encoder: new ColourEncoder(), allowPrivate: true, retries: 0, ...quiet });
    assert.equal(s2.download_cache_hits, 3);
    assert.equal(s2.downloaded, 0);
    assert.deepEqual(requests.sort(), ['/boom.png', '/missing.png']);
    assert.equal(s2.cache_hits, 2);
  });

  test('an oversized picture is refused by the size cap', async () => {
    const lake = await urlLake();
    const s = await embedItemsImage({ lake, name: 'web', encoder: new ColourEncoder(), allowPrivate: true, retries: 0, maxBytes: 50, cache: false, ...quiet });
    assert.equal(s.failure_counts.PP_FETCH_TOO_LARGE, 3);
  });
});

test('bad settings and a missing dataset fail before any work', async () => {
  const dir = tempDir('embed-img-bad');
  await assert.rejects(embedItemsImage({ lake: dir, name: 'nope', encoder: new ColourEncoder(), ...quiet }), (e) => isPlotPointeError(e, 'PP_LAKE_NOT_FOUND'));
  await assert.rejects(embedItemsImage({ lake: dir, name: 'nope', encoder: 'clip', ...quiet }), (e) => isPlotPointeError(e, 'PP_EMBED_ENCODER_UNKNOWN'));
  await assert.rejects(embedItemsImage({ lake: dir, name: 'nope', concurrency: 0, ...quiet }), (e) => isPlotPointeError(e, 'PP_EMBED_INVALID'));
  assert.equal(existsSync(lakePaths(dir).artifactsRoot), false);
});
