import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSplit } from './create-split.js';
import {
  byUser,
  checkPartition,
  makeStaging,
  makeStagingFromSql,
  pairKey,
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
before(async () => {
  // Each user's last ~20% (users with ≥ 5 interactions) are 'test' in the source; no 'valid' rows.
  lake = await makeStagingFromSql(syntheticSql(200, 30, 151));
  rows = await readStagingRows(lake.stagingDir);
});
after(() => lake.cleanup());

const keys = (part: readonly { user_id: string; item_id: string }[]) => new Set(part.map(pairKey));

async function given(name: string, extra: { validShare?: number; seed?: number; kcore?: number } = {}): Promise<ReadSplit> {
  await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(name), strategy: 'given', ...extra });
  return readSplit(lake.splitDir(name));
}

test("without source valid rows, validShare of each user's train rows become valid and test is exactly the source's test", async () => {
  const s = await given('carve');
  checkPartition(s, rows);
  assert.deepEqual(keys(s.test), keys(rows.filter((r) => r.split === 'test')));
  const sourceTrain = keys(rows.filter((r) => r.split === 'train'));
  for (const r of s.valid) assert.ok(sourceTrain.has(pairKey(r)), `valid row ${r.user_id}/${r.item_id} comes from train`);
  const valid = byUser(s.valid);
  for (const [user, list] of byUser(rows.filter((r) => r.split === 'train'))) {
    const n = list.length;
    assert.equal(valid.get(user)?.length ?? 0, Math.min(n - 1, roundShare(n, 0.1)), `user ${user} with ${n} train rows`);
  }
  assert.equal(usersWithoutTrain(s).size, 0);
  assert.equal(s.manifest.strategy_details.given?.valid_source, 'carved');
});

test('the carve-out depends on the seed but never touches the test rows', async () => {
  const a = await given('seed-7', { seed: 7 });
  const b = await given('seed-8', { seed: 8 });
  assert.notDeepEqual(keys(a.valid), keys(b.valid));
  assert.deepEqual(keys(a.test), keys(b.test));
});

test('validShare 0 leaves valid empty and keeps the source train as is', async () => {
  const s = await given('no-valid', { validShare: 0 });
  assert.equal(s.valid.length, 0);
  assert.deepEqual(keys(s.train), keys(rows.filter((r) => r.split === 'train')));
  assert.equal(s.manifest.strategy_details.given?.valid_source, 'none');
});

test('k-core filters the whole data and the surviving rows keep their given part', async () => {
  const s = await given('kcore', { kcore: 10 });
  const users = new Map<string, number>();
  const items = new Map<string, number>();
  for (const r of [...s.train, ...s.valid, ...s.test]) {
    users.set(r.user_id, (users.get(r.user_id) ?? 0) + 1);
    items.set(r.item_id, (items.get(r.item_id) ?? 0) + 1);
  }
  assert.ok([...users.values()].every((n) => n >= 10) && [...items.values()].every((n) => n >= 10));
  assert.ok(s.manifest.filtering.rows_after_kcore < rows.length);
  const sourceTest = keys(rows.filter((r) => r.split === 'test'));
  for (const r of s.test) assert.ok(sourceTest.has(pairKey(r)));
  for (const r of [...s.train, ...s.valid]) assert.ok(!sourceTest.has(pairKey(r)));
});

test("a source with its own valid rows keeps them and ignores validShare", async () => {
  const own: FixtureRow[] = [
    { user_id: 'a', item_id: 'x', split: 'train' }, { user_id: 'a', item_id: 'y', split: 'valid' }, { user_id: 'a', item_id: 'z', split: 'test' },
    { user_id: 'b', item_id: 'x', split: 'train' }, { user_id: 'b', item_id: 'z', split: 'train' }, { user_id: 'b', item_id: 'y', split: 'test' },
  ];
  const small = await makeStaging(own);
  try {
    const summary = await createSplit({ stagingDir: small.stagingDir, outDir: small.splitDir(), strategy: 'given', validShare: 0.5 });
    const s = await readSplit(small.splitDir());
    checkPartition(s, own);
    assert.deepEqual(summary.interactions, { train: 3, valid: 1, test: 2, total: 6 });
    assert.equal(summary.validSource, 'source');
  } finally {
    await small.cleanup();
  }
});

test('a source without a split column cannot be split with "given"', async () => {
  const small = await makeStaging([{ user_id: 'a', item_id: 'x' }, { user_id: 'a', item_id: 'y', split: 'test' }]);
  try {
    await rejectsWith(createSplit({ stagingDir: small.stagingDir, outDir: small.splitDir(), strategy: 'given' }), 'PP_SPLIT_INVALID', /split column/);
  } finally {
    await small.cleanup();
  }
});
