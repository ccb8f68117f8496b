import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { tempDir } from '../test-support/fixtures.js';
import { loggedItemsJson, ServingLogs } from './request-log.js';
import type { RequestLogRow } from '../analytics/log-schema.js';
import { lakePaths } from '../lake/paths.js';

const row = (i: number): RequestLogRow => ({
  request_id: `r${i}`,
  ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  route: '/v1/users/:userId/recommendations',
  user_id: `u${i}`,
  model_version: 'RUN',
  variant: 'default',
  k: 2,
  items: [
    { item_id: 'a', score: 1.5, rank: 1 },
    { item_id: 'b', score: 0.5, rank: 2 },
  ],
  latency_ms: 0.25,
  status: 200,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the request log writes in batches: by row count, by age, and at close; events are stored before the promise resolves', async () => {
  const path = lakePaths(tempDir('request-log')).servingLog;
  const logs = await ServingLogs.open(path, { flushRows: 3, flushMs: 80 });
  logs.logRequest(row(1));
  logs.logRequest(row(2));
  await sleep(10);
  assert.equal(logs.written, 0, 'two rows wait for the batch');
  // The timer (80 ms) flushes them with no flush() call; the insert itself may take a while on a loaded machine.
  for (let waited = 0; logs.written < 2 && waited < 10_000; waited += 20) await sleep(20);
  assert.equal(logs.written, 2, 'the timer flushed them');
  for (let i = 3; i <= 5; i++) logs.logRequest(row(i));
  await logs.flush();
  assert.equal(logs.written, 5, 'three rows fill a batch');
  logs.logRequest(row(6));
  await logs.insertEvent({ event_id: 'e1', ts: '2026-01-01T00:00:09Z', request_id: 'r1', user_id: 'u1', item_id: 'a', type: 'click', value: null, variant: 'default' });
  const events = await logs.query('SELECT event_id, type, request_id FROM events');
  assert.deepEqual(events, [{ event_id: 'e1', type: 'click', request_id: 'r1' }]);
  await logs.close();
  assert.equal(logs.written, 6, 'close flushes the rest');

  // The file holds the contract schema; items are JSON with item_id, score and rank only.
  const db = await DuckDBInstance.create(path);
  const conn = await db.connect();
  const rows = (await conn.runAndReadAll("SELECT request_id, CAST(ts AS VARCHAR) AS ts, CAST(items AS VARCHAR) AS items, typeof(items) AS t FROM requests ORDER BY request_id")).getRowObjectsJS();
  assert.equal(rows.length, 6);
  assert.equal(rows[0].ts, '2026-01-01 00:00:01');
  assert.equal(rows[0].t, 'JSON');
  assert.deepEqual(JSON.parse(String(rows[0].items)), row(1).items);
  conn.closeSync();
  db.closeSync();
});

test('a requests table of another layout (an extra column) still takes the rows (the batch INSERT names its columns)', async () => {
  const path = join(tempDir('request-log-layout'), 'serving.duckdb');
  const db = await DuckDBInstance.create(path);
  const conn = await db.connect();
  await conn.run(
    'CREATE TABLE requests(request_id VARCHAR, ts TIMESTAMP, route VARCHAR, user_id VARCHAR, model_version VARCHAR, variant VARCHAR, k INTEGER, items JSON, latency_ms DOUBLE, status INTEGER, note VARCHAR)',
  );
  conn.closeSync();
  db.closeSync();
  const logs = await ServingLogs.open(path, { flushRows: 100, flushMs: 1000 });
  logs.logRequest({ ...row(1), item_id: 'q' });
  logs.logRequest(row(2));
  await logs.close();
  assert.equal(logs.written, 2);
  assert.equal(logs.dropped, 0);
  const db2 = await DuckDBInstance.create(path);
  const c2 = await db2.connect();
  const rows = (await c2.runAndReadAll('SELECT request_id, item_id, note, CAST(items AS VARCHAR) AS items FROM requests ORDER BY request_id')).getRowObjectsJS();
  assert.deepEqual(
    rows.map((r) => [r.request_id, r.item_id, r.note]),
    [
      ['r1', 'q', null],
      ['r2', null, null],
    ],
  );
  assert.deepEqual(JSON.parse(String(rows[0].items)), row(1).items);
  c2.closeSync();
  db2.closeSync();
});

test('logged items JSON keeps item_id, score and rank only, as JSON.stringify with those fields writes it', () => {
  const items = [
    { item_id: 'a"\\é\u0001', score: 0.123456, rank: 1, title: 't', explanation: [{ item_id: 'h' }] },
    { item_id: 'b', score: -2, rank: 2, title: null },
  ];
  assert.equal(loggedItemsJson(items), JSON.stringify(items, ['item_id', 'score', 'rank']));
  assert.equal(loggedItemsJson([]), '[]');
});

test('a batch with JSON-hostile strings, null ids and k 0 round-trips through the one-parameter INSERT', async () => {
  const path = join(tempDir('request-log-escape'), 'serving.duckdb');
  const logs = await ServingLogs.open(path, { flushRows: 100, flushMs: 1000 });
  const odd = { ...row(1), request_id: 'r"\\\n\u2028é', user_id: null, k: 0, items: [], status: 404, item_id: "it's" };
  logs.logRequest(odd);
  await logs.close();
  assert.equal(logs.dropped, 0);
  const db = await DuckDBInstance.create(path);
  const conn = await db.connect();
  const rows = (await conn.runAndReadAll('SELECT request_id, user_id, k, CAST(items AS VARCHAR) AS items, status, item_id FROM requests')).getRowObjectsJS();
  assert.deepEqual(rows, [{ request_id: odd.request_id, user_id: null, k: 0, items: '[]', status: 404, item_id: "it's" }]);
  conn.closeSync();
  db.closeSync();
});

/** The rows of `path`'s requests table (opened after the store closed). */
async function storedRequests(path: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(path);
  const conn = await db.connect();
  try {
    return (await conn.runAndReadAll('SELECT request_id, user_id, item_id, CAST(items AS VARCHAR) AS items FROM requests ORDER BY request_id')).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

test('a lone surrogate in any logged string costs nothing: every row of its batch is written, the surrogate stored as U+FFFD', async () => {
  const path = join(tempDir('request-log-surrogate'), 'serving.duckdb');
  const logs = await ServingLogs.open(path, { flushRows: 100, flushMs: 1000 });
  for (let i = 1; i <= 3; i++) logs.logRequest(row(i));
  logs.logRequest({ ...row(4), user_id: '\ud800' });
  logs.logRequest({ ...row(5), item_id: 'x\udfff', items: [{ item_id: 'a\ud83d', score: 1, rank: 1 }] });
  logs.logRequest({ ...row(6), request_id: 'r6\ud800', variant: '\udc00v', model_version: 'RUN\ud800', route: '/r\ud800' });
  for (let i = 7; i <= 9; i++) logs.logRequest(row(i));
  await logs.close();
  assert.equal(logs.dropped, 0);
  assert.equal(logs.written, 9);
  const rows = await storedRequests(path);
  assert.equal(rows.length, 9);
  assert.equal(rows.find((r) => r.request_id === 'r4')!.user_id, '\ufffd');
  const r5 = rows.find((r) => r.request_id === 'r5')!;
  assert.equal(r5.item_id, 'x\ufffd');
  assert.deepEqual(JSON.parse(String(r5.items)), [{ item_id: 'a\ufffd', score: 1, rank: 1 }]);
  assert.ok(rows.some((r) => r.request_id === 'r6\ufffd'));
});

test('a row the store refuses is dropped alone and counted as invalid_row; the good rows of its batch are written', async () => {
  const path = join(tempDir('request-log-bad-row'), 'serving.duckdb');
  const errors: number[] = [];
  const logs = await ServingLogs.open(path, { flushRows: 100, flushMs: 1000, onError: (_e, n) => errors.push(n) });
  for (let i = 1; i <= 10; i++) {
    if (i === 3) logs.logRequest({ ...row(i), ts: 'not a time' });
    else if (i === 8) logs.logRequest({ ...row(i), ts: '2026-02-30T00:00:00Z' });
    else logs.logRequest(row(i));
  }
  await logs.close();
  assert.equal(logs.written, 8);
  assert.equal(logs.dropped, 2);
  assert.deepEqual(logs.droppedBy, { invalid_row: 2, store_error: 0, unparseable_batch: 0 });
  assert.deepEqual(errors, [1, 1]);
  assert.deepEqual(
    (await storedRequests(path)).map((r) => r.request_id),
    ['r1', 'r10', 'r2', 'r4', 'r5', 'r6', 'r7', 'r9'],
  );
});

test('a batch that is not a JSON array (a broken worker batch) is dropped and counted, and later batches are written', async () => {
  const path = join(tempDir('request-log-unparseable'), 'serving.duckdb');
  const logs = await ServingLogs.open(path, { flushRows: 100, flushMs: 1000 });
  logs.appendRows('{"request_id": "x",', 2);
  await logs.flush();
  logs.logRequest(row(1));
  await logs.close();
  assert.deepEqual(logs.droppedBy, { invalid_row: 0, store_error: 0, unparseable_batch: 2 });
  assert.equal(logs.written, 1);
});

test('events with values at the edges of a double and lone surrogates in their ids are stored', async () => {
  const path = join(tempDir('request-log-events-edge'), 'serving.duckdb');
  const logs = await ServingLogs.open(path, { flushRows: 100, flushMs: 1000 });
  const base = { ts: '2026-01-01T00:00:00Z', request_id: null, item_id: 'a', type: 'purchase' as const, variant: null };
  await logs.insertEvent({ ...base, event_id: 'e1', user_id: 'u', value: 1e19 });
  await logs.insertEvent({ ...base, event_id: 'e2', user_id: 'u', value: -1e308 });
  await logs.insertEvent({ ...base, event_id: 'e3', user_id: 'u\ud800', value: 2 ** 53 + 2 });
  const rows = await logs.query('SELECT event_id, user_id, value FROM events ORDER BY event_id');
  assert.deepEqual(rows, [
    { event_id: 'e1', user_id: 'u', value: 1e19 },
    { event_id: 'e2', user_id: 'u', value: -1e308 },
    { event_id: 'e3', user_id: 'u\ufffd', value: 2 ** 53 + 2 },
  ]);
  await logs.close();
});
