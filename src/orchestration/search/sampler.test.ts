import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SearchSpace } from '../../models/search-spaces.js';
import { makeSampler, parzen, type Observation } from './sampler.js';
import { Rng } from '../../core/random.js';

/** A smooth objective with its optimum at lr = 1e-2 (log scale), layers = 3, dim = 64; max 1. */
const space: SearchSpace = {
  lr: { type: 'float', low: 1e-5, high: 1, log: true },
  layers: { type: 'int', low: 1, high: 6 },
  dim: { type: 'choice', values: [16, 32, 64, 128] },
};
const objective = (p: Observation['params']) =>
  Math.exp(-((Math.log10(p.lr as number) + 2) ** 2) / 2) * Math.exp(-(((p.layers as number) - 3) ** 2) / 4) * (p.dim === 64 ? 1 : 0.7);

function search(name: string, seed: number, trials: number): number {
  const sampler = makeSampler(name, seed);
  const history: Observation[] = [];
  for (let t = 0; t < trials; t++) {
    const params = sampler.next(space, history);
    history.push({ params, value: objective(params) });
  }
  return Math.max(...history.map((h) => h.value!));
}

test('TPE finds better points than random search for the same number of trials (20 seeds, 30 trials)', () => {
  let tpeWins = 0;
  let tpeSum = 0;
  let rndSum = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const tpe = search('tpe', seed, 30);
    const rnd = search('random', seed, 30);
    tpeSum += tpe;
    rndSum += rnd;
    if (tpe > rnd) tpeWins++;
  }
  assert.ok(tpeSum > rndSum, `mean best: tpe ${tpeSum / 20} vs random ${rndSum / 20}`);
  assert.ok(tpeWins >= 12, `tpe better on ${tpeWins}/20 seeds`);
});

test('a sampler is deterministic for a seed, TPE starts with random trials, and failed trials do not break it', () => {
  assert.equal(search('tpe', 7, 15), search('tpe', 7, 15));
  const a = makeSampler('tpe', 5);
  const b = makeSampler('random', 5);
  assert.deepEqual(a.next(space, []), b.next(space, []), 'the first (startup) trial is the random one');
  const s = makeSampler('tpe', 1);
  const history: Observation[] = Array.from({ length: 8 }, (_, i) => ({ params: { lr: 1e-3, layers: 2, dim: 32 }, value: i % 2 ? null : 0.1 }));
  const p = s.next(space, history);
  assert.ok((p.lr as number) >= 1e-5 && (p.lr as number) <= 1);
  assert.throws(() => makeSampler('grid', 1), (e: Error & { code?: string }) => e.code === 'PP_USAGE');
});

test('a Parzen density is higher near its points than far away, narrower with more points, and its draws stay in [0, 1]', () => {
  const few = parzen([0.2, 0.22, 0.25]);
  const many = parzen(Array.from({ length: 10 }, (_, i) => 0.2 + i * 0.005));
  assert.ok(few.density(0.22) > 2 * few.density(0.8));
  assert.ok(many.density(0.22) > 20 * many.density(0.8));
  assert.ok(many.density(0.22) > few.density(0.22));
  const d = few;
  const rng = new Rng(1);
  for (let i = 0; i < 500; i++) {
    const u = d.sample(rng);
    assert.ok(u >= 0 && u <= 1);
  }
});
