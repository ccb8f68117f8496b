import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MedianPruner, median } from './pruner.js';

const curve = (...values: number[]) => values.map((value, i) => ({ epoch: (i + 1) * 5, value }));

test('median stopping: a trial below the median of earlier trials at the same epoch stops, one above goes on', () => {
  const p = new MedianPruner({ minTrials: 2, warmup: 1 });
  p.addTrial(curve(0.1, 0.2, 0.3));
  p.addTrial(curve(0.12, 0.22, 0.25));
  p.addTrial(curve(0.05, 0.1, 0.15));
  assert.equal(p.shouldPrune(curve(0.01)), false, 'warm-up: the first validation never stops a trial');
  assert.equal(p.shouldPrune(curve(0.01, 0.02)), true, 'best 0.02 at epoch 10 < median 0.2');
  assert.equal(p.shouldPrune(curve(0.2, 0.25)), false, 'above the median');
  assert.equal(p.shouldPrune(curve(0.3, 0.1)), false, 'its best so far counts, not its last value');
  assert.equal(p.shouldPrune(curve(0.01, 0.01, 0.01, 0.01)), false, 'epoch 20: no earlier trial got that far');
});

test('no pruning before minTrials earlier trials reached the epoch', () => {
  const p = new MedianPruner({ minTrials: 2 });
  p.addTrial(curve(0.3, 0.4));
  assert.equal(p.shouldPrune(curve(0.01, 0.01)), false);
  p.addTrial(curve(0.2));
  assert.equal(p.shouldPrune(curve(0.01, 0.01)), false, 'the second trial stopped at epoch 5');
  p.addTrial(curve(0.25, 0.3));
  assert.equal(p.shouldPrune(curve(0.01, 0.01)), true);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
});
