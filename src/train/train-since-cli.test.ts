import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { silentProgress } from '../core/progress.js';
import { runSplit, splitOptionsFromConfig } from '../data/split/run-split.js';
import { loadConfig } from '../config/load.js';
import { shutdownPool } from '../core/index.js';
import { generateDemo } from '../data/demo/generate.js';
import { ingest } from '../data/ingest.js';
import { loadSplit } from '../graphs/split-data.js';
import { openDb, sqlString } from '../lake/duckdb.js';
import { datasetPaths, lakePaths } from '../lake/paths.js';
import { getModel } from '../models/index.js';
import { ServingLogs } from '../serving/request-log.js';
import { startServeProcess } from '../serving/testkit.js';
import { runCli } from '../test-support/cli.js';
import { tempDir } from '../test-support/fixtures.js';
import { foldLiveEvents, parseSince } from './live-events.js';


after(() => shutdownPool());

/** Scores of user `u` for `items` by a model loaded from `modelDir` over `data`. */
async function scoresOf(model: string, modelDir: string, data: Awaited<ReturnType<typeof loadSplit>>, u: number, items: number[]): Promise<number[]> {
  const m = await getModel(model).load(modelDir, data);
  try {
    const out = new Float32Array(data.numItems);
    await m.scoreUsers(Int32Array.of(u), out);
    return items.map((i) => out[i]);
  } finally {
    m.dispose?.();
  }
}

test('train --since → index build → serve (real CLI, gat): the served scores are the trained model\'s — over the train part with the events, not the plain split', async () => {
  const dir = tempDir('train-since-cli');
  const lake = join(dir, 'lake');
  const name = 'demo';
  const lakeArgs = ['--lake', lake, '--name', name];
  const demo = await generateDemo({ out: join(dir, 'demo'), seed: 5, users: 80, items: 60, catalogItems: 60, images: false, format: 'amazon2018' });
  await ingest({ format: 'amazon2018', inputs: [demo.files.meta, demo.files.reviews], lake, name, progress: () => silentProgress });
  const splitDir = datasetPaths(lake, name).split('default');
  await runSplit(lake, name, 'default', splitOptionsFromConfig(loadConfig({ overrides: { 'lake.dir': lake } })));
  const plain = await loadSplit(splitDir);
  const db = await openDb();
  const userIds = (await db.all<{ user_id: string }>(`SELECT user_id FROM read_parquet(${sqlString(splitDir.userMap)}) ORDER BY uid`)).map((r) => r.user_id);
  const itemIds = (await db.all<{ item_id: string }>(`SELECT item_id FROM read_parquet(${sqlString(splitDir.itemMap)}) ORDER BY iid`)).map((r) => r.item_id);
  db.close();

  // Purchases (what a server's POST /v1/events stores) of items the user never had, for a few users.
  const logs = await ServingLogs.open(lakePaths(lake).servingLog, { flushRows: 10, flushMs: 1000 });
  const known = (u: number) => new Set([plain.train, plain.valid, plain.test].flatMap((p) => [...p.indices.subarray(p.indptr[u], p.indptr[u + 1])]));
  let n = 0;
  for (const u of [0, 1, 2, 3, 4, 5]) {
    const have = known(u);
    for (const i of itemIds.map((_, i) => i).filter((i) => !have.has(i)).slice(0, 4)) {
      await logs.insertEvent({ event_id: `e${n++}`, ts: '2026-06-01T12:00:00Z', request_id: null, user_id: userIds[u], item_id: itemIds[i], type: 'purchase', value: null, variant: 'default' });
    }
  }
  await logs.close();

  const trained = runCli(['train', ...lakeArgs, '--split', 'default', '--model', 'gat', '--param', 'epochs=2', 'eval_every=1', 'dim=8', '--since', '2026-05-01'], { json: true });
  assert.equal(trained.status, 0, trained.stderr);
  const runId = String(trained.json.run_id);
  const modelDir = String(trained.json.artifacts.model);

  // The trained model: its saved state over the train part with the events (rebuilt here from the event log,
  // independently of what the run recorded), and the model the plain split would make of the same files.
  const { data: folded, summary } = await foldLiveEvents(lake, plain, parseSince('2026-05-01'), ['purchase']);
  assert.ok(summary.added >= 20);
  assert.equal(trained.json.live_events.added, summary.added);
  const u = 0;
  const probe = itemIds.map((_, i) => i);
  const want = await scoresOf('gat', modelDir, folded, u, probe);
  const wrong = await scoresOf('gat', modelDir, plain, u, probe);
  assert.ok(want.some((s, i) => Math.abs(s - wrong[i]) > 1e-4), 'over the plain split the model scores user 0 differently (the check below can fail)');

  const built = runCli(['index', 'build', ...lakeArgs, '--run', runId, '--similar-k', '0'], { json: true });
  assert.equal(built.status, 0, built.stderr);

  const server = await startServeProcess([...lakeArgs, '--run', runId]);
  try {
    const url = server.listening.listening;
    const r = await fetch(`${url}/v1/users/${encodeURIComponent(userIds[u])}/recommendations?k=20&exclude_seen=false&feedback=false`);
    assert.equal(r.status, 200, await r.clone().text());
    const body = (await r.json()) as { items: { item_id: string; score: number }[] };
    assert.ok(body.items.length >= 10);
    for (const it of body.items) {
      const i = itemIds.indexOf(it.item_id);
      assert.ok(Math.abs(it.score - want[i]) < 1e-3, `${it.item_id}: served ${it.score}, trained ${want[i]} (plain split: ${wrong[i]})`);
    }
  } finally {
    await server.stop();
  }

  // Without its record the run cannot be served as something else: index build refuses.
  rmSync(datasetPaths(lake, name).run(runId).trainAdded);
  const refused = runCli(['index', 'build', ...lakeArgs, '--run', runId, '--similar-k', '0'], { json: true });
  assert.equal(refused.json.error?.code, 'PP_MODEL_LOAD', refused.stderr);
});
