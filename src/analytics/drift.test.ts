import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { loadEmbeddings } from '../embeddings/store.js';
import { openDb, sqlString } from '../lake/duckdb.js';
import { tempDir } from '../test-support/fixtures.js';
import { applyThresholds, computeDrift, driftOptionsFromConfig, writeDriftTable, type DriftMetric, type DriftOptions, type DriftResult } from './drift.js';
import { openAnalytics, type AnalyticsSession } from './source.js';
import { KIT, LOG_START, buildAnalyticsLake, generateLogs, writeLogs, type LogEvent, type LogRequest } from './testkit.js';
import { datasetPaths, lakePaths } from '../lake/paths.js';

/**
 * Logs with known drift: hours 0–1 are the reference traffic; hour 2 brings many unknown users and higher
 * scores; hour 3 many 404s and new items far from the catalog; hour 4 new items close to it. Every value is
 * recomputed by hand, and the statuses are checked to flip exactly at the thresholds.
 */

const H = 3_600_000;
const base = { requests: 100, ctr: { A: 0.1, B: 0.1 } };
const hours = [base, base, { ...base, unknownUsers: 0.45, scoreMean: 0.65 }, { ...base, notFound: 0.25, newItems: 'drifted' as const }, { ...base, newItems: 'similar' as const }];
let lake: string;
let logs: { requests: LogRequest[]; events: LogEvent[] };
let s: AnalyticsSession;
let opts: DriftOptions;
let d: DriftResult;

before(async () => {
  lake = join(tempDir('analytics-drift'), 'lake');
  await buildAnalyticsLake(lake);
  logs = generateLogs(hours, 11);
  await writeLogs(lake, logs);
  s = await openAnalytics({ lake, name: KIT.name });
  opts = driftOptionsFromConfig(loadConfig(), H, 2 * H);
  d = await computeDrift(s, opts);
});
after(() => s?.close());

const hourOf = (t: Date) => Math.floor((t.getTime() - LOG_START.getTime()) / H);
const row = (r: DriftResult, hour: number, m: DriftMetric) => r.rows.find((x) => x.metric === m && x.bucket_start === new Date(LOG_START.getTime() + hour * H).toISOString())!;
const close = (a: number | null, b: number, what: string) => assert.ok(a !== null && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

function quantile(sorted: number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  return sorted[lo] + (h - lo) * ((sorted[lo + 1] ?? sorted[lo]) - sorted[lo]);
}

test('one row per hour and metric, with bucket bounds and thresholds', () => {
  assert.equal(d.buckets, hours.length);
  assert.equal(d.rows.length, hours.length * 5);
  const r = row(d, 3, 'not_found_share');
  assert.equal(r.bucket_end, new Date(LOG_START.getTime() + 4 * H).toISOString());
  assert.equal(r.warn, 0.02);
  assert.equal(r.alert, 0.1);
  assert.equal(d.reference.from, LOG_START.toISOString());
  assert.equal(d.reference.to, new Date(LOG_START.getTime() + 2 * H).toISOString());
});

test('404 share and unknown-user share per hour match the logs', () => {
  for (let h = 0; h < hours.length; h++) {
    const reqs = logs.requests.filter((q) => hourOf(q.ts) === h);
    const nf = row(d, h, 'not_found_share');
    assert.equal(nf.n, reqs.length);
    close(nf.value, reqs.filter((q) => q.status === 404).length / reqs.length, `404 share h${h}`);
    const uu = row(d, h, 'unknown_user_share');
    close(uu.value, reqs.filter((q) => q.user_id.startsWith('new-')).length / reqs.length, `unknown users h${h}`);
  }
  assert.equal(row(d, 0, 'unknown_user_share').status, 'ok');
  assert.equal(row(d, 2, 'unknown_user_share').status, 'alert');
  assert.equal(row(d, 3, 'not_found_share').status, 'alert');
  assert.equal(row(d, 1, 'not_found_share').status, 'ok');
});

test('unknown-item share counts events on items without train interactions', () => {
  for (let h = 0; h < hours.length; h++) {
    const evs = logs.events.filter((e) => hourOf(e.ts) === h);
    const r = row(d, h, 'unknown_item_share');
    assert.equal(r.n, evs.length);
    close(r.value, evs.filter((e) => Number(e.item_id.slice(1)) >= KIT.warm).length / evs.length, `unknown items h${h}`);
  }
  assert.equal(row(d, 0, 'unknown_item_share').value, 0);
  assert.ok(row(d, 3, 'unknown_item_share').value! > 0.1);
});

test('score PSI against the reference hours, by hand', () => {
  const scores = (pred: (h: number) => boolean) => logs.requests.filter((q) => q.status === 200 && pred(hourOf(q.ts))).flatMap((q) => q.items!.map((i) => i.score));
  const ref = scores((h) => h < 2).sort((a, b) => a - b);
  const B = opts.psiBins;
  const edges = Array.from({ length: B - 1 }, (_, j) => quantile(ref, (j + 1) / B));
  const bins = (xs: number[]) => {
    const c = new Array<number>(B).fill(0);
    for (const x of xs) {
      let b = edges.findIndex((e) => x <= e);
      if (b < 0) b = B - 1;
      c[b]++;
    }
    return c.map((n) => Math.max(n / xs.length, 1e-4));
  };
  const q = bins(ref);
  for (let h = 0; h < hours.length; h++) {
    const cur = scores((x) => x === h);
    const p = bins(cur);
    const expected = p.reduce((acc, pb, b) => acc + (pb - q[b]) * Math.log(pb / q[b]), 0);
    const r = row(d, h, 'score_psi');
    assert.equal(r.n, cur.length);
    close(r.value, expected, `psi h${h}`);
  }
  assert.equal(row(d, 0, 'score_psi').status, 'ok');
  assert.equal(row(d, 2, 'score_psi').status, 'alert', 'scores moved up by 1.5 sd');
});

test('embedding gap of new items: trained items\' mean cosine to their centroid minus the new items\'', async () => {
  const emb = await loadEmbeddings(datasetPaths(lake, KIT.name).embeddings, 'text');
  const unit = (j: number) => {
    const v = Array.from(emb.data.subarray(j * emb.dim, (j + 1) * emb.dim));
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  const c = new Array<number>(emb.dim).fill(0);
  for (let j = 0; j < KIT.warm; j++) unit(j).forEach((x, k) => (c[k] += x));
  const cn = Math.hypot(...c);
  const cos = (j: number) => unit(j).reduce((a, x, k) => a + (x * c[k]) / cn, 0);
  const baseline = Array.from({ length: KIT.warm }, (_, j) => cos(j)).reduce((a, b) => a + b, 0) / KIT.warm;
  for (let h = 0; h < hours.length; h++) {
    const seen = new Set([
      ...logs.requests.filter((q) => q.status === 200 && hourOf(q.ts) === h).flatMap((q) => q.items!.map((i) => i.item_id)),
      ...logs.events.filter((e) => hourOf(e.ts) === h).map((e) => e.item_id),
    ]);
    const fresh = [...seen].map((id) => Number(id.slice(1))).filter((j) => j >= KIT.warm);
    const r = row(d, h, 'embedding_gap');
    assert.equal(r.n, fresh.length, `h${h}`);
    if (fresh.length === 0) {
      assert.equal(r.value, null);
      assert.equal(r.status, 'na');
    } else {
      close(r.value, baseline - fresh.reduce((a, j) => a + cos(j), 0) / fresh.length, `gap h${h}`);
    }
  }
  assert.equal(row(d, 3, 'embedding_gap').status, 'alert', 'items along another axis');
  assert.equal(row(d, 4, 'embedding_gap').status, 'ok', 'items like the catalog');
});

test('statuses flip exactly at the thresholds', async () => {
  const metrics: DriftMetric[] = ['not_found_share', 'unknown_user_share', 'unknown_item_share', 'score_psi', 'embedding_gap'];
  const at = async (m: DriftMetric, hour: number, warn: number, alert: number) => {
    const r = await computeDrift(s, { ...opts, thresholds: { ...opts.thresholds, [m]: { warn, alert } } });
    return row(r, hour, m).status;
  };
  for (const m of metrics) {
    // The hour where the metric is largest.
    const hour = [...hours.keys()].reduce((best, h) => ((row(d, h, m).value ?? -1) > (row(d, best, m).value ?? -1) ? h : best), 0);
    const v = row(d, hour, m).value!;
    assert.ok(v > 0, `${m} has a value`);
    assert.equal(await at(m, hour, v, v + 1), 'warn', `${m}: value = warn → warn`);
    assert.equal(await at(m, hour, v * (1 + 1e-9), v + 1), 'ok', `${m}: value just below warn → ok`);
    assert.equal(await at(m, hour, v / 2, v), 'alert', `${m}: value = alert → alert`);
    assert.equal(await at(m, hour, v / 2, v * (1 + 1e-9)), 'warn', `${m}: value just below alert → warn`);
  }
});

test('too few samples give na; the worst status per metric is reported', async () => {
  const r = await computeDrift(s, { ...opts, minCount: 101 });
  assert.equal(row(r, 0, 'not_found_share').status, 'na', '100 requests < 101');
  assert.equal(d.worst.not_found_share, 'alert');
  assert.equal(d.worst.score_psi, 'alert');
  const late = await computeDrift(s, { ...opts, since: new Date(LOG_START.getTime() + 4 * H) });
  assert.equal(late.buckets, 1);
  assert.equal(late.worst.not_found_share, 'ok');
});

test('drift.parquet keeps one row per dataset, bucket and metric across re-runs', async () => {
  const first = await writeDriftTable(lake, d.rows);
  assert.equal(first.rows, d.rows.length);
  const again = await writeDriftTable(lake, d.rows.slice(0, 5).map((r) => ({ ...r, value: 0.5, status: 'warn' as const })));
  assert.equal(again.rows, d.rows.length);
  const db = await openDb();
  try {
    const got = await db.all<{ metric: string; value: number; status: string }>(
      `SELECT metric, value, status FROM read_parquet(${sqlString(again.path)}) WHERE bucket_start = TIMESTAMP '2026-11-20 00:00:00' ORDER BY metric`,
    );
    assert.equal(got.length, 5);
    assert.ok(got.every((g) => g.value === 0.5 && g.status === 'warn'));
  } finally {
    db.close();
  }
  const s2 = await openAnalytics({ lake, name: KIT.name });
  try {
    assert.ok(s2.tables.includes('drift'));
    const n = await s2.db.one<{ n: number }>(`SELECT count(*) AS n FROM drift WHERE status = 'alert'`);
    assert.ok(n!.n >= 3);
  } finally {
    s2.close();
  }
});

test('alert below warn in the config is refused', () => {
  assert.throws(() => driftOptionsFromConfig(loadConfig({ overrides: { 'drift.score_psi.warn': 0.3, 'drift.score_psi.alert': 0.2 } }), H, H), /PP_CONFIG_INVALID|must be ≥/);
});

test('re-applying thresholds to computed rows equals computing with them', async () => {
  const strict = { ...opts, minCount: 50, thresholds: { ...opts.thresholds, unknown_item_share: { warn: 0.01, alert: 0.02 }, score_psi: { warn: 0.001, alert: 0.002 } } };
  const direct = await computeDrift(s, strict);
  const re = applyThresholds(d, strict);
  assert.deepEqual(
    re.rows.map((r) => [r.bucket_start, r.metric, r.status, r.warn, r.alert]),
    direct.rows.map((r) => [r.bucket_start, r.metric, r.status, r.warn, r.alert]),
  );
  assert.deepEqual(re.worst, direct.worst);
  assert.ok(re.rows.some((r, i) => r.status !== d.rows[i].status), 'the stricter thresholds change some statuses');
});

test('--variant: a score shift in one variant alerts there and not in the other; rows are kept per variant', async () => {
  const vlake = join(tempDir('analytics-drift-variant'), 'lake');
  await buildAnalyticsLake(vlake);
  await writeLogs(vlake, generateLogs([{ requests: 200, ctr: { A: 0.1, B: 0.1 } }, { requests: 200, ctr: { A: 0.1, B: 0.1 }, scoreMeanByVariant: { B: 0.7 } }], 21));
  const vs = await openAnalytics({ lake: vlake, name: KIT.name });
  try {
    const o = { ...opts, referenceMs: H };
    const a = await computeDrift(vs, { ...o, variant: 'A' });
    const b = await computeDrift(vs, { ...o, variant: 'B' });
    const pooled = await computeDrift(vs, o);
    assert.equal(a.variant, 'A');
    assert.equal(row(a, 1, 'score_psi').status, 'ok');
    assert.equal(row(b, 1, 'score_psi').status, 'alert');
    assert.equal(row(a, 1, 'not_found_share').n, 100, 'half of the 200 requests');
    assert.ok(row(pooled, 1, 'score_psi').value! < row(b, 1, 'score_psi').value!, 'pooling dilutes the shift');
    await writeDriftTable(vlake, pooled.rows);
    await writeDriftTable(vlake, a.rows);
    const all = await writeDriftTable(vlake, b.rows);
    assert.equal(all.rows, 3 * pooled.rows.length);
  } finally {
    vs.close();
  }
});

test('a drift.parquet written before the variant column is merged as pooled rows', async () => {
  const olake = join(tempDir('analytics-drift-old'), 'lake');
  const path = lakePaths(olake).drift;
  const db = await openDb();
  try {
    await (await import('node:fs/promises')).mkdir(lakePaths(olake).logs, { recursive: true });
    await db.run(`COPY (SELECT 'shop' AS dataset, TIMESTAMP '2026-11-19 00:00:00' AS bucket_start, TIMESTAMP '2026-11-19 01:00:00' AS bucket_end, 'score_psi' AS metric,
      0.3 AS value, 50::BIGINT AS n, 0.1 AS warn, 0.25 AS alert, 'alert' AS status, NULL::TIMESTAMP AS reference_from, NULL::TIMESTAMP AS reference_to,
      TIMESTAMP '2026-11-19 02:00:00' AS computed_at) TO ${sqlString(path)} (FORMAT parquet)`);
  } finally {
    db.close();
  }
  const w = await writeDriftTable(olake, d.rows);
  assert.equal(w.rows, d.rows.length + 1);
  const db2 = await openDb();
  try {
    const old = await db2.one<{ variant: string; value: number }>(`SELECT variant, value FROM read_parquet(${sqlString(path)}) WHERE bucket_start = TIMESTAMP '2026-11-19 00:00:00'`);
    assert.deepEqual(old, { variant: '*', value: 0.3 });
  } finally {
    db2.close();
  }
});
