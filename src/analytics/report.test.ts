import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../test-support/fixtures.js';
import { analyticsReport, type AnalyticsReport } from './report.js';
import { openAnalytics, type AnalyticsSession } from './source.js';
import { gini, psi, wilsonInterval } from './stats.js';
import { KIT, LOG_START, buildAnalyticsLake, generateLogs, itemId, trainPopularity, writeLogs, type LogEvent, type LogRequest } from './testkit.js';

/** Each figure of the report against a computation by hand from the generated rows. */

const hours = [
  { requests: 120, ctr: { A: 0.08, B: 0.16 } },
  { requests: 120, ctr: { A: 0.08, B: 0.16 }, notFound: 0.1, unknownUsers: 0.2 },
  { requests: 120, ctr: { A: 0.08, B: 0.16 }, newItems: 'drifted' as const },
];
let lake: string;
let logs: { requests: LogRequest[]; events: LogEvent[] };
let s: AnalyticsSession;
let report: AnalyticsReport;

before(async () => {
  lake = join(tempDir('analytics-report'), 'lake');
  await buildAnalyticsLake(lake);
  logs = generateLogs(hours, 3);
  await writeLogs(lake, logs);
  s = await openAnalytics({ lake, name: KIT.name });
  report = await analyticsReport(s, { topItems: 5 });
});
after(() => s?.close());

const close = (a: number | null, b: number, what: string, eps = 1e-9) => {
  assert.ok(a !== null && Math.abs(a - b) <= eps * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
};

/** numpy's default percentile: linear interpolation at h = (n − 1) p. */
function percentile(xs: number[], p: number): number {
  const v = [...xs].sort((a, b) => a - b);
  const h = (v.length - 1) * p;
  const lo = Math.floor(h);
  return v[lo] + (h - lo) * ((v[Math.min(lo + 1, v.length - 1)] ?? v[lo]) - v[lo]);
}

test('the session finds the only split and reads the logs from the file', () => {
  assert.equal(s.split, KIT.split);
  assert.equal(s.logs, 'file');
  assert.equal(report.requests, logs.requests.length);
  assert.equal(report.served, logs.requests.filter((r) => r.status === 200).length);
  assert.equal(report.events_total, logs.events.length);
  assert.equal(report.window.from, LOG_START.toISOString());
});

test('CTR per variant is clicks / impressions with a 95% Wilson interval', () => {
  assert.deepEqual(report.ctr.map((c) => c.variant), ['A', 'B']);
  for (const c of report.ctr) {
    const ev = logs.events.filter((e) => e.variant === c.variant);
    const imp = ev.filter((e) => e.type === 'impression').length;
    const clicks = ev.filter((e) => e.type === 'click').length;
    assert.equal(c.requests, logs.requests.filter((r) => r.variant === c.variant).length);
    assert.equal(c.impressions, imp);
    assert.equal(c.clicks, clicks);
    assert.equal(c.purchases, ev.filter((e) => e.type === 'purchase').length);
    close(c.ctr, clicks / imp, 'ctr');
    // Wilson by hand: (p + z²/2n ± z √(p(1−p)/n + z²/4n²)) / (1 + z²/n)
    const z = 1.959963984540054;
    const p = clicks / imp;
    const mid = (p + (z * z) / (2 * imp)) / (1 + (z * z) / imp);
    const half = (z * Math.sqrt((p * (1 - p)) / imp + (z * z) / (4 * imp * imp))) / (1 + (z * z) / imp);
    close(c.ci95![0], mid - half, 'ci low');
    close(c.ci95![1], mid + half, 'ci high');
    assert.ok(c.ci95![0] < c.ctr! && c.ctr! < c.ci95![1]);
  }
  // The generator's B clicks twice as often as A; with ~900 impressions each the intervals separate.
  const [a, b] = report.ctr;
  assert.ok(a.ci95![1] < b.ci95![0], `A ${a.ci95} vs B ${b.ci95}`);
});

test('the Wilson interval matches known values at the edges', () => {
  const [lo, hi] = wilsonInterval(0, 10);
  assert.equal(lo, 0);
  close(hi, 3.841458820694124 / (10 + 3.841458820694124), 'x = 0 upper bound z²/(n + z²)');
  const [lo2, hi2] = wilsonInterval(10, 10);
  close(lo2, 10 / (10 + 3.841458820694124), 'x = n lower bound n/(n + z²)');
  close(hi2, 1, 'x = n upper bound');
  assert.deepEqual(wilsonInterval(0, 0), [0, 1]);
});

test('catalog coverage counts distinct served catalog items, overall and per variant', () => {
  const served = logs.requests.filter((r) => r.status === 200);
  const distinct = new Set(served.flatMap((r) => r.items!.map((i) => i.item_id)));
  assert.equal(report.coverage.catalog_items, KIT.items);
  assert.equal(report.coverage.recommended_items, distinct.size);
  close(report.coverage.coverage, distinct.size / KIT.items, 'coverage');
  assert.equal(report.coverage.unknown_items, 0);
  for (const v of report.coverage.by_variant) {
    const d = new Set(served.filter((r) => r.variant === v.variant).flatMap((r) => r.items!.map((i) => i.item_id)));
    assert.equal(v.recommended_items, d.size, v.variant);
  }
});

test('popularity bias: mean train popularity of served slots vs the catalog, and the Gini of exposure', () => {
  const pop = (id: string) => trainPopularity(Number(id.slice(1)));
  const catalogMean = Array.from({ length: KIT.items }, (_, j) => trainPopularity(j)).reduce((a, b) => a + b, 0) / KIT.items;
  const slots = logs.requests.filter((r) => r.status === 200).flatMap((r) => r.items!.map((i) => i.item_id));
  const recMean = slots.reduce((a, id) => a + pop(id), 0) / slots.length;
  const p = report.popularity!;
  assert.equal(p.slots, slots.length);
  close(p.catalog_mean, catalogMean, 'catalog mean');
  close(p.recommended_mean, recMean, 'recommended mean');
  close(p.ratio, recMean / catalogMean, 'ratio');
  assert.ok(p.ratio! > 1.5, 'the generator draws items by popularity');
  // Gini by the mean absolute difference: G = Σ_i Σ_j |x_i − x_j| / (2 n² μ), over every catalog item.
  const exposure = Array.from({ length: KIT.items }, (_, j) => slots.filter((id) => id === itemId(j)).length);
  const n = exposure.length;
  const mu = exposure.reduce((a, b) => a + b, 0) / n;
  let mad = 0;
  for (const x of exposure) for (const y of exposure) mad += Math.abs(x - y);
  close(p.exposure_gini, mad / (2 * n * n * mu), 'gini');
  close(gini(exposure), mad / (2 * n * n * mu), 'stats.gini');
});

test('latency percentiles per route and overall use linear interpolation', () => {
  const routes = [...new Set(logs.requests.map((r) => r.route))];
  for (const route of [...routes, '*']) {
    const rows = logs.requests.filter((r) => route === '*' || r.route === route);
    const l = report.latency.find((x) => x.route === route)!;
    assert.ok(l, route);
    const lat = rows.map((r) => r.latency_ms);
    assert.equal(l.requests, rows.length);
    assert.equal(l.errors, rows.filter((r) => r.status >= 400).length);
    assert.equal(l.not_found, rows.filter((r) => r.status === 404).length);
    close(l.p50, percentile(lat, 0.5), `${route} p50`);
    close(l.p95, percentile(lat, 0.95), `${route} p95`);
    close(l.p99, percentile(lat, 0.99), `${route} p99`);
    close(l.max, Math.max(...lat), `${route} max`);
  }
  assert.ok(report.latency.find((l) => l.route === '/v1/similar')!.p50! > report.latency.find((l) => l.route === '/v1/recommend')!.p50!);
});

test('top items and events by type', () => {
  const served = logs.requests.filter((r) => r.status === 200);
  const count = new Map<string, number>();
  for (const r of served) for (const i of r.items!) count.set(i.item_id, (count.get(i.item_id) ?? 0) + 1);
  const expected = [...count.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5);
  assert.deepEqual(report.top_items.map((t) => [t.item_id, t.slots]), expected);
  for (const t of report.top_items) {
    assert.equal(t.clicks, logs.events.filter((e) => e.type === 'click' && e.item_id === t.item_id).length);
    assert.equal(t.title, `Product ${Number(t.item_id.slice(1))}`);
  }
  for (const type of ['impression', 'click', 'purchase']) {
    const row = report.events.find((e) => e.type === type)!;
    assert.equal(row.count, logs.events.filter((e) => e.type === type).length, type);
    assert.equal(row.users, new Set(logs.events.filter((e) => e.type === type).map((e) => e.user_id)).size, type);
  }
});

test('--since restricts every figure to the window', async () => {
  const since = new Date(LOG_START.getTime() + 2 * 3_600_000);
  const r = await analyticsReport(s, { since });
  const reqs = logs.requests.filter((q) => q.ts >= since);
  const evs = logs.events.filter((e) => e.ts >= since);
  assert.equal(r.requests, reqs.length);
  assert.equal(r.events_total, evs.length);
  const a = r.ctr.find((c) => c.variant === 'A')!;
  assert.equal(a.impressions, evs.filter((e) => e.variant === 'A' && e.type === 'impression').length);
  const distinct = new Set(reqs.filter((q) => q.status === 200).flatMap((q) => q.items!.map((i) => i.item_id)));
  assert.equal(r.coverage.recommended_items, distinct.size);
  assert.ok(distinct.has('i55'), 'the drifted hour shows new items');
});

test('a lake without logs gives an empty report with a note, not an error', async () => {
  const bare = join(tempDir('analytics-nologs'), 'lake');
  await buildAnalyticsLake(bare);
  const s2 = await openAnalytics({ lake: bare, name: KIT.name });
  try {
    const r = await analyticsReport(s2);
    assert.equal(s2.logs, 'none');
    assert.equal(r.requests, 0);
    assert.deepEqual(r.ctr, []);
    assert.equal(r.coverage.recommended_items, 0);
    assert.equal(r.popularity!.exposure_gini, null);
    assert.match(r.notes.join(' '), /no serving logs/);
  } finally {
    s2.close();
  }
});

test('PSI is zero for equal distributions and grows with the shift', () => {
  assert.equal(psi([10, 20, 30], [1, 2, 3]), 0);
  // By hand: p = (0.5, 0.5), q = (0.25, 0.75): (0.25)ln 2 + (−0.25) ln(2/3)
  close(psi([5, 5], [1, 3]), 0.25 * Math.log(2) - 0.25 * Math.log(2 / 3), 'psi');
  assert.ok(psi([1, 1, 8], [4, 3, 3]) > psi([3, 3, 4], [4, 3, 3]));
});
