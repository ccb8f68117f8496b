import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ItemPrior, selectPriorWeight } from './item-prior.js';
import { splitFromLists, tempDir } from './graph-filter.testkit.js';

// 3 users × 3 items: u0 {0,1}, u1 {0,1,2}, u2 {1,2}. G = XᵀX = [[2,2,1],[2,3,2],[1,2,2]]; with λ = 1,
// P = (G + I)⁻¹ = [[.5,−.25,0],[−.25,.5,−.25],[0,−.25,.5]] (det 16), so B = I − P·diag(1/diag P) =
// [[0,.5,0],[.5,0,.5],[0,.5,0]] and x_u B: u0 → [.5,.5,.5], u1 → [.5,1,.5], u2 → [.5,.5,.5].
// Train pairs' raw scores: .5 ×6 and 1 ×1, RMS c = sqrt(2.5/7).
const train = [
  [0, 1],
  [0, 1, 2],
  [1, 2],
];
const data = splitFromLists(3, train, [[2], [], [0]], [[2], [], [0]]);
const c = Math.sqrt(2.5 / 7);

async function fitted() {
  return ItemPrior.fit(data, { lambda: 1, grid: '1', memoryMb: 64 }, 1, null);
}

test('the EASE prior of a tiny catalog equals the hand-computed x_u B, divided by its RMS on the train pairs', async () => {
  const prior = await fitted();
  try {
    assert.ok(Math.abs(prior.scale - c) < 1e-6, `scale ${prior.scale}`);
    const raw = [
      [0.5, 0.5, 0.5],
      [0.5, 1, 0.5],
      [0.5, 0.5, 0.5],
    ];
    const users = Int32Array.from([0, 0, 0, 1, 1, 1, 2, 2, 2]);
    const items = Int32Array.from([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    const got = prior.pairScores(users, items);
    for (let r = 0; r < users.length; r++) assert.ok(Math.abs(got[r] - raw[users[r]][items[r]] / c) < 1e-5, `pair ${r}: ${got[r]}`);
    // addScores adds w·p to every item of the user's row
    const out = new Float32Array(2 * 3).fill(1);
    prior.addScores(Int32Array.from([1, 2]), out, 2);
    const want = [...raw[1], ...raw[2]].map((v) => 1 + (2 * v) / c);
    for (let k = 0; k < 6; k++) assert.ok(Math.abs(out[k] - want[k]) < 1e-5, `score ${k}: ${out[k]} vs ${want[k]}`);
    // weight 0 leaves the scores as they are
    const same = new Float32Array(3).fill(7);
    prior.addScores(Int32Array.from([0]), same, 0);
    assert.deepEqual(Array.from(same), [7, 7, 7]);
  } finally {
    prior.dispose();
  }
});

test('a saved prior loads back with the same λ, scale and scores', async () => {
  const dir = await tempDir();
  const prior = await fitted();
  try {
    await prior.save(join(dir, 'prior'));
    const back = await ItemPrior.load(join(dir, 'prior'), data);
    const users = Int32Array.from([0, 1, 2]);
    const items = Int32Array.from([2, 1, 0]);
    assert.equal(back.lambda, 1);
    assert.equal(back.scale, prior.scale);
    assert.deepEqual(back.pairScores(users, items), prior.pairScores(users, items));
    back.dispose();
  } finally {
    prior.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});

test('λ of the prior is chosen on valid NDCG@20 from the grid', async () => {
  const seen: number[] = [];
  const byLambda: Record<number, number> = { 1: 0.1, 10: 0.3, 100: 0.2 };
  let current = 0;
  const prior = await ItemPrior.fit(
    data,
    { lambda: 0, grid: '1,10,100', memoryMb: 64 },
    1,
    async (m) => {
      current = (m as unknown as { lambda: number }).lambda;
      return { 'ndcg@20': byLambda[current] };
    },
    (lambda) => seen.push(lambda),
  );
  try {
    assert.deepEqual(seen, [1, 10, 100]);
    assert.equal(prior.lambda, 10);
  } finally {
    prior.dispose();
  }
});

test('the prior weight is the one with the best valid NDCG@20 (ties: the first), and it is left applied', async () => {
  const valid: Record<number, number> = { 0: 0.2, 1: 0.25, 2: 0.31, 4: 0.31, 8: 0.1 };
  let applied = -1;
  const calls: number[] = [];
  const r = await selectPriorWeight(
    [0, 1, 2, 4, 8],
    (w) => {
      applied = w;
    },
    async () => {
      calls.push(applied);
      return { 'ndcg@20': valid[applied] };
    },
  );
  assert.equal(r.weight, 2);
  assert.equal(r.value, 0.31);
  assert.equal(applied, 2);
  assert.deepEqual(calls, [0, 1, 2, 4, 8]);
  assert.deepEqual(
    r.tried.map((t) => t.weight),
    [0, 1, 2, 4, 8],
  );
  await assert.rejects(selectPriorWeight([], () => {}, async () => ({})), /PP_MODEL_PARAM|no weights/);
});
