import type { Db } from '../../lake/duckdb.js';

/**
 * SQL building blocks shared by the split's steps.
 *
 * Randomness: every random choice orders rows by a key derived from MD5 of the seed and the row's identity,
 * never by random(): the result depends only on the data and the seed, not on DuckDB's thread scheduling,
 * and MD5 keeps it stable across DuckDB versions (unlike the engine's internal hash()). Ties (practically
 * impossible) are broken by `ord`, which is unique.
 */

/** The random key of one row: a UBIGINT from MD5('seed|part|part|…'). `parts` are SQL expressions. */
export function randomKeySql(seed: number, ...parts: string[]): string {
  const cast = parts.map((p) => `CAST(${p} AS VARCHAR)`).join(", '|', ");
  return `md5_number_lower(concat('${seed}', '|', ${cast}))`;
}

/**
 * Round half to even ("banker's rounding"), tolerant of floating-point noise: n·0.9 computed as
 * 4.4999999999999995 counts as the tie 4.5. Half-even keeps the parts unbiased in aggregate (always
 * rounding ties up would, with 80/10/10, give valid systematically more rows than test).
 */
export function roundSql(expr: string): string {
  const x = `(${expr})`;
  return `CAST(CASE WHEN abs(${x} - floor(${x}) - 0.5) < 1e-9 THEN floor(${x}) + CAST(floor(${x}) AS BIGINT) % 2 ELSE floor(${x} + 0.5) END AS BIGINT)`;
}

/** The JavaScript twin of `roundSql`: the number of rows out of `n` a `share` stands for. */
export function roundShare(n: number, share: number): number {
  return roundHalfEven(n * share);
}

export function roundHalfEven(x: number): number {
  const fl = Math.floor(x);
  if (Math.abs(x - fl - 0.5) < 1e-9) return fl + (fl % 2);
  return Math.floor(x + 0.5);
}

/** A JavaScript number as a DOUBLE literal (DuckDB would otherwise read 0.9 as an exact DECIMAL). */
export function doubleSql(x: number): string {
  return `CAST(${JSON.stringify(x)} AS DOUBLE)`;
}

/** Part codes in the working tables. */
export const TRAIN = 0;
export const VALID = 1;
export const TEST = 2;
export const PART_NAMES = ['train', 'valid', 'test'] as const;
export type PartName = (typeof PART_NAMES)[number];

export async function countRows(db: Db, table: string, where = 'TRUE'): Promise<number> {
  const row = await db.one<{ n: number | bigint }>(`SELECT count(*) AS n FROM ${table} WHERE ${where}`);
  return Number(row?.n ?? 0);
}

/** Replaces `table` by the result of `select` (which may read `table`). */
export async function replaceTable(db: Db, table: string, select: string): Promise<void> {
  await db.run(`CREATE OR REPLACE TABLE ${table}__next AS ${select}`);
  await db.run(`DROP TABLE ${table}; ALTER TABLE ${table}__next RENAME TO ${table}`);
}
