/**
 * Live feedback end to end through the real `plotpointe serve`: a purchase leaves the user's list on the next
 * request on both workers of `--workers 2` and after a restart; clicks move an item up with a "because"; an
 * anonymous session and a user the model never saw are served from their events.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { shutdownPool } from '../../core/index.js';
import { buildServeFixture, startServeProcess, type ServeProcess } from '../testkit.js';
import { datasetPaths } from '../../lake/paths.js';

after(() => shutdownPool());

interface Rec {
  item_id: string;
  rank: number;
  because?: { item_id: string; type: string; message: string };
}
interface Answer {
  status: number;
  body: { items: Rec[]; error?: { code: string } };
}

/** One request on a new TCP connection (so that Node's cluster hands it to the next worker). */
function call(url: string, method: 'GET' | 'POST', body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(url, { method, agent: false, headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

const recs = (base: string, user: string, q = 'k=10') => call(`${base}/v1/users/${encodeURIComponent(user)}/recommendations?${q}`, 'GET');
const event = (base: string, e: Record<string, unknown>) => call(`${base}/v1/events`, 'POST', e);

/** Pids of the processes that answered GETs of a user's recommendations in this stderr slice (pino debug lines). */
function answeringPids(stderr: string): Set<number> {
  const pids = new Set<number>();
  for (const line of stderr.split('\n')) {
    if (!line.includes('"route":"/v1/users/:userId/recommendations"')) continue;
    pids.add((JSON.parse(line) as { pid: number }).pid);
  }
  return pids;
}

test('live feedback through plotpointe serve --workers 2: a purchase is excluded on every worker and after a restart; clicks, sessions and new users', async () => {
  const fx = await buildServeFixture('live-feedback');
  const bundle = datasetPaths(fx.lake, fx.name).run(fx.runA).serving;
  const users = JSON.parse(readFileSync(join(bundle, 'user_ids.json'), 'utf8')) as string[];
  const user = users[3];
  const args = ['--lake', fx.lake, '--name', fx.name, '--run', fx.runA, '--workers', '2', '--log-level', 'debug'];
  // A loaded shared machine may need minutes to start a cluster.
  let server: ServeProcess | null = await startServeProcess(args, {}, 300_000);
  try {
    let base = server.listening.listening;
    const before = await recs(base, user, 'k=40');
    assert.equal(before.status, 200);
    const bought = before.body.items[0].item_id;

    const stored = await event(base, { type: 'purchase', user_id: user, item_id: bought });
    assert.equal(stored.status, 201);
    const mark = server.stderr().length;
    for (let n = 0; n < 12; n++) {
      const r = await recs(base, user);
      assert.equal(r.status, 200);
      assert.ok(!r.body.items.some((it) => it.item_id === bought), `request ${n}: the purchased ${bought} is still recommended`);
    }
    assert.equal(answeringPids(server.stderr().slice(mark)).size, 2, 'both workers answered after the purchase');
    const modelOnly = await recs(base, user, 'k=10&feedback=false');
    assert.equal(modelOnly.body.items[0].item_id, bought, 'feedback=false is the model alone');

    // Clicks (not consuming) move a low-ranked item up, with a "because" naming the click.
    const clicked = before.body.items[35].item_id;
    await event(base, { type: 'click', user_id: user, item_id: clicked });
    await event(base, { type: 'click', user_id: user, item_id: clicked });
    const shifted = await recs(base, user, 'k=40');
    const at = shifted.body.items.find((it) => it.item_id === clicked);
    assert.ok(at && at.rank < 36, `the clicked item moved up from rank 36 (now ${at?.rank})`);
    assert.ok(shifted.body.items.some((it) => it.because?.item_id === clicked && /^because you just viewed /.test(it.because.message)), 'a "because you just viewed" explanation');
    assert.ok(!shifted.body.items.some((it) => it.item_id === bought));

    // A user the model never saw: 404 until they have events, then served from their events alone.
    assert.equal((await recs(base, 'never-seen-user')).status, 404);
    await event(base, { type: 'click', user_id: 'never-seen-user', item_id: clicked });
    const fresh = await recs(base, 'never-seen-user');
    assert.equal(fresh.status, 200);
    assert.equal(fresh.body.items.length, 10);
    assert.ok(fresh.body.items.every((it) => it.item_id === clicked || it.because?.item_id === clicked), 'every item is there because of the one click');

    // An anonymous session: its events alone, and its purchase excluded.
    const sessionItem = before.body.items[20].item_id;
    assert.equal((await event(base, { type: 'click', session_id: 'sess-1', item_id: sessionItem })).status, 201);
    assert.equal((await event(base, { type: 'purchase', session_id: 'sess-1', item_id: bought })).status, 201);
    for (let n = 0; n < 4; n++) {
      const s = await call(`${base}/v1/recommendations`, 'POST', { session_id: 'sess-1', k: 10 });
      assert.equal(s.status, 200);
      assert.equal(s.body.items.length, 10);
      assert.ok(!s.body.items.some((it) => it.item_id === bought), 'the session purchase is excluded');
      assert.ok(s.body.items.some((it) => it.because?.item_id === sessionItem), 'items there because of the session click');
    }
    assert.equal((await call(`${base}/v1/recommendations`, 'POST', { session_id: 'no-events' })).status, 404);

    // Restart: the events are read back from the log.
    const stopped = await server.stop();
    server = null;
    assert.equal(stopped.code, 0);
    server = await startServeProcess(args, {}, 300_000);
    base = server.listening.listening;
    const mark2 = server.stderr().length;
    for (let n = 0; n < 8; n++) {
      const r = await recs(base, user);
      assert.equal(r.status, 200);
      assert.ok(!r.body.items.some((it) => it.item_id === bought), `after the restart, request ${n}: ${bought} is recommended again`);
    }
    assert.equal(answeringPids(server.stderr().slice(mark2)).size, 2, 'both workers of the restarted cluster answered');
    assert.equal((await recs(base, 'never-seen-user')).status, 200, 'the new user is known from their stored event after the restart');
  } finally {
    await server?.stop();
  }
});
