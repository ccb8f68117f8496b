import { existsSync, readdirSync } from 'node:fs';
import { lakePaths } from '../lake/paths.js';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ppError } from '../errors.js';
import { callServer, type ServerOptions } from '../analytics/client.js';
import { applyThresholds, computeDrift, driftOptionsFromConfig, writeDriftTable, type DriftResult } from '../analytics/drift.js';
import { analyticsQuery, toCsv, toTable, type QueryResult } from '../analytics/query.js';
import { analyticsReport, renderReport, type AnalyticsReport } from '../analytics/report.js';
import { openAnalytics, type AnalyticsSession } from '../analytics/source.js';
import { parseDuration, parseSince } from '../analytics/stats.js';
import { runCommand, type GlobalOptions } from './output.js';

type Opts = GlobalOptions & Record<string, string | boolean | undefined>;

/** lake/name from flags, the config file, or the lake's only dataset. */
function target(o: Opts): { c: Config; lake: string; name: string; split?: string; server?: ServerOptions } {
  const c = loadConfig({
    file: o.config as string | undefined,
    overrides: { 'lake.dir': o.lake, 'dataset.name': o.name, 'analytics.top_items': o.top, 'analytics.max_rows': o.maxRows },
  });
  const lake = c['lake.dir'];
  let name = c['dataset.name'];
  if (o.name === undefined && !o.config) {
    const staging = lakePaths(lake).stagingRoot;
    const names = existsSync(staging) ? readdirSync(staging, { withFileTypes: true }).filter((d) => (d.isDirectory() || d.isSymbolicLink()) && !d.name.startsWith('.')).map((d) => d.name) : [];
    if (names.length === 1) name = names[0];
  }
  const url = (o.server as string | undefined) ?? process.env.PLOTPOINTE_SERVER;
  const token = (o.token as string | undefined) ?? process.env.PLOTPOINTE_ADMIN_TOKEN;
  return { c, lake, name, split: o.split as string | undefined, server: url ? { url, token } : undefined };
}

async function withSession<T>(t: ReturnType<typeof target>, body: (s: AnalyticsSession) => Promise<T>): Promise<T> {
  const s = await openAnalytics({ lake: t.lake, name: t.name, split: t.split });
  try {
    return await body(s);
  } finally {
    s.close();
  }
}

const serverFlags = (cmd: Command) =>
  cmd
    .option('--server <url>', 'query the running server (env PLOTPOINTE_SERVER) — needed while it holds <lake>/logs/serving.duckdb')
    .option('--token <token>', "the server's admin bearer token for query (env PLOTPOINTE_ADMIN_TOKEN)");

const renderDrift = (d: DriftResult & { stored?: { path: string; rows: number } }) => {
  const lines = [`drift of ${d.dataset}${d.split ? ` (split ${d.split})` : ''}${d.variant ? `, variant ${d.variant}` : ''}: ${d.buckets} buckets of ${d.window_ms / 60_000} min, reference ${d.reference.from ?? '-'} → ${d.reference.to ?? '-'} (${d.reference.scores} scores)`];
  lines.push('worst: ' + Object.entries(d.worst).map(([m, s]) => `${m} ${s}`).join(', '));
  const buckets = [...new Set(d.rows.map((r) => r.bucket_start))].sort().slice(-6);
  lines.push('', `bucket (UTC)           ${Object.keys(d.worst).map((m) => m.padStart(20)).join('')}`);
  for (const b of buckets) {
    const cells = Object.keys(d.worst).map((m) => {
      const r = d.rows.find((x) => x.bucket_start === b && x.metric === m);
      return (r ? `${r.value === null ? '-' : r.value.toFixed(3)} ${r.status}` : '').padStart(20);
    });
    lines.push(`${b.slice(0, 16).padEnd(22)} ${cells.join('')}`);
  }
  if (d.stored) lines.push('', `stored ${d.rows.length} rows in ${d.stored.path} (${d.stored.rows} rows in all)`);
  for (const n of d.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
};

/** `plotpointe analytics report|query|drift`. */
export function registerAnalyticsCommands(program: Command, setExit: (code: number) => void): void {
  const analytics = program.command('analytics').description('reports, read-only SQL and drift over the lake and the serving logs (<lake>/logs/serving.duckdb)');

  serverFlags(
    analytics
      .command('report')
      .description('CTR by variant (95% interval), catalog coverage, popularity bias, latency percentiles per route, top items, events by type')
      .option('--lake <dir>', 'lake folder (config lake.dir)')
      .option('--name <name>', "dataset name (config dataset.name; default: the lake's only dataset)")
      .option('--split <name>', 'split whose train part defines popularity (default: the served run\'s split, else the only split)')
      .option('--since <when>', 'only the logs from this ISO time, or this far back (24h, 7d)')
      .option('--top <n>', 'items in the top-items table (config analytics.top_items)'),
  ).action(async (_o, cmd: Command) => {
    const o = cmd.optsWithGlobals() as Opts;
    setExit(
      await runCommand(
        o,
        async () => {
          const t = target(o);
          const since = o.since ? parseSince(String(o.since)) : undefined;
          if (t.server) {
            return callServer<AnalyticsReport>(t.server, 'v1/analytics/report', { query: { since: since?.toISOString(), split: t.split, top: t.c['analytics.top_items'] } });
          }
          return withSession(t, (s) => analyticsReport(s, { since, topItems: t.c['analytics.top_items'] }));
        },
        renderReport,
      ),
    );
  });

  serverFlags(
    analytics
      .command('query')
      .description(
        'one read-only SQL statement (SELECT/WITH/DESCRIBE/SHOW/PRAGMA table_info) over the views items, interactions, train, split_users, item_popularity, runs, run_metrics, datacard, requests, events, recommendations, drift',
      )
      .argument('<sql>', 'the statement, e.g. "SELECT variant, count(*) FROM requests GROUP BY 1"')
      .option('--lake <dir>', 'lake folder (config lake.dir)')
      .option('--name <name>', "dataset name (config dataset.name; default: the lake's only dataset)")
      .option('--split <name>', 'split of the train/split_users/item_popularity views')
      .option('--csv', 'print CSV (header + rows)')
      .option('--max-rows <n>', 'most rows returned (config analytics.max_rows)'),
  ).action(async (sql: string, _o, cmd: Command) => {
    const o = cmd.optsWithGlobals() as Opts;
    setExit(
      await runCommand(
        o,
        async () => {
          if (o.csv && o.json) throw ppError('PP_USAGE', '--csv and --json exclude each other');
          const t = target(o);
          if (t.server) {
            return callServer<QueryResult>(t.server, 'v1/analytics/query', { method: 'POST', body: { sql, max_rows: t.c['analytics.max_rows'], split: t.split } });
          }
          return withSession(t, (s) => analyticsQuery(s, sql, { maxRows: t.c['analytics.max_rows'] }));
        },
        (r) => (o.csv ? toCsv(r) : toTable(r)),
      ),
    );
  });

  serverFlags(
    analytics
      .command('drift')
      .description('per-window drift summaries (unknown users/items, 404 share, score PSI vs a reference window, embedding gap of new items) with ok/warn/alert status; stored in <lake>/logs/drift.parquet')
      .option('--lake <dir>', 'lake folder (config lake.dir)')
      .option('--name <name>', "dataset name (config dataset.name; default: the lake's only dataset)")
      .option('--split <name>', 'split that defines known users and trained items')
      .option('--window <duration>', 'bucket width, e.g. 1h, 30m (config drift.window)')
      .option('--reference <duration>', 'reference window of the score distribution: the first <duration> of the logs (config drift.reference)')
      .option('--since <when>', 'only buckets from this ISO time, or this far back (24h, 7d)')
      .option('--modality <m>', 'content vectors of the embedding gap: text | image (default: text when present)')
      .option('--variant <name>', 'only this A/B variant (default: all variants pooled)')
      .option('--fail-on <status>', 'exit 1 (PP_ANALYTICS_DRIFT) when a computed bucket has a metric at this status or worse: warn | alert')
      .option('--no-write', 'print only; do not store the rows in drift.parquet'),
  ).action(async (_o, cmd: Command) => {
    const o = cmd.optsWithGlobals() as Opts;
    setExit(
      await runCommand(
        o,
        async () => {
          const t = target(o);
          const window = (o.window as string | undefined) ?? t.c['drift.window'];
          const reference = (o.reference as string | undefined) ?? t.c['drift.reference'];
          const opts = driftOptionsFromConfig(t.c, parseDuration(window, '--window'), parseDuration(reference, '--reference'));
          const since = o.since ? parseSince(String(o.since)) : undefined;
          const modality = o.modality as 'text' | 'image' | undefined;
          if (modality !== undefined && modality !== 'text' && modality !== 'image') throw ppError('PP_USAGE', `--modality must be text or image, got "${modality}"`);
          const variant = o.variant as string | undefined;
          const failOn = o.failOn as string | undefined;
          if (failOn !== undefined && failOn !== 'warn' && failOn !== 'alert') throw ppError('PP_USAGE', `--fail-on must be warn or alert, got "${failOn}"`);
          const result: DriftResult = t.server
            ? applyThresholds(await callServer<DriftResult>(t.server, 'v1/analytics/drift', { query: { window, reference, since: since?.toISOString(), split: t.split, modality, variant } }), opts)
            : await withSession(t, (s) => computeDrift(s, { ...opts, since, modality, variant }));
          const stored = o.write === false ? undefined : await writeDriftTable(t.lake, result.rows);
          if (failOn) {
            const bad = result.rows.filter((r) => r.status === 'alert' || (failOn === 'warn' && r.status === 'warn'));
            if (bad.length > 0) {
              const first = bad.slice(0, 3).map((r) => `${r.metric} ${r.status} (${r.value?.toFixed(3)}) at ${r.bucket_start}`);
              throw ppError('PP_ANALYTICS_DRIFT', `${bad.length} metric-bucket(s) at ${failOn} or worse: ${first.join('; ')}${bad.length > 3 ? '; …' : ''}${stored ? ` (stored in ${stored.path})` : ''}`);
            }
          }
          return { ...result, stored };
        },
        renderDrift,
      ),
    );
  });
}
