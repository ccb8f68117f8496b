import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FitContext } from '../models/model.js';
import type { SplitData } from '../graphs/split-data.js';
import { tempDir } from '../test-support/fixtures.js';
import { BprSampler } from './sampler.js';
import { trainLoop, type TrainableModel } from './trainer.js';

/** 100 users × 4 train items each: 400 BPR triples an epoch. */
const train = (() => {
  const indptr = new Int32Array(101);
  const indices = new Int32Array(400);
  for (let u = 0; u < 100; u++) {
    indptr[u + 1] = 4 * (u + 1);
    for (let t = 0; t < 4; t++) indices[4 * u + t] = (u + t) % 50;
  }
  return { indptr, indices };
})();

/** A model whose every batch of one triple burns `msPerBatch` of CPU; it counts the batches it ran. */
function slowModel(msPerBatch: number): TrainableModel & { batches: number[] } {
  let w = new Float32Array(1);
  return {
    modelName: 'slow',
    numUsers: 100,
    numItems: 50,
    batches: [],
    trainEpoch(epoch: number) {
      const sampler = new BprSampler(train, 50, { negatives: 'uniform', seed: epoch });
      let n = 0;
      for (const b of sampler.epoch(1)) {
        const until = performance.now() + msPerBatch;
        while (performance.now() < until) w[0] += b.users[0] * 1e-9;
        n++;
      }
      this.batches.push(n);
      return 1 / (1 + n);
    },
    scoreUsers() {},
    async save() {},
    getState: () => ({ tensors: { w: w.slice() }, meta: {} }),
    setState: (s) => {
      w = s.tensors.w.slice();
    },
  };
}

function context(budgetSeconds: number, updates: Record<string, unknown>[]): FitContext {
  let v = 0;
  return {
    data: {} as SplitData,
    params: {},
    seed: 1,
    budgetSeconds,
    workDir: tempDir('trainer'),
    resume: false,
    validate: async () => ({ 'ndcg@20': (v += 0.01) }),
    onEpoch() {},
    progress: () => ({ tick() {}, setTotal() {}, stop() {}, update: (_v, extra) => void updates.push({ ...extra }) }),
  };
}

test('a budget stops training inside an epoch: the epoch is cut after the batch that crosses it, then validated', async () => {
  const model = slowModel(5); // a full epoch: 400 batches × 5 ms = 2 s
  const started = performance.now();
  const r = await trainLoop(context(0.25, []), model, { maxEpochs: 10, evalEvery: 5, patience: 3 });
  const seconds = (performance.now() - started) / 1000;
  assert.equal(r.stoppedBy, 'budget');
  assert.equal(r.epochs, 1);
  assert.equal(r.bestEpoch, 1, 'the cut epoch is validated and kept');
  assert.ok(model.batches[0] >= 1 && model.batches[0] < 400, `ran ${model.batches[0]} of 400 batches`);
  assert.ok(seconds < 1.5, `stopped after ${seconds.toFixed(2)} s (a full epoch takes 2 s)`);
});

test('without a budget every epoch runs all of its batches', async () => {
  const model = slowModel(0);
  const r = await trainLoop(context(Infinity, []), model, { maxEpochs: 3, evalEvery: 1, patience: 5 });
  assert.equal(r.stoppedBy, 'max-epochs');
  assert.deepEqual(model.batches, [400, 400, 400]);
});

test('progress shows best= only once there is a validated best (never -Infinity)', async () => {
  const updates: Record<string, unknown>[] = [];
  await trainLoop(context(Infinity, updates), slowModel(0), { maxEpochs: 4, evalEvery: 2, patience: 5 });
  const perEpoch = updates.filter((u) => 'loss' in u);
  assert.equal(perEpoch.length, 4);
  assert.equal('best' in perEpoch[0], false, JSON.stringify(perEpoch[0]));
  assert.equal(perEpoch[1].best, 0.01);
  for (const u of perEpoch) for (const v of Object.values(u)) assert.notEqual(v, -Infinity);
});
