import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RowBuffer } from './row-buffer.js';

const never = { flushRows: 1_000_000, flushMs: 60_000, flush: () => assert.fail('no flush expected') };

test('rows come back as one JSON array body, multi-byte text intact, across buffer growth', () => {
  const b = new RowBuffer(never);
  const rows = Array.from({ length: 5000 }, (_, i) => ({ i, title: `Café ☕ ${'é'.repeat(i % 300)} 🎧`, items: [{ item_id: `I${i}`, score: 0.5 }] }));
  for (const r of rows) b.append(JSON.stringify(r));
  assert.equal(b.rows, 5000);
  const { elements, rows: n } = b.take();
  assert.equal(n, 5000);
  assert.ok(Buffer.byteLength(elements) > 1 << 20, 'grew past the first 1 MB');
  assert.deepEqual(JSON.parse(`[${elements}]`), rows);
  assert.deepEqual(b.take(), { elements: '', rows: 0 }, 'take empties the buffer');
});

test('a batch of several rows (a cluster worker’s) joins the others with one separator', () => {
  const b = new RowBuffer(never);
  b.append('{"a":1}');
  b.append('{"a":2},{"a":3}', 2);
  b.append('', 0);
  b.append('{"a":4}');
  const t = b.take();
  assert.equal(t.rows, 4);
  assert.deepEqual(JSON.parse(`[${t.elements}]`), [{ a: 1 }, { a: 2 }, { a: 3 }, { a: 4 }]);
});

test('flush is due at flushRows rows, or flushMs after the first waiting row — and take cancels the timer', async () => {
  let due = 0;
  const b = new RowBuffer({ flushRows: 3, flushMs: 30, flush: () => due++ });
  b.append('1');
  b.append('2');
  assert.equal(due, 0);
  b.append('3');
  assert.equal(due, 1, 'the third row makes a batch due');
  b.take();
  b.append('4');
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(due, 2, 'one row waits at most flushMs');
  b.take();
  b.append('5');
  b.take();
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(due, 2, 'a taken buffer has no timer left');
});
