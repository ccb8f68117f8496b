import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliJson, runCli } from '../../test-support/cli.js';
import { tempDir } from '../../test-support/fixtures.js';
import { cosine } from '../encoder.js';
import { loadEmbeddings } from '../store.js';
import { readStagedColumns } from '../embed-run.js';
import { createImageEncoder } from './encoders.js';
import { demoImageLake, MOBILENET } from './testkit.js';
import { datasetPaths } from '../../lake/paths.js';

describe('plotpointe embed image on a 60-item demo lake', () => {
  let lake: string;
  let paths: string[];
  before(async () => {
    ({ lake } = await demoImageLake(tempDir('cli-embed-img'), 60));
    const { rows } = await readStagedColumns<{ iid: number; image_path: string | null }>(lake, 'demo', ['image_path']);
    paths = rows.map((r) => r.image_path!);
  });

  for (const [label, spec, skip] of [
    ['the ONNX ImageNet MobileNetV2', `onnx:${MOBILENET.path}`, MOBILENET.skip],
    ['the bundled encoder (offline, npm-shipped weights)', 'bundled', false],
    ['the default bundled-ort encoder (the same weights on onnxruntime)', 'bundled-ort', false],
  ] as const) {
    test(`with ${label}: every item embedded in staging order, then a re-run answers from the cache`, { skip }, async () => {
      const r = runCli(['embed', 'image', '--lake', lake, '--name', 'demo', '--encoder', spec, '--batch', '8', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const s = cliJson(r);
      assert.equal(s.count, 60);
      assert.equal(s.present, 60);
      assert.equal(s.failed, 0);
      assert.equal(s.dim, 1280);
      assert.equal(s.local_files, 60);
      assert.ok(s.items_per_s > 0 && s.encode_items_per_s > 0, `items/s ${s.items_per_s}`);
      assert.match(r.stderr, /embed image/, 'progress on stderr');

      const dir = datasetPaths(lake, 'demo').embeddings;
      const e = await loadEmbeddings(dir, 'image', { verify: true });
      assert.equal(e.meta.encoder_id, s.encoder_id);
      assert.equal(e.meta.count, 60);
      assert.equal(e.meta.normalised, true);
      assert.equal(typeof e.meta.items_per_s, 'number');
      // Row i is staged item i: compare two rows with the encoder run directly on the item's file.
      const enc = await createImageEncoder(spec);
      try {
        for (const i of [0, 37]) {
          const direct = await enc.encode([readFileSync(paths[i]!)]);
          assert.ok(cosine(direct, e.data.subarray(i * 1280, (i + 1) * 1280)) > 0.9999, `row ${i}`);
        }
      } finally {
        await enc.dispose();
      }
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      assert.equal(manifest.config.image.encoder_id, s.encoder_id);

      const again = runCli(['embed', 'image', '--lake', lake, '--name', 'demo', '--encoder', spec, '--json']);
      assert.equal(again.status, 0, again.stderr);
      const s2 = cliJson(again);
      assert.equal(s2.cache_hits + s2.duplicates, 60);
      assert.equal(s2.encoded, 0);
    });
  }

  test('errors are one coded line: unknown encoder, bad option, missing model, missing dataset', () => {
    const cases: [string[], string, number][] = [
      [['--name', 'demo', '--encoder', 'clip'], 'PP_EMBED_ENCODER_UNKNOWN', 2],
      [['--name', 'demo', '--encoder', 'onnx:x.onnx?colour=red'], 'PP_EMBED_INVALID', 2],
      [['--name', 'demo', '--encoder', `onnx:${join(lake, 'absent.onnx')}`], 'PP_EMBED_MODEL_LOAD', 3],
      [['--name', 'nope'], 'PP_LAKE_NOT_FOUND', 3],
      [['--name', 'demo', '--concurrency', 'many'], 'PP_USAGE', 2],
    ];
    for (const [extra, code, status] of cases) {
      const r = runCli(['embed', 'image', '--lake', lake, ...extra, '--json']);
      assert.equal(r.status, status, `${extra.join(' ')}: ${r.stderr}`);
      assert.equal(cliJson(r).error.code, code);
      assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('error ')).length, 1);
    }
  });
});
