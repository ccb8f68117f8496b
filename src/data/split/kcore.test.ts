import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openDb, type Db } from '../../lake/duckdb.js';
import { createSplit } from './create-split.js';
import { exists, makeStaging, readSplit, rejectsWith, type FixtureRow } from './fixtures.js';
import { kcoreFilter } from './kcore.js';

/**
 * The hand-computed case, userK = itemK = 2:
 *   u1: a b c    u2: a b    u3: b d    u4: d e
 * Round 1 drops items c and e (one interaction each) → u1: a b, u4: d.
 * Round 2 drops u4 (one interaction left)            → d has only u3.
 * Round 3 drops item d                                → u3: b.
 * Round 4 drops u3                                    → b still has u1 and u2.
 * Round 5 changes nothing: the 2-core is {u1, u2} × {a, b}.
 */
const CASCADE: FixtureRow[] = [
  ['u1', 'a'], ['u1', 'b'], ['u1', 'c'],
  ['u2', 'a'], ['u2', 'b'],
  ['u3', 'b'], ['u3', 'd'],
  ['u4', 'd'], ['u4', 'e'],
].map(([user_id, item_id], i) => ({ user_id: user_id!, item_id: item_id!, rating: 1 + (i % 5), ts: 1000 + i }));

async function withTable<T>(rows: readonly FixtureRow[], fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDb();
  try {
    await db.run('CREATE TABLE t (user_id VARCHAR, item_id VARCHAR)');
    await db.run(`INSERT INTO t VALUES ${rows.map((r) => `('${r.user_id}', '${r.item_id}')`).join(', ')}`);
    return await fn(db);
  } finally {
    db.close();
  }
}

const pairs = (db: Db) =>
  db.all<{ p: string }>(`SELECT user_id || ':' || item_id AS p FROM t ORDER BY p`).then((r) => r.map((x) => x.p));

test('k-core cascades: an item removal drops a user below k, which drops another item, until stable', async () => {
  await withTable(CASCADE, async (db) => {
    const r = await kcoreFilter(db, 't', 2, 2);
    assert.deepEqual(await pairs(db), ['u1:a', 'u1:b', 'u2:a', 'u2:b']);
    assert.deepEqual(r, { iterations: 4, rowsBefore: 9, rowsAfter: 4 });
  });
});

test('k-core filters users and items with separate thresholds', async () => {
  await withTable(CASCADE, async (db) => {
    await kcoreFilter(db, 't', 3, 0);
    assert.deepEqual(await pairs(db), ['u1:a', 'u1:b', 'u1:c']);
  });
  await withTable(CASCADE, async (db) => {
    // Only b has 3 interactions; users need just 1.
    await kcoreFilter(db, 't', 1, 3);
    assert.deepEqual(await pairs(db), ['u1:b', 'u2:b', 'u3:b']);
  });
});

test('k-core with k ≤ 1 keeps everything', async () => {
  await withTable(CASCADE, async (db) => {
    assert.deepEqual(await kcoreFilter(db, 't', 1, 0), { iterations: 0, rowsBefore: 9, rowsAfter: 9 });
  });
});

test('a split with kcore keeps only the k-core and maps only its users and items', async () => {
  const lake = await makeStaging(CASCADE);
  try {
    const summary = await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(), strategy: 'ratio', ratios: [0.5, 0, 0.5], kcore: 2 });
    assert.deepEqual(summary.filtering, { input: 9, afterMinRating: 9, afterKcore: 4, kcoreIterations: 4 });
    const s = await readSplit(lake.splitDir());
    assert.deepEqual(s.userMap.map((u) => u.user_id), ['u1', 'u2']);
    assert.deepEqual(s.itemMap.map((i) => i.item_id), ['a', 'b']);
    assert.equal(s.train.length + s.valid.length + s.test.length, 4);
    assert.equal(s.manifest.filtering.kcore_iterations, 4);
  } finally {
    await lake.cleanup();
  }
});

test('the rating threshold applies before the k-core and keeps implicit (unrated) interactions', async () => {
  // u1 has three interactions but one is rated 2: with minRating 4 it has two, so the 3-core drops it.
  const rows: FixtureRow[] = [
    { user_id: 'u1', item_id: 'a', rating: 5, ts: 1 },
    { user_id: 'u1', item_id: 'b', rating: 2, ts: 2 },
    { user_id: 'u1', item_id: 'c', rating: 4, ts: 3 },
    { user_id: 'u2', item_id: 'a', rating: 4, ts: 4 },
    { user_id: 'u2', item_id: 'b', rating: null, ts: 5 },
    { user_id: 'u2', item_id: 'c', rating: 5, ts: 6 },
  ];
  const lake = await makeStaging(rows);
  try {
    const summary = await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(), strategy: 'ratio', ratios: [0.5, 0, 0.5], minRating: 4, userK: 3 });
    assert.deepEqual(summary.filtering, { input: 6, afterMinRating: 5, afterKcore: 3, kcoreIterations: 1 });
    const s = await readSplit(lake.splitDir());
    assert.deepEqual(s.userMap.map((u) => u.user_id), ['u2']);
    assert.deepEqual(s.manifest.filtering.min_rating, 4);
  } finally {
    await lake.cleanup();
  }
});

test('a k-core that removes everything fails with PP_SPLIT_EMPTY and writes no split', async () => {
  const lake = await makeStaging(CASCADE);
  try {
    await rejectsWith(
      createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(), strategy: 'ratio', kcore: 3 }),
      'PP_SPLIT_EMPTY',
      /k-core/,
    );
    assert.ok(!exists(lake.splitsDir));
  } finally {
    await lake.cleanup();
  }
});
