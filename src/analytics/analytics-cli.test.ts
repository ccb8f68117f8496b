import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliJson, runCli } from '../test-support/cli.js';
import { repoRoot, tempDir } from '../test-support/fixtures.js';
import { analyticsReport, type AnalyticsReport } from './report.js';
import { openAnalytics } from './source.js';
import { KIT, buildAnalyticsLake, generateLogs, writeLogs } from './testkit.js';
import { lakePaths } from '../lake/paths.js';

/** `plotpointe analytics …` through the real bin, on files and through a server that holds the logs. */

/** No server or token from the environment the tests run in: each test names its own. */
const ownServer = { env: { PLOTPOINTE_SERVER: '', PLOTPOINTE_ADMIN_TOKEN: '' } };

let lake: string;
let expected: AnalyticsReport;

before(async () => {
  lake = join(tempDir('analytics-cli'), 'lake');
  await buildAnalyticsLake(lake);
  await writeLogs(lake, generateLogs([{ requests: 60, ctr: { A: 0.1, B: 0.3 } }, { requests: 60, ctr: { A: 0.1, B: 0.3 }, notFound: 0.2, newItems: 'drifted' }], 9));
  const s = await openAnalytics({ lake, name: KIT.name });
  try {
    expected = await analyticsReport(s);
  } finally {
    s.close();
  }
});

test('analytics report --json prints the report as the last line; the default output is tables', () => {
  const r = runCli(['analytics', 'report', '--lake', lake, '--json'], ownServer);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(cliJson(r), expected);
  const human = runCli(['analytics', 'report', '--lake', lake, '--name', KIT.name, '--top', '3'], ownServer);
  assert.equal(human.status, 0, human.stderr);
  assert.match(human.stdout, /CTR by variant/);
  assert.match(human.stdout, new RegExp(`coverage: ${expected.coverage.recommended_items} of 60 catalog items`));
  assert.equal(human.stdout.split('\n').filter((l) => /^ {2}i\d\d /.test(l)).length, 3, 'three top items');
});

test('analytics query prints a table, CSV or JSON, and refuses writes with a coded error', () => {
  const sql = 'SELECT type, count(*) AS n FROM events GROUP BY type ORDER BY type';
  const json = runCli(['analytics', 'query', sql, '--lake', lake, '--json'], ownServer);
  assert.equal(json.status, 0, json.stderr);
  const out = cliJson(json);
  const byType = Object.fromEntries(expected.events.map((e) => [e.type, e.count]));
  assert.deepEqual(out.rows, Object.keys(byType).sort().map((type) => ({ type, n: byType[type] })));
  const csv = runCli(['analytics', 'query', sql, '--lake', lake, '--csv'], ownServer);
  assert.equal(csv.status, 0, csv.stderr);
  assert.equal(csv.stdout.trimEnd().split('\n')[0], 'type,n');
  assert.equal(csv.stdout.trimEnd().split('\n').length, 1 + out.rows.length);
  const bad = runCli(['analytics', 'query', 'DELETE FROM events', '--lake', lake, '--json'], ownServer);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr.split('\n').filter((l) => l.startsWith('error ')).length, 1);
  assert.match(bad.stderr, /^error PP_ANALYTICS_SQL_REJECTED: /m);
  assert.equal(cliJson(bad).error.code, 'PP_ANALYTICS_SQL_REJECTED');
  assert.equal(runCli(['analytics', 'query', 'SELECT 1', '--lake', join(lake, 'nope'), '--name', KIT.name], ownServer).status, 3, 'missing lake: PP_LAKE_NOT_FOUND');
});

test('analytics drift stores its rows in logs/drift.parquet, which query then reads', () => {
  const r = runCli(['analytics', 'drift', '--lake', lake, '--window', '1h', '--reference', '1h', '--json'], ownServer);
  assert.equal(r.status, 0, r.stderr);
  const d = cliJson(r);
  assert.equal(d.buckets, 2);
  assert.equal(d.rows.length, 10);
  assert.equal(d.worst.not_found_share, 'alert');
  assert.ok(existsSync(lakePaths(lake).drift));
  const q = runCli(['analytics', 'query', "SELECT count(*) AS n FROM drift WHERE metric = 'not_found_share' AND status = 'alert'", '--lake', lake, '--json'], ownServer);
  assert.equal(cliJson(q).rows[0].n, 1);
  const gate = runCli(['analytics', 'drift', '--lake', lake, '--reference', '1h', '--fail-on', 'alert', '--json'], ownServer);
  assert.equal(gate.status, 1, 'a 404 share of ~20% in hour 2 is an alert');
  assert.match(gate.stderr, /^error PP_ANALYTICS_DRIFT: .*not_found_share alert/m);
  const relaxed = join(lake, '..', 'relaxed.json');
  const loose = { warn: 0.9, alert: 0.95 };
  writeFileSync(relaxed, JSON.stringify({ drift: { not_found: loose, unknown_user: loose, unknown_item: loose, embedding_gap: { warn: 1.5, alert: 1.9 }, score_psi: { warn: 50, alert: 100 } } }));
  const calm = runCli(['--config', relaxed, 'analytics', 'drift', '--lake', lake, '--name', KIT.name, '--reference', '1h', '--variant', 'A', '--fail-on', 'warn', '--no-write', '--json'], ownServer);
  assert.equal(calm.status, 0, calm.stderr);
  assert.equal(cliJson(calm).variant, 'A');
  assert.equal(runCli(['analytics', 'drift', '--lake', lake, '--fail-on', 'bogus'], ownServer).status, 2);
  const badWindow = runCli(['analytics', 'drift', '--lake', lake, '--window', 'soon'], ownServer);
  assert.equal(badWindow.status, 2);
  assert.match(badWindow.stderr, /^error PP_ANALYTICS_INVALID: .*--window "soon"/m);
});

test('while a server holds serving.duckdb: a coded refusal without --server, the same figures through it', async (t) => {
  const server: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'analytics', 'testkit-server.ts'), lake, KIT.name, 'sekret'], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  t.after(() => {
    server.kill('SIGTERM');
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    server.stdout!.on('data', (c) => {
      buf += String(c);
      const m = /\{"port":(\d+)\}/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    server.on('exit', (code) => reject(new Error(`test server exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;

  const locked = runCli(['analytics', 'report', '--lake', lake, '--json'], ownServer);
  assert.equal(locked.status, 75);
  assert.match(locked.stderr, /^error PP_ANALYTICS_LOGS_LOCKED: .*--server.*serving\.duckdb is held by .*PID \d+/m);

  const via = runCli(['analytics', 'report', '--lake', lake, '--server', url, '--json'], ownServer);
  assert.equal(via.status, 0, via.stderr);
  assert.deepEqual(cliJson(via), { ...expected, source: 'server' });

  const sql = 'SELECT variant, count(*) AS n FROM requests GROUP BY 1 ORDER BY 1';
  const noToken = runCli(['analytics', 'query', sql, '--lake', lake, '--server', url], ownServer);
  assert.equal(noToken.status, 2);
  assert.match(noToken.stderr, /^error PP_SERVE_UNAUTHORIZED: /m);
  const q = runCli(['analytics', 'query', sql, '--lake', lake, '--server', url, '--token', 'sekret', '--json'], ownServer);
  assert.equal(q.status, 0, q.stderr);
  assert.deepEqual(cliJson(q).rows, expected.ctr.map((c) => ({ variant: c.variant, n: c.requests })));
  const sandboxed = runCli(['analytics', 'query', "SELECT * FROM read_text('/etc/hostname')", '--lake', lake, '--server', url, '--token', 'sekret'], ownServer);
  assert.equal(sandboxed.status, 2);
  assert.match(sandboxed.stderr, /^error PP_ANALYTICS_SQL_REJECTED: .*read_text/m);

  const drift = runCli(['analytics', 'drift', '--lake', lake, '--server', url, '--reference', '1h', '--json'], ownServer);
  assert.equal(drift.status, 0, drift.stderr);
  const d = cliJson(drift);
  assert.equal(d.rows.length, 10);
  assert.equal(d.stored.rows, 10, 'the CLI stores what the server computed');
  assert.equal(d.worst.not_found_share, 'alert');
  // Statuses follow the CLI's config, not the server's defaults.
  const cfg = join(lake, '..', 'lenient.json');
  writeFileSync(cfg, JSON.stringify({ drift: { not_found: { warn: 0.9, alert: 0.95 } } }));
  const lenient = runCli(['--config', cfg, 'analytics', 'drift', '--lake', lake, '--name', KIT.name, '--server', url, '--reference', '1h', '--json'], ownServer);
  assert.equal(lenient.status, 0, lenient.stderr);
  const l = cliJson(lenient);
  assert.equal(l.worst.not_found_share, 'ok');
  assert.ok(l.rows.filter((r: { metric: string }) => r.metric === 'not_found_share').every((r: { warn: number }) => r.warn === 0.9));

  const down = runCli(['analytics', 'report', '--lake', lake, '--server', 'http://127.0.0.1:9', '--json'], ownServer);
  assert.equal(down.status, 4);
  assert.match(down.stderr, /^error PP_ANALYTICS_SERVER: /m);
});
