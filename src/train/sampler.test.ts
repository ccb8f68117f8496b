import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csrFromLists } from '../core/csr-pattern.js';
import { BprSampler, pickHardest } from './sampler.js';

const train = csrFromLists([[0, 1, 2], [3], [4, 5, 6, 7, 8, 9, 10]]);
const seen = (u: number) => new Set(train.indices.subarray(train.indptr[u], train.indptr[u + 1]));

for (const [negatives, negSamples] of [['uniform', 1], ['popularity', 1], ['hard', 1], ['uniform', 5], ['popularity', 3]] as const) {
  test(`${negatives} negatives (${negSamples} per pair) are never items the user has seen, positives always are`, () => {
    const s = new BprSampler(train, 20, { negatives, negSamples, seed: 1 });
    assert.equal(s.negPerPos, negatives === 'hard' ? 8 : negSamples);
    for (const b of s.epoch(4)) {
      for (let k = 0; k < b.size; k++) {
        assert.ok(seen(b.users[k]).has(b.pos[k]));
        for (let m = 0; m < s.negPerPos; m++) assert.ok(!seen(b.users[k]).has(b.neg[k * s.negPerPos + m]));
      }
    }
  });
}

test('an epoch has one triple per train interaction and the same seed gives the same triples', () => {
  const run = (seed: number) => {
    const s = new BprSampler(train, 20, { negatives: 'uniform', seed });
    const out: number[] = [];
    let n = 0;
    for (const b of s.epoch(4)) {
      n += b.size;
      for (let k = 0; k < b.size; k++) out.push(b.users[k], b.pos[k], b.neg[k]);
    }
    return { n, out: out.join(',') };
  };
  assert.equal(run(7).n, 11);
  assert.equal(run(7).out, run(7).out);
  assert.notEqual(run(7).out, run(8).out);
});

test('interactions are drawn uniformly, so a heavy user appears in proportion to its degree', () => {
  const s = new BprSampler(train, 20, { negatives: 'uniform', seed: 3 });
  const b = s.sample(22_000);
  const count = [0, 0, 0];
  for (let k = 0; k < b.size; k++) count[b.users[k]]++;
  assert.ok(Math.abs(count[2] / b.size - 7 / 11) < 0.02);
  assert.ok(Math.abs(count[1] / b.size - 1 / 11) < 0.02);
});

test("user positives ('user', LightGCN's sampler) draw each user with train items equally often, then one of their items uniformly", () => {
  const lists = [[0, 1, 2], [], [3], [4, 5, 6, 7, 8, 9, 10]]; // user 1 has no train item and is never drawn
  const s = new BprSampler(csrFromLists(lists), 20, { negatives: 'uniform', positives: 'user', seed: 3 });
  const b = s.sample(30_000);
  const users = [0, 0, 0, 0];
  const items = new Array(11).fill(0);
  for (let k = 0; k < b.size; k++) {
    users[b.users[k]]++;
    items[b.pos[k]]++;
    assert.ok(lists[b.users[k]].includes(b.pos[k]));
  }
  assert.equal(users[1], 0);
  for (const u of [0, 2, 3]) assert.ok(Math.abs(users[u] / b.size - 1 / 3) < 0.02, `user ${u}: ${users[u]} of ${b.size}`);
  for (const i of [4, 10]) assert.ok(Math.abs(items[i] / b.size - 1 / 21) < 0.01, `item ${i} of user 3: ${items[i]}`);
  let n = 0;
  for (const batch of s.epoch(4)) n += batch.size;
  assert.equal(n, 11, 'an epoch still has one triple per train interaction');
});

test('popularity negatives favour popular items', () => {
  const lists = Array.from({ length: 50 }, (_, u) => (u === 0 ? [1] : [0]));
  const s = new BprSampler(csrFromLists(lists), 10, { negatives: 'popularity', popAlpha: 1, seed: 5 });
  const b = s.sample(5000);
  let zero = 0;
  let others = 0;
  for (let k = 0; k < b.size; k++) if (b.users[k] === 0) b.neg[k] === 0 ? zero++ : others++;
  // For user 0 item 0 (count 49) has weight 50 of 50 + 1·(2) + 8·1 = 60 → ~83% of its negatives.
  assert.ok(zero / (zero + others) > 0.7, `item 0 drawn ${zero} of ${zero + others}`);
});

test('pickHardest keeps the highest-scoring candidate of each row', () => {
  const s = new BprSampler(train, 20, { negatives: 'hard', hardCandidates: 4, seed: 2 });
  const b = s.sample(5);
  const hard = pickHardest(b, 4, (_u, items) => Float32Array.from(items, (i) => i));
  for (let k = 0; k < 5; k++) assert.equal(hard[k], Math.max(...b.neg.subarray(k * 4, k * 4 + 4)));
});
