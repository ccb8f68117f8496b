import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { silentProgress } from '../core/progress.js';
import { runSplit, splitOptionsFromConfig } from '../data/split/run-split.js';
import { loadConfig } from '../config/load.js';
import { generateDemo } from '../data/demo/generate.js';
import { ingest } from '../data/ingest.js';
import { loadSplit, type PartCsr } from '../graphs/split-data.js';
import { openDb, sqlString } from '../lake/duckdb.js';
import { datasetPaths, lakePaths } from '../lake/paths.js';
import { ServingLogs } from '../serving/request-log.js';
import { tempDir } from '../test-support/fixtures.js';
import { foldLiveEvents, parseSince } from './live-events.js';
import { runTraining } from '../orchestration/run-training.js';


const items = (p: PartCsr, u: number) => [...p.indices.subarray(p.indptr[u], p.indptr[u + 1])];

test('train --since folds stored events into train: new pairs added, valid/test pairs held out, old, unknown and other types skipped', async () => {
  const dir = tempDir('live-events');
  const lake = join(dir, 'lake');
  const name = 'demo';
  const config = loadConfig({ overrides: { 'lake.dir': lake } });
  const demo = await generateDemo({ out: join(dir, 'demo'), seed: 7, users: 80, items: 60, catalogItems: 60, images: false, format: 'amazon2018' });
  await ingest({ format: 'amazon2018', inputs: [demo.files.meta, demo.files.reviews], lake, name, progress: () => silentProgress });
  const split = datasetPaths(lake, name).split('default');
  await runSplit(lake, name, 'default', splitOptionsFromConfig(config));
  const data = await loadSplit(split);
  const db = await openDb();
  const users = await db.all<{ uid: number; user_id: string }>(`SELECT uid, user_id FROM read_parquet(${sqlString(split.userMap)}) ORDER BY uid`);
  const itemIds = (await db.all<{ iid: number; item_id: string }>(`SELECT iid, item_id FROM read_parquet(${sqlString(split.itemMap)}) ORDER BY iid`)).map((r) => r.item_id);
  db.close();
  // A user with valid and test items, and an item they never had.
  const u = users.findIndex((_, x) => data.valid.indptr[x + 1] > data.valid.indptr[x] && data.test.indptr[x + 1] > data.test.indptr[x]);
  assert.ok(u >= 0);
  const known = new Set([...items(data.train, u), ...items(data.valid, u), ...items(data.test, u)]);
  const fresh = itemIds.findIndex((_, i) => !known.has(i));
  const testItem = items(data.test, u)[0];
  const validItem = items(data.valid, u)[0];
  const trainItem = items(data.train, u)[0];
  const uid = users[u].user_id;

  const logs = await ServingLogs.open(lakePaths(lake).servingLog, { flushRows: 10, flushMs: 1000 });
  const ev = (n: number, user: string, item: string, type: 'click' | 'purchase' | 'impression', ts = '2026-06-01T12:00:00Z') =>
    logs.insertEvent({ event_id: `e${n}`, ts, request_id: null, user_id: user, item_id: item, type, value: null, variant: 'default' });
  await ev(1, uid, itemIds[fresh], 'purchase');
  await ev(2, uid, itemIds[fresh], 'click'); // the same pair again: one train entry
  await ev(3, uid, itemIds[testItem], 'purchase'); // test: held out
  await ev(4, uid, itemIds[validItem], 'click'); // valid: held out
  await ev(5, uid, itemIds[trainItem], 'purchase'); // already in train
  await ev(6, 'nobody-knows-me', itemIds[fresh], 'purchase'); // unknown user
  await ev(7, uid, itemIds[(fresh + 1) % itemIds.length], 'impression'); // not a folded type
  await ev(8, uid, itemIds[(fresh + 2) % itemIds.length], 'purchase', '2026-01-01T00:00:00Z'); // before --since
  await logs.close();

  const { data: next, summary } = await foldLiveEvents(lake, data, parseSince('2026-05-01'), ['click', 'purchase', 'rating']);
  assert.deepEqual(
    { events: summary.events, added: summary.added, held_out: summary.held_out, already: summary.already_in_train, unknown: summary.unknown },
    { events: 6, added: 1, held_out: 2, already: 1, unknown: 1 },
  );
  assert.deepEqual(items(next.train, u), [...items(data.train, u), fresh]);
  assert.ok(!items(next.train, u).includes(testItem) && !items(next.train, u).includes(validItem), 'no valid/test pair in train');
  assert.equal(next.train.indices.length, data.train.indices.length + 1);
  assert.equal(next.test, data.test, 'test untouched');
  for (let x = 0; x < data.numUsers; x++) if (x !== u) assert.deepEqual(items(next.train, x), items(data.train, x));

  // Through runTraining (what `plotpointe train --since` calls): the run records what it added.
  const run = await runTraining({ lake, name, split: 'default', model: 'pop', ks: [20], eventsSince: { since: parseSince('2026-05-01'), types: ['purchase'] } });
  assert.equal(run.live_events?.added, 1);
  assert.equal(run.live_events?.held_out, 1, 'only the test purchase among purchases');
  assert.throws(() => parseSince('yesterday'), /PP_USAGE|ISO 8601/);
});
