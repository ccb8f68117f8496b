import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDocs, loadConfig } from './load.js';
import { CONFIG_SCHEMA } from './schema.js';
import { isPlotPointeError } from '../errors.js';

const dir = mkdtempSync(join(tmpdir(), 'pp-config-'));
const file = (name: string, body: string) => {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
};

test('defaults come from the schema and the config is frozen', () => {
  const c = loadConfig();
  assert.equal(c['split.strategy'], CONFIG_SCHEMA['split.strategy'].default);
  assert.deepEqual(c['split.ratio'], [0.8, 0.1, 0.1]);
  assert.ok(Object.isFrozen(c));
  assert.throws(() => {
    (c as Record<string, unknown>)['lake.dir'] = 'x';
  });
});

test('a config file overrides defaults with nested or dotted keys, and flags override the file', () => {
  const p = file('a.json', JSON.stringify({ split: { strategy: 'loo', seed: 7 }, 'lake.dir': '/tmp/lake' }));
  const c = loadConfig({ file: p, overrides: { 'split.seed': '9', 'split.ratio': '0.7:0.2:0.1', 'demo.users': undefined } });
  assert.equal(c['split.strategy'], 'loo');
  assert.equal(c['lake.dir'], '/tmp/lake');
  assert.equal(c['split.seed'], 9);
  assert.deepEqual(c['split.ratio'], [0.7, 0.2, 0.1]);
  assert.equal(c['demo.users'], CONFIG_SCHEMA['demo.users'].default);
});

test('refuses unknown keys, wrong types and out-of-range values with PP_CONFIG_INVALID naming the key', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ 'split.nope': 1 }, /unknown key "split.nope"/],
    [{ 'split.strategy': 'random' }, /split.strategy: expected one of/],
    [{ 'split.seed': 1.5 }, /split.seed: expected an integer/],
    [{ 'split.kcore': -1 }, /split.kcore: must be ≥ 0/],
    [{ 'demo.images': 'yes' }, /demo.images: expected true or false/],
  ];
  for (const [overrides, re] of cases) {
    assert.throws(
      () => loadConfig({ overrides }),
      (e: unknown) => isPlotPointeError(e, 'PP_CONFIG_INVALID') && re.test(e.message),
    );
  }
});

test('an unreadable or non-object config file is a coded error', () => {
  assert.throws(() => loadConfig({ file: join(dir, 'missing.json') }), (e: unknown) => isPlotPointeError(e, 'PP_CONFIG_UNREADABLE'));
  assert.throws(() => loadConfig({ file: file('b.json', '[1]') }), (e: unknown) => isPlotPointeError(e, 'PP_CONFIG_INVALID'));
  assert.throws(() => loadConfig({ file: file('c.json', '{oops') }), (e: unknown) => isPlotPointeError(e, 'PP_CONFIG_UNREADABLE'));
});

test('the docs table lists every key with its default', () => {
  const docs = configDocs();
  for (const k of Object.keys(CONFIG_SCHEMA)) assert.match(docs, new RegExp('`' + k.replace('.', '\\.') + '`'));
});
