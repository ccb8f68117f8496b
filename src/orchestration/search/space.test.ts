import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../core/random.js';
import { fromUnit, parseSpace, randomPoint, resolveSpace, toUnit } from './space.js';

test('--space items parse into choices, float, log and int ranges; malformed ones are refused with PP_USAGE', () => {
  assert.deepEqual(parseSpace(['dim=32,64', 'lr=1e-4..3e-2:log', 'reg=0.5..1.5', 'layers=1..4:int', 'negatives=uniform', 'flag=true,false']), {
    dim: { type: 'choice', values: [32, 64] },
    lr: { type: 'float', low: 1e-4, high: 3e-2, log: true },
    reg: { type: 'float', low: 0.5, high: 1.5, log: false },
    layers: { type: 'int', low: 1, high: 4, log: false },
    negatives: { type: 'choice', values: ['uniform'] },
    flag: { type: 'choice', values: [true, false] },
  });
  for (const bad of ['lr', 'lr=', 'lr=3..1', 'lr=0..1:log', 'k=1.5..3:int', 'lr=1..2:cube', 'a=1,,2']) {
    assert.throws(() => parseSpace([bad]), (e: Error & { code?: string }) => e.code === 'PP_USAGE', bad);
  }
  assert.throws(() => parseSpace(['a=1,2', 'a=3']), /twice/);
});

test("a space is the model's default space with the overrides, checked against its documented params", () => {
  const s = resolveSpace('lightgcn', parseSpace(['layers=2..3:int', 'batch=512,1024']));
  assert.deepEqual(s.layers, { type: 'int', low: 2, high: 3, log: false });
  assert.ok(s.lr && s.reg && s.dim, 'the defaults stay');
  assert.throws(() => resolveSpace('lightgcn', parseSpace(['nope=1,2'])), (e: Error & { code?: string }) => e.code === 'PP_MODEL_PARAM');
  assert.throws(() => resolveSpace('lightgcn', parseSpace(['layers=0..20:int'])), /leaves/);
  assert.throws(() => resolveSpace('mf', parseSpace(['negatives=uniform,nope'])), /not one of/);
  assert.throws(() => resolveSpace('pop'), (e: Error & { code?: string }) => e.code === 'PP_USAGE');
});

test('points fall inside their ranges, ints are integers covering both ends, log ranges are uniform in log space', () => {
  const space = resolveSpace('lightgcn', parseSpace(['layers=1..3:int']));
  const rng = new Rng(3);
  const layers = new Map<number, number>();
  let below = 0;
  for (let i = 0; i < 3000; i++) {
    const p = randomPoint(space, rng);
    const lr = p.lr as number;
    assert.ok(lr >= 1e-4 && lr <= 3e-2);
    if (lr < Math.sqrt(1e-4 * 3e-2)) below++; // the geometric mean splits a log-uniform draw in half
    assert.ok(Number.isInteger(p.layers));
    layers.set(p.layers as number, (layers.get(p.layers as number) ?? 0) + 1);
    assert.ok([32, 64, 128].includes(p.dim as number));
  }
  assert.ok(Math.abs(below / 3000 - 0.5) < 0.04, `log-uniform: ${below / 3000} below the geometric mean`);
  for (const v of [1, 2, 3]) assert.ok(Math.abs(layers.get(v)! / 3000 - 1 / 3) < 0.04, `layers=${v}: ${layers.get(v)}`);
  const d = { type: 'float', low: 1e-4, high: 1e-1, log: true } as const;
  for (const u of [0, 0.25, 0.5, 1]) assert.ok(Math.abs(toUnit(d, fromUnit(d, u)) - u) < 1e-5);
});
