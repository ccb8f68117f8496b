import { api, ApiError } from '../api.js';
import { empty, fmt, h, pct, section, table } from '../dom.js';
import type { PageContext } from '../page.js';

/**
 * Analytics: CTR by variant, catalog coverage, popularity bias and drift status, from the analytics routes of
 * the serving app (src/serving/routes/analytics.ts). When a route is missing or the logs hold no data yet, the
 * page says so — it never shows a number the server did not compute.
 */

/** The analytics routes the page reads. */
export const ANALYTICS_ROUTES = {
  report: '/v1/analytics/report',
  drift: '/v1/analytics/drift',
} as const;

type Json = Record<string, unknown>;

async function load(path: string): Promise<{ data: Json | null; note: string | null }> {
  try {
    return { data: await api<Json>(path), note: null };
  } catch (err) {
    const e = err as ApiError;
    return { data: null, note: e.status === 404 && !e.code?.startsWith('PP_ANALYTICS') ? `${path} is not available on this server.` : e.message };
  }
}

export async function renderAnalytics({ main, alive }: PageContext): Promise<void> {
  const [report, drift] = await Promise.all([load(ANALYTICS_ROUTES.report), load(ANALYTICS_ROUTES.drift)]);
  if (!alive()) return;
  const r = report.data;
  main.append(
    h(
      'div',
      { class: 'grid two' },
      section('CTR by variant', r ? ctrTable(r) : empty(`No data yet: ${report.note}`)),
      section('Catalog coverage and popularity bias', r ? coverage(r) : empty(`No data yet: ${report.note}`)),
    ),
    section('Drift status', drift.data ? driftTable(drift.data) : empty(`No data yet: ${drift.note}`)),
  );
}

const rowsOf = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

/** CTR per variant with its 95% interval (report.ctr). */
function ctrTable(r: Json): HTMLElement {
  const rows = rowsOf(r.ctr);
  if (rows.length === 0 || rows.every((x) => !num(x.impressions))) return empty('No data yet: no impressions have been logged.');
  return table(
    'Clicks per impression, per model variant',
    ['variant', 'requests', 'impressions', 'clicks', 'CTR', '95% interval'],
    rows.map((x) => {
      const ci = Array.isArray(x.ci95) ? (x.ci95 as number[]) : null;
      return [
        String(x.variant ?? '–'),
        fmt(num(x.requests)),
        fmt(num(x.impressions)),
        fmt(num(x.clicks)),
        h('span', { 'data-ctr-variant': String(x.variant) }, pct(num(x.ctr), 2)),
        ci ? `${pct(ci[0], 2)} – ${pct(ci[1], 2)}` : '–',
      ];
    }),
    { id: 'ctr-table' },
  );
}

/** Catalog coverage (share of items ever recommended) and popularity bias of what was recommended. */
function coverage(r: Json): HTMLElement {
  const cov = (r.coverage ?? null) as Json | null;
  const pop = (r.popularity ?? null) as Json | null;
  if (!num(r.served) || !cov) return empty('No data yet: no recommendations have been logged.');
  const stat = (key: string, label: string, value: string) => h('div', { 'data-stat': key }, h('dt', {}, label), h('dd', {}, value));
  return h(
    'div',
    {},
    h(
      'dl',
      { class: 'stats', id: 'coverage-stats' },
      stat('coverage', 'Catalog coverage', pct(num(cov.coverage), 1)),
      stat('recommended_items', 'Items recommended', `${fmt(num(cov.recommended_items))} of ${fmt(num(cov.catalog_items))}`),
      stat('served', 'Recommendation responses', fmt(num(r.served))),
      ...(pop
        ? [
            stat('popularity_ratio', 'Popularity of recommended / catalog mean', fmt(num(pop.ratio), 2)),
            stat('exposure_gini', 'Exposure Gini', fmt(num(pop.exposure_gini), 3)),
          ]
        : []),
    ),
    rowsOf(cov.by_variant).length
      ? table('Coverage per variant', ['variant', 'items recommended', 'coverage'], rowsOf(cov.by_variant).map((v) => [String(v.variant), fmt(num(v.recommended_items)), pct(num(v.coverage), 1)]))
      : null,
  );
}

/** The worst status per drift metric, then the rows of the latest bucket. */
function driftTable(d: Json): HTMLElement {
  const rows = rowsOf(d.rows);
  if (rows.length === 0) return empty('No data yet: no drift summaries have been computed.');
  const worst = (d.worst ?? {}) as Record<string, string>;
  const last = String(rows.map((x) => String(x.bucket_start)).sort().at(-1));
  return h(
    'div',
    {},
    h('p', {}, 'Worst status per metric: ', ...Object.entries(worst).flatMap(([m, st]) => [h('span', { class: `badge ${st}`, 'data-drift-metric': m }, `${m}: ${st}`), ' '])),
    table(
      `Latest bucket (${last})`,
      ['metric', 'value', 'samples', 'warn at', 'alert at', 'status'],
      rows.filter((x) => String(x.bucket_start) === last).map((x) => [String(x.metric), fmt(num(x.value), 4), fmt(num(x.n)), fmt(num(x.warn), 3), fmt(num(x.alert), 3), h('span', { class: `badge ${String(x.status)}` }, String(x.status))]),
      { id: 'drift-table' },
    ),
  );
}
