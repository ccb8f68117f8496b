import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createSplit } from './create-split.js';
import {
  checkPartition,
  exists,
  makeStaging,
  makeStagingFromSql,
  readSplit,
  readStagingRows,
  rejectsWith,
  syntheticSql,
  usersWithoutTrain,
  type FixtureRow,
} from './fixtures.js';
import { roundShare } from './sql.js';

const r = (user_id: string, item_id: string, ts: number | null): FixtureRow => ({ user_id, item_id, ts, rating: null });
const ROWS = [
  r('u1', 'i1', 100), r('u1', 'i2', 200), r('u1', 'i3', 300), r('u1', 'i4', 400),
  r('u2', 'i1', 150), r('u2', 'i2', 250), r('u2', 'i5', 450),
  // u3 and i5 are first seen after the test cut.
  r('u3', 'i1', 420), r('u3', 'i3', 430),
];

test('explicit cut-offs: ts < validFrom → train, validFrom ≤ ts < testFrom → valid, ts ≥ testFrom → test', async () => {
  const lake = await makeStaging(ROWS);
  try {
    const summary = await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(), strategy: 'temporal', validFrom: 300, testFrom: 400 });
    const s = await readSplit(lake.splitDir());
    checkPartition(s, ROWS);
    const pairs = (part: typeof s.train) => part.map((x) => `${x.user_id}:${x.item_id}`).sort();
    assert.deepEqual(pairs(s.train), ['u1:i1', 'u1:i2', 'u2:i1', 'u2:i2']);
    assert.deepEqual(pairs(s.valid), ['u1:i3']);
    assert.deepEqual(pairs(s.test), ['u1:i4', 'u2:i5', 'u3:i1', 'u3:i3']);
    assert.deepEqual(summary.cutoffs, { validFrom: 300, testFrom: 400 });
    assert.equal(s.manifest.strategy_details.temporal?.test_from_iso, '1970-01-01T00:06:40.000Z');
  } finally {
    await lake.cleanup();
  }
});

test('users and items first seen after the cut stay in valid/test and are counted as users without train and cold items', async () => {
  const lake = await makeStaging(ROWS);
  try {
    const summary = await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(), strategy: 'temporal', validFrom: 300, testFrom: 400 });
    const s = await readSplit(lake.splitDir());
    assert.deepEqual([...usersWithoutTrain(s)], ['u3']);
    assert.equal(summary.users, 3, 'u3 has a uid like everyone else');
    assert.equal(summary.usersWithoutTrain, 1);
    assert.deepEqual(s.itemMap.filter((i) => i.cold).map((i) => i.item_id).sort(), ['i3', 'i4', 'i5']);
    assert.equal(summary.coldItems, 3);
    assert.deepEqual(summary.coldRows, { valid: 1, test: 3 });
    assert.deepEqual(Object.keys(s.schema.test!), ['uid', 'iid', 'rating', 'ts'], 'no cold column outside cold-item');
  } finally {
    await lake.cleanup();
  }
});

test('quantile cut-offs put the last 10% of interactions in time in test and the 10% before in valid', async () => {
  const lake = await makeStagingFromSql(syntheticSql(200, 30, 151));
  try {
    const rows = await readStagingRows(lake.stagingDir);
    const summary = await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(), strategy: 'temporal' });
    const s = await readSplit(lake.splitDir());
    checkPartition(s, rows);
    const { validFrom, testFrom } = summary.cutoffs as { validFrom: number; testFrom: number };
    assert.ok(s.train.every((x) => x.ts! < validFrom));
    assert.ok(s.valid.every((x) => x.ts! >= validFrom && x.ts! < testFrom));
    assert.ok(s.test.every((x) => x.ts! >= testFrom));
    // The cut is the timestamp of the first of the last round(10%) interactions: ties at the cut go later.
    const n = rows.length;
    const after = (t: number) => rows.filter((x) => x.ts! > t).length;
    assert.ok(s.test.length >= roundShare(n, 0.1) && after(testFrom) < roundShare(n, 0.1));
    assert.ok(s.valid.length + s.test.length >= roundShare(n, 0.2) && after(validFrom) < roundShare(n, 0.2));
    assert.equal(s.manifest.strategy_details.temporal?.cutoffs, 'quantiles');
  } finally {
    await lake.cleanup();
  }
});

test('a temporal split refuses interactions without timestamps', async () => {
  const lake = await makeStaging([...ROWS, r('u1', 'i9', null)]);
  try {
    await rejectsWith(createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(), strategy: 'temporal' }), 'PP_SPLIT_INVALID', /timestamps/);
  } finally {
    await lake.cleanup();
  }
});

test('a test cut-off after the last interaction fails with PP_SPLIT_EMPTY and writes nothing', async () => {
  const lake = await makeStaging(ROWS);
  try {
    await rejectsWith(
      createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(), strategy: 'temporal', validFrom: 300, testFrom: 10_000 }),
      'PP_SPLIT_EMPTY',
      /test is empty/,
    );
    assert.ok(!exists(lake.splitsDir));
  } finally {
    await lake.cleanup();
  }
});
