import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isPlotPointeError } from '../errors.js';
import { tempDir } from '../test-support/fixtures.js';
import { analyticsQuery, toCsv } from './query.js';
import { openAnalytics, type AnalyticsSession } from './source.js';
import { firstKeywordAllowed } from './sql-guard.js';
import { KIT, buildAnalyticsLake, generateLogs, writeLogs, type LogRequest } from './testkit.js';
import { datasetPaths } from '../lake/paths.js';

let s: AnalyticsSession;
let lake: string;
let requests: LogRequest[];

before(async () => {
  lake = join(tempDir('analytics-query'), 'lake');
  await buildAnalyticsLake(lake);
  const logs = generateLogs([{ requests: 40, ctr: { A: 0.2, B: 0.3 }, notFound: 0.1 }], 5);
  requests = logs.requests;
  await writeLogs(lake, logs);
  s = await openAnalytics({ lake, name: KIT.name });
});
after(() => s?.close());

async function rejected(sql: string, code = 'PP_ANALYTICS_SQL_REJECTED', sandbox = false): Promise<string> {
  try {
    await analyticsQuery(s, sql, { sandbox });
  } catch (err) {
    assert.ok(isPlotPointeError(err), String(err));
    assert.equal(err.code, code, `${sql}: ${err.message}`);
    return err.message;
  }
  assert.fail(`accepted: ${sql}`);
}

test('read-only statements over the predefined views are answered', async () => {
  const r = await analyticsQuery(s, 'SELECT variant, count(*) AS n FROM requests GROUP BY variant ORDER BY variant');
  assert.deepEqual(r.rows, [
    { variant: 'A', n: requests.filter((q) => q.variant === 'A').length },
    { variant: 'B', n: requests.filter((q) => q.variant === 'B').length },
  ]);
  assert.deepEqual(r.columns.map((c) => c.name), ['variant', 'n']);
  const recs = await analyticsQuery(s, "WITH x AS (SELECT * FROM recommendations) SELECT count(*) AS n, min(rank) AS lo, max(rank) AS hi FROM x");
  assert.deepEqual(recs.rows[0], { n: requests.filter((q) => q.status === 200).length * 5, lo: 1, hi: 5 });
  for (const sql of ['DESCRIBE requests', 'SHOW TABLES', "PRAGMA table_info('events')", 'SUMMARIZE items', '-- a comment\n/* another */ select 1 AS one;', 'FROM item_popularity LIMIT 1']) {
    assert.ok((await analyticsQuery(s, sql)).row_count > 0, sql);
  }
  const ts = await analyticsQuery(s, 'SELECT min(ts) AS t, 12345678901234567890::HUGEINT AS big FROM requests');
  assert.equal(ts.rows[0].t, '2026-11-20T00:00:00.000Z');
  assert.equal(typeof JSON.stringify(ts.rows), 'string');
});

test('writes, settings, attachments and multiple statements are refused with a code', async () => {
  for (const sql of [
    'DROP TABLE items',
    "INSERT INTO requests VALUES ('x')",
    'DELETE FROM events',
    "COPY requests TO '/tmp/out.csv'",
    "ATTACH '/tmp/x.duckdb' AS x",
    'SET threads = 1',
    "PRAGMA memory_limit='1GB'",
    'CREATE TABLE t AS SELECT 1',
    'EXPORT DATABASE \'/tmp/x\'',
    'SELECT 1; DROP TABLE items',
    '   ',
  ]) {
    await rejected(sql);
  }
  // Starts like a read, so the keyword check lets it through; the next test shows the statement type catches it.
  assert.equal(firstKeywordAllowed('WITH q AS (SELECT 1) INSERT INTO x SELECT 1'), true);
});

test('a statement that starts with WITH but writes is refused', async () => {
  // In a session without logs, requests is a table, so the INSERT binds and is typed as INSERT.
  const bare = join(tempDir('analytics-query-bare'), 'lake');
  await buildAnalyticsLake(bare);
  const s2 = await openAnalytics({ lake: bare, name: KIT.name });
  try {
    await assert.rejects(
      analyticsQuery(s2, "WITH q AS (SELECT 1) INSERT INTO requests (request_id) SELECT 'x' FROM q"),
      (err: unknown) => isPlotPointeError(err, 'PP_ANALYTICS_SQL_REJECTED') && /INSERT/.test(err.message),
    );
    assert.equal((await analyticsQuery(s2, 'SELECT count(*) AS n FROM requests')).rows[0].n, 0);
  } finally {
    s2.close();
  }
});

test('a bad read is PP_ANALYTICS_SQL_ERROR', async () => {
  await rejected('SELECT nope FROM requests', 'PP_ANALYTICS_SQL_ERROR');
  await rejected('SELECT * FROM nowhere', 'PP_ANALYTICS_SQL_ERROR');
});

test('the sandbox admits only the analytics views, CTEs and harmless table functions', async () => {
  assert.equal((await analyticsQuery(s, 'WITH q AS (SELECT * FROM items) SELECT count(*) AS n FROM q, range(2)', { sandbox: true })).rows[0].n, 2 * KIT.items);
  assert.ok((await analyticsQuery(s, 'DESCRIBE recommendations', { sandbox: true })).row_count > 0);
  await rejected("SELECT * FROM read_text('/etc/hostname')", undefined, true);
  await rejected(`SELECT * FROM '${datasetPaths(lake, KIT.name).stagingFiles.items}'`, undefined, true);
  await rejected("SELECT * FROM read_parquet('x.parquet')", undefined, true);
  await rejected('SELECT * FROM pp_logs.main.requests', undefined, true);
  await rejected('SELECT * FROM duckdb_settings()', undefined, true);
  await rejected("DESCRIBE SELECT * FROM read_csv('/etc/passwd')", undefined, true);
  await rejected('SELECT (SELECT count(*) FROM glob(\'/*\')) AS n', undefined, true);
  // Without the sandbox (the CLI on the user's own machine) a file read is a read.
  assert.ok((await analyticsQuery(s, `SELECT count(*) AS n FROM '${datasetPaths(lake, KIT.name).stagingFiles.items}'`)).rows[0].n === KIT.items);
});

test('rows are capped at maxRows and CSV quotes what needs quoting', async () => {
  const r = await analyticsQuery(s, 'SELECT * FROM range(5000) t(i)', { maxRows: 3000 });
  assert.equal(r.row_count, 3000);
  assert.equal(r.truncated, true);
  const csv = toCsv(await analyticsQuery(s, `SELECT 'a,b' AS x, 'say "hi"' AS y, NULL AS z, [1, 2] AS l`));
  assert.equal(csv, 'x,y,z,l\n"a,b","say ""hi""",,"[1,2]"');
});
