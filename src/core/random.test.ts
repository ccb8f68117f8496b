import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from './random.js';

test('fillNormal writes std · normal() in index order and leaves the stream where as many normal() calls would', () => {
  const filled = new Rng(42);
  const drawn = new Rng(42);
  const out = new Float32Array(37);
  assert.equal(filled.fillNormal(out, 0.3), out);
  for (let i = 0; i < out.length; i++) assert.equal(out[i], Math.fround(drawn.normal() * 0.3), `element ${i}`);
  assert.equal(filled.nextU32(), drawn.nextU32());
});

test('fillNormal draws have mean 0 and the requested standard deviation', () => {
  const out = new Rng(7).fillNormal(new Float32Array(20000), 2.5);
  let sum = 0;
  let sq = 0;
  for (const v of out) {
    sum += v;
    sq += v * v;
  }
  const mean = sum / out.length;
  const std = Math.sqrt(sq / out.length - mean * mean);
  // standard errors: 2.5/√20000 ≈ 0.018 for the mean, ≈ 0.0125 for the std
  assert.ok(Math.abs(mean) < 0.08, `mean ${mean}`);
  assert.ok(Math.abs(std - 2.5) < 0.06, `std ${std}`);
});

test('fillNormal of an empty array consumes nothing', () => {
  const a = new Rng(3);
  const b = new Rng(3);
  a.fillNormal(new Float32Array(0), 1);
  assert.equal(a.nextU32(), b.nextU32());
});
