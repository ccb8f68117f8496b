import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { shutdownPool } from '../core/index.js';
import { foldInUser } from '../models/fold-in.js';
import { openDb, sqlString } from '../lake/duckdb.js';
import { datasetPaths } from '../lake/paths.js';
import { computeDrift, driftOptionsFromConfig } from '../analytics/drift.js';
import { openAnalytics } from '../analytics/source.js';
import { loadConfig } from '../config/load.js';
import { buildApp } from './app.js';
import { ServingLogs } from './request-log.js';
import { ServingContext } from './context.js';
import { fnv1a32 } from '../core/hash.js';

/** The server's DuckDB log store (these servers run in one process, so it is the ServingLogs itself). */
const store = (c: ServingContext): ServingLogs => c.logs as ServingLogs;
import { buildServeFixture, fakeEncoderFactory, type ServeFixture } from './testkit.js';


const TOKEN = 'test-admin-token';
let fx: ServeFixture;
let ctx: ServingContext;
let app: FastifyInstance;
let base: string;

async function start(c: ServingContext): Promise<{ app: FastifyInstance; base: string }> {
  const a = await buildApp(c, { encoderFactory: fakeEncoderFactory });
  const url = await a.listen({ port: 0, host: '127.0.0.1' });
  return { app: a, base: url };
}

async function get(path: string, b = base) {
  const r = await fetch(b + path);
  return { status: r.status, body: (r.headers.get('content-type') ?? '').includes('json') ? await r.json() : await r.text(), headers: r.headers };
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}, b = base) {
  const r = await fetch(b + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, j) => s + x * b[j], 0);

before(async () => {
  fx = await buildServeFixture('serving');
  ctx = await ServingContext.load({
    lake: fx.lake,
    name: fx.name,
    runId: fx.runA,
    settings: { adminToken: TOKEN, bodyLimit: 16 * 1024, maxK: 50 },
    logFlushRows: 5,
    logFlushMs: 20,
  });
  ({ app, base } = await start(ctx));
});

after(async () => {
  await app?.close();
  shutdownPool();
});

describe('serving API on a demo lake with a trained mf run', () => {
  test('user recommendations: k items by the exact model score, seen items excluded, explanations from the history', async () => {
    const m = ctx.state.variants.get('default')!;
    let agree = 0;
    let total = 0;
    for (let uid = 0; uid < m.numUsers; uid += 7) {
      const userId = m.userId(uid);
      const r = await get(`/v1/users/${encodeURIComponent(userId)}/recommendations?k=10`);
      assert.equal(r.status, 200);
      assert.equal(r.body.model_version, fx.runA);
      assert.equal(r.body.variant, 'default');
      assert.equal(r.body.items.length, 10);
      const seen = new Set(Array.from(m.history(uid), (i) => m.itemId(i)));
      const u = m.userVector(uid);
      // Exact top-10 among unseen items, for the ANN recall.
      const exact = Array.from({ length: m.numItems }, (_, i) => i)
        .filter((i) => !seen.has(m.itemId(i)))
        .map((i) => ({ id: m.itemId(i), s: dot(u, m.itemVector(i)) }))
        .sort((a, b) => b.s - a.s)
        .slice(0, 10);
      const exactIds = new Set(exact.map((e) => e.id));
      r.body.items.forEach((it: { item_id: string; score: number; rank: number; explanation: { item_id: string; cosine: number; dot: number }[] }, j: number) => {
        assert.equal(it.rank, j + 1);
        assert.ok(!seen.has(it.item_id), `seen item ${it.item_id} recommended`);
        const e = m.itemVector(m.itemIndex.get(it.item_id)!);
        assert.ok(Math.abs(it.score - dot(u, e)) < 1e-3, 'score = ⟨u, e_i⟩');
        if (j > 0) assert.ok(it.score <= r.body.items[j - 1].score + 1e-6);
        assert.ok(it.explanation.length > 0 && it.explanation.length <= 3);
        for (const x of it.explanation) {
          assert.ok(seen.has(x.item_id), 'explanations name history items');
          const h = m.itemVector(m.itemIndex.get(x.item_id)!);
          assert.ok(Math.abs(x.dot - dot(e, h)) < 1e-3);
          assert.ok(Math.abs(x.cosine - dot(e, h) / Math.sqrt(dot(e, e) * dot(h, h))) < 1e-4);
        }
        for (let q = 1; q < it.explanation.length; q++) assert.ok(it.explanation[q].cosine <= it.explanation[q - 1].cosine);
        if (exactIds.has(it.item_id)) agree++;
      });
      total += 10;
    }
    assert.ok(agree / total >= 0.95, `ANN recall@10 vs exact ${agree / total}`);
    assert.equal(m.bundle.manifest.item_graph?.source, 'knn-text');
  });

  test('explanations name the item–item kNN edges of the text graph with their weights', async () => {
    const m = ctx.state.variants.get('default')!;
    const g = m.bundle.itemGraph!;
    let edges = 0;
    for (let uid = 0; uid < m.numUsers; uid += 3) {
      const r = await get(`/v1/users/${m.userId(uid)}/recommendations?k=20`);
      for (const it of r.body.items as { item_id: string; explanation: { item_id: string; knn_edge: number | null }[] }[]) {
        const a = m.itemIndex.get(it.item_id)!;
        for (const x of it.explanation) {
          const b = m.itemIndex.get(x.item_id)!;
          const row = (u: number, v: number) => Array.from(g.indices.subarray(g.indptr[u], g.indptr[u + 1])).indexOf(v);
          const ab = row(a, b);
          const ba = row(b, a);
          if (ab < 0 && ba < 0) assert.equal(x.knn_edge, null);
          else {
            edges++;
            const w = ab >= 0 ? g.weights[g.indptr[a] + ab] : g.weights[g.indptr[b] + ba];
            assert.ok(Math.abs((x.knn_edge as number) - w) < 1e-6);
          }
        }
      }
    }
    assert.ok(edges > 0, 'some explanations follow a kNN edge');
  });

  test('exclude_seen=false may return known items; explain=false drops explanations', async () => {
    const m = ctx.state.variants.get('default')!;
    let sawSeen = false;
    for (let uid = 0; uid < 40 && !sawSeen; uid++) {
      const r = await get(`/v1/users/${m.userId(uid)}/recommendations?k=20&exclude_seen=false&explain=false`);
      assert.equal(r.status, 200);
      assert.equal(r.body.items[0].explanation, undefined);
      const seen = new Set(Array.from(m.history(uid), (i) => m.itemId(i)));
      sawSeen = r.body.items.some((x: { item_id: string }) => seen.has(x.item_id));
    }
    assert.ok(sawSeen, 'with exclude_seen=false a trained model ranks some known items high');
  });

  test('POST /v1/recommendations folds in a new user from a short history', async () => {
    const m = ctx.state.variants.get('default')!;
    const history = [m.itemId(3), m.itemId(10), m.itemId(42)];
    const r = await post('/v1/recommendations', { item_ids: history, k: 5 });
    assert.equal(r.status, 200);
    assert.equal(r.body.user_id, null);
    assert.equal(r.body.items.length, 5);
    const v = foldInUser(m.bundle.items, m.dim, [3, 10, 42]);
    for (const it of r.body.items) {
      assert.ok(!history.includes(it.item_id));
      assert.ok(Math.abs(it.score - dot(v, m.itemVector(m.itemIndex.get(it.item_id)!))) < 1e-3);
      for (const x of it.explanation) assert.ok(history.includes(x.item_id));
    }
    const unknown = await post('/v1/recommendations', { item_ids: [m.itemId(1), 'NOPE-1'] });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'PP_SERVE_ITEM_UNKNOWN');
    assert.match(unknown.body.error.message, /NOPE-1/);
  });

  test('items: metadata, similar items per modality (graph by model-space cosine, text by content cosine)', async () => {
    const m = ctx.state.variants.get('default')!;
    const id = m.itemId(5);
    const item = await get(`/v1/items/${id}`);
    assert.equal(item.status, 200);
    assert.equal(item.body.item_id, id);
    assert.equal(item.body.variant, 'default');
    assert.equal(typeof item.body.title, 'string');
    const img5 = m.bundle.content.image!.present[5] === 1;
    assert.deepEqual(item.body.modalities.sort(), img5 ? ['graph', 'image', 'text'] : ['graph', 'text']);

    const g = await get(`/v1/items/${id}/similar?k=5&modality=graph`);
    assert.equal(g.status, 200);
    assert.equal(g.body.modality, 'graph');
    const e = m.itemVector(5);
    for (const x of g.body.items) {
      assert.notEqual(x.item_id, id);
      const f = m.itemVector(m.itemIndex.get(x.item_id)!);
      assert.ok(Math.abs(x.score - dot(e, f) / Math.sqrt(dot(e, e) * dot(f, f))) < 1e-4, 'graph similarity is model-space cosine');
    }
    const t = await get(`/v1/items/${id}/similar?k=5&modality=text`);
    assert.equal(t.status, 200);
    const c = m.bundle.content.text!;
    const q = c.vectors.subarray(5 * c.dim, 6 * c.dim);
    for (const x of t.body.items) {
      const j = m.itemIndex.get(x.item_id)!;
      assert.ok(Math.abs(x.score - dot(q, c.vectors.subarray(j * c.dim, (j + 1) * c.dim))) < 1e-4, 'text similarity is content cosine');
    }
    const withImage = Array.from(m.bundle.content.image!.present).indexOf(1);
    const withoutImage = Array.from(m.bundle.content.image!.present).indexOf(0);
    const img = await get(`/v1/items/${m.itemId(withImage)}/similar?modality=image&k=3`);
    assert.equal(img.status, 200);
    assert.equal(img.body.items.length, 3);
    const noImg = await get(`/v1/items/${m.itemId(withoutImage)}/similar?modality=image`);
    assert.equal(noImg.status, 404);
    assert.equal(noImg.body.error.code, 'PP_SERVE_MODALITY_MISSING');
    const fused = await get(`/v1/items/${id}/similar?modality=fused`);
    assert.equal(fused.status, 404, 'no fused embeddings in this lake');
    assert.equal(fused.body.error.code, 'PP_SERVE_MODALITY_MISSING');
    const missing = await get('/v1/items/NOPE/similar');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'PP_SERVE_ITEM_UNKNOWN');
    assert.equal((await get('/v1/items/NOPE')).body.error.code, 'PP_SERVE_ITEM_UNKNOWN');
  });

  test('cold start: an item with the text of a known item finds it first and reaches the users of its neighbourhood', async () => {
    const m = ctx.state.variants.get('default')!;
    const meta = m.itemMeta(7);
    const db = await openDb();
    const [{ description }] = await db.all<{ description: string | null }>(`SELECT description FROM read_parquet(${sqlString(datasetPaths(fx.lake, fx.name).stagingFiles.items)}) WHERE item_id = ${sqlString(m.itemId(7))}`);
    db.close();
    const r = await post('/v1/items/cold-start', { title: meta.title, brand: meta.brand, categories: meta.categories, description: description ?? undefined, k: 5, users_k: 10 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.modalities, ['text']);
    assert.equal(r.body.similar.text.length, 5);
    assert.equal(r.body.users.length, 10);
    assert.ok(r.body.neighbours_used > 0);
    for (let j = 1; j < r.body.users.length; j++) assert.ok(r.body.users[j].score <= r.body.users[j - 1].score);
    // The fake encoders hash their input: the same text or image bytes as a known item → that item, cosine 1.
    assert.equal(r.body.similar.text[0].item_id, m.itemId(7));
    assert.ok(Math.abs(r.body.similar.text[0].score - 1) < 1e-5);
    const withImage = Array.from(m.bundle.content.image!.present).indexOf(1);
    const both = await post('/v1/items/cold-start', { title: 'A completely new gadget', image_base64: Buffer.from(m.itemId(withImage)).toString('base64'), k: 3 });
    assert.equal(both.status, 200, JSON.stringify(both.body));
    assert.deepEqual(both.body.modalities, ['text', 'image']);
    assert.equal(both.body.similar.image[0].item_id, m.itemId(withImage));
    assert.ok(Math.abs(both.body.similar.image[0].score - 1) < 1e-5);
    const bad = [
      [{}, 400, 'PP_SERVE_BAD_REQUEST'],
      [{ title: 'x', image_url: 'http://127.0.0.1/x.png', image_base64: 'AAAA' }, 400, 'PP_SERVE_BAD_REQUEST'],
      [{ title: 'x', image_url: 'http://127.0.0.1:1/x.png' }, 400, 'PP_FETCH_BLOCKED'],
      [{ title: 'x', image_url: 'http://169.254.169.254/latest/meta-data' }, 400, 'PP_FETCH_BLOCKED'],
      [{ title: 'x', image_url: 'file:///etc/passwd' }, 400, 'PP_FETCH_BLOCKED'],
      [{ title: 'x', image_base64: '!!not base64!!' }, 400, 'PP_SERVE_BAD_REQUEST'],
      [{ title: 'x', color: 'red' }, 400, 'PP_SERVE_BAD_REQUEST'],
    ] as const;
    for (const [body, status, code] of bad) {
      const res = await post('/v1/items/cold-start', body);
      assert.equal(res.status, status, `${JSON.stringify(body)} → ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, code);
    }
  });

  test('cold start fetches image URLs through the SSRF-safe fetch (private targets only when allowed)', async () => {
    const m = ctx.state.variants.get('default')!;
    const withImage = Array.from(m.bundle.content.image!.present).indexOf(1);
    const server = createServer((req, res) => {
      if (req.url === '/big.png') res.end(Buffer.alloc(64 * 1024));
      else res.end(Buffer.from(m.itemId(withImage)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const imageBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const local = await ServingContext.load({ lake: fx.lake, name: fx.name, runId: fx.runA, logs: false, settings: { allowPrivateImageUrls: true, imageMaxBytes: 32 * 1024 } });
    const s = await start(local);
    try {
      const ok = await post('/v1/items/cold-start', { image_url: `${imageBase}/item.png`, k: 3 }, {}, s.base);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.deepEqual(ok.body.modalities, ['image']);
      assert.equal(ok.body.similar.image[0].item_id, m.itemId(withImage));
      const big = await post('/v1/items/cold-start', { image_url: `${imageBase}/big.png` }, {}, s.base);
      assert.equal(big.status, 413);
      assert.equal(big.body.error.code, 'PP_FETCH_TOO_LARGE');
      // The main server keeps the default: the same URL is refused.
      const blocked = await post('/v1/items/cold-start', { image_url: `${imageBase}/item.png` });
      assert.equal(blocked.status, 400);
      assert.equal(blocked.body.error.code, 'PP_FETCH_BLOCKED');
    } finally {
      await s.app.close();
      server.close();
    }
  });

  test('events are stored in serving.duckdb before the 201, with the user’s variant', async () => {
    const m = ctx.state.variants.get('default')!;
    const rec = await get(`/v1/users/${m.userId(1)}/recommendations?k=3`);
    const r = await post('/v1/events', { type: 'click', item_id: rec.body.items[0].item_id, user_id: m.userId(1), request_id: rec.body.request_id });
    assert.equal(r.status, 201);
    assert.equal(r.body.variant, 'default');
    const rows = await store(ctx).query('SELECT * FROM events WHERE event_id = ?', [r.body.event_id]);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].request_id, rec.body.request_id);
    assert.equal(rows[0].type, 'click');
    const rating = await post('/v1/events', { type: 'rating', item_id: m.itemId(2), value: 4.5, ts: '2026-01-02T03:04:05Z' });
    assert.equal(rating.status, 201);
    const bad = [
      [{ type: 'like', item_id: m.itemId(2) }, 400, 'type'],
      [{ type: 'click' }, 400, 'item_id'],
      [{ type: 'rating', item_id: m.itemId(2) }, 400, 'value'],
      [{ type: 'click', item_id: m.itemId(2), ts: 'yesterday' }, 400, 'ts'],
      [{ type: 'click', item_id: 'NOPE' }, 404, undefined],
    ] as const;
    for (const [body, status, field] of bad) {
      const res = await post('/v1/events', body);
      assert.equal(res.status, status, JSON.stringify(res.body));
      if (field) assert.equal(res.body.error.field, field, JSON.stringify(res.body));
    }
  });

  test('every recommendation response is logged to the requests table in batches', async () => {
    const m = ctx.state.variants.get('default')!;
    const ids: string[] = [];
    for (let uid = 0; uid < 12; uid++) ids.push((await get(`/v1/users/${m.userId(uid)}/recommendations?k=4`)).body.request_id);
    ids.push((await get(`/v1/items/${m.itemId(0)}/similar?k=4`)).body.request_id);
    await ctx.logs!.flush();
    const rows = await store(ctx).query(`SELECT request_id, route, user_id, model_version, variant, k, CAST(items AS VARCHAR) AS items, latency_ms, status FROM requests WHERE request_id IN (${ids.map(() => '?').join(',')})`, ids);
    assert.equal(rows.length, ids.length);
    for (const row of rows) {
      assert.equal(row.model_version, fx.runA);
      assert.equal(row.variant, 'default');
      assert.equal(row.k, 4);
      assert.equal(row.status, 200);
      assert.ok((row.latency_ms as number) >= 0);
      const items = JSON.parse(row.items as string) as { item_id: string; score: number; rank: number }[];
      assert.equal(items.length, 4);
      assert.deepEqual(items.map((x) => x.rank), [1, 2, 3, 4]);
    }
    assert.ok(rows.some((r) => r.route === '/v1/items/:itemId/similar' && r.user_id === null));
  });

  test('error responses of recommendation routes are logged (status, user/item id, variant, empty items) and analytics drift counts them', async () => {
    const m = ctx.state.variants.get('default')!;
    const ghost = 'no-such-user-xyz';
    const notFound = await get(`/v1/users/${ghost}/recommendations?k=4`);
    assert.equal(notFound.status, 404);
    const unknownItem = await get('/v1/items/no-such-item-xyz/similar?k=3');
    assert.equal(unknownItem.status, 404);
    const badK = await get(`/v1/users/${m.userId(0)}/recommendations?k=0`);
    assert.equal(badK.status, 400);
    const anon = await post('/v1/recommendations', { user_id: 'anon-xyz', item_ids: ['no-such-item-xyz'], k: 5 });
    assert.equal(anon.status, 404);
    const ok = await get(`/v1/users/${m.userId(1)}/recommendations?k=4`);
    assert.equal(ok.status, 200);
    const ids = [notFound, unknownItem, badK, anon].map((r) => r.body.request_id as string);
    await ctx.logs!.flush();
    const rows = await store(ctx).query(
      `SELECT request_id, route, user_id, item_id, model_version, variant, k, CAST(items AS VARCHAR) AS items, latency_ms, status FROM requests WHERE request_id IN (${ids.map(() => '?').join(',')})`,
      ids,
    );
    const byId = new Map(rows.map((r) => [r.request_id as string, r]));
    const expect = [
      [ids[0], '/v1/users/:userId/recommendations', ghost, null, 4, 404],
      [ids[1], '/v1/items/:itemId/similar', null, 'no-such-item-xyz', 3, 404],
      [ids[2], '/v1/users/:userId/recommendations', m.userId(0), null, 0, 400],
      [ids[3], '/v1/recommendations', 'anon-xyz', null, 5, 404],
    ] as const;
    for (const [id, route, user, item, k, status] of expect) {
      const r = byId.get(id);
      assert.ok(r, `request ${id} (${route} ${status}) is in the log`);
      assert.deepEqual([r.route, r.user_id, r.item_id, r.k, r.status, r.items, r.model_version, r.variant], [route, user, item, k, status, '[]', fx.runA, 'default']);
      assert.ok((r.latency_ms as number) >= 0);
    }

    // Analytics drift (src/analytics/drift.ts) over the server's own log: the 404s and the unknown user count.
    const s = await openAnalytics({ lake: fx.lake, name: fx.name }, { logs: store(ctx).instance });
    try {
      const d = await computeDrift(s, driftOptionsFromConfig(loadConfig({ overrides: { 'drift.min_count': 1 } }), 3_600_000, 86_400_000));
      const share = (metric: string) => d.rows.filter((r) => r.metric === metric && r.n > 0);
      assert.ok(share('not_found_share').some((r) => (r.value ?? 0) > 0), JSON.stringify(share('not_found_share')));
      assert.ok(share('unknown_user_share').some((r) => (r.value ?? 0) > 0), JSON.stringify(share('unknown_user_share')));
    } finally {
      s.close();
    }
  });

  test('the drift thresholds the server reports come from the config given to buildApp', async () => {
    const statusOf = async (config: ReturnType<typeof loadConfig> | undefined, file: string) => {
      const c = await ServingContext.load({ lake: fx.lake, name: fx.name, runId: fx.runA, logFlushRows: 1000, logFlushMs: 10_000, logsFile: join(fx.dir, file) });
      const a = await buildApp(c, { encoderFactory: fakeEncoderFactory, docs: false, config });
      try {
        const m = c.state.variants.get('default')!;
        // 15 answered, 5 unknown users: a 404 share of 0.25 in one hourly bucket (n = 20 = the default min_count).
        for (let i = 0; i < 15; i++) assert.equal((await a.inject({ url: `/v1/users/${m.userId(i)}/recommendations?k=3` })).statusCode, 200);
        for (let i = 0; i < 5; i++) assert.equal((await a.inject({ url: `/v1/users/ghost-${i}/recommendations?k=3` })).statusCode, 404);
        const r = await a.inject({ url: '/v1/analytics/drift?window=1h' });
        assert.equal(r.statusCode, 200, r.body);
        const rows = (r.json().rows as { metric: string; value: number; n: number; warn: number; alert: number; status: string }[]).filter((x) => x.metric === 'not_found_share');
        assert.equal(rows.length, 1, JSON.stringify(rows));
        assert.equal(rows[0].n, 20);
        assert.ok(Math.abs(rows[0].value - 0.25) < 1e-12, String(rows[0].value));
        return rows[0];
      } finally {
        await a.close();
      }
    };
    const byDefault = await statusOf(undefined, 'drift-default.duckdb');
    assert.deepEqual([byDefault.warn, byDefault.alert, byDefault.status], [0.02, 0.1, 'alert']);
    const configured = await statusOf(loadConfig({ overrides: { 'drift.not_found.warn': 0.3, 'drift.not_found.alert': 0.5 } }), 'drift-configured.duckdb');
    assert.deepEqual([configured.warn, configured.alert, configured.status], [0.3, 0.5, 'ok']);
  });

  test('health, readiness, Prometheus metrics and the OpenAPI document', async () => {
    assert.deepEqual((await get('/healthz')).body, { status: 'ok' });
    const ready = await get('/readyz');
    assert.equal(ready.body.status, 'ready');
    assert.equal(ready.body.variants.default.model_version, fx.runA);
    assert.ok(ready.body.variants.default.indexes.graph > 0);
    const metrics = await get('/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /plotpointe_http_requests_total\{method="GET",route="\/v1\/users\/:userId\/recommendations",status="200"\} \d+/);
    assert.match(metrics.body, /plotpointe_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/v1\/users\/:userId\/recommendations"\}/);
    assert.match(metrics.body, /plotpointe_index_size\{variant="default",modality="graph"\} \d+/);
    assert.match(metrics.body, new RegExp(`plotpointe_model_info\\{variant="default",model_version="${fx.runA}",model="mf"\\} 1`));
    const doc = await get('/docs/json');
    assert.equal(doc.status, 200);
    for (const p of ['/v1/users/{userId}/recommendations', '/v1/recommendations', '/v1/items/{itemId}', '/v1/items/{itemId}/similar', '/v1/items/cold-start', '/v1/events', '/v1/admin/reload', '/healthz', '/readyz', '/metrics']) {
      assert.ok(doc.body.paths[p], `OpenAPI documents ${p}`);
    }
    const ui = await fetch(base + '/docs/');
    assert.equal(ui.status, 200);
    const id = (await get('/healthz')).headers.get('x-request-id');
    assert.match(String(id), /^[0-9a-f-]{36}$/);
  });

  test('bad input never gives a 500: 400 naming the field, 404 with a code, 413 over the body limit', async () => {
    const u = ctx.state.variants.get('default')!.userId(0);
    const cases: [string, string, unknown, number, string?][] = [
      ['GET', `/v1/users/${u}/recommendations?k=abc`, null, 400, 'k'],
      ['GET', `/v1/users/${u}/recommendations?k=0`, null, 400, 'k'],
      ['GET', `/v1/users/${u}/recommendations?k=-3`, null, 400, 'k'],
      ['GET', `/v1/users/${u}/recommendations?k=51`, null, 400, 'k'],
      ['GET', `/v1/users/${u}/recommendations?k=1e9`, null, 400, 'k'],
      ['GET', `/v1/users/${u}/recommendations?k=2.5`, null, 400, 'k'],
      ['GET', `/v1/users/${u}/recommendations?exclude_seen=maybe`, null, 400, 'exclude_seen'],
      ['GET', `/v1/users/${u}/recommendations?bogus=1`, null, 400, 'bogus'],
      ['GET', `/v1/users/${'x'.repeat(300)}/recommendations`, null, 400, 'userId'],
      ['GET', '/v1/users/nobody/recommendations', null, 404],
      ['GET', '/v1/users/%00%ff/recommendations', null, 400],
      ['GET', `/v1/items/x/similar?modality=audio`, null, 400, 'modality'],
      ['GET', '/v1/nowhere', null, 404],
      ['DELETE', '/v1/events', null, 404],
      ['POST', '/v1/recommendations', '{"item_ids": [', 400, 'body'],
      ['POST', '/v1/recommendations', '[]', 400],
      ['POST', '/v1/recommendations', '"text"', 400],
      ['POST', '/v1/recommendations', 'null', 400],
      ['POST', '/v1/recommendations', { item_ids: [] }, 400, 'item_ids'],
      ['POST', '/v1/recommendations', { item_ids: 'B01' }, 400, 'item_ids'],
      ['POST', '/v1/recommendations', { item_ids: [{}, 2] }, 400, 'item_ids.0'],
      ['POST', '/v1/recommendations', { item_ids: ['a'], k: 'many' }, 400, 'k'],
      ['POST', '/v1/recommendations', { k: 3 }, 400, 'item_ids'],
      ['POST', '/v1/recommendations', { item_ids: ['x'.repeat(20_000)] }, 413],
      ['POST', '/v1/events', { type: 'click', item_id: 'a', value: 'x' }, 400, 'value'],
    ];
    for (const [method, path, body, status, field] of cases) {
      const r = await fetch(base + path, {
        method,
        headers: body === null ? {} : { 'content-type': 'application/json' },
        body: body === null ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const json = (await r.json()) as { error: { code: string; field?: string } };
      assert.equal(r.status, status, `${method} ${path.slice(0, 80)} ${JSON.stringify(body)?.slice(0, 80)} → ${r.status} ${JSON.stringify(json)}`);
      assert.match(json.error.code, /^PP_/);
      if (field) assert.equal(json.error.field, field, `${path}: ${JSON.stringify(json)}`);
    }
    const wrongType = await fetch(base + '/v1/events', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    assert.ok(wrongType.status === 415 || wrongType.status === 400, String(wrongType.status));
  });

  test('admin reload needs the bearer token; unknown runs are a 404, runs without a bundle a 409', async () => {
    assert.equal((await post('/v1/admin/reload', {})).status, 401);
    assert.equal((await post('/v1/admin/reload', {}, { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await post('/v1/admin/reload', {}, { authorization: TOKEN })).status, 401);
    const unknown = await post('/v1/admin/reload', { run_id: '20200101-000000-mf-0000' }, { authorization: `Bearer ${TOKEN}` });
    assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
    assert.equal(unknown.body.error.code, 'PP_RUN_NOT_FOUND');
    const noBody = await fetch(base + '/v1/admin/reload', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(noBody.status, 409, 'no body = the blessed run, and this lake has none');
    assert.equal(((await noBody.json()) as { error: { code: string } }).error.code, 'PP_RUN_NOT_BLESSED');
    const badVariant = await post('/v1/admin/reload', { run_id: fx.runA, variant: 'nope' }, { authorization: `Bearer ${TOKEN}` });
    assert.equal(badVariant.status, 400);
    assert.equal(ctx.state.variants.get('default')!.modelVersion, fx.runA, 'failed reloads leave the served model alone');
  });

  test('reload under load: zero failed requests, every response from one of the two versions, both seen', async () => {
    const m = ctx.state.variants.get('default')!;
    const users = Array.from({ length: 50 }, (_, i) => m.userId(i));
    const versions = new Map<string, number>();
    const failures: string[] = [];
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const path = i % 3 === 2 ? `/v1/items/${m.itemId((w * 31 + i) % m.numItems)}/similar?k=5` : `/v1/users/${users[(w * 7 + i) % users.length]}/recommendations?k=10`;
        try {
          const r = await fetch(base + path);
          const body = (await r.json()) as { model_version?: string; items?: unknown[] };
          if (r.status !== 200 || !body.items || body.items.length === 0) failures.push(`${r.status} ${JSON.stringify(body).slice(0, 200)}`);
          else versions.set(body.model_version!, (versions.get(body.model_version!) ?? 0) + 1);
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    const swaps: string[] = [];
    for (const run of [fx.runB, fx.runA, fx.runB]) {
      await new Promise((r) => setTimeout(r, 150));
      const r = await post('/v1/admin/reload', { run_id: run }, { authorization: `Bearer ${TOKEN}` });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.model_version, run);
      swaps.push(r.body.model_version);
    }
    await new Promise((r) => setTimeout(r, 150));
    stop = true;
    await Promise.all(workers);
    assert.deepEqual(failures, []);
    assert.deepEqual([...versions.keys()].sort(), [fx.runA, fx.runB].sort());
    const total = [...versions.values()].reduce((a, b) => a + b, 0);
    assert.ok(total > 50, `only ${total} requests ran during the swaps`);
    assert.equal((await get('/readyz')).body.variants.default.model_version, fx.runB);
    assert.match((await get('/metrics')).body, /plotpointe_reloads_total\{variant="default",outcome="ok"\} 3/);
  });

  test('A/B variants: deterministic assignment by user id, each response and log row carries its variant and version', async () => {
    const ab = await ServingContext.load({ lake: fx.lake, name: fx.name, variants: `control=${fx.runA}:1,treatment=${fx.runB}:1`, logFlushRows: 1000, logFlushMs: 10_000, logsFile: join(fx.dir, 'ab.duckdb') });
    const s = await start(ab);
    try {
      const m = ab.state.variants.get('control')!;
      const seen = new Map<string, string>();
      for (let uid = 0; uid < 40; uid++) {
        const userId = m.userId(uid);
        const r1 = await get(`/v1/users/${userId}/recommendations?k=3`, s.base);
        const r2 = await get(`/v1/users/${userId}/recommendations?k=3`, s.base);
        assert.equal(r1.body.variant, r2.body.variant, 'same user, same variant');
        assert.equal(r1.body.variant, fnv1a32(userId) % 2 === 0 ? 'control' : 'treatment');
        assert.equal(r1.body.model_version, r1.body.variant === 'control' ? fx.runA : fx.runB);
        seen.set(userId, r1.body.variant);
      }
      const counts = [...seen.values()].reduce((c, v) => ((c[v] = (c[v] ?? 0) + 1), c), {} as Record<string, number>);
      assert.ok(counts.control > 5 && counts.treatment > 5, JSON.stringify(counts));
      await ab.logs!.flush();
      const rows = await store(ab).query("SELECT variant, model_version, count(*) AS n FROM requests WHERE variant IN ('control', 'treatment') GROUP BY ALL ORDER BY variant");
      assert.deepEqual(
        rows.map((r) => [r.variant, r.model_version]),
        [
          ['control', fx.runA],
          ['treatment', fx.runB],
        ],
      );
      const ev = await post('/v1/events', { type: 'impression', item_id: m.itemId(0), user_id: m.userId(0) }, {}, s.base);
      assert.equal(ev.body.variant, seen.get(m.userId(0)));
    } finally {
      await s.app.close();
    }
  });

  test('graceful shutdown finishes in-flight requests and flushes the request log', async () => {
    const c = await ServingContext.load({ lake: fx.lake, name: fx.name, runId: fx.runA, logFlushRows: 10_000, logFlushMs: 60_000, logsFile: join(fx.dir, 'shutdown.duckdb') });
    const slow = await buildApp(c, { encoderFactory: fakeEncoderFactory });
    // Every request waits 300 ms before its handler, so the close below starts while all of them are in flight.
    slow.addHook('preHandler', async () => new Promise((r) => setTimeout(r, 300)));
    const s = { app: slow, base: await slow.listen({ port: 0, host: '127.0.0.1' }) };
    const m = c.state.variants.get('default')!;
    const inflight = Array.from({ length: 30 }, (_, i) => fetch(`${s.base}/v1/users/${m.userId(i)}/recommendations?k=5`).then((r) => r.status));
    await new Promise((r) => setTimeout(r, 150));
    const closing = s.app.close();
    const after = await fetch(`${s.base}/healthz`).then((r) => r.status, () => 'refused');
    assert.notEqual(after, 200, 'no new requests once closing');
    const statuses = await Promise.allSettled(inflight);
    await closing;
    assert.deepEqual(statuses.map((x) => (x.status === 'fulfilled' ? x.value : String(x.reason))), Array(30).fill(200), 'in-flight requests complete');
    assert.equal(store(c).written, 30, 'every completed recommendation was flushed at shutdown');
  });
});
