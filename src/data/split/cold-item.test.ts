import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSplit } from './create-split.js';
import type { SplitSummary } from './manifest.js';
import {
  byUser,
  checkPartition,
  expectedRatioSizes,
  makeStaging,
  makeStagingFromSql,
  readSplit,
  readStagingRows,
  rejectsWith,
  syntheticSql,
  usersWithoutTrain,
  type FixtureRow,
  type Lake,
  type ReadSplit,
} from './fixtures.js';
import { roundShare } from './sql.js';

let lake: Lake;
let rows: FixtureRow[];
let s: ReadSplit;
let summary: SplitSummary;
before(async () => {
  lake = await makeStagingFromSql(syntheticSql(200, 30, 151));
  rows = await readStagingRows(lake.stagingDir);
  summary = await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(), strategy: 'cold-item' });
  s = await readSplit(lake.splitDir());
});
after(() => lake.cleanup());

const itemsOf = (part: readonly { item_id: string }[]) => new Set(part.map((r) => r.item_id));

test('cold-item partitions the data and holds out 20% of the items', async () => {
  checkPartition(s, rows);
  const nItems = new Set(rows.map((r) => r.item_id)).size;
  assert.equal(summary.heldOutItems, roundShare(nItems, 0.2));
  assert.equal(s.manifest.counts.held_out_items, summary.heldOutItems);
});

test('held-out items never appear in train; half of them (rounded down) give all their rows to valid, the rest to test', async () => {
  const train = itemsOf(s.train);
  const heldOut = s.itemMap.filter((i) => i.cold).map((i) => i.item_id);
  assert.equal(heldOut.length, summary.heldOutItems);
  for (const item of heldOut) assert.ok(!train.has(item), `cold item ${item} is in train`);
  const coldValid = itemsOf(s.valid.filter((r) => r.cold));
  const coldTest = itemsOf(s.test.filter((r) => r.cold));
  assert.equal(coldValid.size, Math.floor(heldOut.length / 2));
  assert.equal(coldTest.size, heldOut.length - coldValid.size);
  for (const item of coldValid) assert.ok(!coldTest.has(item), `cold item ${item} is in valid and test`);
  // All interactions of a held-out item are in its one part.
  const count = (item: string) => rows.filter((r) => r.item_id === item).length;
  for (const item of coldValid) assert.equal(s.valid.filter((r) => r.item_id === item).length, count(item));
  for (const item of coldTest) assert.equal(s.test.filter((r) => r.item_id === item).length, count(item));
});

test('the cold flag of valid/test rows marks exactly the rows of held-out items', async () => {
  const cold = new Set(s.itemMap.filter((i) => i.cold).map((i) => i.item_id));
  for (const r of [...s.valid, ...s.test]) assert.equal(r.cold, cold.has(r.item_id));
  assert.deepEqual(summary.coldRows, { valid: s.valid.filter((r) => r.cold).length, test: s.test.filter((r) => r.cold).length });
  assert.equal(s.schema.test!.cold, 'BOOLEAN');
  assert.equal(s.schema.valid!.cold, 'BOOLEAN');
  assert.equal(s.schema.train!.cold, undefined);
});

test("warm items' interactions are split per user by the ratios", async () => {
  const cold = new Set(s.itemMap.filter((i) => i.cold).map((i) => i.item_id));
  const warm = rows.filter((r) => !cold.has(r.item_id));
  const parts = [s.train, s.valid.filter((r) => !r.cold), s.test.filter((r) => !r.cold)].map(byUser);
  for (const [user, list] of byUser(warm)) {
    const got = parts.map((p) => p.get(user)?.length ?? 0);
    assert.deepEqual(got, expectedRatioSizes(list.length, [0.8, 0.1, 0.1]), `user ${user}`);
  }
});

test('a user whose interactions are all with cold items has no train interaction, by design, and is counted', async () => {
  // Each "fan" has one item; "all" has the three. Two of the three items are held out, so two fans have
  // no train interaction whichever items the seed picks.
  const small: FixtureRow[] = [
    { user_id: 'fan-a', item_id: 'a' }, { user_id: 'fan-b', item_id: 'b' }, { user_id: 'fan-c', item_id: 'c' },
    { user_id: 'all', item_id: 'a' }, { user_id: 'all', item_id: 'b' }, { user_id: 'all', item_id: 'c' },
  ];
  const l = await makeStaging(small);
  try {
    // 3 items × 0.5 = 1.5 → 2 held out (half to even): one to valid, one to test.
    const sum = await createSplit({ stagingDir: l.stagingDir, outDir: l.splitDir(), strategy: 'cold-item', coldItemShare: 0.5, ratios: [1, 0, 0] });
    const r = await readSplit(l.splitDir());
    checkPartition(r, small);
    assert.equal(sum.heldOutItems, 2);
    const cold = r.itemMap.filter((i) => i.cold).map((i) => i.item_id);
    assert.deepEqual([...usersWithoutTrain(r)].sort(), cold.map((i) => `fan-${i}`).sort());
    assert.equal(sum.usersWithoutTrain, 2);
    assert.deepEqual(r.train.map((x) => x.user_id).sort(), ['all', `fan-${['a', 'b', 'c'].find((i) => !cold.includes(i))}`].sort());
  } finally {
    await l.cleanup();
  }
});

test('a cold share that rounds to no item fails with PP_SPLIT_EMPTY', async () => {
  const l = await makeStaging([{ user_id: 'u', item_id: 'a' }, { user_id: 'u', item_id: 'b' }]);
  try {
    await rejectsWith(createSplit({ stagingDir: l.stagingDir, outDir: l.splitDir(), strategy: 'cold-item', coldItemShare: 0.1 }), 'PP_SPLIT_EMPTY', /no cold item/);
  } finally {
    await l.cleanup();
  }
});
