import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSplit } from './create-split.js';
import {
  byUser,
  checkPartition,
  makeStaging,
  makeStagingFromSql,
  readSplit,
  readStagingRows,
  rejectsWith,
  syntheticSql,
  usersWithoutTrain,
  type FixtureRow,
} from './fixtures.js';

const row = (user_id: string, item_id: string, ts: number | null, ord: number): FixtureRow => ({ user_id, item_id, ts, ord, rating: 3 });

test('leave-one-out puts the last interaction by (ts, ord) in test and the one before in valid', async () => {
  const rows = [
    // a: the two at ts 30 are ordered by ord (ingest order): a-d (ord 3) is later than a-c (ord 2).
    row('a', 'a1', 10, 0), row('a', 'a2', 20, 1), row('a', 'a3', 30, 2), row('a', 'a4', 30, 3), row('a', 'a5', 50, 4),
    // b: fewer than 2k+1 = 3 interactions → everything in train.
    row('b', 'b1', 10, 5), row('b', 'b2', 20, 6),
    // c: exactly 3 → one each; the input order is not chronological.
    row('c', 'c3', 300, 7), row('c', 'c1', 100, 8), row('c', 'c2', 200, 9),
    // d: an interaction without timestamp counts as the earliest.
    row('d', 'd1', 100, 10), row('d', 'd0', null, 11), row('d', 'd2', 200, 12),
  ];
  const lake = await makeStaging(rows);
  try {
    await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(), strategy: 'loo' });
    const s = await readSplit(lake.splitDir());
    checkPartition(s, rows);
    const items = (part: typeof s.train) => part.map((r) => r.item_id).sort();
    assert.deepEqual(items(s.test), ['a5', 'c3', 'd2']);
    assert.deepEqual(items(s.valid), ['a4', 'c2', 'd1']);
    assert.deepEqual(items(s.train), ['a1', 'a2', 'a3', 'b1', 'b2', 'c1', 'd0']);
  } finally {
    await lake.cleanup();
  }
});

test('leave-k-out gives each user with at least 2k+1 interactions exactly k test and k valid, chronologically after train', async () => {
  const lake = await makeStagingFromSql(syntheticSql(120, 12, 151));
  try {
    const rows = await readStagingRows(lake.stagingDir);
    const k = 2;
    await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(), strategy: 'loo', leaveOut: k });
    const s = await readSplit(lake.splitDir());
    checkPartition(s, rows);
    assert.equal(usersWithoutTrain(s).size, 0);
    const train = byUser(s.train);
    const valid = byUser(s.valid);
    const test = byUser(s.test);
    for (const [user, list] of byUser(rows)) {
      if (list.length < 2 * k + 1) {
        assert.equal(train.get(user)!.length, list.length, `user ${user} keeps all in train`);
        continue;
      }
      assert.equal(test.get(user)!.length, k);
      assert.equal(valid.get(user)!.length, k);
      const maxTs = (l: { ts: number | null }[]) => Math.max(...l.map((r) => r.ts!));
      const minTs = (l: { ts: number | null }[]) => Math.min(...l.map((r) => r.ts!));
      assert.ok(maxTs(train.get(user)!) <= minTs(valid.get(user)!));
      assert.ok(maxTs(valid.get(user)!) <= minTs(test.get(user)!));
    }
  } finally {
    await lake.cleanup();
  }
});

test('leave-one-out fails with PP_SPLIT_EMPTY when no user has enough interactions', async () => {
  const lake = await makeStaging([row('a', 'x', 1, 0), row('a', 'y', 2, 1), row('b', 'x', 3, 2)]);
  try {
    await rejectsWith(createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(), strategy: 'loo' }), 'PP_SPLIT_EMPTY', /valid is empty/);
  } finally {
    await lake.cleanup();
  }
});
