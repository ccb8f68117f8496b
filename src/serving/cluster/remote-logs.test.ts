import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestLogRow } from '../../analytics/log-schema.js';
import { IpcChannel } from './ipc.js';
import { pair } from './ipc.testkit.js';
import { RemoteLogs } from './remote-logs.js';

const row = (n: number): RequestLogRow => ({
  request_id: `r${n}`,
  ts: '2026-06-01T00:00:00.000Z',
  route: '/v1/users/:userId/recommendations',
  user_id: `u${n}`,
  model_version: 'run',
  variant: 'default',
  k: 5,
  items: [{ item_id: 'i1', score: 0.5, rank: 1 }],
  latency_ms: 1,
  status: 200,
  item_id: null,
});

/** A worker's RemoteLogs wired to a fake primary that records each `log-rows` message it receives. */
function wired(batchRows?: number) {
  const [w, p] = pair();
  const messages: { ids: string[] }[] = [];
  const sends: number[] = [];
  const send = w.send.bind(w);
  // Counts messages when they are handed to the channel (the kernel's pipe in a real worker), not when delivered.
  w.send = (m: unknown, cb?: (err: Error | null) => void) => {
    if ((m as { op?: string }).op === 'log-rows') sends.push(Date.now());
    return send(m, cb);
  };
  new IpcChannel(p, {
    'log-rows': (b: { elements: string; rows: number }) => {
      const rows = JSON.parse(`[${b.elements}]`) as { request_id: string }[];
      assert.equal(rows.length, b.rows);
      messages.push({ ids: rows.map((r) => r.request_id) });
    },
    ping: () => true,
  });
  const logs = new RemoteLogs(new IpcChannel(w), { batchRows });
  return { logs, messages, sends };
}

test('a worker sends the rows of one event-loop turn as one message, and each row\'s promise resolves only once its message is handed to the channel', async () => {
  const { logs, messages, sends } = wired();
  const handed: number[] = [];
  const waits = Array.from({ length: 10 }, (_, n) => Promise.resolve(logs.logRequest(row(n))).then(() => handed.push(sends.length)));
  assert.equal(sends.length, 0, 'nothing sent within the turn');
  await Promise.all(waits);
  assert.deepEqual(handed, Array(10).fill(1), 'every row resolved after the one message was sent');
  // A later turn: a second message.
  await logs.logRequest(row(10));
  await logs.flush();
  assert.deepEqual(messages.map((m) => m.ids.length), [10, 1]);
  assert.equal(logs.sentMessages, 2);
  assert.equal(logs.sentRows, 11);
});

test('at batchRows waiting rows a message goes at once; close (a graceful exit) sends the rest — no row lost, none twice', async () => {
  const { logs, messages } = wired(4);
  const waits: (void | Promise<void>)[] = [];
  for (let n = 0; n < 10; n++) waits.push(logs.logRequest(row(n)));
  assert.deepEqual(messages.length, 0, 'delivery is asynchronous');
  await logs.close();
  await Promise.all(waits);
  assert.deepEqual(messages.map((m) => m.ids.length), [4, 4, 2]);
  assert.deepEqual(messages.flatMap((m) => m.ids), Array.from({ length: 10 }, (_, n) => `r${n}`));
  assert.equal(logs.logRequest(row(99)), undefined, 'closed: rows are refused');
});
