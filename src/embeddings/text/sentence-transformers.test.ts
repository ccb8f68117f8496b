import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../test-support/fixtures.js';
import { isPlotPointeError } from '../../errors.js';
import { SentenceTransformersEncoder } from './sentence-transformers.js';
import { createTextEncoder } from './encoders.js';

// No sentence-transformers ONNX export is available on this machine: these tests cover the failure paths only.
const loadError = (detail: RegExp) => (e: unknown) => isPlotPointeError(e, 'PP_EMBED_MODEL_LOAD') && detail.test((e as Error).message);

test('a missing sentence-transformers folder is one PP_EMBED_MODEL_LOAD error', async () => {
  const dir = join(tempDir('st'), 'all-MiniLM-L6-v2');
  await assert.rejects(SentenceTransformersEncoder.load(dir), loadError(/no config\.json/));
  await assert.rejects(createTextEncoder(`st:${dir}`), loadError(/all-MiniLM-L6-v2/));
});

test('an invalid sentence-transformers folder names what is wrong (config, tokenizer, ONNX file, broken model)', async () => {
  const dir = join(tempDir('st-bad'), 'model');
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), '{ not json');
  await assert.rejects(SentenceTransformersEncoder.load(dir), loadError(/not valid JSON/));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'bert' }));
  await assert.rejects(SentenceTransformersEncoder.load(dir), loadError(/hidden_size/));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'bert', hidden_size: 384 }));
  await assert.rejects(SentenceTransformersEncoder.load(dir), loadError(/no tokenizer\.json/));
  writeFileSync(join(dir, 'tokenizer.json'), '{}');
  await assert.rejects(SentenceTransformersEncoder.load(dir), loadError(/no onnx\/model\.onnx/));
  writeFileSync(join(dir, 'onnx', 'model.onnx'), 'not an onnx file');
  await assert.rejects(SentenceTransformersEncoder.load(dir), loadError(/model/));
});

test('unknown encoder specs are PP_EMBED_ENCODER_UNKNOWN', async () => {
  await assert.rejects(createTextEncoder('bert-huge'), (e) => isPlotPointeError(e, 'PP_EMBED_ENCODER_UNKNOWN'));
  await assert.rejects(createTextEncoder('st:'), (e) => isPlotPointeError(e, 'PP_EMBED_ENCODER_UNKNOWN'));
});
