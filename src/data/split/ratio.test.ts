import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSplit } from './create-split.js';
import {
  byUser,
  checkPartition,
  expectedRatioSizes,
  makeStagingFromSql,
  readSplit,
  readStagingRows,
  syntheticSql,
  usersWithoutTrain,
  type FixtureRow,
  type Lake,
  type ReadSplit,
} from './fixtures.js';
import type { SplitRatios } from './options.js';

let lake: Lake;
let rows: FixtureRow[];
before(async () => {
  // 200 users with 1..30 interactions each (3,000 in all).
  lake = await makeStagingFromSql(syntheticSql(200, 30, 151));
  rows = await readStagingRows(lake.stagingDir);
});
after(() => lake.cleanup());

async function split(name: string, ratios?: SplitRatios, seed?: number): Promise<ReadSplit> {
  await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(name), strategy: 'ratio', ratios, seed });
  return readSplit(lake.splitDir(name));
}

function sizesPerUser(s: ReadSplit): Map<string, [number, number, number]> {
  const m = new Map<string, [number, number, number]>();
  for (const [i, part] of [s.train, s.valid, s.test].entries()) {
    for (const r of part) {
      const v = m.get(r.user_id) ?? [0, 0, 0];
      v[i]!++;
      m.set(r.user_id, v);
    }
  }
  return m;
}

test('ratio split partitions the data: every interaction in exactly one part, no pair in two', async () => {
  checkPartition(await split('default'), rows);
});

test("each user's part sizes follow the ratios within rounding, with at least one train interaction", async () => {
  for (const ratios of [[0.8, 0.1, 0.1], [0.6, 0.2, 0.2], [0.7, 0.3, 0]] as const) {
    const s = await split(`r-${ratios.join('-')}`, ratios);
    const sizes = sizesPerUser(s);
    for (const [user, list] of byUser(rows)) {
      const n = list.length;
      const got = sizes.get(user)!;
      assert.deepEqual(got, expectedRatioSizes(n, ratios), `user ${user} with ${n} interactions`);
      assert.ok(got[0] >= 1, `user ${user} keeps a train interaction`);
      for (let p = 0; p < 3; p++) {
        // Within one row of the exact share, except the train minimum for tiny users.
        if (n * ratios[0] >= 0.5) assert.ok(Math.abs(got[p]! - n * ratios[p]!) <= 1, `user ${user} part ${p}: ${got[p]} vs ${n * ratios[p]!}`);
      }
    }
    assert.equal(usersWithoutTrain(s).size, 0);
    if (ratios[2] === 0) assert.equal(s.test.length, 0);
  }
});

test('users with one or two interactions keep them all in train', async () => {
  const s = await split('default');
  const sizes = sizesPerUser(s);
  for (const [user, list] of byUser(rows)) {
    if (list.length <= 2) assert.deepEqual(sizes.get(user), [list.length, 0, 0]);
  }
});

test('overall part shares are close to the ratios (ties round half to even, so valid and test stay balanced)', async () => {
  const s = await split('default');
  const n = rows.length;
  assert.ok(Math.abs(s.train.length / n - 0.8) < 0.02, `train ${s.train.length / n}`);
  assert.ok(Math.abs(s.valid.length / n - 0.1) < 0.01, `valid ${s.valid.length / n}`);
  assert.ok(Math.abs(s.test.length / n - 0.1) < 0.01, `test ${s.test.length / n}`);
});

test('the choice of rows depends on the seed', async () => {
  const a = await split('seed-1', undefined, 1);
  const b = await split('seed-2', undefined, 2);
  const key = (s: ReadSplit) => s.test.map((r) => `${r.user_id}/${r.item_id}`).sort().join(',');
  assert.notEqual(key(a), key(b));
  assert.deepEqual(sizesPerUser(a), sizesPerUser(b), 'sizes depend only on the ratios');
});
