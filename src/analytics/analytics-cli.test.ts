import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../test-support/fixtures.js';
import { analyticsReport, type AnalyticsReport } from './report.js';
import { openAnalytics } from './source.js';
import { KIT, buildAnalyticsLake, generateLogs, writeLogs } from './testkit.js';

/** `plotpointe analytics …` through the real bin, on files and through a server that holds the logs. */

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'plotpointe.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, PLOTPOINTE_SERVER: '', PLOTPOINTE_ADMIN_TOKEN: '' } });
  const lines = r.stdout.trimEnd().split('\n');
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, last: lines[lines.length - 1] };
}

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
  const r = cli(['analytics', 'report', '--lake', lake, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.last), expected);
  const human = cli(['analytics', 'report', '--lake', lake, '--name', KIT.name, '--top', '3']);
  assert.equal(human.status, 0, human.stderr);
  assert.match(human.stdout, /CTR by variant/);
  assert.match(human.stdout, new RegExp(`coverage: ${expected.coverage.recommended_items} of 60 catalog items`));
  assert.equal(human.stdout.split('\n').filter((l) => /^ {2}i\d\d /.test(l)).length, 3, 'three top items');
});

test('analytics query prints a table, CSV or JSON, and refuses writes with a coded error', () => {
  const sql = 'SELECT type, count(*) AS n FROM events GROUP BY type ORDER BY type';
  const json = cli(['analytics', 'query', sql, '--lake', lake, '--json']);
  assert.equal(json.status, 0, json.stderr);
  const out = JSON.parse(json.last);
  const byType = Object.fromEntries(expected.events.map((e) => [e.type, e.count]));
  assert.deepEqual(out.rows, Object.keys(byType).sort().map((type) => ({ type, n: byType[type] })));
  const csv = cli(['analytics', 'query', sql, '--lake', lake, '--csv']);
  assert.equal(csv.status, 0, csv.stderr);
  assert.equal(csv.stdout.trimEnd().split('\n')[0], 'type,n');
  assert.equal(csv.stdout.trimEnd().split('\n').length, 1 + out.rows.length);
  const bad = cli(['analytics', 'query', 'DELETE FROM events', '--lake', lake, '--json']);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr.split('\n').filter((l) => l.startsWith('error ')).length, 1);
  assert.match(bad.stderr, /^error PP_ANALYTICS_SQL_REJECTED: /m);
  assert.equal(JSON.parse(bad.last).error.code, 'PP_ANALYTICS_SQL_REJECTED');
  assert.equal(cli(['analytics', 'query', 'SELECT 1', '--lake', join(lake, 'nope'), '--name', KIT.name]).status, 3, 'missing lake: PP_LAKE_NOT_FOUND');
});

test('analytics drift stores its rows in logs/drift.parquet, which query then reads', () => {
  const r = cli(['analytics', 'drift', '--lake', lake, '--window', '1h', '--reference', '1h', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const d = JSON.parse(r.last);
  assert.equal(d.buckets, 2);
  assert.equal(d.rows.length, 10);
  assert.equal(d.worst.not_found_share, 'alert');
  assert.ok(existsSync(join(lake, 'logs', 'drift.parquet')));
  const q = cli(['analytics', 'query', "SELECT count(*) AS n FROM drift WHERE metric = 'not_found_share' AND status = 'alert'", '--lake', lake, '--json']);
  assert.equal(JSON.parse(q.last).rows[0].n, 1);
  const gate = cli(['analytics', 'drift', '--lake', lake, '--reference', '1h', '--fail-on', 'alert', '--json']);
  assert.equal(gate.status, 1, 'a 404 share of ~20% in hour 2 is an alert');
  assert.match(gate.stderr, /^error PP_ANALYTICS_DRIFT: .*not_found_share alert/m);
  const relaxed = join(lake, '..', 'relaxed.json');
  const loose = { warn: 0.9, alert: 0.95 };
  writeFileSync(relaxed, JSON.stringify({ drift: { not_found: loose, unknown_user: loose, unknown_item: loose, embedding_gap: { warn: 1.5, alert: 1.9 }, score_psi: { warn: 50, alert: 100 } } }));
  const calm = cli(['--config', relaxed, 'analytics', 'drift', '--lake', lake, '--name', KIT.name, '--reference', '1h', '--variant', 'A', '--fail-on', 'warn', '--no-write', '--json']);
  assert.equal(calm.status, 0, calm.stderr);
  assert.equal(JSON.parse(calm.last).variant, 'A');
  assert.equal(cli(['analytics', 'drift', '--lake', lake, '--fail-on', 'bogus']).status, 2);
  const badWindow = cli(['analytics', 'drift', '--lake', lake, '--window', 'soon']);
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

  const locked = cli(['analytics', 'report', '--lake', lake, '--json']);
  assert.equal(locked.status, 75);
  assert.match(locked.stderr, /^error PP_ANALYTICS_LOGS_LOCKED: .*--server.*serving\.duckdb is held by .*PID \d+/m);

  const via = cli(['analytics', 'report', '--lake', lake, '--server', url, '--json']);
  assert.equal(via.status, 0, via.stderr);
  assert.deepEqual(JSON.parse(via.last), { ...expected, source: 'server' });

  const sql = 'SELECT variant, count(*) AS n FROM requests GROUP BY 1 ORDER BY 1';
  const noToken = cli(['analytics', 'query', sql, '--lake', lake, '--server', url]);
  assert.equal(noToken.status, 2);
  assert.match(noToken.stderr, /^error PP_SERVE_UNAUTHORIZED: /m);
  const q = cli(['analytics', 'query', sql, '--lake', lake, '--server', url, '--token', 'sekret', '--json']);
  assert.equal(q.status, 0, q.stderr);
  assert.deepEqual(JSON.parse(q.last).rows, expected.ctr.map((c) => ({ variant: c.variant, n: c.requests })));
  const sandboxed = cli(['analytics', 'query', "SELECT * FROM read_text('/etc/hostname')", '--lake', lake, '--server', url, '--token', 'sekret']);
  assert.equal(sandboxed.status, 2);
  assert.match(sandboxed.stderr, /^error PP_ANALYTICS_SQL_REJECTED: .*read_text/m);

  const drift = cli(['analytics', 'drift', '--lake', lake, '--server', url, '--reference', '1h', '--json']);
  assert.equal(drift.status, 0, drift.stderr);
  const d = JSON.parse(drift.last);
  assert.equal(d.rows.length, 10);
  assert.equal(d.stored.rows, 10, 'the CLI stores what the server computed');
  assert.equal(d.worst.not_found_share, 'alert');
  // Statuses follow the CLI's config, not the server's defaults.
  const cfg = join(lake, '..', 'lenient.json');
  writeFileSync(cfg, JSON.stringify({ drift: { not_found: { warn: 0.9, alert: 0.95 } } }));
  const lenient = cli(['--config', cfg, 'analytics', 'drift', '--lake', lake, '--name', KIT.name, '--server', url, '--reference', '1h', '--json']);
  assert.equal(lenient.status, 0, lenient.stderr);
  const l = JSON.parse(lenient.last);
  assert.equal(l.worst.not_found_share, 'ok');
  assert.ok(l.rows.filter((r: { metric: string }) => r.metric === 'not_found_share').every((r: { warn: number }) => r.warn === 0.9));

  const down = cli(['analytics', 'report', '--lake', lake, '--server', 'http://127.0.0.1:9', '--json']);
  assert.equal(down.status, 4);
  assert.match(down.stderr, /^error PP_ANALYTICS_SERVER: /m);
});
