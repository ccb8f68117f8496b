import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shutdownPool } from '../core/index.js';
import { Rng } from '../core/random.js';
import { csrFromLists, type CsrPattern } from '../core/csr-pattern.js';
import { foldInRecommender, foldInUser } from '../models/fold-in.js';
import type { ItemContent, Recommender } from '../models/model.js';
import { contentSimilarityRecommender } from './content-similarity.js';
import { evaluateFullRanking } from './full-ranking.js';
import { topK } from './top-k.js';

/** The definition the batched scorer must keep: per user, the unit mean of the history's unit vectors, a scalar cosine loop in doubles. */
function referenceScores(content: ItemContent, history: CsrPattern, users: number[]): Float32Array {
  const { dim, present } = content;
  const n = present.length;
  const unit = content.vectors.slice();
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += unit[i * dim + j] ** 2;
    if (s > 0) for (let j = 0; j < dim; j++) unit[i * dim + j] /= Math.sqrt(s);
  }
  const out = new Float32Array(users.length * n);
  users.forEach((u, r) => {
    const h: number[] = [];
    for (let e = history.indptr[u]; e < history.indptr[u + 1]; e++) if (present[history.indices[e]]) h.push(history.indices[e]);
    for (let i = 0; i < n; i++) {
      if (!present[i]) out[r * n + i] = -2;
      else if (!h.length) out[r * n + i] = 0;
    }
    if (!h.length) return;
    const p = foldInUser(unit, dim, h);
    for (let i = 0; i < n; i++) {
      if (!present[i]) continue;
      let s = 0;
      for (let j = 0; j < dim; j++) s += p[j] * unit[i * dim + j];
      out[r * n + i] = s;
    }
  });
  return out;
}

/** A seeded catalog: `numItems` × `dim` random vectors, every 7th item without the modality, and per-user histories. */
function toyCatalog(numUsers: number, numItems: number, dim: number, seed: number): { content: ItemContent; train: CsrPattern; test: CsrPattern } {
  const rng = new Rng(seed);
  const vectors = new Float32Array(numItems * dim);
  const present = new Uint8Array(numItems);
  for (let i = 0; i < numItems; i++) {
    present[i] = i % 7 === 3 ? 0 : 1;
    if (present[i]) for (let j = 0; j < dim; j++) vectors[i * dim + j] = rng.normal();
  }
  const train: number[][] = [];
  const held: number[][] = [];
  for (let u = 0; u < numUsers; u++) {
    // user 5 knows only items without the modality (no profile); user 9 has no train items
    const h = u === 5 ? [3, 10] : u === 9 ? [] : Array.from({ length: 1 + (u % 6) }, () => Math.floor(rng.next() * numItems));
    train.push(h);
    held.push(Array.from({ length: 3 }, () => Math.floor(rng.next() * numItems)));
  }
  return { content: { modality: 'text', vectors, dim, present, encoder: 'toy' }, train: csrFromLists(train), test: csrFromLists(held) };
}

test('content similarity scored in batched GEMMs equals the scalar definition: scores within 1e-5, same top 20, same cold-item metrics', async (t) => {
  t.after(() => shutdownPool());
  for (const numItems of [203, 240]) {
    // 203 items: the kernel's narrow path (n % 4 ≠ 0); 240: the register-blocked one
    const numUsers = 70;
    const { content, train, test: held } = toyCatalog(numUsers, numItems, 24, numItems);
    const rec = contentSimilarityRecommender(content, train);
    const users = Array.from({ length: numUsers }, (_, u) => u);
    const fast = new Float32Array(numUsers * numItems);
    await rec.scoreUsers(Int32Array.from(users), fast);
    const ref = referenceScores(content, train, users);
    let maxDiff = 0;
    for (let x = 0; x < ref.length; x++) maxDiff = Math.max(maxDiff, Math.abs(fast[x] - ref[x]));
    assert.ok(maxDiff < 1e-5, `${numItems} items: max |fast − scalar| = ${maxDiff}`);
    for (const u of [0, 1, 5, 9, 33]) {
      const row = (a: Float32Array) => a.subarray(u * numItems, (u + 1) * numItems);
      if (u === 5 || u === 9) assert.deepEqual(Array.from(row(fast)), Array.from(row(ref)), `user ${u} without a profile: 0 / −2 exactly`);
      else assert.deepEqual(Array.from(topK(row(fast), 20)), Array.from(topK(row(ref), 20)), `user ${u}: top 20`);
    }
    // the cold-item protocol over a candidate pool, batches of 16 users: the same metrics as the scalar scores
    const candidates = Array.from({ length: numItems }, (_, i) => i).filter((i) => i % 3 === 0);
    const run = (score: (users: Int32Array, out: Float32Array) => void | Promise<void>) =>
      evaluateFullRanking({ numUsers, numItems, scoreBatch: score, train, test: held, ks: [10, 20], candidates, batchSize: 16 });
    const a = await run((us, out) => rec.scoreUsers(us, out));
    const b = await run((us, out) => out.set(referenceScores(content, train, Array.from(us))));
    assert.ok(a.usersEvaluated > 30);
    for (const k of Object.keys(b.metrics)) assert.ok(Math.abs(a.metrics[k] - b.metrics[k]) < 1e-12, `${k}: ${a.metrics[k]} vs ${b.metrics[k]}`);
    rec.dispose();
  }
});

test('the fold-in recommender scores a batch of users as one product, equal to each user’s scalar scores', async (t) => {
  t.after(() => shutdownPool());
  const { content, train } = toyCatalog(40, 150, 16, 7);
  const base = { items: content.vectors, dim: 16, numItems: 150, modelName: 'toy' };
  const rec: Recommender = foldInRecommender(base, train);
  const users = Int32Array.from({ length: 40 }, (_, u) => u);
  const out = new Float32Array(40 * 150);
  await rec.scoreUsers(users, out);
  for (const u of users) {
    const s = train.indptr[u];
    const v = foldInUser(content.vectors, 16, train.indices.subarray(s, train.indptr[u + 1]));
    for (let i = 0; i < 150; i++) {
      let ref = 0;
      for (let j = 0; j < 16; j++) ref += v[j] * content.vectors[i * 16 + j];
      assert.ok(Math.abs(out[u * 150 + i] - ref) < 1e-4, `user ${u} item ${i}: ${out[u * 150 + i]} vs ${ref}`);
    }
  }
});
