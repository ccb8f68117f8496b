import { join } from 'node:path';
import type { Db } from '../lake/duckdb.js';
import { sqlString } from '../lake/duckdb.js';
import { stagingFiles } from '../lake/paths.js';
import type { FormatRules } from './formats/format.js';
import { diskFullOr } from '../errors.js';
import { SINK_FILES, SINK_MAX_OBJECT_BYTES } from './staging-sink.js';


export interface ValidationCounts {
  /** Items staged from input records (excludes items derived from interactions). */
  itemsStaged: number;
  /** Items with no metadata, added because interactions name them (formats without an authoritative catalog). */
  itemsDerived: number;
  itemsRejected: number;
  interactionsStaged: number;
  interactionsRejected: number;
  users: number;
  /** Catalog size: staged + derived items. */
  items: number;
  rejectsByReason: Record<string, number>;
}

/** Latest plausible timestamp: one day from now (a timestamp in the future is a unit or parse error). */
function maxPlausibleTs(): number {
  return Math.floor(Date.now() / 1000) + 86_400;
}

/**
 * Loads the sink's NDJSON into DuckDB and applies the checks that need the whole data set, in this order:
 * 1. items: a repeated item_id is a `duplicate` (the first by source order is kept);
 * 2. interactions, row checks: rating outside `rules.rating` → `rating_out_of_range`; a timestamp that is
 *    negative, in the future, or missing where `rules.requireTimestamp` → `bad_timestamp`; an item not in the
 *    catalog where `rules.catalogIsAuthoritative` → `unknown_item`;
 * 3. interactions surviving (2): a repeated (user_id, item_id) pair is a `duplicate` (first kept) — also across
 *    parts of a given split, since a pair in both train and test would leak the answer — unless
 *    `rules.repeatsAllowed` (event sequences, where buying again is real);
 * 4. items named only by interactions are added as bare items when the catalog is not authoritative;
 * 5. dense id maps: numeric order when every id is an integer, else first appearance.
 * The tables `items`, `interactions`, `rejects`, `user_map`, `item_map` stay in `db` for the data card.
 * A full disk (DuckDB's spill files or the Parquet output) is PP_DISK_FULL.
 */
export async function stageValidated(db: Db, workDir: string, outDir: string, rules: FormatRules): Promise<ValidationCounts> {
  try {
    return await stage(db, workDir, outDir, rules);
  } catch (err) {
    throw diskFullOr(err, 'validating into staging');
  }
}

async function stage(db: Db, workDir: string, outDir: string, rules: FormatRules): Promise<ValidationCounts> {
  const f = (name: string) => sqlString(join(workDir, name));
  const files = stagingFiles(outDir);
  const out = (path: string) => sqlString(path);
  await db.run(`
    CREATE TABLE items_in AS SELECT * FROM read_ndjson(${f(SINK_FILES.items)}, columns={
      item_id:'VARCHAR', title:'VARCHAR', description:'VARCHAR', brand:'VARCHAR', categories:'VARCHAR[]',
      price:'DOUBLE', image_url:'VARCHAR', image_path:'VARCHAR', extra:'VARCHAR', src_file:'VARCHAR',
      src_line:'BIGINT', ord:'BIGINT'}, maximum_object_size=${SINK_MAX_OBJECT_BYTES});
    CREATE TABLE inter_in AS SELECT * FROM read_ndjson(${f(SINK_FILES.interactions)}, columns={
      user_id:'VARCHAR', item_id:'VARCHAR', rating:'DOUBLE', ts:'BIGINT', split:'VARCHAR',
      src_file:'VARCHAR', src_line:'BIGINT', ord:'BIGINT'}, maximum_object_size=${SINK_MAX_OBJECT_BYTES});
    CREATE TABLE rejects_in AS SELECT * FROM read_ndjson(${f(SINK_FILES.rejects)}, columns={
      kind:'VARCHAR', src_file:'VARCHAR', src_line:'BIGINT', reason:'VARCHAR', detail:'VARCHAR', raw:'VARCHAR', ord:'BIGINT'},
      maximum_object_size=${SINK_MAX_OBJECT_BYTES});
  `);

  // 1. Items: duplicates (hash aggregates rather than window sorts: this runs over millions of rows).
  await db.run(`
    CREATE TABLE item_first AS SELECT item_id, min(ord) AS first_ord, count(*) AS n FROM items_in GROUP BY item_id;
    CREATE TABLE items AS SELECT i.* FROM items_in i SEMI JOIN item_first f ON i.ord = f.first_ord;
    CREATE TABLE item_dups AS SELECT i.*, f.src_file AS first_file, f.src_line AS first_line
      FROM items_in i JOIN (SELECT item_id FROM item_first WHERE n > 1) d USING (item_id)
      JOIN items f ON f.item_id = i.item_id WHERE i.ord <> f.ord;
  `);

  // 2. Interactions: row checks, then duplicates among the survivors.
  const ratingCheck = rules.rating
    ? `WHEN rating IS NOT NULL AND NOT (rating BETWEEN ${rules.rating.min} AND ${rules.rating.max})
         THEN 'rating_out_of_range'`
    : '';
  const tsMissing = rules.requireTimestamp ? `WHEN ts IS NULL THEN 'bad_timestamp'` : '';
  const maxTs = maxPlausibleTs();
  const catalogJoin = rules.catalogIsAuthoritative
    ? `LEFT JOIN (SELECT item_id AS known_item FROM items) it ON i.item_id = it.known_item`
    : '';
  const unknownItem = rules.catalogIsAuthoritative ? `WHEN it.known_item IS NULL THEN 'unknown_item'` : '';
  await db.run(`
    CREATE TABLE inter_checked AS SELECT i.*, CASE
        ${ratingCheck}
        ${tsMissing}
        WHEN ts IS NOT NULL AND (ts < 0 OR ts > ${maxTs}) THEN 'bad_timestamp'
        ${unknownItem}
        ELSE NULL END AS reason
    FROM inter_in i ${catalogJoin};
  `);
  const columns = 'user_id, item_id, rating, ts, split, ord, src_file, src_line';
  if (rules.repeatsAllowed) {
    // Event sequences: every record is an event of its own; there are no duplicates.
    await db.run(`
      CREATE TABLE interactions AS SELECT ${columns} FROM inter_checked WHERE reason IS NULL;
      CREATE TABLE inter_dups AS SELECT ${columns}, NULL::VARCHAR AS first_file, NULL::BIGINT AS first_line
        FROM interactions WHERE false;
    `);
  } else {
    await db.run(`
      CREATE TABLE pair_first AS SELECT user_id, item_id, min(ord) AS first_ord, count(*) AS n
        FROM inter_checked WHERE reason IS NULL GROUP BY user_id, item_id;
      CREATE TABLE interactions AS SELECT ${columns} FROM inter_checked i SEMI JOIN pair_first f ON i.ord = f.first_ord;
      CREATE TABLE inter_dups AS SELECT ${columns.split(', ').map((c) => 'i.' + c).join(', ')},
          f.src_file AS first_file, f.src_line AS first_line
        FROM (SELECT * FROM inter_checked WHERE reason IS NULL) i
        JOIN (SELECT user_id, item_id, first_ord FROM pair_first WHERE n > 1) d USING (user_id, item_id)
        JOIN interactions f ON f.ord = d.first_ord
        WHERE i.ord <> d.first_ord;
    `);
  }

  // 3. Rejects: parse-level ones from the readers plus the validation ones above.
  const ratingRange = rules.rating ? `[${rules.rating.min}, ${rules.rating.max}]` : '';
  await db.run(`
    CREATE TABLE rejects AS
    SELECT kind, src_file, src_line, reason, detail, raw, ord FROM rejects_in
    UNION ALL
    SELECT 'item', src_file, src_line, 'duplicate',
      'item_id ' || item_id || ' first seen at ' || first_file || ':' || first_line,
      to_json(struct_pack(item_id, title, brand, categories, price))::VARCHAR, ord
    FROM item_dups
    UNION ALL
    SELECT 'interaction', src_file, src_line, reason,
      CASE reason
        WHEN 'rating_out_of_range' THEN 'rating=' || rating || ' not in ${ratingRange}'
        WHEN 'bad_timestamp' THEN CASE WHEN ts IS NULL THEN 'missing timestamp' ELSE 'ts=' || ts || ' outside [0, ${maxTs}]' END
        WHEN 'unknown_item' THEN 'item_id ' || item_id || ' is not in the catalog'
        ELSE reason END,
      to_json(struct_pack(user_id, item_id, rating, ts, split))::VARCHAR, ord
    FROM inter_checked WHERE reason IS NOT NULL
    UNION ALL
    SELECT 'interaction', src_file, src_line, 'duplicate',
      'user_id ' || user_id || ', item_id ' || item_id || ' first seen at ' || first_file || ':' || first_line,
      to_json(struct_pack(user_id, item_id, rating, ts, split))::VARCHAR, ord
    FROM inter_dups;
  `);

  // 4. Items named only by interactions.
  const derived = rules.catalogIsAuthoritative
    ? 0
    : Number(
        (
          await db.one<{ n: number }>(`
      SELECT count(*) AS n FROM (SELECT DISTINCT item_id FROM interactions) x
      WHERE item_id NOT IN (SELECT item_id FROM items)`)
        )?.n ?? 0,
      );
  if (derived > 0) {
    await db.run(`
      INSERT INTO items
      SELECT item_id, NULL, NULL, NULL, []::VARCHAR[], NULL, NULL, NULL, NULL, NULL, NULL, min(ord)
      FROM interactions WHERE item_id NOT IN (SELECT item_id FROM items) GROUP BY item_id;
    `);
  }

  // 5. Dense id maps.
  const numeric = await db.one<{ users: boolean; items: boolean }>(`
    SELECT coalesce((SELECT bool_and(regexp_full_match(user_id, '[0-9]{1,18}')) FROM interactions), false) AS users,
           coalesce((SELECT bool_and(regexp_full_match(item_id, '[0-9]{1,18}')) FROM items), false) AS items`);
  const userOrder = numeric?.users ? 'CAST(user_id AS BIGINT)' : 'first_ord, user_id';
  const itemOrder = numeric?.items ? 'CAST(item_id AS BIGINT)' : 'ord, item_id';
  await db.run(`
    CREATE TABLE user_map AS SELECT user_id, (row_number() OVER (ORDER BY ${userOrder}) - 1)::INTEGER AS uid
      FROM (SELECT user_id, min(ord) AS first_ord FROM interactions GROUP BY user_id);
    CREATE TABLE item_map AS SELECT item_id, (row_number() OVER (ORDER BY ${itemOrder}) - 1)::INTEGER AS iid FROM items;
  `);

  const parquet = `(FORMAT parquet, COMPRESSION zstd)`;
  await db.run(`
    COPY (SELECT * EXCLUDE (ord) FROM items ORDER BY ord) TO ${out(files.items)} ${parquet};
    COPY (SELECT user_id, item_id, rating, ts, split, ord, src_file, src_line FROM interactions ORDER BY ord)
      TO ${out(files.interactions)} ${parquet};
    COPY (SELECT kind, src_file, src_line, reason, detail, raw FROM rejects ORDER BY ord) TO ${out(files.rejects)} ${parquet};
    COPY (SELECT * FROM user_map ORDER BY uid) TO ${out(files.userMap)} ${parquet};
    COPY (SELECT * FROM item_map ORDER BY iid) TO ${out(files.itemMap)} ${parquet};
  `);

  const c = await db.one<Record<string, number>>(`
    SELECT
      (SELECT count(*) FROM items WHERE src_file IS NOT NULL) AS items_staged,
      (SELECT count(*) FROM items) AS items,
      (SELECT count(*) FROM interactions) AS interactions,
      (SELECT count(*) FROM user_map) AS users,
      (SELECT count(*) FROM rejects WHERE kind = 'item') AS item_rejects,
      (SELECT count(*) FROM rejects WHERE kind = 'interaction') AS interaction_rejects`);
  const byReason = await db.all<{ key: string; n: number }>(
    `SELECT kind || '/' || reason AS key, count(*) AS n FROM rejects GROUP BY ALL ORDER BY key`,
  );
  return {
    itemsStaged: Number(c!.items_staged),
    itemsDerived: derived,
    itemsRejected: Number(c!.item_rejects),
    interactionsStaged: Number(c!.interactions),
    interactionsRejected: Number(c!.interaction_rejects),
    users: Number(c!.users),
    items: Number(c!.items),
    rejectsByReason: Object.fromEntries(byReason.map((r) => [r.key, Number(r.n)])),
  };
}
