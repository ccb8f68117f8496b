import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPlotPointeError } from '../../errors.js';
import { openDb, sqlString } from '../../lake/duckdb.js';
import { collect, localInputs } from './collect.js';
import { parquet, parquetColumnsSync } from './parquet.js';

/** Writes one Parquet file per name → SELECT with DuckDB. */
async function fixture(files: Record<string, string>): Promise<{ dir: string; paths: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'pp-parquet-'));
  const db = await openDb();
  try {
    for (const [name, select] of Object.entries(files)) {
      await db.run(`COPY (${select}) TO ${sqlString(join(dir, name))} (FORMAT parquet, ROW_GROUP_SIZE 1000)`);
    }
  } finally {
    db.close();
  }
  return { dir, paths: Object.keys(files).map((n) => join(dir, n)) };
}

const INTERACTIONS = `
  SELECT * FROM (VALUES
    ('u1', 10::BIGINT, 5.0::DOUBLE, TIMESTAMP '2020-09-13 12:26:40', 'x'),
    ('u2', 11::BIGINT, NULL,        TIMESTAMP '2020-09-13 12:26:41', 'y'),
    (NULL, 12::BIGINT, 3.0::DOUBLE, TIMESTAMP '2020-09-13 12:26:42', 'z'),
    ('u3', NULL,       4.0::DOUBLE, NULL,                            NULL)
  ) AS t(user_id, item_id, rating, timestamp, note)`;

const ITEMS = `
  SELECT * FROM (VALUES
    (10::BIGINT, 'Mug', ['Kitchen', 'Mugs', 'Kitchen'], 12.50::DECIMAL(10,2), {'w': 3, 'h': 4}, DATE '2020-01-02'),
    (11::BIGINT, NULL, [], NULL, NULL, NULL)
  ) AS t(item_id, title, categories, price, dims, added)`;

test('parquet rows become interactions with typed values: bigint ids as text, TIMESTAMP columns as unix seconds', async () => {
  const { paths } = await fixture({ 'inter.parquet': INTERACTIONS });
  const out = await collect(parquet, paths);
  assert.deepEqual(
    out.interactions.map((r) => [r.user_id, r.item_id, r.rating, r.ts, r.split, r.src.file, r.src.line]),
    [['u1', '10', 5, 1600000000, null, 'inter.parquet', 1]],
  );
  assert.deepEqual(
    out.rejects.map((r) => [r.kind, r.reason, r.detail, r.src.line]),
    [
      ['interaction', 'missing_field', 'missing rating', 2],
      ['interaction', 'missing_field', 'missing user_id', 3],
      ['interaction', 'missing_field', 'missing item_id', 4],
    ],
  );
  assert.deepEqual(JSON.parse(out.rejects[0].raw), { user_id: 'u2', item_id: 11, rating: null, timestamp: '2020-09-13T12:26:41.000Z', note: 'y' });
});

test('item files: list categories, decimal price, unmapped columns (struct, date) in extra', async () => {
  const { paths } = await fixture({ 'items.parquet': ITEMS });
  const out = await collect(parquet, paths);
  assert.deepEqual(
    out.items.map(({ src, ...r }) => [r, src.line]),
    [
      [
        {
          item_id: '10',
          title: 'Mug',
          description: null,
          brand: null,
          categories: ['Kitchen', 'Mugs'],
          price: 12.5,
          image_url: null,
          image_path: null,
          extra: { dims: { w: 3, h: 4 }, added: '2020-01-02T00:00:00.000Z' },
        },
        1,
      ],
      [{ item_id: '11', title: null, description: null, brand: null, categories: [], price: null, image_url: null, image_path: null, extra: null }, 2],
    ],
  );
});

test('a large file is streamed in chunks with every row numbered in file order', async () => {
  const { paths } = await fixture({
    'big.parquet': `SELECT 'u' || (i % 100) AS userId, i AS movieId, i AS ts FROM range(1, 10001) t(i)`,
  });
  const out = await collect(parquet, paths);
  assert.equal(out.interactions.length, 10000);
  assert.ok(out.interactions.every((r, k) => r.src.line === k + 1 && r.item_id === String(k + 1) && r.ts === k + 1));
});

test('mapping options and ISO text timestamps work as for csv', async () => {
  const { paths } = await fixture({
    'log.parquet': `SELECT * FROM (VALUES ('ann', 'x', '2020-09-13T12:26:40Z', 'train'), ('bob', 'y', 'soon', 'test')) t(who, what, stamp, part)`,
  });
  const out = await collect(parquet, paths, { user: 'who', item: 'what', ts: 'stamp', ts_unit: 'iso', split: 'part' });
  assert.deepEqual(out.interactions.map((r) => [r.user_id, r.item_id, r.ts, r.split]), [['ann', 'x', 1600000000, 'train']]);
  assert.deepEqual(out.rejects.map((r) => [r.reason, r.src.line]), [['bad_timestamp', 2]]);
});

test('a file without an item column is PP_INGEST_BAD_HEADER; a file that is not Parquet is PP_INPUT_UNREADABLE', async () => {
  const { paths } = await fixture({ 'people.parquet': `SELECT 'ann' AS name, 3 AS age` });
  await assert.rejects(
    collect(parquet, paths),
    (e) => isPlotPointeError(e, 'PP_INGEST_BAD_HEADER') && /people\.parquet/.test(e.message) && /"name", "age"/.test(e.message),
  );
  const dir = mkdtempSync(join(tmpdir(), 'pp-parquet-'));
  writeFileSync(join(dir, 'fake.parquet'), 'user_id,item_id\n');
  await assert.rejects(collect(parquet, [join(dir, 'fake.parquet')]), (e) => isPlotPointeError(e, 'PP_INPUT_UNREADABLE'));
});

test('the footer reader lists top-level columns (nested ones skipped) and rules follow them', async () => {
  const { paths } = await fixture({ 'inter.parquet': INTERACTIONS, 'items.parquet': ITEMS });
  assert.deepEqual(parquetColumnsSync(paths[0]), ['user_id', 'item_id', 'rating', 'timestamp', 'note']);
  assert.deepEqual(parquetColumnsSync(paths[1]), ['item_id', 'title', 'categories', 'price', 'dims', 'added']);
  assert.deepEqual(parquet.rules({}, localInputs(paths)), {
    rating: { min: 1, max: 5 },
    requireTimestamp: true,
    catalogIsAuthoritative: true,
    givenSplit: false,
  });
  const { paths: implicit } = await fixture({ 'clicks.parquet': `SELECT 'u' AS user, 1 AS item` });
  assert.deepEqual(parquet.rules({}, localInputs(implicit)), {
    rating: null,
    requireTimestamp: false,
    catalogIsAuthoritative: false,
    givenSplit: false,
  });
});
