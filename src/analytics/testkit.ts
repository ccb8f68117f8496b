import { mkdirSync, writeFileSync } from 'node:fs';
import { openDb, sqlString } from '../lake/duckdb.js';
import { datasetPaths, lakePaths } from '../lake/paths.js';
import { writeEmbeddings } from '../embeddings/store.js';
import { EVENTS_DDL, REQUESTS_DDL } from './log-schema.js';

/**
 * Test data for analytics: a small lake whose every number is known, and serving logs generated from a
 * per-hour spec (traffic, variants' click rates, unknown users, 404s, score shift, which new items are
 * shown), returned as plain arrays so tests can compute each figure by hand and compare.
 *
 * Lake (dataset `shop`, split `s1`): 60 catalog items i00..i59; i00..i49 have train interactions with
 * popularity pop(j) = max(1, ⌊24 / (j + 1)⌋) + (j % 3); i50..i59 are new (in the catalog, never in train).
 * 40 users u00..u39 are in the split. Text embeddings (8-d): warm items near e0; "similar" new items
 * i50..i54 near e0 too; "drifted" new items i55..i59 near e1.
 */

export const KIT = { name: 'shop', split: 's1', items: 60, warm: 50, users: 40, dim: 8 } as const;

export const itemId = (j: number) => `i${String(j).padStart(2, '0')}`;
export const userId = (u: number) => `u${String(u).padStart(2, '0')}`;
export const trainPopularity = (j: number) => (j < KIT.warm ? Math.max(1, Math.floor(24 / (j + 1))) + (j % 3) : 0);

/** A seeded uniform generator in [0, 1) (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(r: () => number): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

/** Writes the lake described above under `lake`; returns its paths. */
export async function buildAnalyticsLake(lake: string): Promise<{ staging: string; embeddings: string }> {
  const p = datasetPaths(lake, KIT.name);
  const split = p.split(KIT.split);
  mkdirSync(split.dir, { recursive: true });
  const f = p.stagingFiles;
  const db = await openDb();
  try {
    const items = Array.from({ length: KIT.items }, (_, j) => `(${sqlString(itemId(j))}, ${sqlString(`Product ${j}`)}, ${sqlString(j % 2 ? 'Acme' : 'Bolt')}, ${(10 + j).toFixed(2)})`);
    await db.run(`CREATE TABLE items AS SELECT * FROM (VALUES ${items.join(',')}) t(item_id, title, brand, price)`);
    await db.run(`CREATE TABLE item_map AS SELECT item_id, (row_number() OVER (ORDER BY item_id) - 1)::INTEGER AS iid FROM items`);
    await db.run(`CREATE TABLE user_map AS SELECT 'u' || lpad(i::VARCHAR, 2, '0') AS user_id, i::INTEGER AS uid FROM range(${KIT.users}) r(i)`);
    const rows: string[] = [];
    let n = 0;
    for (let j = 0; j < KIT.warm; j++) {
      for (let c = 0; c < trainPopularity(j); c++) rows.push(`(${sqlString(userId((j * 7 + c) % KIT.users))}, ${sqlString(itemId(j))}, 5.0, ${1_700_000_000 + n++})`);
    }
    await db.run(`CREATE TABLE train_s AS SELECT * FROM (VALUES ${rows.join(',')}) t(user_id, item_id, rating, ts)`);
    await db.run(`CREATE TABLE interactions AS SELECT user_id, item_id, rating, ts::BIGINT AS ts, 'train' AS split FROM train_s`);
    const out = (t: string, file: string) => db.run(`COPY (${t}) TO ${sqlString(file)} (FORMAT parquet)`);
    await out('SELECT item_id, title, brand, price FROM items', f.items);
    await out('SELECT * FROM item_map', f.itemMap);
    await out('SELECT * FROM user_map', f.userMap);
    await out('SELECT * FROM interactions', f.interactions);
    await out(`SELECT item_id, iid, (iid >= ${KIT.warm}) AS cold FROM item_map`, split.itemMap);
    await out('SELECT * FROM user_map', split.userMap);
    const part = `SELECT u.uid, m.iid, t.rating, t.ts::BIGINT AS ts FROM train_s t JOIN user_map u USING (user_id) JOIN item_map m USING (item_id)`;
    await out(part, split.part('train'));
    await out(`${part} LIMIT 0`, split.part('valid'));
    await out(`${part} LIMIT 0`, split.part('test'));
  } finally {
    db.close();
  }
  writeFileSync(f.datacardJson, JSON.stringify({ dataset: KIT.name, counts: { items: KIT.items, users: KIT.users } }));
  writeFileSync(split.manifest, JSON.stringify({ kind: 'split', name: KIT.split }));

  // Text embeddings in staging iid order (item_map orders by item_id, which is j's order).
  const r = rng(7);
  const data = new Float32Array(KIT.items * KIT.dim);
  for (let j = 0; j < KIT.items; j++) {
    const axis = j >= 55 ? 1 : 0;
    const v = Array.from({ length: KIT.dim }, (_, d) => (d === axis ? 1 : 0) + 0.15 * gaussian(r));
    const norm = Math.hypot(...v);
    for (let d = 0; d < KIT.dim; d++) data[j * KIT.dim + d] = v[d] / norm;
  }
  const embeddings = p.embeddings;
  await writeEmbeddings(embeddings, 'text', { data, dim: KIT.dim, modality: 'text', encoder: 'test', encoder_id: 'test/1', normalised: true, seconds: 0, items_per_s: 0 });
  return { staging: p.staging, embeddings };
}

export interface HourSpec {
  requests: number;
  /** Click probability per impression, per variant (requests are split evenly between variants). */
  ctr?: Record<string, number>;
  /** Share of requests from users outside the split (still answered 200 by a cold-start path). */
  unknownUsers?: number;
  /** Share of requests answered 404 (no items). */
  notFound?: number;
  /** Mean of the served scores (default 0.5; sd 0.1). */
  scoreMean?: number;
  /** Mean of the served scores per variant (wins over scoreMean). */
  scoreMeanByVariant?: Record<string, number>;
  /** Which new items appear in recommendations (one slot of each request): none, similar (i50–i54), drifted (i55–i59). */
  newItems?: 'none' | 'similar' | 'drifted';
}

export interface LogRequest {
  request_id: string;
  ts: Date;
  route: string;
  user_id: string;
  model_version: string;
  variant: string;
  k: number;
  items: Array<{ item_id: string; score: number; rank: number }> | null;
  latency_ms: number;
  status: number;
}

export interface LogEvent {
  event_id: string;
  ts: Date;
  request_id: string;
  user_id: string;
  item_id: string;
  type: string;
  value: number;
  variant: string;
}

export const LOG_START = new Date('2026-11-20T00:00:00Z');

/**
 * Generates one hour of traffic per spec, starting at LOG_START. Requests: route /v1/recommend (3 in 4) or
 * /v1/similar; k = 5 warm items drawn by popularity (+ one new item when asked); latency = 8 · e^{0.5 g} ms
 * (+ 40 ms on /v1/similar); every slot of a served request gets an impression, a click with the variant's
 * probability and, after a click, a purchase with probability 0.2.
 */
export function generateLogs(hours: HourSpec[], seed = 1): { requests: LogRequest[]; events: LogEvent[] } {
  const r = rng(seed);
  const requests: LogRequest[] = [];
  const events: LogEvent[] = [];
  const warmWeights = Array.from({ length: KIT.warm }, (_, j) => trainPopularity(j));
  const totalW = warmWeights.reduce((a, b) => a + b, 0);
  const drawWarm = () => {
    let x = r() * totalW;
    for (let j = 0; j < KIT.warm; j++) if ((x -= warmWeights[j]) < 0) return j;
    return KIT.warm - 1;
  };
  hours.forEach((h, hour) => {
    const variants = Object.keys(h.ctr ?? { A: 0.1 });
    const hourStart = LOG_START.getTime() + hour * 3_600_000;
    for (let q = 0; q < h.requests; q++) {
      const id = `r${hour}-${q}`;
      const ts = new Date(hourStart + Math.floor((q / h.requests) * 3_500_000));
      const variant = variants[q % variants.length];
      const unknown = r() < (h.unknownUsers ?? 0);
      const user = unknown ? `new-${hour}-${q}` : userId(Math.floor(r() * KIT.users));
      const route = q % 4 === 3 ? '/v1/similar' : '/v1/recommend';
      const latency = Math.round((8 * Math.exp(0.5 * gaussian(r)) + (route === '/v1/similar' ? 40 : 0)) * 100) / 100;
      if (r() < (h.notFound ?? 0)) {
        requests.push({ request_id: id, ts, route, user_id: user, model_version: 'run-1', variant, k: 5, items: null, latency_ms: latency, status: 404 });
        continue;
      }
      const chosen: number[] = [];
      while (chosen.length < 5) {
        const j = drawWarm();
        if (!chosen.includes(j)) chosen.push(j);
      }
      if (h.newItems && h.newItems !== 'none') chosen[4] = (h.newItems === 'similar' ? 50 : 55) + (q % 5);
      const mean = h.scoreMeanByVariant?.[variant] ?? h.scoreMean ?? 0.5;
      const scores = chosen.map(() => Math.round((mean + 0.1 * gaussian(r)) * 1e6) / 1e6).sort((a, b) => b - a);
      const items = chosen.map((j, i) => ({ item_id: itemId(j), score: scores[i], rank: i + 1 }));
      requests.push({ request_id: id, ts, route, user_id: user, model_version: 'run-1', variant, k: 5, items, latency_ms: latency, status: 200 });
      items.forEach((it, i) => {
        const ets = new Date(ts.getTime() + 1000 + i * 1000);
        const ev = (type: string, value: number, dt: number) =>
          events.push({ event_id: `${id}-${events.length}`, ts: new Date(ets.getTime() + dt), request_id: id, user_id: user, item_id: it.item_id, type, value, variant });
        ev('impression', 1, 0);
        if (r() < (h.ctr?.[variant] ?? 0.1)) {
          ev('click', 1, 20_000);
          if (r() < 0.2) ev('purchase', 10 + (Number(it.item_id.slice(1)) % 7), 40_000);
        }
      });
    }
  });
  return { requests, events };
}

const tsLiteral = (d: Date) => `TIMESTAMP '${d.toISOString().replace('T', ' ').replace('Z', '')}'`;

/** Writes the logs into `<lake>/logs/serving.duckdb` with the serving schema (log-schema.ts; created when missing). */
export async function writeLogs(lake: string, logs: { requests: LogRequest[]; events: LogEvent[] }): Promise<string> {
  const { servingLog: file, logs: dir } = lakePaths(lake);
  mkdirSync(dir, { recursive: true });
  const db = await openDb({ path: file });
  try {
    await db.run(REQUESTS_DDL);
    await db.run(EVENTS_DDL);
    const chunks = <T>(xs: T[], size = 500) => Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, (i + 1) * size));
    for (const c of chunks(logs.requests)) {
      const values = c.map(
        (q) =>
          `(${sqlString(q.request_id)}, ${tsLiteral(q.ts)}, ${sqlString(q.route)}, ${sqlString(q.user_id)}, ${sqlString(q.model_version)}, ${sqlString(q.variant)}, ${q.k}, ${q.items ? sqlString(JSON.stringify(q.items)) : 'NULL'}, ${q.latency_ms}, ${q.status})`,
      );
      await db.run(`INSERT INTO requests VALUES ${values.join(',')}`);
    }
    for (const c of chunks(logs.events)) {
      const values = c.map(
        (e) =>
          `(${sqlString(e.event_id)}, ${tsLiteral(e.ts)}, ${sqlString(e.request_id)}, ${sqlString(e.user_id)}, ${sqlString(e.item_id)}, ${sqlString(e.type)}, ${e.value}, ${sqlString(e.variant)})`,
      );
      await db.run(`INSERT INTO events VALUES ${values.join(',')}`);
    }
  } finally {
    db.close();
  }
  return file;
}
