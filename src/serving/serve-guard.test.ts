import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { shutdownPool } from '../core/index.js';
import { loadConfig } from '../config/load.js';
import { buildApp } from './app.js';
import { servedDashboard } from '../web/plugin.js';
import { ServingContext, type ServingSettings } from './context.js';
import { runningAnalytics } from './analytics-limits.js';
import { buildServeFixture, fakeEncoderFactory, type ServeFixture } from './testkit.js';
import { datasetPaths } from '../lake/paths.js';

/**
 * What the HTTP server refuses (issue 14): hosts it is not named by (DNS rebinding), analytics SQL without an
 * admin token, analytics beyond its time/memory limits or after its client left, events it cannot store as
 * sent, and requests whose body never completes. One demo lake, one small app per setting.
 */

const TOKEN = 'guard-token';
let fx: ServeFixture;
const open: { app: FastifyInstance }[] = [];

before(async () => {
  fx = await buildServeFixture('serve-guard');
});

after(async () => {
  for (const o of open) await o.app.close().catch(() => undefined);
  shutdownPool();
});

async function serve(settings: Partial<ServingSettings> = {}, config: Record<string, unknown> = {}, logs = true): Promise<{ ctx: ServingContext; app: FastifyInstance }> {
  const ctx = await ServingContext.load({ lake: fx.lake, name: fx.name, runId: fx.runA, settings, logs, logFlushRows: 5, logFlushMs: 20 });
  const app = await buildApp(ctx, { encoderFactory: fakeEncoderFactory, docs: false, config: loadConfig({ overrides: config as never }), plugins: [servedDashboard] });
  open.push({ app });
  return { ctx, app };
}

const userOf = (ctx: ServingContext) => ctx.state.variants.get('default')!.userId(0);
const itemOf = (ctx: ServingContext) => ctx.state.variants.get('default')!.itemId(0);

describe('Host and Origin (DNS rebinding)', () => {
  test('a Host or Origin that is not one of the server names is 403 on every data route; loopback names and configured names pass', async () => {
    const { ctx, app } = await serve({ host: '127.0.0.1', allowedHosts: ['api.example.com'] }, {}, false);
    const u = userOf(ctx);
    const routes = [`/v1/users/${u}/recommendations?k=2`, `/v1/items/${itemOf(ctx)}`, '/metrics', '/', '/api/dashboard/summary', '/v1/analytics/report'];
    for (const url of routes) {
      for (const host of ['attacker.example', 'attacker.example:8080', '127.0.0.1.attacker.example', '10.0.0.1', 'localhost@evil', 'localhost:80:80']) {
        const r = await app.inject({ method: 'GET', url, headers: { host } });
        assert.equal(r.statusCode, 403, `${url} Host ${host}: ${r.statusCode}`);
        assert.equal(r.json().error.code, 'PP_SERVE_FORBIDDEN');
      }
      for (const origin of ['http://attacker.example', 'https://localhost.attacker.example', 'null', 'file:///x']) {
        const r = await app.inject({ method: 'GET', url, headers: { host: 'localhost:8080', origin } });
        assert.equal(r.statusCode, 403, `${url} Origin ${origin}`);
      }
    }
    const ok = [
      { host: 'localhost:8080' },
      { host: 'LOCALHOST.' },
      { host: '127.0.0.1:1234' },
      { host: '[::1]:80' },
      { host: 'api.example.com' },
      { host: 'localhost', origin: 'http://localhost:5173' },
      { host: 'api.example.com', origin: 'https://api.example.com' },
    ];
    for (const headers of ok) assert.equal((await app.inject({ method: 'GET', url: `/v1/users/${u}/recommendations?k=2`, headers })).statusCode, 200, JSON.stringify(headers));
    // Liveness/readiness answer whatever the Host (probes by address).
    assert.equal((await app.inject({ method: 'GET', url: '/healthz', headers: { host: 'attacker.example' } })).statusCode, 200);
    const any = await serve({ allowedHosts: ['*'] }, {}, false);
    assert.equal((await any.app.inject({ method: 'GET', url: `/v1/users/${u}/recommendations?k=2`, headers: { host: 'anything.example' } })).statusCode, 200);
  });
});

describe('analytics limits', () => {
  test('SQL needs the admin token: off (403) without one, even from loopback; 401 with a wrong one', async () => {
    const sql = { sql: 'SELECT count(*) AS n FROM requests' };
    const none = await serve();
    const r = await none.app.inject({ method: 'POST', url: '/v1/analytics/query', payload: sql, remoteAddress: '127.0.0.1' });
    assert.equal(r.statusCode, 403, r.body);
    assert.equal(r.json().error.code, 'PP_SERVE_FORBIDDEN');
    const withToken = await serve({ adminToken: TOKEN });
    assert.equal((await withToken.app.inject({ method: 'POST', url: '/v1/analytics/query', payload: sql })).statusCode, 401);
    assert.equal((await withToken.app.inject({ method: 'POST', url: '/v1/analytics/query', payload: sql, headers: { authorization: 'Bearer nope' } })).statusCode, 401);
    const good = await withToken.app.inject({ method: 'POST', url: '/v1/analytics/query', payload: sql, headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(good.statusCode, 200, good.body);
  });

  test('a query over its time limit is interrupted with 422 PP_ANALYTICS_TIMEOUT; one over the memory limit fails with a 400', async () => {
    const { app } = await serve({ adminToken: TOKEN }, { 'analytics.query_timeout_ms': 400 });
    const auth = { authorization: `Bearer ${TOKEN}` };
    const t0 = performance.now();
    const slow = await app.inject({ method: 'POST', url: '/v1/analytics/query', headers: auth, payload: { sql: 'SELECT count(*) FROM range(100000) a, range(100000) b, range(100000) c' } });
    const ms = performance.now() - t0;
    assert.equal(slow.statusCode, 422, slow.body);
    assert.equal(slow.json().error.code, 'PP_ANALYTICS_TIMEOUT');
    assert.ok(ms < 10_000, `answered after ${ms.toFixed(0)} ms`);
    const roomy = await serve({ adminToken: TOKEN, analyticsMemoryLimit: '128MB' }, { 'analytics.query_timeout_ms': 120_000 });
    const big = await roomy.app.inject({ method: 'POST', url: '/v1/analytics/query', headers: auth, payload: { sql: "SELECT length(string_agg(repeat('x', 1000000), '')) AS n FROM range(1000)" } });
    assert.equal(big.statusCode, 400, big.body);
    assert.match(big.json().error.message, /memory/i);
    // The store is still usable afterwards.
    const one = await roomy.app.inject({ method: 'POST', url: '/v1/analytics/query', headers: auth, payload: { sql: 'SELECT 1 AS one' } });
    assert.equal(one.statusCode, 200, one.body);
  });

  test('a query whose client disconnects is interrupted; shutdown interrupts running queries instead of waiting for them', async () => {
    const { ctx, app } = await serve({ adminToken: TOKEN }, { 'analytics.query_timeout_ms': 600_000 });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const heavy = JSON.stringify({ sql: 'SELECT count(*) FROM range(100000) a, range(100000) b, range(100000) c' });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };
    const ac = new AbortController();
    const gone = fetch(`${base}/v1/analytics/query`, { method: 'POST', headers, body: heavy, signal: ac.signal }).catch(() => 'aborted');
    await waitFor(() => runningAnalytics(ctx.logs!) === 1, 10_000, 'the query to start');
    ac.abort();
    assert.equal(await gone, 'aborted');
    await waitFor(() => runningAnalytics(ctx.logs!) === 0, 5000, 'the query to be interrupted after its client left');

    const pending = fetch(`${base}/v1/analytics/query`, { method: 'POST', headers, body: heavy }).then((r) => r.status, () => 'closed');
    await waitFor(() => runningAnalytics(ctx.logs!) === 1, 10_000, 'the second query to start');
    const t0 = performance.now();
    await app.close();
    const ms = performance.now() - t0;
    assert.ok(ms < 5000, `close took ${ms.toFixed(0)} ms`);
    assert.ok((await pending) === 503 || (await pending) === 'closed', String(await pending));
  });
});

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('events', () => {
  test('values beyond the limit or not finite, and times outside the window, are 400 naming the field; edge values inside are stored', async () => {
    const { ctx, app } = await serve();
    const item = itemOf(ctx);
    const post = (body: Record<string, unknown> | string) => app.inject({ method: 'POST', url: '/v1/events', headers: { 'content-type': 'application/json' }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
    const bad: [Record<string, unknown> | string, string][] = [
      [{ type: 'purchase', item_id: item, value: 1e308 }, 'value'],
      [{ type: 'purchase', item_id: item, value: 1e19 }, 'value'],
      [{ type: 'purchase', item_id: item, value: -1e19 }, 'value'],
      [{ type: 'rating', item_id: item, value: 2 ** 63 }, 'value'],
      [`{"type":"purchase","item_id":${JSON.stringify(item)},"value":1e400}`, 'value'],
      [`{"type":"purchase","item_id":${JSON.stringify(item)},"value":-1e400}`, 'value'],
      [{ type: 'click', item_id: item, ts: '9999-12-31T00:00:00Z' }, 'ts'],
      [{ type: 'click', item_id: item, ts: new Date(Date.now() + 3_600_000).toISOString() }, 'ts'],
      [{ type: 'click', item_id: item, ts: '1970-01-01T00:00:00Z' }, 'ts'],
      [{ type: 'click', item_id: item, ts: '0001-01-01T00:00:00Z' }, 'ts'],
    ];
    for (const [body, field] of bad) {
      const r = await post(body);
      assert.equal(r.statusCode, 400, `${JSON.stringify(body)} → ${r.statusCode} ${r.body}`);
      assert.equal(r.json().error.field, field, r.body);
      assert.doesNotMatch(r.body, /bigint|int64|duckdb/i);
    }
    for (const value of [1e9, -1e9, 0, 4.5, 2 ** 53 + 2]) {
      const r = await post({ type: 'purchase', item_id: item, value: value > 1e9 ? 1e9 : value });
      assert.equal(r.statusCode, 201, r.body);
    }
    const recent = await post({ type: 'click', item_id: item, ts: new Date(Date.now() - 86_400_000).toISOString() });
    assert.equal(recent.statusCode, 201, recent.body);
  });
});

describe('request timeouts', () => {
  test('a request whose body never completes gets 408 and its connection is closed; so does one whose headers never end', async () => {
    const { app } = await serve({ requestTimeoutMs: 600, headersTimeoutMs: 400 }, {}, false);
    const base = new URL(await app.listen({ host: '127.0.0.1', port: 0 }));
    const stalled = async (payload: string) => {
      const sock = connect(Number(base.port), '127.0.0.1');
      let got = '';
      sock.on('data', (d) => (got += d));
      const t0 = performance.now();
      sock.write(payload);
      await new Promise<void>((resolve, reject) => {
        sock.on('close', () => resolve());
        sock.on('error', () => resolve());
        setTimeout(() => reject(new Error(`still open after 5 s (got ${JSON.stringify(got)})`)), 5000).unref();
      });
      return { ms: performance.now() - t0, got };
    };
    const body = await stalled('POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type":"');
    assert.match(body.got, /^HTTP\/1\.1 408/, body.got);
    assert.ok(body.ms < 3000, `closed after ${body.ms.toFixed(0)} ms`);
    const headers = await stalled('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    assert.match(headers.got, /^HTTP\/1\.1 408/, headers.got);
    assert.ok(headers.ms < 3000, `closed after ${headers.ms.toFixed(0)} ms`);
  });
});

describe('reload validation', () => {
  test('a bundle with out-of-range ids or a file changed since its build is refused with 409; the old bundle keeps serving', async () => {
    const { ctx, app } = await serve({ adminToken: TOKEN }, {}, false);
    const dir = datasetPaths(fx.lake, fx.name).run(fx.runB).serving;
    const manifestPath = join(dir, 'manifest.json');
    const saved = new Map<string, Buffer>();
    for (const f of ['manifest.json', 'similar-graph.i32', 'users.f32', 'history.indices.i32']) saved.set(f, await readFile(join(dir, f)));
    const reload = () => app.inject({ method: 'POST', url: '/v1/admin/reload', headers: { authorization: `Bearer ${TOKEN}` }, payload: { run_id: fx.runB } });
    const item = itemOf(ctx);
    const stillServing = async () => {
      const r = await app.inject({ method: 'GET', url: `/v1/items/${encodeURIComponent(item)}/similar?k=5&modality=graph` });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().model_version, fx.runA);
    };
    const nItems = ctx.state.variants.get('default')!.bundle.manifest.num_items;
    const manifest = JSON.parse(saved.get('manifest.json')!.toString('utf8')) as Record<string, unknown>;
    const withoutChecksums = JSON.stringify({ ...manifest, files: undefined });
    try {
      // 1. Similar-table ids beyond the catalog (the size is right), in a bundle without checksums: the range check.
      const ids = new Int32Array(new Uint8Array(saved.get('similar-graph.i32')!).buffer.slice(0));
      ids[7] = nItems + 1000;
      await writeFile(join(dir, 'similar-graph.i32'), new Uint8Array(ids.buffer));
      await writeFile(manifestPath, withoutChecksums);
      let r = await reload();
      assert.equal(r.statusCode, 409, r.body);
      assert.equal(r.json().error.code, 'PP_SERVE_BUNDLE');
      assert.match(r.json().error.message, /similar-graph\.i32 entry 7 names item \d+, outside/);
      await stillServing();
      await writeFile(join(dir, 'similar-graph.i32'), saved.get('similar-graph.i32')!);

      // 2. A history entry naming no item.
      const h = new Int32Array(new Uint8Array(saved.get('history.indices.i32')!).buffer.slice(0));
      h[0] = -5;
      await writeFile(join(dir, 'history.indices.i32'), new Uint8Array(h.buffer));
      r = await reload();
      assert.equal(r.statusCode, 409, r.body);
      assert.match(r.json().error.message, /history entry 0 names item -5/);
      await writeFile(join(dir, 'history.indices.i32'), saved.get('history.indices.i32')!);

      // 3. With checksums: a finite value changed in users.f32 (sizes and ranges fine) is caught by its sha256.
      await writeFile(manifestPath, saved.get('manifest.json')!);
      const users = new Float32Array(new Uint8Array(saved.get('users.f32')!).buffer.slice(0));
      users[3] += 0.5;
      await writeFile(join(dir, 'users.f32'), new Uint8Array(users.buffer));
      r = await reload();
      assert.equal(r.statusCode, 409, r.body);
      assert.match(r.json().error.message, /users\.f32 does not match its sha256/);
      await stillServing();
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      assert.match(metrics, /plotpointe_reloads_total\{variant="default",outcome="failed"\} 3/);
    } finally {
      for (const [f, b] of saved) await writeFile(join(dir, f), b);
    }
    // Restored: the same reload succeeds.
    const ok = await reload();
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().model_version, fx.runB);
  });
});

describe('one id pattern', () => {
  test('an id the API serves opens in the dashboard, and one the API refuses (control characters, lone surrogates) is refused by both', async () => {
    const { app } = await serve({}, {}, false);
    const pairs = (id: string) => [`/v1/users/${encodeURIComponent(id)}/recommendations?k=2`, `/api/dashboard/users/${encodeURIComponent(id)}/history`, `/v1/items/${encodeURIComponent(id)}`, `/api/dashboard/images/${encodeURIComponent(id)}`];
    // Unknown but well-formed ids: 404 everywhere (the dashboard's own pattern used to answer 400 for them).
    for (const id of ['a b', 'ü-ß', 'x/y', 'a,b', '😀', 'id#1?', 'x'.repeat(256)]) {
      for (const url of pairs(id)) {
        const r = await app.inject({ method: 'GET', url });
        assert.equal(r.statusCode, 404, `${url} → ${r.statusCode} ${r.body}`);
      }
    }
    for (const id of ['a\u0001b', 'tab\there', 'del\u007f', 'c1\u0085', 'x'.repeat(257)]) {
      for (const url of pairs(id)) {
        const r = await app.inject({ method: 'GET', url });
        assert.equal(r.statusCode, 400, `${url} → ${r.statusCode} ${r.body}`);
      }
    }
    // In bodies too: a lone surrogate or a control character in user_id / item ids is a 400 naming the field.
    const post = (url: string, body: string) => app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: body });
    for (const [url, body, field] of [
      ['/v1/recommendations', '{"item_ids":["a"],"k":5,"user_id":"\\ud800"}', 'user_id'],
      ['/v1/recommendations', '{"item_ids":["a\\u0000"],"k":5}', 'item_ids.0'],
      ['/v1/events', '{"type":"click","item_id":"\\udfffx"}', 'item_id'],
      ['/v1/events', '{"type":"click","item_id":"a","user_id":"u\\u0007"}', 'user_id'],
    ] as const) {
      const r = await post(url, body);
      assert.equal(r.statusCode, 400, `${url} ${body} → ${r.statusCode} ${r.body}`);
      assert.equal(r.json().error.field, field, r.body);
    }
  });
});
