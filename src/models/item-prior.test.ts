import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { configureCore, shutdownPool, startPool } from '../core/index.js';
import { ItemPrior, parsePriorParams, selectPriorWeight } from './item-prior.js';
import { bspmSpec, fitBspm } from './bspm.js';
import { fitGfcf, gfcfSpec } from './gfcf.js';
import { resolveParams } from './registry.js';
import { randomLists, splitFromLists, tempDir } from './graph-filter.testkit.js';

before(async () => {
  await configureCore({ threads: 2 });
  await startPool();
});
after(async () => {
  await shutdownPool();
});

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
  return ItemPrior.fit(data, { kind: 'ease', lambda: 1, grid: '1', memoryMb: 64 }, 1, null);
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
    { kind: 'ease', lambda: 0, grid: '1,10,100', memoryMb: 64 },
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

// ---- graph-filter priors (gfcf, bspm) ------------------------------------------------------------

const GU = 40;
const GI = 25;
const gLists = randomLists(21, GU, GI, 0.2);
const gData = splitFromLists(GI, gLists, gLists.map(() => []));
/** Every (u, i) pair of the catalog, with repeats and users out of order. */
function allPairs(): { users: Int32Array; items: Int32Array } {
  const users: number[] = [];
  const items: number[] = [];
  for (let u = GU - 1; u >= 0; u--) for (let i = 0; i < GI; i++) users.push(u), items.push(i);
  users.push(3, 3, 0);
  items.push(7, 7, 24);
  return { users: Int32Array.from(users), items: Int32Array.from(items) };
}

const FILTERS = [
  { kind: 'gfcf' as const, params: 'k=6,alpha=0.3', fit: (seed: number) => fitGfcf(gData, resolveParams(gfcfSpec, { k: 6, alpha: 0.3 }), seed) },
  { kind: 'gfcf' as const, params: 'k=0', fit: (seed: number) => fitGfcf(gData, resolveParams(gfcfSpec, { k: 0 }), seed) },
  { kind: 'bspm' as const, params: 'k=6', fit: (seed: number) => fitBspm(gData, resolveParams(bspmSpec, { k: 6 }), seed) },
];

for (const f of FILTERS) {
  test(`the ${f.kind} prior (${f.params}) scores each pair as the ${f.kind} model's full-ranking score at that pair, over its RMS on train pairs`, async () => {
    const prior = await ItemPrior.fit(gData, { kind: f.kind, lambda: 0, grid: '', memoryMb: 64, params: f.params }, 5, null);
    const model = f.fit(5);
    try {
      const rows = new Float32Array(GU * GI);
      model.scoreUsers(Int32Array.from({ length: GU }, (_, u) => u), rows);
      const { users, items } = allPairs();
      const got = prior.pairScores(users, items);
      let maxAbs = 0;
      for (const v of rows) maxAbs = Math.max(maxAbs, Math.abs(v));
      assert.ok(maxAbs > 0.1, 'the fixture gives non-trivial scores');
      for (let r = 0; r < users.length; r++) {
        const want = rows[users[r] * GI + items[r]];
        assert.ok(Math.abs(got[r] * prior.scale - want) < 1e-5 * maxAbs, `${f.kind} pair (${users[r]}, ${items[r]}): ${got[r] * prior.scale} vs ${want}`);
      }
      // the scale is the RMS of the raw score over the train pairs (all of them: the catalog is small)
      let sq = 0;
      let n = 0;
      for (let u = 0; u < GU; u++) for (const i of new Set(gLists[u])) (sq += rows[u * GI + i] ** 2), n++;
      assert.ok(Math.abs(prior.scale - Math.sqrt(sq / n)) < 1e-5 * prior.scale, `scale ${prior.scale} vs ${Math.sqrt(sq / n)}`);
      // addScores adds w · row / c
      const some = Int32Array.from([4, 0, 4, 39]);
      const out = new Float32Array(some.length * GI).fill(0.5);
      prior.addScores(some, out, 3);
      for (let r = 0; r < some.length; r++)
        for (let i = 0; i < GI; i++) {
          const want = 0.5 + (3 * rows[some[r] * GI + i]) / prior.scale;
          assert.ok(Math.abs(out[r * GI + i] - want) < 1e-4, `addScores (${some[r]}, ${i})`);
        }
    } finally {
      prior.dispose();
      model.dispose();
    }
  });
}

test('a saved gfcf / bspm prior loads back with its kind, scale and scores', async () => {
  const dir = await tempDir();
  try {
    for (const kind of ['gfcf', 'bspm'] as const) {
      const prior = await ItemPrior.fit(gData, { kind, lambda: 0, grid: '', memoryMb: 64, params: 'k=5' }, 2, null);
      await prior.save(join(dir, kind));
      const back = await ItemPrior.load(join(dir, kind), gData);
      try {
        assert.equal(back.kind, kind);
        assert.equal(back.scale, prior.scale);
        const { users, items } = allPairs();
        assert.deepEqual(back.pairScores(users, items), prior.pairScores(users, items));
        const a = new Float32Array(3 * GI);
        const b = new Float32Array(3 * GI);
        prior.addScores(Int32Array.from([1, 2, 3]), a, 1);
        back.addScores(Int32Array.from([1, 2, 3]), b, 1);
        assert.deepEqual(b, a);
      } finally {
        prior.dispose();
        back.dispose();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the prior's row cache keeps at most its size in rows and scores exactly as without it", async () => {
  // 25 items × 4 bytes = 100 bytes a row: 0.0005 MB holds 5 rows
  const cached = await ItemPrior.fit(gData, { kind: 'gfcf', lambda: 0, grid: '', memoryMb: 64, params: 'k=4', cacheMb: 0.0005 }, 3, null);
  const plain = await ItemPrior.fit(gData, { kind: 'gfcf', lambda: 0, grid: '', memoryMb: 64, params: 'k=4' }, 3, null);
  try {
    const users = Int32Array.from([0, 1, 2, 1, 3, 4, 5, 6, 7]);
    for (let round = 0; round < 2; round++) {
      const a = new Float32Array(users.length * GI);
      const b = new Float32Array(users.length * GI);
      cached.addScores(users, a, 2);
      plain.addScores(users, b, 2);
      for (let k = 0; k < a.length; k++) assert.ok(Math.abs(a[k] - b[k]) < 1e-6, `round ${round}, score ${k}: ${a[k]} vs ${b[k]}`);
      assert.equal(cached.cachedUsers, 5);
      assert.equal(plain.cachedUsers, 0);
    }
    cached.setCacheMb(0.0002);
    assert.equal(cached.cachedUsers, 2);
  } finally {
    cached.dispose();
    plain.dispose();
  }
});

test('prior params are key=value pairs; anything else is refused', () => {
  assert.deepEqual(parsePriorParams(' k=256, alpha=0.3 ,'), { k: '256', alpha: '0.3' });
  assert.deepEqual(parsePriorParams(''), {});
  assert.throws(() => parsePriorParams('k'), /PP_MODEL_PARAM|key=value/);
});
