import { randomBytes } from 'node:crypto';
import type { AnalyticsSession } from './source.js';
import { sqlTimestamp, wilsonInterval } from './stats.js';

/**
 * `plotpointe analytics report`: what the serving logs say about the models, as one JSON object.
 * All figures are over the window [since, now] (the whole log without `since`); "served" = requests with
 * a 2xx status, whose `items` are the recommendations (the `recommendations` view, one row per slot).
 *
 *  ctr[]         per variant (events.variant, else the request's variant): impressions, clicks, purchases
 *                (event counts), ctr = clicks / impressions and its 95% Wilson interval (stats.ts)
 *  coverage      catalog_items = distinct items in the catalog; recommended_items = distinct catalog items
 *                in served recommendations; coverage = recommended / catalog; the same per variant;
 *                unknown_items = distinct recommended ids not in the catalog
 *  popularity    pop(i) = train interactions of item i in the split; catalog_mean = mean pop over all
 *                catalog items; recommended_mean = mean pop over recommendation slots (an item shown twice
 *                counts twice); ratio = recommended_mean / catalog_mean (> 1: the model favours popular
 *                items); exposure_gini = Gini of slots per catalog item, never-shown items included as 0
 *  latency[]     per route and overall ('*'): requests, errors (status ≥ 400), not_found (404), p50/p95/p99
 *                of latency_ms (linear interpolation between order statistics, DuckDB quantile_cont =
 *                numpy's default), mean, max
 *  top_items[]   the most recommended items: slots, requests, clicks on them, title
 *  events[]      events per type: count, distinct users
 */

export interface CtrRow {
  variant: string;
  requests: number;
  impressions: number;
  clicks: number;
  purchases: number;
  ctr: number | null;
  ci95: [number, number] | null;
}

export interface LatencyRow {
  route: string;
  requests: number;
  errors: number;
  not_found: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  mean: number | null;
  max: number | null;
}

export interface AnalyticsReport {
  dataset: string;
  split: string | null;
  source: AnalyticsSession['logs'];
  since: string | null;
  window: { from: string | null; to: string | null };
  requests: number;
  served: number;
  events_total: number;
  ctr: CtrRow[];
  coverage: {
    catalog_items: number;
    recommended_items: number;
    coverage: number | null;
    unknown_items: number;
    by_variant: Array<{ variant: string; recommended_items: number; coverage: number | null }>;
  };
  popularity: {
    slots: number;
    catalog_mean: number | null;
    recommended_mean: number | null;
    ratio: number | null;
    exposure_gini: number | null;
  } | null;
  latency: LatencyRow[];
  top_items: Array<{ item_id: string; title: string | null; slots: number; requests: number; clicks: number }>;
  events: Array<{ type: string; count: number; users: number }>;
  notes: string[];
}

export interface ReportOptions {
  since?: Date;
  topItems?: number;
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const iso = (v: unknown): string | null => (v instanceof Date ? v.toISOString() : v === null || v === undefined ? null : String(v));

export async function analyticsReport(s: AnalyticsSession, options: ReportOptions = {}): Promise<AnalyticsReport> {
  const db = s.db;
  const since = options.since ? sqlTimestamp(options.since) : null;
  const and = (col = 'ts') => (since ? ` AND ${col} >= ${since}` : '');
  const ok = `status BETWEEN 200 AND 299`;
  // The served slots of the window, unnested from the JSON once (the view would parse it per query).
  const recs = `pp_recs_${randomBytes(4).toString('hex')}`;
  await db.run(`CREATE TEMP TABLE ${recs} AS SELECT request_id, variant, item_id FROM recommendations WHERE ${ok}${and()}`);
  try {
    return await buildReport(s, options, recs, and, ok);
  } finally {
    await db.run(`DROP TABLE IF EXISTS ${recs}`);
  }
}

async function buildReport(
  s: AnalyticsSession,
  options: ReportOptions,
  recs: string,
  and: (col?: string) => string,
  ok: string,
): Promise<AnalyticsReport> {
  const db = s.db;
  const evts = `(SELECT * FROM events WHERE true${and()})`;

  const totals = await db.one<Record<string, unknown>>(
    `SELECT count(*) AS requests, count(*) FILTER (WHERE ${ok}) AS served, min(ts) AS first, max(ts) AS last FROM requests WHERE true${and()}`,
  );
  const eventsTotal = num((await db.one<{ n: unknown }>(`SELECT count(*) AS n FROM ${evts}`))?.n);

  // CTR per variant.
  const perVariant = await db.all<Record<string, unknown>>(
    `WITH rv AS (SELECT request_id, any_value(variant) AS variant FROM requests GROUP BY request_id),
          ev AS (SELECT coalesce(e.variant, rv.variant, 'unknown') AS variant, e.type FROM ${evts} e LEFT JOIN rv USING (request_id)),
          rq AS (SELECT coalesce(variant, 'unknown') AS variant, count(*) AS requests FROM requests WHERE true${and()} GROUP BY 1),
          ec AS (SELECT variant, count(*) FILTER (WHERE type = 'impression') AS impressions, count(*) FILTER (WHERE type = 'click') AS clicks,
                        count(*) FILTER (WHERE type = 'purchase') AS purchases FROM ev GROUP BY 1)
     SELECT coalesce(rq.variant, ec.variant) AS variant, coalesce(rq.requests, 0) AS requests, coalesce(impressions, 0) AS impressions,
            coalesce(clicks, 0) AS clicks, coalesce(purchases, 0) AS purchases
       FROM rq FULL JOIN ec USING (variant) ORDER BY variant`,
  );
  const ctr: CtrRow[] = perVariant.map((r) => {
    const impressions = num(r.impressions);
    const clicks = num(r.clicks);
    return {
      variant: String(r.variant),
      requests: num(r.requests),
      impressions,
      clicks,
      purchases: num(r.purchases),
      ctr: impressions > 0 ? clicks / impressions : null,
      ci95: impressions > 0 ? wilsonInterval(clicks, impressions) : null,
    };
  });

  // Coverage.
  const catalog = num((await db.one<{ n: unknown }>(`SELECT count(DISTINCT item_id) AS n FROM items`))?.n);
  const cov = await db.one<Record<string, unknown>>(
    `SELECT count(DISTINCT item_id) FILTER (WHERE item_id IN (SELECT item_id FROM items)) AS recommended,
            count(DISTINCT item_id) FILTER (WHERE item_id NOT IN (SELECT item_id FROM items)) AS unknown FROM ${recs}`,
  );
  const covByVariant = await db.all<Record<string, unknown>>(
    `SELECT coalesce(variant, 'unknown') AS variant, count(DISTINCT item_id) AS recommended FROM ${recs}
      WHERE item_id IN (SELECT item_id FROM items) GROUP BY 1 ORDER BY 1`,
  );

  // Popularity bias (needs the split's train part).
  let popularity: AnalyticsReport['popularity'] = null;
  if (s.split) {
    const p = await db.one<Record<string, unknown>>(
      `WITH slots AS (SELECT item_id, count(*) AS n FROM ${recs} GROUP BY item_id),
            expo AS (SELECT p.item_id, p.train_count, coalesce(slots.n, 0) AS n FROM item_popularity p LEFT JOIN slots USING (item_id)),
            ranked AS (SELECT n, row_number() OVER (ORDER BY n) AS k, count(*) OVER () AS big_n, sum(n) OVER () AS total FROM expo)
       SELECT (SELECT avg(train_count) FROM item_popularity) AS catalog_mean,
              (SELECT sum(train_count * n) / nullif(sum(n), 0) FROM expo) AS recommended_mean,
              (SELECT sum(n) FROM expo) AS slots,
              (SELECT sum((2 * k - big_n - 1) * n) / nullif(any_value(big_n) * any_value(total), 0) FROM ranked) AS gini`,
    );
    const catalogMean = numOrNull(p?.catalog_mean);
    const recMean = numOrNull(p?.recommended_mean);
    popularity = {
      slots: num(p?.slots),
      catalog_mean: catalogMean,
      recommended_mean: recMean,
      ratio: catalogMean && recMean !== null ? recMean / catalogMean : null,
      exposure_gini: num(p?.slots) > 0 ? numOrNull(p?.gini) : null,
    };
  }

  // Latency per route, then overall.
  const latencySql = (group: string) =>
    `SELECT ${group} AS route, count(*) AS requests, count(*) FILTER (WHERE status >= 400) AS errors, count(*) FILTER (WHERE status = 404) AS not_found,
            quantile_cont(latency_ms, 0.5) AS p50, quantile_cont(latency_ms, 0.95) AS p95, quantile_cont(latency_ms, 0.99) AS p99,
            avg(latency_ms) AS mean, max(latency_ms) AS max
       FROM requests WHERE true${and()} ${group === "'*'" ? '' : 'GROUP BY 1 ORDER BY requests DESC, route'}`;
  const latencyRows = [...(await db.all<Record<string, unknown>>(latencySql('route'))), ...(await db.all<Record<string, unknown>>(latencySql("'*'")))];
  const latency: LatencyRow[] = latencyRows
    .filter((r) => num(r.requests) > 0)
    .map((r) => ({
      route: String(r.route),
      requests: num(r.requests),
      errors: num(r.errors),
      not_found: num(r.not_found),
      p50: numOrNull(r.p50),
      p95: numOrNull(r.p95),
      p99: numOrNull(r.p99),
      mean: numOrNull(r.mean),
      max: numOrNull(r.max),
    }));

  const top = await db.all<Record<string, unknown>>(
    `WITH s AS (SELECT item_id, count(*) AS slots, count(DISTINCT request_id) AS requests FROM ${recs} GROUP BY item_id),
          c AS (SELECT item_id, count(*) AS clicks FROM ${evts} WHERE type = 'click' GROUP BY item_id),
          t AS (SELECT item_id, any_value(title) AS title FROM items GROUP BY item_id)
     SELECT s.item_id, t.title, s.slots, s.requests, coalesce(c.clicks, 0) AS clicks
       FROM s LEFT JOIN c USING (item_id) LEFT JOIN t USING (item_id)
      ORDER BY s.slots DESC, s.item_id LIMIT ${Math.max(1, Math.floor(options.topItems ?? 10))}`,
  );
  const events = await db.all<Record<string, unknown>>(
    `SELECT coalesce(type, 'unknown') AS type, count(*) AS count, count(DISTINCT user_id) AS users FROM ${evts} GROUP BY 1 ORDER BY count DESC, type`,
  );

  return {
    dataset: s.name,
    split: s.split,
    source: s.logs,
    since: options.since ? options.since.toISOString() : null,
    window: { from: iso(totals?.first), to: iso(totals?.last) },
    requests: num(totals?.requests),
    served: num(totals?.served),
    events_total: eventsTotal,
    ctr,
    coverage: {
      catalog_items: catalog,
      recommended_items: num(cov?.recommended),
      coverage: catalog > 0 ? num(cov?.recommended) / catalog : null,
      unknown_items: num(cov?.unknown),
      by_variant: covByVariant.map((r) => ({
        variant: String(r.variant),
        recommended_items: num(r.recommended),
        coverage: catalog > 0 ? num(r.recommended) / catalog : null,
      })),
    },
    popularity,
    latency,
    top_items: top.map((r) => ({ item_id: String(r.item_id), title: r.title === null ? null : String(r.title), slots: num(r.slots), requests: num(r.requests), clicks: num(r.clicks) })),
    events: events.map((r) => ({ type: String(r.type), count: num(r.count), users: num(r.users) })),
    notes: [...s.notes],
  };
}

/** The report for people: a few aligned tables. */
export function renderReport(r: AnalyticsReport): string {
  const pct = (x: number | null, d = 1) => (x === null ? '-' : `${(100 * x).toFixed(d)}%`);
  const f = (x: number | null, d = 2) => (x === null ? '-' : x.toFixed(d));
  const lines: string[] = [];
  lines.push(`analytics of ${r.dataset}${r.split ? ` (split ${r.split})` : ''}, logs: ${r.source}, ${r.window.from ?? '-'} → ${r.window.to ?? '-'}${r.since ? ` (since ${r.since})` : ''}`);
  lines.push(`requests ${r.requests} (served ${r.served}), events ${r.events_total}`);
  lines.push('', 'CTR by variant        requests  impressions  clicks  CTR      95% CI');
  for (const c of r.ctr) {
    lines.push(
      `  ${c.variant.padEnd(18)} ${String(c.requests).padStart(9)} ${String(c.impressions).padStart(12)} ${String(c.clicks).padStart(7)}  ${pct(c.ctr, 2).padStart(7)}  ${c.ci95 ? `${pct(c.ci95[0], 2)} – ${pct(c.ci95[1], 2)}` : '-'}`,
    );
  }
  lines.push('', `coverage: ${r.coverage.recommended_items} of ${r.coverage.catalog_items} catalog items recommended (${pct(r.coverage.coverage)})` + (r.coverage.unknown_items ? `, ${r.coverage.unknown_items} unknown ids` : ''));
  for (const v of r.coverage.by_variant) lines.push(`  ${v.variant}: ${v.recommended_items} (${pct(v.coverage)})`);
  if (r.popularity) {
    lines.push(
      `popularity: recommended items have ${f(r.popularity.recommended_mean)} train interactions on average vs catalog ${f(r.popularity.catalog_mean)} (×${f(r.popularity.ratio)}); exposure Gini ${f(r.popularity.exposure_gini, 3)} over ${r.popularity.slots} slots`,
    );
  }
  const w = Math.max(20, ...r.latency.map((l) => l.route.length));
  lines.push('', `${'latency (ms)'.padEnd(w + 2)} ${'requests'.padStart(8)} ${'errors'.padStart(7)} ${'p50'.padStart(8)} ${'p95'.padStart(8)} ${'p99'.padStart(8)}`);
  for (const l of r.latency) {
    lines.push(`  ${l.route.padEnd(w)} ${String(l.requests).padStart(8)} ${String(l.errors).padStart(7)} ${f(l.p50, 1).padStart(8)} ${f(l.p95, 1).padStart(8)} ${f(l.p99, 1).padStart(8)}`);
  }
  lines.push('', 'top items              slots  clicks  title');
  for (const t of r.top_items) lines.push(`  ${t.item_id.padEnd(20)} ${String(t.slots).padStart(6)} ${String(t.clicks).padStart(7)}  ${(t.title ?? '').slice(0, 60)}`);
  lines.push('', 'events: ' + (r.events.map((e) => `${e.type} ${e.count}`).join(', ') || 'none'));
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}
