import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServedModel } from '../served-model.js';
import { becauseOf } from './because.js';
import { blendVector, cachedProfile, eventWeight, exclusion, liveProfile, mergeSorted, servingVector } from './profile.js';
import { DEFAULT_FEEDBACK_SETTINGS, parseConsumeTypes } from './settings.js';
import { FeedbackStore } from './store.js';

const HOUR = 3_600_000;
const s = { ...DEFAULT_FEEDBACK_SETTINGS, halfLifeHours: 2, weights: { impression: 0, click: 0.5, purchase: 1, rating: 1 } };

/** A 3-item, 2-d model: items a = (1, 0), b = (0, 1), c = (0.6, 0.8). */
function tinyModel(): ServedModel {
  const ids = ['a', 'b', 'c'];
  return {
    dim: 2,
    bundle: { items: Float32Array.from([1, 0, 0, 1, 0.6, 0.8]) },
    itemIndex: new Map(ids.map((id, i) => [id, i])),
    itemId: (i: number) => ids[i],
    itemMeta: (i: number) => ({ title: `Item ${ids[i].toUpperCase()}` }),
  } as unknown as ServedModel;
}

test('an event weighs its type weight halved every half-life of age; ratings below min_rating and impressions weigh 0', () => {
  const now = 10 * HOUR;
  assert.equal(eventWeight(s, 'purchase', null, now, now), 1);
  assert.equal(eventWeight(s, 'click', null, now - 2 * HOUR, now), 0.25);
  assert.equal(eventWeight(s, 'purchase', null, now - 4 * HOUR, now), 0.25);
  assert.equal(eventWeight(s, 'purchase', null, now + HOUR, now), 1, 'a future timestamp counts as now');
  assert.equal(eventWeight(s, 'rating', 1, now, now), 0);
  assert.equal(eventWeight(s, 'rating', 4, now, now), 1);
  assert.equal(eventWeight(s, 'impression', null, now, now), 0);
});

test('the blend keeps the learned norm: u\' = (1−α)·u + α·‖u‖·f; without u it is f, without f it is u', () => {
  const u = Float32Array.from([3, 4]);
  const f = Float32Array.from([0, 1]);
  assert.deepEqual([...blendVector(u, f, 0.5)!], [1.5, 2 + 2.5]);
  assert.deepEqual([...blendVector(u, f, 0)!], [3, 4]);
  assert.equal(blendVector(null, f, 0.3), f);
  assert.equal(blendVector(u, null, 0.3), u);
  assert.equal(blendVector(null, null, 0.3), null);
});

test('mergeSorted is the sorted union without duplicates', () => {
  assert.deepEqual([...mergeSorted(Int32Array.from([1, 4, 9]), Int32Array.from([2, 4, 10]))], [1, 2, 4, 9, 10]);
  assert.deepEqual([...mergeSorted(new Int32Array(0), Int32Array.from([3]))], [3]);
});

test('a profile folds in the weighted recent events the model knows and lists the consumed items as split ids', () => {
  const m = tinyModel();
  const st = new FeedbackStore({ maxKeys: 5, maxEvents: 10, maxConsumed: 10, consumeTypes: new Set(parseConsumeTypes('purchase')) });
  const now = 100 * HOUR;
  st.add({ event_id: '1', key: 'u:x', item_id: 'b', type: 'purchase', ts: now, value: null });
  st.add({ event_id: '2', key: 'u:x', item_id: 'gone', type: 'purchase', ts: now, value: null });
  st.add({ event_id: '3', key: 'u:x', item_id: 'a', type: 'click', ts: now, value: null });
  const p = liveProfile(m, st.get('u:x')!, s, now);
  assert.deepEqual([...p.consumed], [1], 'b; the unknown item is skipped');
  // f ∝ 1·(0, 1) + 0.5·(1, 0) = (0.5, 1), unit length
  const n = Math.hypot(0.5, 1);
  assert.ok(Math.abs(p.foldIn![0] - 0.5 / n) < 1e-6 && Math.abs(p.foldIn![1] - 1 / n) < 1e-6, `${p.foldIn}`);
  assert.deepEqual(p.recent.map((r) => [r.iid, r.weight]), [[1, 1], [0, 0.5]]);
});

test('an item is "because" of the recent event contributing most when the live part of its score is larger', () => {
  const m = tinyModel();
  const recent = [
    { iid: 0, type: 'click' as const, ts: 0, weight: 1 },
    { iid: 1, type: 'purchase' as const, ts: 0, weight: 1 },
  ];
  const f = Float32Array.from([0, 1]);
  // learned u = (1, 0): item c (0.6, 0.8) gets learned 0.5·0.6 = 0.3 vs live 0.5·1·0.8 = 0.4 → because of b (⟨b, c⟩ 0.8 > ⟨a, c⟩ 0.6)
  const b = becauseOf(m, 2, Float32Array.from([1, 0]), f, 0.5, recent);
  assert.equal(b?.item_id, 'b');
  assert.equal(b?.message, 'because you just bought Item B');
  // item a: learned 0.5 vs live 0 → the model's own choice
  assert.equal(becauseOf(m, 0, Float32Array.from([1, 0]), f, 0.5, recent), null);
  // no learned vector: everything is live; an item is never "because" of an event on itself
  assert.equal(becauseOf(m, 2, null, Float32Array.from([1, 0]), 0.5, recent.slice(0, 1))?.message, 'because you just viewed Item A');
  assert.equal(becauseOf(m, 0, null, Float32Array.from([1, 0]), 0.5, recent.slice(0, 1)), null);
});

test('consume_types must name event types', () => {
  assert.deepEqual(parseConsumeTypes(' purchase, rating ,purchase'), ['purchase', 'rating']);
  assert.deepEqual(parseConsumeTypes(''), []);
  assert.throws(() => parseConsumeTypes('buy'), /PP_CONFIG_INVALID|not an event type/);
});

test('a key\'s profile is computed once per change of its events and equals a fresh one at a later time', () => {
  const m = tinyModel();
  const st = new FeedbackStore({ maxKeys: 5, maxEvents: 10, maxConsumed: 10, consumeTypes: new Set(parseConsumeTypes('purchase')) });
  const t = 100 * HOUR;
  st.add({ event_id: '1', key: 'u:x', item_id: 'b', type: 'purchase', ts: t, value: null });
  st.add({ event_id: '2', key: 'u:x', item_id: 'a', type: 'click', ts: t + HOUR, value: null });
  const entry = st.get('u:x')!;
  const first = cachedProfile(m, entry, s, t + HOUR);
  const later = cachedProfile(m, entry, s, t + 30 * HOUR);
  assert.equal(later, first, 'no new event: the same profile');
  // f does not depend on now while every event is in the past (the decay factor common to all events cancels)
  const fresh = liveProfile(m, entry, s, t + 30 * HOUR);
  for (let j = 0; j < 2; j++) assert.ok(Math.abs(fresh.foldIn![j] - first.foldIn![j]) < 1e-6, `${fresh.foldIn} vs ${first.foldIn}`);
  assert.notEqual(cachedProfile(m, entry, s, t + HOUR), cachedProfile(m, entry, { ...s }, t + HOUR), 'other settings: computed again');
  st.add({ event_id: '3', key: 'u:x', item_id: 'c', type: 'purchase', ts: t + 2 * HOUR, value: null });
  const after = cachedProfile(m, entry, s, t + 2 * HOUR);
  assert.notEqual(after, first, 'a new event: computed again');
  assert.deepEqual([...after.consumed], [1, 2]);
});

test('a profile with an event in the future of the request is not reused (its clamp to now changes with now)', () => {
  const m = tinyModel();
  const st = new FeedbackStore({ maxKeys: 5, maxEvents: 10, maxConsumed: 10, consumeTypes: new Set(parseConsumeTypes('purchase')) });
  const t = 100 * HOUR;
  st.add({ event_id: '1', key: 'u:x', item_id: 'a', type: 'purchase', ts: t, value: null });
  st.add({ event_id: '2', key: 'u:x', item_id: 'b', type: 'purchase', ts: t + 2 * HOUR, value: null });
  const entry = st.get('u:x')!;
  const early = cachedProfile(m, entry, s, t); // both weigh 1 (b is clamped to now): f ∝ (1, 1)
  assert.ok(Math.abs(early.foldIn![0] - early.foldIn![1]) < 1e-6);
  const late = cachedProfile(m, entry, s, t + 2 * HOUR); // a has aged one half-life: f ∝ (0.5, 1)
  assert.notEqual(late, early);
  assert.ok(Math.abs(late.foldIn![1] / late.foldIn![0] - 2) < 1e-5, `${late.foldIn}`);
});

test('the serving vector and the exclusion list are kept per learned view, α and known view', () => {
  const m = tinyModel();
  const st = new FeedbackStore({ maxKeys: 5, maxEvents: 10, maxConsumed: 10, consumeTypes: new Set(parseConsumeTypes('purchase')) });
  st.add({ event_id: '1', key: 'u:x', item_id: 'b', type: 'purchase', ts: 0, value: null });
  const p = cachedProfile(m, st.get('u:x')!, s, HOUR);
  const users = Float32Array.from([3, 4, 1, 0]);
  const u0 = servingVector(p, users.subarray(0, 2), 0.5)!;
  assert.deepEqual([...u0], [1.5, 2 + 2.5]);
  assert.equal(servingVector(p, users.subarray(0, 2), 0.5), u0, 'the same view and α: kept');
  assert.deepEqual([...servingVector(p, users.subarray(2, 4), 0.5)!], [0.5, 0.5], 'another user row');
  assert.deepEqual([...servingVector(p, users.subarray(2, 4), 0)!], [1, 0], 'another α');
  assert.equal(servingVector(p, null, 0.5), p.foldIn);
  const known = Int32Array.from([0, 2, 5]);
  assert.deepEqual([...exclusion(p, known.subarray(0, 1))], [0, 1]);
  assert.deepEqual([...exclusion(p, known.subarray(1, 2))], [1, 2], 'another known view');
  assert.deepEqual([...exclusion(p, new Int32Array(0))], [1]);
});

test('a profile names per distinct item its heaviest event, most recent item first', () => {
  const m = tinyModel();
  const st = new FeedbackStore({ maxKeys: 5, maxEvents: 10, maxConsumed: 10, consumeTypes: new Set(parseConsumeTypes('purchase')) });
  const t = 100 * HOUR;
  st.add({ event_id: '1', key: 'u:x', item_id: 'a', type: 'purchase', ts: t, value: null });
  st.add({ event_id: '2', key: 'u:x', item_id: 'b', type: 'click', ts: t, value: null });
  st.add({ event_id: '3', key: 'u:x', item_id: 'a', type: 'click', ts: t + 1, value: null });
  const p = liveProfile(m, st.get('u:x')!, s, t + 1);
  assert.deepEqual([...p.recentItems], [0, 1], 'a (event 3) is more recent than b');
  assert.deepEqual(p.heaviest.map((r) => [r.iid, r.type]), [[0, 'purchase'], [1, 'click']], "a's purchase weighs 1, its later click ~0.5");
});
