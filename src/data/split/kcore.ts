import type { Db } from '../../lake/duckdb.js';
import { countRows, replaceTable } from './sql.js';

/**
 * Iterative k-core filtering, in SQL over a working table with `user_id` and `item_id` columns.
 *
 * Each round drops, at once, every interaction of a user with fewer than `userK` interactions and of an
 * item with fewer than `itemK`; rounds repeat until nothing changes. Removing an item can push a user
 * below k (and that user's removal an item), so the cascade can take several rounds. The result is the
 * unique maximal sub-graph where every user has ≥ userK and every item ≥ itemK interactions, whatever the
 * order of removals. k ≤ 1 means no filter on that side (every present user/item has at least one).
 */
export interface KcoreResult {
  /** Rounds that removed something (0 when the data already was a k-core or the filter is off). */
  iterations: number;
  rowsBefore: number;
  rowsAfter: number;
}

export async function kcoreFilter(db: Db, table: string, userK: number, itemK: number): Promise<KcoreResult> {
  const rowsBefore = await countRows(db, table);
  let rows = rowsBefore;
  let iterations = 0;
  if (userK <= 1 && itemK <= 1) return { iterations, rowsBefore, rowsAfter: rows };
  for (;;) {
    const conditions: string[] = [];
    if (userK > 1) {
      conditions.push(
        `user_id IN (SELECT user_id FROM ${table} GROUP BY user_id HAVING count(*) >= ${userK})`,
      );
    }
    if (itemK > 1) {
      conditions.push(
        `item_id IN (SELECT item_id FROM ${table} GROUP BY item_id HAVING count(*) >= ${itemK})`,
      );
    }
    await replaceTable(db, table, `SELECT * FROM ${table} WHERE ${conditions.join(' AND ')}`);
    const next = await countRows(db, table);
    if (next === rows) break;
    iterations++;
    rows = next;
    if (rows === 0) break;
  }
  return { iterations, rowsBefore, rowsAfter: rows };
}
