import { ppError } from '../../errors.js';
import type { Db } from '../../lake/duckdb.js';
import type { ResolvedSplitOptions, SplitRatios } from './options.js';
import { countRows, doubleSql, randomKeySql, roundShare, roundSql, type PartName } from './sql.js';

/**
 * The five split strategies. Each reads the filtered working table (user_id, item_id, rating, ts, split,
 * ord) and creates `output` with (user_id, item_id, rating, ts, ord, part), part 0 = train, 1 = valid,
 * 2 = test. Everything runs as one SQL statement (window functions per user), so it scales with DuckDB.
 *
 * Rounding, shared by ratio, cold-item and given: a user with n interactions, ordered by their random
 * key, gets positions [0, trainEnd) in train and [trainEnd, validEnd) in valid, the rest in test, with
 * trainEnd = max(1, round(n·r_train)) and validEnd = max(trainEnd, round(n·(r_train + r_valid))), rounding
 * half to even (see `roundSql`). Each boundary is within half a row of n·r, so each part is within one row
 * of its exact share, except that a user always keeps one train row (n = 1 → all train).
 */
export interface StrategyResult {
  /** Parts that must not be empty (train always; valid/test when the strategy gives them a share). */
  required: PartName[];
  /** temporal: the cut-offs used (resolved from quantiles when not explicit); null = that part is empty. */
  temporal?: { cutoffs: 'timestamps' | 'quantiles'; validFrom: number | null; testFrom: number | null };
  /** given: where valid came from: the source's rows, carved out of train, or none (validShare 0). */
  given?: { validSource: 'source' | 'carved' | 'none'; validShareApplied: number | null };
  /** cold-item: how many items were held out, and how many of them went to valid and to test. */
  coldItem?: { heldOutItems: number; validItems: number; testItems: number };
}

const COLS = 'user_id, item_id, rating, ts, ord';

/** Facts about the unfiltered source that a strategy needs later. */
export interface SourceFacts {
  /** The source's split column has 'valid' rows (given: no carve-out then). */
  hasValidRows: boolean;
}

/**
 * Checks what the strategy needs from the (unfiltered) source: PP_SPLIT_INVALID when it cannot be split
 * that way. Returns the facts `assignParts` needs once the source has been filtered.
 */
export async function checkSource(db: Db, opts: ResolvedSplitOptions, table: string): Promise<SourceFacts> {
  if (opts.strategy === 'temporal') {
    const missing = await countRows(db, table, 'ts IS NULL');
    if (missing > 0) throw ppError('PP_SPLIT_INVALID', `a temporal split needs timestamps, but ${missing} interactions have none`);
  }
  if (opts.strategy === 'given') {
    const row = await db.one<{ missing: number; bad: string | null }>(
      `SELECT count(*) FILTER (WHERE split IS NULL) AS missing,
              min(split) FILTER (WHERE split NOT IN ('train', 'valid', 'test')) AS bad
       FROM ${table}`,
    );
    if (Number(row?.missing ?? 0) > 0) {
      throw ppError('PP_SPLIT_INVALID', `strategy "given" needs the source's split column, but ${row!.missing} interactions have none`);
    }
    if (row?.bad != null) throw ppError('PP_SPLIT_INVALID', `unknown value in the split column: ${JSON.stringify(row.bad)}`);
    return { hasValidRows: (await countRows(db, table, `split = 'valid'`)) > 0 };
  }
  return { hasValidRows: false };
}

/**
 * Assigns every row of `input` to a part, into the new table `output`. `source` holds what `checkSource`
 * found before filtering (given: whether the source has valid rows is a property of the source).
 */
export async function assignParts(
  db: Db,
  opts: ResolvedSplitOptions,
  input: string,
  output: string,
  source: SourceFacts,
): Promise<StrategyResult> {
  switch (opts.strategy) {
    case 'ratio': {
      await db.run(`CREATE OR REPLACE TABLE ${output} AS ${perUserRatioSql(input, opts.ratios, opts.seed)}`);
      return { required: requiredByShares(opts.ratios) };
    }
    case 'loo': {
      const k = opts.leaveOut;
      await db.run(`CREATE OR REPLACE TABLE ${output} AS
        SELECT ${COLS},
          CAST(CASE WHEN n < ${2 * k + 1} THEN 0 WHEN rpos < ${k} THEN 2 WHEN rpos < ${2 * k} THEN 1 ELSE 0 END AS UTINYINT) AS part
        FROM (
          SELECT ${COLS},
            row_number() OVER (PARTITION BY user_id ORDER BY ts DESC NULLS LAST, ord DESC) - 1 AS rpos,
            count(*) OVER (PARTITION BY user_id) AS n
          FROM ${input}
        )`);
      return { required: ['train', 'valid', 'test'] };
    }
    case 'temporal': {
      let validFrom: number | null;
      let testFrom: number | null;
      let required: PartName[];
      if (opts.cutoffs === 'timestamps') {
        ({ validFrom, testFrom } = opts);
        required = validFrom < testFrom ? ['train', 'valid', 'test'] : ['train', 'test'];
      } else {
        // Quantiles of ts over the interactions: test starts at the timestamp of the first of the last
        // round(n·r_test) interactions in (ts, ord) order, valid likewise; rows tied with a cut-off
        // timestamp go to the later part (a cut is a point in time).
        const [, rv, rt] = opts.ratios;
        const n = await countRows(db, input);
        const nTest = roundShare(n, rt);
        const nValidTest = roundShare(n, rv + rt);
        testFrom = nTest > 0 ? await tsAtPosition(db, input, n - nTest) : null;
        validFrom = nValidTest > nTest ? await tsAtPosition(db, input, n - nValidTest) : testFrom;
        required = requiredByShares(opts.ratios);
      }
      const testCase = testFrom === null ? '' : `WHEN ts >= ${testFrom} THEN 2`;
      const validCase = validFrom === null ? '' : `WHEN ts >= ${validFrom} THEN 1`;
      await db.run(`CREATE OR REPLACE TABLE ${output} AS
        SELECT ${COLS}, CAST(CASE ${testCase} ${validCase} ELSE 0 END AS UTINYINT) AS part FROM ${input}`);
      return { required, temporal: { cutoffs: opts.cutoffs, validFrom, testFrom } };
    }
    case 'given': {
      const sourceHasValid = source.hasValidRows;
      const fixed = `CAST(CASE split WHEN 'train' THEN 0 WHEN 'valid' THEN 1 ELSE 2 END AS UTINYINT)`;
      if (sourceHasValid || opts.validShare === 0) {
        await db.run(`CREATE OR REPLACE TABLE ${output} AS SELECT ${COLS}, ${fixed} AS part FROM ${input}`);
        return {
          required: sourceHasValid ? ['train', 'valid', 'test'] : ['train', 'test'],
          given: { validSource: sourceHasValid ? 'source' : 'none', validShareApplied: null },
        };
      }
      // Carve valid out of each user's train rows only: test rows are never candidates.
      const share = doubleSql(opts.validShare);
      await db.run(`CREATE OR REPLACE TABLE ${output} AS
        SELECT ${COLS}, CAST(CASE WHEN pos < least(n - 1, ${roundSql(`n * ${share}`)}) THEN 1 ELSE 0 END AS UTINYINT) AS part
        FROM (
          SELECT ${COLS},
            row_number() OVER (PARTITION BY user_id ORDER BY ${rowKey(opts.seed)}, ord) - 1 AS pos,
            count(*) OVER (PARTITION BY user_id) AS n
          FROM ${input} WHERE split = 'train'
        )
        UNION ALL
        SELECT ${COLS}, ${fixed} AS part FROM ${input} WHERE split <> 'train'`);
      return {
        required: ['train', 'valid', 'test'],
        given: { validSource: 'carved', validShareApplied: opts.validShare },
      };
    }
    case 'cold-item': {
      const items = await db.one<{ n: number }>(`SELECT count(DISTINCT item_id) AS n FROM ${input}`);
      const nItems = Number(items?.n ?? 0);
      const heldOut = roundShare(nItems, opts.coldItemShare);
      if (nItems > 0 && heldOut === 0) {
        throw ppError('PP_SPLIT_EMPTY', `no cold item: ${nItems} items × coldItemShare ${opts.coldItemShare} rounds to 0`);
      }
      const validItems = Math.floor(heldOut / 2);
      const itemKey = randomKeySql(opts.seed, `'item'`, 'item_id');
      await db.run(`CREATE OR REPLACE TEMP TABLE held_out AS
        SELECT item_id, CAST(CASE WHEN rank < ${validItems} THEN 1 ELSE 2 END AS UTINYINT) AS part
        FROM (
          SELECT item_id, row_number() OVER (ORDER BY ${itemKey}, item_id) - 1 AS rank
          FROM (SELECT DISTINCT item_id FROM ${input})
        )
        WHERE rank < ${heldOut}`);
      await db.run(`CREATE OR REPLACE TABLE ${output} AS
        SELECT ${COLS.split(', ').map((c) => `i.${c}`).join(', ')}, h.part FROM ${input} i JOIN held_out h USING (item_id)
        UNION ALL
        ${perUserRatioSql(`(SELECT * FROM ${input} ANTI JOIN held_out USING (item_id))`, opts.ratios, opts.seed)}`);
      await db.run('DROP TABLE held_out');
      const required: PartName[] = requiredByShares(opts.ratios);
      if (validItems > 0 && !required.includes('valid')) required.splice(1, 0, 'valid');
      if (!required.includes('test')) required.push('test');
      return { required, coldItem: { heldOutItems: heldOut, validItems, testItems: heldOut - validItems } };
    }
  }
}

/** The per-row random key: MD5 of seed|user_id|item_id|ord. */
function rowKey(seed: number): string {
  return randomKeySql(seed, 'user_id', 'item_id', 'ord');
}

/** Per-user random split by ratios (see the module comment for the rounding rule). */
function perUserRatioSql(from: string, ratios: SplitRatios, seed: number): string {
  const [rt, rv] = ratios;
  return `
    SELECT ${COLS},
      CAST(CASE WHEN pos < train_end THEN 0 WHEN pos < greatest(train_end, valid_end) THEN 1 ELSE 2 END AS UTINYINT) AS part
    FROM (
      SELECT ${COLS}, pos,
        greatest(1, ${roundSql(`n * ${doubleSql(rt)}`)}) AS train_end,
        ${roundSql(`n * ${doubleSql(rt + rv)}`)} AS valid_end
      FROM (
        SELECT ${COLS},
          row_number() OVER (PARTITION BY user_id ORDER BY ${rowKey(seed)}, ord) - 1 AS pos,
          count(*) OVER (PARTITION BY user_id) AS n
        FROM ${from}
      )
    )`;
}

function requiredByShares(ratios: SplitRatios): PartName[] {
  const parts: PartName[] = ['train'];
  if (ratios[1] > 0) parts.push('valid');
  if (ratios[2] > 0) parts.push('test');
  return parts;
}

/** The timestamp of the row at 0-based position `pos` in (ts, ord) order. */
async function tsAtPosition(db: Db, table: string, pos: number): Promise<number> {
  const row = await db.one<{ ts: number | bigint }>(`SELECT ts FROM ${table} ORDER BY ts, ord LIMIT 1 OFFSET ${pos}`);
  return Number(row!.ts);
}
