import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configureCore, shutdownPool } from '../core/index.js';
import { clusteredVectors } from './synthetic-vectors.js';
import { exactKnn, buildKnnGraphIvf, knnRecall, sampleRows } from './knn-graph.js';
import { ivfPlan, ivfSearch, withProbes } from './ivf-knn.js';

const N = 1500;
const D = 40;
const { vectors } = clusteredVectors(N, D, { clusters: 12, seed: 5 });
// vectors of varied length: cosine must not depend on it
for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) vectors[i * D + j] *= 1 + (i % 7);

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

test('probing every cluster gives the exact cosine neighbours of every row', () => {
  const plan = ivfPlan(vectors, N, D, { clusterSize: 100, probes: 1000, pcaDim: 8 });
  assert.equal(plan.probes, plan.clusters);
  const nb = ivfSearch(vectors, plan, 10);
  const ex = exactKnn(vectors, N, D, plan.ids, 10);
  let mismatched = 0;
  for (let t = 0; t < N; t++) {
    // same neighbour set (the order of near-ties may differ in the last bit)
    const a = [...nb.indices.subarray(t * 10, t * 10 + 10)].sort();
    const b = [...ex.indices.subarray(t * 10, t * 10 + 10)].sort();
    if (a.join() !== b.join()) mismatched++;
    assert.ok(Math.abs(nb.sims[t * 10] - ex.sims[t * 10]) < 1e-5, `row ${t}: best similarity ${nb.sims[t * 10]} vs exact ${ex.sims[t * 10]}`);
  }
  assert.ok(mismatched <= 3, `${mismatched} rows differ from exact search`);
});

test('few probes keep recall@10 ≥ 0.95 on clustered vectors while scoring a fraction of the pairs', () => {
  const { graph, info } = buildKnnGraphIvf(vectors, N, D, { k: 10, clusterSize: 100, probes: 3, pcaDim: 8 });
  const r = knnRecall(graph, vectors, N, D, sampleRows(N, 300, { seed: 9 }), { k: 10 });
  assert.ok(r.recall >= 0.95, `recall ${r.recall}`);
  assert.ok(info.candidatesPerRow < N / 2, `${info.candidatesPerRow} candidates per row of ${N}`);
  for (let i = 0; i < N; i++) for (let e = graph.indptr[i]; e < graph.indptr[i + 1]; e++) assert.notEqual(graph.indices[e], i, 'no self-loops');
});

test('the neighbours of a row range are those of the whole search, byte for byte, on 1 or 2 threads', async (t) => {
  t.after(async () => {
    await configureCore({ threads: 2 });
    await shutdownPool();
  });
  await configureCore({ threads: 1 });
  const plan1 = ivfPlan(vectors, N, D, { clusterSize: 100, probes: 3, pcaDim: 8 });
  const whole1 = ivfSearch(vectors, plan1, 10);
  await configureCore({ threads: 2 });
  const plan2 = ivfPlan(vectors, N, D, { clusterSize: 100, probes: 3, pcaDim: 8 });
  assert.ok(bytes(plan2.probers).equals(bytes(plan1.probers)), 'same plan on 2 threads');
  const whole = ivfSearch(vectors, plan2, 10);
  assert.ok(bytes(whole.indices).equals(bytes(whole1.indices)) && bytes(whole.sims).equals(bytes(whole1.sims)), 'same neighbours on 1 and 2 threads');
  // three uneven shards of rows
  const cuts = [0, 377, 1001, N];
  const parts = cuts.slice(1).map((to, i) => ivfSearch(vectors, plan2, 10, cuts[i], to));
  const cat = (f: (p: (typeof parts)[number]) => Int32Array | Float32Array) => Buffer.concat(parts.map((p) => bytes(f(p))));
  assert.ok(cat((p) => p.indices).equals(bytes(whole.indices)), 'indices of the shards = indices of the whole');
  assert.ok(cat((p) => p.sims).equals(bytes(whole.sims)), 'similarities of the shards = similarities of the whole');
  assert.ok(cat((p) => p.counts).equals(bytes(whole.counts)));
});

test('rows without a vector are not searched and never neighbours', () => {
  const present = new Uint8Array(N).fill(1);
  for (let i = 3; i < N; i += 5) present[i] = 0;
  const { graph } = buildKnnGraphIvf(vectors, N, D, { k: 8, present, clusterSize: 100, probes: 3, pcaDim: 8 });
  for (let i = 0; i < N; i++) {
    if (!present[i]) assert.equal(graph.indptr[i + 1] - graph.indptr[i], 0, `row ${i} has no edges`);
    for (let e = graph.indptr[i]; e < graph.indptr[i + 1]; e++) assert.equal(present[graph.indices[e]], 1, `row ${i} links an absent row`);
  }
  const r = knnRecall(graph, vectors, N, D, sampleRows(N, 200, { seed: 1, present }), { k: 8, present });
  assert.ok(r.recall >= 0.95, `recall ${r.recall}`);
});

test('scoring candidates in a low-dim basis with residual bounds finds the neighbours of the full-dim search, scoring few pairs in full', () => {
  const opts = { clusterSize: 100, probes: 4, pcaDim: 8 };
  const full = ivfSearch(vectors, ivfPlan(vectors, N, D, opts), 10);
  const plan = ivfPlan(vectors, N, D, { ...opts, scoreDim: 16 });
  assert.equal(plan.score?.dim, 16);
  const nb = ivfSearch(vectors, plan, 10);
  assert.equal(nb.scored, full.scored, 'the same candidates');
  assert.ok(nb.verified < nb.scored / 3, `${nb.verified} of ${nb.scored} candidates scored in full`);
  let differ = 0;
  for (let t = 0; t < N; t++) {
    const a = [...nb.indices.subarray(t * 10, t * 10 + 10)].sort();
    const b = [...full.indices.subarray(t * 10, t * 10 + 10)].sort();
    if (a.join() !== b.join()) differ++;
    for (let x = 0; x < 10; x++) assert.ok(Math.abs(nb.sims[t * 10 + x] - full.sims[t * 10 + x]) < 1e-5, `row ${t}, rank ${x}: ${nb.sims[t * 10 + x]} vs ${full.sims[t * 10 + x]}`);
  }
  assert.ok(differ <= 3, `${differ} rows differ from the full-dim search (near-ties only)`);
  // shards of rows: byte for byte the whole search
  const cuts = [0, 500, 1234, N];
  const parts = cuts.slice(1).map((to, i) => ivfSearch(vectors, plan, 10, cuts[i], to));
  assert.ok(Buffer.concat(parts.map((p) => bytes(p.indices))).equals(bytes(nb.indices)), 'indices of the shards = the whole');
  assert.ok(Buffer.concat(parts.map((p) => bytes(p.sims))).equals(bytes(nb.sims)), 'similarities of the shards = the whole');
});

test('the bounded scoring gives the same bytes on 1 and 2 threads', async (t) => {
  t.after(async () => {
    await configureCore({ threads: 2 });
    await shutdownPool();
  });
  const opts = { clusterSize: 100, probes: 4, pcaDim: 8, scoreDim: 12 };
  await configureCore({ threads: 1 });
  const one = ivfSearch(vectors, ivfPlan(vectors, N, D, opts), 10);
  await configureCore({ threads: 2 });
  const two = ivfSearch(vectors, ivfPlan(vectors, N, D, opts), 10);
  assert.ok(bytes(one.indices).equals(bytes(two.indices)) && bytes(one.sims).equals(bytes(two.sims)));
  assert.equal(one.verified, two.verified);
});

test('the bounded scoring stays exact where the basis captures little (a 2-dim basis of 40-dim vectors)', () => {
  const opts = { clusterSize: 100, probes: 3, pcaDim: 8 };
  const full = ivfSearch(vectors, ivfPlan(vectors, N, D, opts), 10);
  const nb = ivfSearch(vectors, ivfPlan(vectors, N, D, { ...opts, scoreDim: 2 }), 10);
  for (let t = 0; t < N; t++) for (let x = 0; x < 10; x++) assert.ok(Math.abs(nb.sims[t * 10 + x] - full.sims[t * 10 + x]) < 1e-5, `row ${t}, rank ${x}`);
});

test('a plan cut to its p nearest probes is the plan routed with p probes', () => {
  const opts = { clusterSize: 100, pcaDim: 8, scoreDim: 16 };
  const wide = ivfPlan(vectors, N, D, { ...opts, probes: 6 });
  const cut = withProbes(wide, 3);
  const direct = ivfPlan(vectors, N, D, { ...opts, probes: 3 });
  assert.equal(cut.probes, 3);
  for (const key of ['members', 'memberStart', 'probers', 'proberStart', 'probeOf'] as const) assert.ok(bytes(cut[key]).equals(bytes(direct[key])), key);
  const a = ivfSearch(vectors, cut, 10);
  const b = ivfSearch(vectors, direct, 10);
  assert.ok(bytes(a.indices).equals(bytes(b.indices)) && bytes(a.sims).equals(bytes(b.sims)));
  assert.throws(() => withProbes(wide, 7), /probes must be/);
});
