import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { generateDemo } from '../data/demo/generate.js';
import { openDb, sqlString } from '../lake/duckdb.js';
import { repoRoot, tempDir } from '../test-support/fixtures.js';
import { RunStore } from '../tracking/index.js';
import { dashboardPlugin } from './plugin.js';
import type { DashboardSummary, HistoryRow, ItemMeta, UserRow } from './catalog.js';
import { datasetPaths } from '../lake/paths.js';

// The dashboard plugin on a small demo lake with one trained run, through Fastify's inject (no browser).

let dir: string;
let lake: string;
let app: FastifyInstance;
let runId: string;

before(async () => {
  dir = tempDir('web-plugin');
  lake = join(dir, 'lake');
  const config = join(dir, 'c.json');
  writeFileSync(config, JSON.stringify({ lake: { dir: lake }, dataset: { name: 'demo' } }));
  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'plotpointe.mjs'), ...args, '--config', config, '--json', '--quiet'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trimEnd().split('\n').at(-1)!);
  };
  const sources = join(dir, 'sources');
  await generateDemo({ out: sources, users: 60, items: 50, catalogItems: 55, images: true, progress: false });
  cli(['data', 'ingest', '--format', 'amazon2018', '--input', sources, '--lake', lake, '--name', 'demo']);
  cli(['data', 'split', '--lake', lake, '--name', 'demo', '--split', 'default', '--strategy', 'ratio']);
  runId = cli(['train', '--model', 'mf', '--param', 'epochs=3', 'eval_every=1', 'batch=256']).run_id;
  app = Fastify();
  await app.register(dashboardPlugin, { lake, name: 'demo', servingInfo: () => ({ run_id: runId }) });
  await app.ready();
});

after(async () => {
  await app?.close();
});

const json = async <T>(url: string): Promise<T> => {
  const r = await app.inject(url);
  assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
  return r.json() as T;
};

test('the shell is UTF-8 HTML with a skip link and local, content-hashed assets', async () => {
  const r = await app.inject('/');
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers['content-type']), /text\/html; charset=utf-8/);
  assert.match(r.body, /<meta charset="utf-8">/);
  assert.match(r.body, /class="skip-link" href="#main"/);
  assert.doesNotMatch(r.body, /https?:\/\//, 'no external URL in the shell');
  const js = r.body.match(/src="(\/assets\/app\.js\?v=[0-9a-f]{12})"/)?.[1];
  const css = r.body.match(/href="(\/assets\/app\.css\?v=[0-9a-f]{12})"/)?.[1];
  assert.ok(js && css);
  const jsr = await app.inject(js);
  assert.equal(jsr.statusCode, 200);
  assert.ok(jsr.body.length > 20_000, 'the bundle includes uPlot');
  assert.doesNotMatch(jsr.body, /(?:src|href)=["']https?:|import\s*\(\s*["']https?:/, 'no remote imports');
  const cssr = await app.inject(css);
  assert.match(cssr.body, /\.uplot/);
});

test('summary: the data card of the lake, split counts, and degree distributions that add up to the counts', async () => {
  const s = await json<DashboardSummary & { serving: { run_id: string } }>('/api/dashboard/summary');
  const card = JSON.parse(readFileSync(datasetPaths(lake, 'demo').stagingFiles.datacardJson, 'utf8'));
  assert.deepEqual(s.card, card);
  assert.equal(s.split, 'default');
  assert.equal(s.serving.run_id, runId);
  const users = s.userDegree.reduce((a, p) => a + p.count, 0);
  const edges = s.userDegree.reduce((a, p) => a + p.count * p.degree, 0);
  assert.equal(users, card.counts.users);
  assert.equal(edges, card.counts.interactions);
  assert.equal(s.itemDegree.reduce((a, p) => a + p.count * p.degree, 0), card.counts.interactions);
  assert.equal(s.userDegree.at(-1)!.degree, card.user_degree.max);
  const manifest = JSON.parse(readFileSync(datasetPaths(lake, 'demo').split('default').manifest, 'utf8'));
  assert.deepEqual(s.splitCounts, manifest.counts.interactions);
});

test('users: most active first by training interactions, searchable, with their training history', async () => {
  const db = await openDb();
  const split = datasetPaths(lake, 'demo').split('default');
  const top = await db.all<{ user_id: string; n: number }>(`SELECT um.user_id, count(*)::INTEGER AS n FROM read_parquet(${sqlString(split.part('train'))}) t
    JOIN read_parquet(${sqlString(split.userMap)}) um USING (uid) GROUP BY um.user_id ORDER BY n DESC, um.user_id LIMIT 5`);
  db.close();
  const { users } = await json<{ users: UserRow[] }>('/api/dashboard/users?limit=5');
  assert.deepEqual(users, top.map((r) => ({ userId: r.user_id, trainCount: r.n })));
  const q = users[0]!.userId.slice(2, 8).toLowerCase();
  const found = await json<{ users: UserRow[] }>(`/api/dashboard/users?q=${q}`);
  assert.ok(found.users.some((u) => u.userId === users[0]!.userId), 'search is case-insensitive on a part of the id');
  const h = await json<{ total: number; items: HistoryRow[] }>(`/api/dashboard/users/${users[0]!.userId}/history?limit=500`);
  assert.equal(h.total, users[0]!.trainCount);
  assert.equal(h.items.length, users[0]!.trainCount);
  assert.ok(h.items.every((i) => i.title && i.hasImage));
  for (let i = 1; i < h.items.length; i++) assert.ok((h.items[i - 1]!.ts ?? 0) >= (h.items[i]!.ts ?? 0), 'newest first');
  assert.equal((await app.inject('/api/dashboard/users/NOPE_NOT_A_USER/history')).statusCode, 404);
  assert.equal((await app.inject('/api/dashboard/users?limit=0')).statusCode, 400);
});

test('items: search by title or id, metadata in the order asked', async () => {
  const { items } = await json<{ items: ItemMeta[] }>('/api/dashboard/items?limit=3');
  assert.equal(items.length, 3);
  const word = items[0]!.title!.split(' ')[0]!;
  const byTitle = await json<{ items: ItemMeta[] }>(`/api/dashboard/items?q=${encodeURIComponent(word)}`);
  assert.ok(byTitle.items.every((i) => i.title!.toLowerCase().includes(word.toLowerCase())));
  const byId = await json<{ items: ItemMeta[] }>(`/api/dashboard/items?q=${items[1]!.itemId}`);
  assert.equal(byId.items[0]!.itemId, items[1]!.itemId);
  const meta = await json<{ items: ItemMeta[] }>(`/api/dashboard/item-meta?ids=${items[2]!.itemId},UNKNOWN1,${items[0]!.itemId}`);
  assert.deepEqual(meta.items.map((i) => i.itemId), [items[2]!.itemId, items[0]!.itemId]);
  assert.equal((await app.inject('/api/dashboard/item-meta?ids=a,b%01c')).statusCode, 400);
  const like = await json<{ items: ItemMeta[] }>('/api/dashboard/items?q=%25%25%25');
  assert.equal(like.items.length, 0, 'LIKE wildcards in the query are literal');
});

test('image route: serves the file the item metadata names, and nothing else', async () => {
  const { items } = await json<{ items: ItemMeta[] }>('/api/dashboard/items?limit=1');
  const id = items[0]!.itemId;
  const db = await openDb();
  const row = await db.one<{ image_path: string }>(`SELECT image_path FROM read_parquet(${sqlString(datasetPaths(lake, 'demo').stagingFiles.items)}) WHERE item_id = ${sqlString(id)}`);
  db.close();
  const r = await app.inject(`/api/dashboard/images/${id}`);
  assert.equal(r.statusCode, 200);
  assert.equal(r.headers['content-type'], 'image/png');
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.deepEqual(r.rawPayload, readFileSync(row!.image_path));
  // An id is never a path: one that looks like a path names no item (404); a control character is a 400.
  for (const id of ['..%2F..%2Fetc%2Fpasswd', '%2Fetc%2Fpasswd']) assert.equal((await app.inject(`/api/dashboard/images/${id}`)).statusCode, 404, id);
  assert.equal((await app.inject('/api/dashboard/images/a%00b')).statusCode, 400);
  assert.equal((await app.inject('/api/dashboard/images/..')).statusCode, 404, 'a dot id is not a path');
  assert.equal((await app.inject('/api/dashboard/images/UNKNOWN_ITEM')).statusCode, 404);
});

test('image route: an image whose real path leaves the lake and the input folders is not served, whatever the metadata names', async () => {
  const { items } = await json<{ items: ItemMeta[] }>('/api/dashboard/items?limit=3');
  const id = items[2]!.itemId;
  const db = await openDb();
  const row = await db.one<{ image_path: string }>(`SELECT image_path FROM read_parquet(${sqlString(datasetPaths(lake, 'demo').stagingFiles.items)}) WHERE item_id = ${sqlString(id)}`);
  db.close();
  const inside = row!.image_path;
  const original = readFileSync(inside);
  assert.equal((await app.inject(`/api/dashboard/images/${id}`)).statusCode, 200);
  // The same file name, now a link to a PNG outside every allowed folder.
  const outside = join(tempDir('web-plugin-outside'), 'secret.png');
  writeFileSync(outside, original);
  rmSync(inside);
  symlinkSync(outside, inside);
  try {
    const r = await app.inject(`/api/dashboard/images/${id}`);
    assert.equal(r.statusCode, 404, r.body);
  } finally {
    rmSync(inside);
    writeFileSync(inside, original);
  }
  assert.equal((await app.inject(`/api/dashboard/images/${id}`)).statusCode, 200);
});

test('runs: the run store rows of the dataset with their epochs; ablation tables as written', async () => {
  const store = await RunStore.open(lake, { create: false });
  const expected = await store.get(runId);
  store.close();
  const { runs } = await json<{ runs: { id: string; metrics: unknown }[] }>('/api/dashboard/runs');
  assert.deepEqual(runs.map((r) => r.id), [runId]);
  assert.deepEqual(runs[0]!.metrics, expected!.metrics);
  const one = await json<{ epochs: { epoch: number; loss: number }[] }>(`/api/dashboard/runs/${runId}`);
  assert.deepEqual(one.epochs, JSON.parse(JSON.stringify(expected!.epochs)));
  assert.equal(one.epochs.length, 3);
  assert.equal((await app.inject('/api/dashboard/runs/20990101-000000-x-0000')).statusCode, 404);
  // The view is cached until the store changes: a new blessing shows at once.
  const s2 = await RunStore.open(lake, { create: false });
  await s2.bless(runId);
  s2.close();
  const again = await json<{ runs: { id: string; blessedIn: string[] }[] }>('/api/dashboard/runs');
  assert.deepEqual(again.runs[0]!.blessedIn, ['default']);

  assert.deepEqual(await json('/api/dashboard/ablations'), { ablations: [] });
  const abl = datasetPaths(lake, 'demo').ablation('grid-1');
  mkdirSync(abl, { recursive: true });
  const table = { rows: [{ features: 'text', layers: 2, test: { 'ndcg@20': 0.12 } }] };
  writeFileSync(join(abl, 'ablation.json'), JSON.stringify(table));
  const got = await json<{ ablations: { id: string; table: unknown }[] }>('/api/dashboard/ablations');
  assert.deepEqual(got.ablations.map((a) => [a.id, a.table]), [['grid-1', table]]);
});
