/**
 * Analytics over a large request log: builds the analytics test lake (60 items, split s1, text embeddings)
 * and a serving.duckdb with N requests × k served items (2% 404s, 3% unknown users, two variants, scores
 * N(0.5, 0.1) drifting upward over the last quarter) and one impression per served slot plus clicks (8% A,
 * 10% B), generated in SQL. Then times, each on a fresh session: the report, drift (1 h windows), a
 * GROUP BY query over `recommendations` and storing the drift rows. Prints one JSON line with seconds per
 * step, row counts, peak RSS and the load average.
 *
 *   node --import tsx bench/analytics.bench.ts [--requests 200000] [--k 10] [--hours 48]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, sqlString } from '../src/lake/duckdb.js';
import { EVENTS_DDL, REQUESTS_DDL } from '../src/analytics/log-schema.js';
import { loadConfig } from '../src/config/load.js';
import { analyticsQuery } from '../src/analytics/query.js';
import { analyticsReport } from '../src/analytics/report.js';
import { computeDrift, driftOptionsFromConfig, writeDriftTable } from '../src/analytics/drift.js';
import { openAnalytics } from '../src/analytics/source.js';
import { KIT, buildAnalyticsLake } from '../src/analytics/testkit.js';
import { lakePaths } from '../src/lake/paths.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}
const N = Number(arg('requests', '200000'));
const K = Number(arg('k', '10'));
const HOURS = Number(arg('hours', '48'));

let peakRss = 0;
const sample = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const timed = async <T>(label: string, times: Record<string, number>, f: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  process.stderr.write(`${label}…\n`);
  const r = await f();
  times[label] = Number(((performance.now() - t0) / 1000).toFixed(3));
  return r;
};

/** `--gen <file>`: only write the logs (run in a child process, see below). */
async function generate(file: string): Promise<void> {
  const db = await openDb({ path: file });
  try {
    await db.run(REQUESTS_DDL);
    await db.run(EVENTS_DDL);
    const span = HOURS * 3600;
    // h(x) = a uniform in [0, 1) from a hash; the score mean moves from 0.5 to 0.65 in the last quarter.
    await db.run(`INSERT INTO requests
      SELECT 'r' || i, TIMESTAMP '2026-11-01 00:00:00' + to_seconds((i * ${span}.0 / ${N})::BIGINT),
             CASE WHEN i % 4 = 3 THEN '/v1/items/:itemId/similar' ELSE '/v1/users/:userId/recommendations' END,
             CASE WHEN hash(i, 'u') % 100 < 3 THEN 'ghost-' || i ELSE 'u' || lpad((hash(i, 'v') % ${KIT.users})::VARCHAR, 2, '0') END,
             'run-1', CASE WHEN i % 2 = 0 THEN 'A' ELSE 'B' END, ${K},
             CASE WHEN hash(i, 'nf') % 100 < 2 THEN NULL ELSE to_json([
               {'item_id': 'i' || lpad((hash(i, j) % ${KIT.items})::VARCHAR, 2, '0'),
                'score': 0.5 + (CASE WHEN i > ${Math.floor(N * 0.75)} THEN 0.15 ELSE 0 END) + 0.1 * sqrt(-2 * ln(greatest((hash(i, j, 'a') % 1000000 + 1) / 1000001.0, 1e-9))) * cos(2 * pi() * (hash(i, j, 'b') % 1000000) / 1000000.0),
                'rank': j} FOR j IN range(1, ${K + 1})]) END,
             3 + (hash(i, 'l') % 10000) / 500.0, CASE WHEN hash(i, 'nf') % 100 < 2 THEN 404 ELSE 200 END
        FROM range(${N}) t(i)`);
    await db.run(`INSERT INTO events
      WITH slots AS (SELECT request_id, ts, user_id, variant, unnest(from_json(items, '[{"item_id":"VARCHAR","rank":"INTEGER"}]'), recursive := true)
                       FROM requests WHERE status = 200),
           typed AS (SELECT *, unnest(CASE WHEN hash(request_id, rank) % 100 < (CASE WHEN variant = 'A' THEN 8 ELSE 10 END)
                                           THEN ['impression', 'click'] ELSE ['impression'] END) AS type FROM slots)
      SELECT request_id || '-' || rank || '-' || type, ts + INTERVAL 2 SECOND, request_id, user_id, item_id, type, 1, variant FROM typed`);
  } finally {
    db.close();
  }
}
if (process.argv.includes('--gen')) {
  await generate(arg('gen', ''));
  process.exit(0);
}

const root = join(tmpdir(), `pp-bench-analytics-${process.pid}`);
const lake = join(root, 'lake');
mkdirSync(root, { recursive: true });
const times: Record<string, number> = {};
try {
  await buildAnalyticsLake(lake);
  const file = lakePaths(lake).servingLog;
  mkdirSync(lakePaths(lake).logs, { recursive: true });
  // In a child process, like the server that writes the logs, so that the peak RSS below is the analytics'.
  await timed('generate_logs', times, async () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--gen', file, '--requests', String(N), '--k', String(K), '--hours', String(HOURS)], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`log generation failed (${r.status ?? r.signal})`);
  });
  const counts = await (async () => {
    const db = await openDb();
    try {
      await db.run(`ATTACH ${sqlString(file)} AS l (READ_ONLY)`);
      return await db.one<{ requests: number; events: number }>(`SELECT (SELECT count(*) FROM l.requests) AS requests, (SELECT count(*) FROM l.events) AS events`);
    } finally {
      db.close();
    }
  })();

  const c = loadConfig();
  const report = await timed('report', times, async () => {
    const s = await openAnalytics({ lake, name: KIT.name });
    try {
      return await analyticsReport(s);
    } finally {
      s.close();
    }
  });
  const drift = await timed('drift_1h', times, async () => {
    const s = await openAnalytics({ lake, name: KIT.name });
    try {
      return await computeDrift(s, driftOptionsFromConfig(c, 3_600_000, 24 * 3_600_000));
    } finally {
      s.close();
    }
  });
  await timed('query_group_by', times, async () => {
    const s = await openAnalytics({ lake, name: KIT.name });
    try {
      return await analyticsQuery(s, 'SELECT variant, item_id, count(*) AS n, avg(score) AS s FROM recommendations GROUP BY ALL ORDER BY n DESC');
    } finally {
      s.close();
    }
  });
  await timed('store_drift', times, () => writeDriftTable(lake, drift.rows));
  clearInterval(sample);
  console.log(
    JSON.stringify({
      requests: counts?.requests,
      events: counts?.events,
      slots: report.popularity?.slots,
      seconds: times,
      drift: { buckets: drift.buckets, worst: drift.worst },
      ctr: report.ctr.map((x) => ({ variant: x.variant, ctr: Number(x.ctr?.toFixed(4)) })),
      peak_rss_mb: Math.round(peakRss / 2 ** 20),
      load: loadavg().map((x) => Number(x.toFixed(1))),
    }),
  );
} finally {
  clearInterval(sample);
  rmSync(root, { recursive: true, force: true });
}
