import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cliJson, runCli } from '../test-support/cli.js';
import { tempDir } from '../test-support/fixtures.js';
import { loadEmbeddings } from './store.js';
import { tinyLake } from './testkit.js';
import { datasetPaths } from '../lake/paths.js';

test('plotpointe embed text --json embeds a tiny ingested lake with the default (static USE lite) and writes text.f32/.json/.mask', async () => {
  const lake = await tinyLake(tempDir('cli-embed'));
  // The distilled token table is built into this lake's folder, not the user's model cache.
  const env = { PLOTPOINTE_MODEL_CACHE: join(lake, 'model-cache') };
  const r = runCli(['embed', 'text', '--lake', lake, '--name', 'tiny', '--batch', '2', '--json'], { env });
  assert.equal(r.status, 0, r.stderr);
  const s = cliJson(r);
  assert.equal(s.count, 5);
  assert.equal(s.dim, 512);
  assert.equal(s.missing, 1);
  assert.equal(s.cache_hits, 0);
  assert.ok(s.items_per_s > 0 && s.seconds > 0);
  const dir = datasetPaths(lake, 'tiny').embeddings;
  for (const f of ['text.f32', 'text.json', 'text.mask', 'manifest.json']) assert.ok(existsSync(join(dir, f)), f);
  const e = await loadEmbeddings(dir, 'text', { verify: true });
  assert.equal(e.meta.encoder, 'use-lite-static');
  assert.equal(e.meta.normalised, true);
  assert.ok(existsSync(join(lake, 'model-cache')), 'the table was cached where PLOTPOINTE_MODEL_CACHE points');

  const again = cliJson(runCli(['embed', 'text', '--lake', lake, '--name', 'tiny', '--json'], { env }));
  assert.equal(again.cache_hits, 4);
  assert.equal(again.encoded, 0);
});

test('plotpointe embed text --encoder use-lite still runs the transformer', async () => {
  const lake = await tinyLake(tempDir('cli-embed-use'));
  const s = cliJson(runCli(['embed', 'text', '--lake', lake, '--name', 'tiny', '--encoder', 'use-lite', '--json']));
  assert.equal(s.encoder, 'use-lite');
  assert.equal(s.encoded, 4);
});

test('embed text errors are one coded line: unknown encoder, bad fields, missing lake, missing model folder', async () => {
  const dir = tempDir('cli-embed-err');
  const lake = await tinyLake(dir);
  const cases: [string[], string, number][] = [
    [['--name', 'nope', '--encoder', 'gpt9'], 'PP_EMBED_ENCODER_UNKNOWN', 2],
    [['--name', 'nope', '--fields', 'title,colour'], 'PP_EMBED_INVALID', 2],
    [['--name', 'nope'], 'PP_LAKE_NOT_FOUND', 3],
    [['--name', 'tiny', '--encoder', `st:${join(dir, 'all-MiniLM-L6-v2')}`], 'PP_EMBED_MODEL_LOAD', 3],
  ];
  for (const [extra, code, status] of cases) {
    const r = runCli(['embed', 'text', '--lake', lake, ...extra, '--json']);
    assert.equal(r.status, status, r.stderr);
    assert.equal(cliJson(r).error.code, code);
    assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('error ')).length, 1);
  }
});
