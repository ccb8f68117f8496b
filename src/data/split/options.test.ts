import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { isPlotPointeError } from '../../errors.js';
import { createSplit } from './create-split.js';
import { exists, rejectsWith } from './fixtures.js';
import { resolveSplitOptions, toSplitOptions, type SplitOptions } from './options.js';
import { datasetPaths } from '../../lake/paths.js';

function invalid(options: unknown, message?: RegExp): void {
  assert.throws(
    () => resolveSplitOptions(options as SplitOptions),
    (err: unknown) => isPlotPointeError(err, 'PP_SPLIT_INVALID') && (!message || message.test(err.message)),
  );
}

test('applies the documented defaults for each strategy', () => {
  assert.deepEqual(resolveSplitOptions({ strategy: 'ratio' }), {
    strategy: 'ratio',
    ratios: [0.8, 0.1, 0.1],
    seed: 42,
    minRating: null,
    userK: 0,
    itemK: 0,
  });
  assert.equal((resolveSplitOptions({ strategy: 'loo' }) as { leaveOut: number }).leaveOut, 1);
  assert.equal((resolveSplitOptions({ strategy: 'given' }) as { validShare: number }).validShare, 0.1);
  assert.equal((resolveSplitOptions({ strategy: 'cold-item' }) as { coldItemShare: number }).coldItemShare, 0.2);
  assert.equal((resolveSplitOptions({ strategy: 'temporal' }) as { cutoffs: string }).cutoffs, 'quantiles');
});

test('kcore sets both sides and userK/itemK override it', () => {
  const r = resolveSplitOptions({ strategy: 'ratio', kcore: 5, itemK: 2 });
  assert.equal(r.userK, 5);
  assert.equal(r.itemK, 2);
});

test('normalises ratio shares to sum to 1 (8:1:1 is 0.8:0.1:0.1)', () => {
  const r = resolveSplitOptions({ strategy: 'ratio', ratios: [8, 1, 1] });
  assert.ok(r.strategy === 'ratio');
  assert.deepEqual(r.ratios.map((x) => Number(x.toFixed(12))), [0.8, 0.1, 0.1]);
  const c = resolveSplitOptions({ strategy: 'cold-item', ratios: [0.5, 0.1, 0.1] });
  assert.ok(c.strategy === 'cold-item');
  assert.ok(Math.abs(c.ratios[0] - 0.5 / 0.7) < 1e-12);
});

test('rejects negative shares, a zero train share or the wrong length', () => {
  invalid({ strategy: 'ratio', ratios: [1.1, -0.1, 0] }, /non-negative/);
  invalid({ strategy: 'ratio', ratios: [0, 0.5, 0.5] }, /train ratio/);
  invalid({ strategy: 'ratio', ratios: [0.8, 0.2] }, /three numbers/);
});

test('rejects a negative or fractional k and a leave-out below 1', () => {
  invalid({ strategy: 'ratio', kcore: -1 }, /kcore/);
  invalid({ strategy: 'ratio', userK: 2.5 }, /userK/);
  invalid({ strategy: 'ratio', itemK: -3 }, /itemK/);
  invalid({ strategy: 'loo', leaveOut: 0 }, /leaveOut/);
});

test('rejects an unknown strategy, an unknown option and an option the strategy does not use', () => {
  invalid({ strategy: 'random' }, /unknown strategy/);
  invalid({ strategy: 'ratio', ratio: [0.8, 0.1, 0.1] }, /unknown option "ratio"/);
  invalid({ strategy: 'ratio', validShare: 0.1 }, /does not apply/);
  invalid({ strategy: 'given', leaveOut: 2 }, /does not apply/);
});

test('rejects bad shares, seeds and thresholds', () => {
  invalid({ strategy: 'given', validShare: 1 }, /validShare/);
  invalid({ strategy: 'cold-item', coldItemShare: 0 }, /coldItemShare/);
  invalid({ strategy: 'ratio', seed: 1.5 }, /seed/);
  invalid({ strategy: 'ratio', minRating: Number.NaN }, /minRating/);
});

test('temporal cut-offs need both timestamps in order, and accept ISO-8601 dates', () => {
  invalid({ strategy: 'temporal', testFrom: 100 }, /both/);
  invalid({ strategy: 'temporal', validFrom: 200, testFrom: 100 }, /after/);
  invalid({ strategy: 'temporal', validFrom: 100, testFrom: 200, ratios: [0.8, 0.1, 0.1] }, /not both/);
  invalid({ strategy: 'temporal', validFrom: 'yesterday', testFrom: 200 }, /ISO-8601/);
  const r = resolveSplitOptions({ strategy: 'temporal', validFrom: '2020-01-01T00:00:00Z', testFrom: '1600000000' });
  assert.deepEqual(r, { strategy: 'temporal', cutoffs: 'timestamps', validFrom: 1577836800, testFrom: 1600000000, seed: 42, minRating: null, userK: 0, itemK: 0 });
});

test('invalid options fail before anything is read or written', async () => {
  const root = join(tmpdir(), `pp-split-never-${process.pid}`);
  await rejectsWith(
    createSplit({ stagingDir: datasetPaths(root, 'x').staging, outDir: join(root, 'out'), strategy: 'ratio', ratios: [0, 0.5, 0.5] }),
    'PP_SPLIT_INVALID',
  );
  assert.ok(!exists(root));
});

test('resolved options convert back to options that resolve to the same thing (the manifest form)', () => {
  const cases: SplitOptions[] = [
    { strategy: 'ratio', ratios: [0.6, 0.2, 0.2], kcore: 3 },
    { strategy: 'loo', leaveOut: 2, minRating: 4 },
    { strategy: 'temporal', validFrom: '2020-01-01', testFrom: '2021-01-01' },
    { strategy: 'temporal', ratios: [0.7, 0.1, 0.2] },
    { strategy: 'given', validShare: 0 },
    { strategy: 'cold-item', coldItemShare: 0.3, seed: 9 },
  ];
  for (const c of cases) {
    const r = resolveSplitOptions(c);
    assert.deepEqual(resolveSplitOptions(toSplitOptions(r)), r);
  }
});
