import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeedbackStore } from './store.js';
import type { StoredEvent } from './source.js';

const ev = (key: string, n: number, item: string, type: StoredEvent['type'] = 'click'): StoredEvent => ({ event_id: `${key}-${n}`, key, item_id: item, type, ts: 1000 * n, value: null });
const store = (o: Partial<ConstructorParameters<typeof FeedbackStore>[0]> = {}) =>
  new FeedbackStore({ maxKeys: 10, maxEvents: 3, maxConsumed: 2, consumeTypes: new Set(['purchase', 'rating']), ...o });

test('a key keeps its most recent events in order, at most maxEvents, and a repeated event id once', () => {
  const s = store();
  for (let n = 1; n <= 5; n++) s.add(ev('u:a', n, `i${n}`));
  s.add(ev('u:a', 5, 'i5'));
  const e = s.get('u:a')!;
  assert.deepEqual(e.items, ['i3', 'i4', 'i5']);
  assert.deepEqual(e.ts, [3000, 4000, 5000]);
  assert.equal(e.consumed.size, 0, 'clicks consume nothing');
});

test('consuming types mark their item consumed, keeping the most recent maxConsumed', () => {
  const s = store();
  s.add(ev('u:a', 1, 'x', 'purchase'));
  s.add(ev('u:a', 2, 'y', 'rating'));
  s.add(ev('u:a', 3, 'x', 'purchase'));
  s.add(ev('u:a', 4, 'z', 'purchase'));
  assert.deepEqual([...s.get('u:a')!.consumed], ['x', 'z'], 'y was consumed longest ago (x again at 3)');
});

test('the least recently used key is dropped beyond maxKeys, and the store is then no longer complete', () => {
  const s = store({ maxKeys: 2 });
  s.add(ev('u:a', 1, 'i'));
  s.add(ev('u:b', 1, 'i'));
  assert.ok(s.complete);
  s.get('u:a');
  s.add(ev('s:c', 1, 'i'));
  assert.equal(s.size, 2);
  assert.ok(s.has('u:a') && s.has('s:c') && !s.has('u:b'));
  assert.equal(s.complete, false);
});

test('set replaces a key with exactly the given events; an empty list is held as known-empty', () => {
  const s = store();
  s.add(ev('u:a', 1, 'old', 'purchase'));
  s.set('u:a', [ev('u:a', 7, 'new')]);
  assert.deepEqual(s.get('u:a')!.items, ['new']);
  assert.equal(s.get('u:a')!.consumed.size, 0);
  s.set('u:none', []);
  assert.ok(s.has('u:none'));
});
