import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPlotPointeError } from '../errors.js';
import { getModel, listModels } from './index.js';
import { resolveParams } from './registry.js';
import { RENAMED_PARAMS, migrateParams } from './param-names.js';

test('every registered model names its hyperparameters in snake_case, never with a replaced name', () => {
  for (const spec of listModels()) {
    for (const key of Object.keys(spec.params)) {
      assert.match(key, /^[a-z][a-z0-9_]*$/, `${spec.name}.${key}`);
      assert.equal(RENAMED_PARAMS[key], undefined, `${spec.name}.${key} is a replaced name`);
    }
  }
});

test('the trained graph and embedding models share the training names', () => {
  for (const name of ['mf', 'lightgcn', 'gat', 'mmgat']) {
    const keys = Object.keys(getModel(name).params);
    for (const k of ['dim', 'lr', 'reg', 'batch', 'epochs', 'eval_every', 'patience', 'negatives', 'hard_candidates', 'init_std']) assert.ok(keys.includes(k), `${name} lacks ${k}`);
  }
  for (const name of ['gat', 'mmgat', 'lightgcn']) assert.ok('layers' in getModel(name).params && 'rating_weighted' in getModel(name).params, name);
});

test('an old parameter name is refused with PP_MODEL_PARAM naming the new one', () => {
  const cases: [string, string, string][] = [
    ['gat', 'batchSize', 'batch'],
    ['gat', 'l2', 'reg'],
    ['mf', 'evalEvery', 'eval_every'],
    ['lightgcn', 'ratingWeighted', 'rating_weighted'],
    ['bspm', 'sharpenT', 'sharpen_t'],
  ];
  for (const [model, old, now] of cases) {
    assert.throws(
      () => resolveParams(getModel(model), { [old]: 1 }),
      (e: unknown) => isPlotPointeError(e, 'PP_MODEL_PARAM') && (e as Error).message.includes(`"${now}"`) && (e as Error).message.includes(old),
      `${model}.${old}`,
    );
  }
  // the new names are accepted where the old ones were (gat refused batch= before)
  assert.equal(resolveParams(getModel('gat'), { batch: '512' }).batch, 512);
  assert.equal(resolveParams(getModel('gat'), { reg: 0.5, eval_every: 2 }).reg, 0.5);
});

test('params saved under old names are read under the new ones', () => {
  assert.deepEqual(migrateParams({ batchSize: 4, l2: 0.1, dim: 8, layerCombination: 'last' }), { batch: 4, reg: 0.1, dim: 8, readout: 'last' });
});
