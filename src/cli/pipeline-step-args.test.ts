import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProgram } from './main.js';
import { DEMO_DEFAULTS } from './pipeline.js';
import { tempDir } from '../test-support/fixtures.js';
import { DEFAULT_STEP_ARGS, resolvePipeline } from '../pipeline/resolve.js';

const PIPELINE_YAML = fileURLToPath(new URL('../../pipeline.yaml', import.meta.url));

test('npm start (the demo: no pipeline file, DEMO_DEFAULTS) gives every step the same args as pipeline.yaml', async () => {
  const root = await buildProgram(() => undefined);
  const demo = resolvePipeline(root, undefined, { 'pipeline.source': 'demo', 'pipeline.executor': 'local' }, [], DEMO_DEFAULTS);
  const file = resolvePipeline(root, PIPELINE_YAML, {});
  assert.deepEqual(demo.args, file.args);
  // …and they are the shared defaults: fuse's short schedule, not the command's 200 epochs at lr 0.001.
  assert.deepEqual(demo.args['fuse'], ['--epochs', '12', '--lr', '0.01', '--hidden', '64']);
  assert.deepEqual(demo.args, Object.fromEntries(Object.entries(DEFAULT_STEP_ARGS).map(([k, v]) => [k, [...v]])));
});

test("a pipeline file's steps.<id>.args replace that step's default args and leave the others", async () => {
  const path = join(tempDir('resolve-args'), 'p.yaml');
  writeFileSync(path, 'steps:\n  fuse: { args: ["--epochs", 3] }\n  train: { args: ["--seed", 2] }\n');
  const p = resolvePipeline(await buildProgram(() => undefined), path, {});
  assert.deepEqual(p.args['fuse'], ['--epochs', '3']);
  assert.deepEqual(p.args['train'], ['--seed', '2']);
  // the constant is not mutated through the resolved copy
  p.args['fuse']!.push('x');
  assert.deepEqual(DEFAULT_STEP_ARGS['fuse'], ['--epochs', '12', '--lr', '0.01', '--hidden', '64']);
});
