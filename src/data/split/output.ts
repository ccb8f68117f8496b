import { sqlString, type Db } from '../../lake/duckdb.js';
import { PART_NAMES, type PartName } from './sql.js';
import { splitFiles } from '../../lake/paths.js';

/**
 * Writes train/valid/test.parquet (uid INTEGER, iid INTEGER, rating DOUBLE, ts BIGINT, and `cold BOOLEAN`
 * in valid/test when `withCold`), user_map.parquet and item_map.parquet from the working tables.
 * Rows are sorted (parts by uid, ts, ord; maps by dense id) so the files are byte-identical for the same
 * data and seed.
 */
export async function writeSplitFiles(db: Db, dir: string, table: string, withCold: boolean): Promise<Record<PartName, string>> {
  const files = splitFiles(dir);
  const paths = {} as Record<PartName, string>;
  for (const [code, part] of PART_NAMES.entries()) {
    const path = files.part(part);
    const cold = withCold && part !== 'train' ? ', cold' : '';
    await copy(
      db,
      `SELECT uid, iid, rating, ts${cold} FROM ${table} WHERE part = ${code} ORDER BY uid, ts NULLS FIRST, ord`,
      path,
    );
    paths[part] = path;
  }
  await copy(db, 'SELECT user_id, uid FROM user_map ORDER BY uid', files.userMap);
  await copy(db, 'SELECT item_id, iid, cold FROM item_map ORDER BY iid', files.itemMap);
  return paths;
}

async function copy(db: Db, select: string, path: string): Promise<void> {
  await db.run(`COPY (${select}) TO ${sqlString(path)} (FORMAT parquet, COMPRESSION zstd)`);
}
