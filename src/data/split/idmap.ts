import type { Db } from '../../lake/duckdb.js';
import { TRAIN } from './sql.js';

/**
 * Dense ids for the users and items that remain after filtering: 0..n-1, assigned deterministically —
 * in numeric order when every id is an integer (up to 38 digits; "7" < "10"; equal values such as "07"
 * and "7" are ordered by their text), otherwise in order of first appearance (the smallest ingest `ord`).
 *
 * An item is `cold` when it has no train interaction: the cold-item strategy's held-out items, a
 * temporal split's items first seen after the train cut, or (rarely) a warm item whose interactions all
 * fell into valid/test.
 */
export interface IdMapResult {
  users: number;
  items: number;
  coldItems: number;
  userOrder: 'numeric' | 'first-appearance';
  itemOrder: 'numeric' | 'first-appearance';
}

/**
 * From the assigned table (user_id, item_id, rating, ts, ord, part) creates `user_map` (user_id, uid),
 * `item_map` (item_id, iid, cold) and `output` (uid, iid, rating, ts, ord, part, cold).
 */
export async function buildIdMaps(db: Db, assigned: string, output: string): Promise<IdMapResult> {
  const userOrder = await denseMap(db, assigned, 'user');
  const itemOrder = await denseMap(db, assigned, 'item');
  await db.run(`CREATE OR REPLACE TABLE ${output} AS
    SELECT u.uid, i.iid, CAST(a.rating AS DOUBLE) AS rating, CAST(a.ts AS BIGINT) AS ts, a.ord, a.part, i.cold
    FROM ${assigned} a JOIN user_map u ON a.user_id = u.user_id JOIN item_map i ON a.item_id = i.item_id`);
  const row = await db.one<{ users: number; items: number; cold: number }>(
    `SELECT (SELECT count(*) FROM user_map) AS users, (SELECT count(*) FROM item_map) AS items,
            (SELECT count(*) FROM item_map WHERE cold) AS cold`,
  );
  return {
    users: Number(row!.users),
    items: Number(row!.items),
    coldItems: Number(row!.cold),
    userOrder,
    itemOrder,
  };
}

/** Creates `user_map` (user_id, uid) or `item_map` (item_id, iid, cold). */
async function denseMap(db: Db, source: string, kind: 'user' | 'item'): Promise<'numeric' | 'first-appearance'> {
  const idCol = `${kind}_id`;
  const denseCol = kind === 'user' ? 'uid' : 'iid';
  const table = `${kind}_map`;
  const coldAgg = kind === 'item' ? `, NOT bool_or(part = ${TRAIN}) AS cold` : '';
  await db.run(`CREATE OR REPLACE TEMP TABLE ${table}__ids AS
    SELECT ${idCol}, min(ord) AS first_ord ${coldAgg} FROM ${source} GROUP BY ${idCol}`);
  const check = await db.one<{ numeric: boolean | null }>(
    `SELECT bool_and(regexp_full_match(${idCol}, '-?[0-9]{1,38}')) AS numeric FROM ${table}__ids`,
  );
  const numeric = check?.numeric === true;
  const order = numeric ? `CAST(${idCol} AS HUGEINT), ${idCol}` : `first_ord, ${idCol}`;
  const extraCol = kind === 'item' ? ', cold' : '';
  await db.run(`CREATE OR REPLACE TABLE ${table} AS
    SELECT ${idCol}, CAST(row_number() OVER (ORDER BY ${order}) - 1 AS INTEGER) AS ${denseCol} ${extraCol}
    FROM ${table}__ids`);
  await db.run(`DROP TABLE ${table}__ids`);
  return numeric ? 'numeric' : 'first-appearance';
}
