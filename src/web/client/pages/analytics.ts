import { api, ApiError } from '../api.js';
import { empty, fmt, h, pct, section, table } from '../dom.js';
import type { PageContext } from '../main.js';

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

function ctrTable(r: Json): HTMLElement {
  const rows = rowsOf(r.ctr_by_variant ?? r.ctr);
  if (rows.length === 0) return empty('No data yet: no impressions have been logged.');
  return table(
    'Clicks per impression, per model variant',
    ['variant', 'impressions', 'clicks', 'CTR'],
    rows.map((x) => [String(x.variant ?? '–'), fmt(Number(x.impressions)), fmt(Number(x.clicks)), h('span', { 'data-ctr-variant': String(x.variant) }, pct(x.ctr === null || x.ctr === undefined ? null : Number(x.ctr), 2))]),
    { id: 'ctr-table' },
  );
}

function coverage(r: Json): HTMLElement {
  const cov = (r.coverage ?? null) as Json | null;
  const pop = (r.popularity_bias ?? r.popularity ?? null) as Json | null;
  if (!cov && !pop) return empty('No data yet: no recommendations have been logged.');
  const stats = (o: Json | null, prefix: string) =>
    o ? Object.entries(o).filter(([, v]) => typeof v === 'number').map(([k, v]) => h('div', { 'data-stat': `${prefix}.${k}` }, h('dt', {}, `${prefix} ${k.replace(/_/g, ' ')}`), h('dd', {}, fmt(v as number, 4)))) : [];
  return h('dl', { class: 'stats', id: 'coverage-stats' }, ...stats(cov, 'coverage'), ...stats(pop, 'popularity'));
}

function driftTable(d: Json): HTMLElement {
  const rows = rowsOf(d.rows ?? d.drift ?? d.buckets ?? d.metrics);
  if (rows.length === 0) return empty('No data yet: no drift summaries have been computed.');
  const cols = [...new Set(rows.flatMap((x) => Object.keys(x)))];
  return table(
    'Drift summaries (ok / warn / alert against the configured thresholds)',
    cols,
    rows.map((x) => cols.map((c) => (c === 'status' ? h('span', { class: `badge ${String(x[c])}` }, String(x[c])) : typeof x[c] === 'number' ? fmt(x[c] as number, 4) : String(x[c] ?? '–')))),
    { id: 'drift-table' },
  );
}
