import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { shutdownPool } from '../../core/index.js';
import { openDb } from '../../lake/duckdb.js';
import { buildServeFixture, childPids, startServeProcess } from '../testkit.js';
import { datasetPaths, lakePaths } from '../../lake/paths.js';

after(() => shutdownPool());

const TOKEN = 'cluster-token';


async function until<T>(what: string, f: () => Promise<T | null> | T | null, seconds = 60): Promise<T> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const v = await f();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('serve --workers 2: two API processes share the port; events, request log, analytics, metrics, reload under load, a killed worker replaced on the new run, SIGTERM', async () => {
  const fx = await buildServeFixture('serve-cluster');
  const server = await startServeProcess(['--lake', fx.lake, '--name', fx.name, '--run', fx.runA, '--workers', '2'], { PLOTPOINTE_ADMIN_TOKEN: TOKEN });
  const child = server.child;
  let served = 0;
  const recommend = async (user: string) => {
    const r = await fetch(`${url}/v1/users/${user}/recommendations?k=5`);
    assert.equal(r.status, 200, await r.clone().text());
    served++;
    return ((await r.json()) as { model_version: string }).model_version;
  };
  let url = '';
  let stopped: Awaited<ReturnType<typeof server.stop>>;
  try {
    const listening = server.listening;
    url = listening.listening;
    assert.equal(listening.workers, 2);
    assert.deepEqual(listening.variants, { default: fx.runA });
    // The workers re-run the serve command line (other children of the primary, e.g. a helper process, are not workers).
    const isWorker = (pid: number) => {
      try {
        return / serve /.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '));
      } catch {
        return false;
      }
    };
    const workers = childPids(child.pid!).filter(isWorker);
    assert.equal(workers.length, 2, `the primary has two worker processes: ${workers}`);

    const bundle = datasetPaths(fx.lake, fx.name).run(fx.runA).serving;
    const known = { user: (JSON.parse(readFileSync(join(bundle, 'user_ids.json'), 'utf8')) as string[])[0], item: (JSON.parse(readFileSync(join(bundle, 'item_ids.json'), 'utf8')) as string[])[0] };
    assert.equal(await recommend(known.user), fx.runA);

    // A feedback event is stored (through the primary) before the 201.
    const ev = await fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'click', item_id: known.item, user_id: known.user }) });
    assert.equal(ev.status, 201, await ev.clone().text());

    // Reload under load: no failed request, only the two runs seen, and afterwards every worker serves run B.
    let stop = false;
    const seen = new Set<string>();
    const load = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!stop) seen.add(await recommend(known.user));
      }),
    );
    await new Promise((r) => setTimeout(r, 300));
    const reload = await fetch(`${url}/v1/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ run_id: fx.runB }) });
    assert.equal(reload.status, 200, await reload.clone().text());
    assert.equal(((await reload.json()) as { model_version: string }).model_version, fx.runB);
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await load;
    assert.deepEqual([...seen].sort(), [fx.runA, fx.runB].sort());
    for (let i = 0; i < 20; i++) assert.equal(await recommend(known.user), fx.runB, 'both workers swapped');
    const unauthorised = await fetch(`${url}/v1/admin/reload`, { method: 'POST' });
    assert.equal(unauthorised.status, 401);

    // Metrics are the cluster's: the request counter sums both workers. A response's counter and log row are
    // written in its onResponse hook, which may run just after the client has the response: poll briefly, but
    // the figure must never exceed the requests made and must reach them exactly.
    let metrics = '';
    await until(`every one of ${served} recommendations counted once`, async () => {
      metrics = await (await fetch(`${url}/metrics`)).text();
      const counted = Number(/plotpointe_http_requests_total\{method="GET",route="\/v1\/users\/:userId\/recommendations",status="200"\} (\d+)/.exec(metrics)?.[1]);
      assert.ok(counted <= served, `${counted} counted for ${served} requests`);
      return counted === served ? true : null;
    }, 10);
    assert.match(metrics, /plotpointe_model_info\{variant="default",model_version="[^"]+",model="mf"\} 1/);
    assert.match(metrics, /plotpointe_reloads_total\{variant="default",outcome="ok"\} 1\b/);

    // Analytics through the primary sees every row logged so far (workers ship their waiting rows first).
    await until(`all ${served} recommendation rows in the analytics store`, async () => {
      const q = await fetch(`${url}/v1/analytics/query`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sql: "SELECT count(*) AS n FROM requests WHERE route = '/v1/users/:userId/recommendations' AND status = 200" }),
      });
      assert.equal(q.status, 200, await q.clone().text());
      const n = Number(((await q.json()) as { rows: { n: number }[] }).rows[0].n);
      assert.ok(n <= served, `${n} rows for ${served} requests`);
      return n === served ? true : null;
    }, 10);

    // A killed worker is replaced, serving the run the cluster serves now (B), not the one on the command line.
    process.kill(workers[0], 'SIGKILL');
    await until('a replacement worker', () => {
      const now = childPids(child.pid!).filter(isWorker);
      return now.length === 2 && !now.includes(workers[0]) ? now : null;
    });
    await until('the replacement to listen', () => (/replacement worker \d+ is serving/.test(server.stderr()) ? true : null));
    for (let i = 0; i < 20; i++) assert.equal(await recommend(known.user), fx.runB);
  } finally {
    stopped = await server.stop();
  }
  {
    const { code, summary } = stopped;
    assert.equal(code, 0, server.stderr().slice(-3000));
    assert.equal(summary?.signal, 'SIGTERM');
    assert.equal(summary?.workers, 2);
    assert.deepEqual(summary?.variants, { default: fx.runB });
  }
  // Every recommendation response is in the request log once the cluster has stopped.
  const db = await openDb({ path: lakePaths(fx.lake).servingLog });
  try {
    const [row] = await db.all<{ n: bigint; events: bigint }>(
      "SELECT (SELECT count(*) FROM requests WHERE route = '/v1/users/:userId/recommendations' AND status = 200) AS n, (SELECT count(*) FROM events) AS events",
    );
    assert.equal(Number(row.n), served);
    assert.equal(Number(row.events), 1);
  } finally {
    db.close();
  }
});
