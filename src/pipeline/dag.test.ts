import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test-support/fixtures.js';
import { criticalPath, downstreamOf, selectSteps, topoOrder, type StepSpec } from './dag.js';
import { buildDag } from './steps.js';
import { FileHasher, stepKey } from './cache.js';
import { loadConfig } from '../config/load.js';
import { readPipelineFile } from './resolve.js';

const step = (id: string, needs: string[] = [], resource: 'cpu' | 'io' = 'cpu'): StepSpec => ({
  id,
  title: id,
  needs,
  resource,
  configKeys: [],
  inputs: () => [],
  outputs: () => [],
  command: () => [id],
});

test('topoOrder puts every step after what it needs and refuses cycles and unknown needs', () => {
  const order = topoOrder([step('train', ['split', 'embed']), step('split', ['ingest']), step('embed', ['ingest']), step('ingest')]).map((s) => s.id);
  assert.ok(order.indexOf('ingest') < order.indexOf('split') && order.indexOf('split') < order.indexOf('train') && order.indexOf('embed') < order.indexOf('train'));
  assert.throws(() => topoOrder([step('a', ['b']), step('b', ['a'])]), /PP_PIPELINE_INVALID|cycle/);
  assert.throws(() => topoOrder([step('a', ['nope'])]), /unknown step "nope"/);
});

test('criticalPath is the longest chain by time; the parallel branches do not add up', () => {
  const steps = [step('ingest'), step('text', ['ingest']), step('image', ['ingest']), step('train', ['text', 'image'])];
  const t: Record<string, number> = { ingest: 1, text: 5, image: 3, train: 2 };
  const cp = criticalPath(steps, (id) => t[id]);
  assert.equal(cp.seconds, 8);
  assert.deepEqual(cp.path, ['ingest', 'text', 'train']);
});

test('downstreamOf and selectSteps follow the dependencies both ways', () => {
  const steps = [step('ingest'), step('split', ['ingest']), step('text', ['ingest']), step('train', ['split', 'text']), step('index', ['train'])];
  assert.deepEqual([...downstreamOf(steps, 'split')].sort(), ['index', 'train']);
  assert.deepEqual(selectSteps(steps, ['train']).map((s) => s.id), ['ingest', 'split', 'text', 'train']);
});

test('buildDag leaves out steps whose command is absent, and their dependants, with a reason; optional needs are dropped', () => {
  const config = loadConfig({ overrides: { 'pipeline.model': 'mmgat' } });
  const have = new Set(['data demo', 'data ingest', 'data split', 'embed text', 'train', 'eval', 'runs bless']);
  const { steps, leftOut } = buildDag(config, (p) => have.has(p.join(' ')));
  const ids = steps.map((s) => s.id);
  assert.deepEqual(ids, ['demo', 'ingest', 'split', 'embed-text', 'train', 'evaluate', 'publish']);
  assert.deepEqual(steps.find((s) => s.id === 'train')!.needs, ['split', 'embed-text']);
  assert.deepEqual(steps.find((s) => s.id === 'publish')!.needs, ['evaluate']);
  const why = Object.fromEntries(leftOut.map((l) => [l.step, l.reason]));
  assert.match(why['embed-image'], /plotpointe embed image. is not in this checkout/);
  assert.match(why['graph-image'], /plotpointe graph knn/);
  const skipped = buildDag(config, (p) => have.has(p.join(' ')), new Set(['embed-text']));
  assert.ok(!skipped.steps.some((s) => s.id === 'embed-text'));
  const files = buildDag(loadConfig({ overrides: { 'pipeline.source': 'files', 'pipeline.inputs': '/x/a.json' } }), (p) => have.has(p.join(' ')));
  assert.ok(!files.steps.some((s) => s.id === 'demo'), 'no demo generator for file sources');
});

test('train waits only for the content steps whose output its models read (mmgat features and item graph), also among auto candidates', () => {
  const all = () => true;
  const trainNeeds = (overrides: Record<string, unknown>) => buildDag(loadConfig({ overrides: overrides as never }), all).steps.find((s) => s.id === 'train')!.needs;
  const content = ['split', 'embed-text', 'embed-image', 'fuse', 'graph-text', 'graph-image', 'graph-fused'];
  assert.deepEqual(trainNeeds({ 'pipeline.model': 'lightgcn' }), ['split']);
  // mmgat's defaults: its own fusion over text and image, item edges from the text graph — not the fuse step
  assert.deepEqual(trainNeeds({ 'pipeline.model': 'mmgat' }), ['split', 'embed-text', 'embed-image', 'graph-text']);
  assert.deepEqual(trainNeeds({ 'pipeline.model': 'mmgat', 'pipeline.model_params': 'features=none,item_edges=false' }), ['split']);
  assert.deepEqual(trainNeeds({ 'pipeline.model': 'mmgat', 'pipeline.model_params': 'features=text,ii_modality=fused' }), ['split', 'embed-text', 'fuse', 'graph-fused']);
  assert.deepEqual(trainNeeds({ 'pipeline.model': 'auto', 'train.auto_candidates': 'pop,ease:variant=lowrank:rank=128,lightgcn:epochs=3' }), ['split']);
  assert.deepEqual(trainNeeds({ 'pipeline.model': 'auto', 'train.auto_candidates': 'lightgcn, mmgat:epochs=3:features=image:ii_modality=image' }), ['split', 'embed-image', 'graph-image']);
  assert.deepEqual(trainNeeds({ 'pipeline.model': 'mmgat', 'pipeline.model_params': 'features=sound' }), content, 'a bad param: wait for everything, the train step reports it');
  assert.deepEqual(trainNeeds({ 'pipeline.model': 'not-a-model' }), content, 'an unknown model is assumed to read content');
  // index serves the content modalities whatever the model
  assert.deepEqual(buildDag(loadConfig({ overrides: { 'pipeline.model': 'lightgcn' } }), all).steps.find((s) => s.id === 'index')!.needs, ['train', 'embed-text', 'embed-image', 'fuse', 'graph-fused', 'graph-text', 'graph-image']);
});

test('a step key changes with its config slice, its inputs and the code version, and with nothing else', async () => {
  const dir = tempDir('pipeline-key');
  mkdirSync(join(dir, 'a'));
  writeFileSync(join(dir, 'a', 'x.bin'), 'one');
  const hasher = new FileHasher(null);
  const h1 = await hasher.ref(dir, { path: 'a' });
  const k = stepKey('split', { 'split.seed': 1 }, [h1], 'v1');
  assert.equal(stepKey('split', { 'split.seed': 1 }, [h1], 'v1'), k);
  assert.notEqual(stepKey('split', { 'split.seed': 2 }, [h1], 'v1'), k);
  assert.notEqual(stepKey('split', { 'split.seed': 1 }, [h1], 'v2'), k);
  writeFileSync(join(dir, 'a', 'x.bin'), 'two');
  const h2 = await hasher.ref(dir, { path: 'a' });
  assert.notEqual(h2.sha256, h1.sha256);
  assert.notEqual(stepKey('split', { 'split.seed': 1 }, [h2], 'v1'), k);
  assert.equal((await hasher.ref(dir, { path: 'missing' })).sha256, 'absent');
  writeFileSync(join(dir, 'a', 'skip.log'), 'noise');
  assert.equal((await hasher.ref(dir, { path: 'a', exclude: ['skip.log'] })).sha256, h2.sha256, 'excluded entries do not count');
});

test('a pipeline file carries config keys (nested YAML) and per-step skip/args; unknown keys are refused', () => {
  const dir = tempDir('pipeline-file');
  const path = join(dir, 'p.yaml');
  writeFileSync(path, 'split:\n  seed: 7\npipeline:\n  model: mf\nsteps:\n  embed-image: { skip: true }\n  fuse: { args: ["--epochs", 5] }\n');
  const pf = readPipelineFile(path);
  assert.deepEqual(pf.config, { 'split.seed': 7, 'pipeline.model': 'mf' });
  assert.deepEqual([...pf.skip], ['embed-image']);
  assert.deepEqual(pf.args, { fuse: ['--epochs', '5'] });
  writeFileSync(path, 'nonsense: 1\n');
  assert.throws(() => loadConfig({ overrides: readPipelineFile(path).config as never }), /unknown key "nonsense"/);
});
