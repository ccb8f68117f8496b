import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { configureCore, shutdownPool, startPool } from '../core/index.js';
import { evaluateRecommender } from '../eval/evaluate-model.js';
import { resolveParams } from './registry.js';
import { GfcfModel, gfcfSpec } from './gfcf.js';
import { symmetricEigen } from './graph-filter.js';
import { popSpec } from './pop.js';
import { denseFilters, maxDiff, plantedSplit, randomLists, rowTimes, scoresOf, splitFromLists, tempDir, testFitContext } from './graph-filter.testkit.js';

before(async () => {
  await configureCore({ threads: 2 });
  await startPool();
});
after(async () => {
  await shutdownPool();
});

const U = 40;
const I = 25;
const lists = randomLists(21, U, I, 0.2);
const testLists = lists.map(() => []);

async function fit(params: Record<string, unknown>, data = splitFromLists(I, lists, testLists)): Promise<GfcfModel> {
  return (await gfcfSpec.fit(testFitContext(data, resolveParams(gfcfSpec, params)))) as GfcfModel;
}

/** Dense GF-CF: r P̃ + α r D^{-1/2} V_k V_kᵀ D^{1/2} with V_k the top-k eigenvectors of the dense P̃. */
function denseGfcf(k: number, alpha: number): Float64Array {
  const { R, P, itemDegree } = denseFilters(I, lists);
  const eig = symmetricEigen(P, I);
  assert.ok(eig.values[k - 1] - eig.values[k] > 1e-3, 'the fixture needs a spectral gap after λ_k');
  // M = D^{-1/2} V_k V_kᵀ D^{1/2}
  const M = new Float64Array(I * I);
  for (let a = 0; a < I; a++)
    for (let b = 0; b < I; b++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += eig.vectors[a * I + j] * eig.vectors[b * I + j];
      M[a * I + b] = (s * Math.sqrt(itemDegree[b])) / Math.sqrt(itemDegree[a]);
    }
  const out = new Float64Array(U * I);
  for (let u = 0; u < U; u++) {
    const r = R.subarray(u * I, (u + 1) * I);
    const lin = rowTimes(r, P, I, I);
    const idl = rowTimes(r, M, I, I);
    for (let i = 0; i < I; i++) out[u * I + i] = lin[i] + alpha * idl[i];
  }
  return out;
}

const allUsers = Array.from({ length: U }, (_, u) => u);

test('gfcf scores equal the dense linear filter plus α times the ideal low-pass filter', async () => {
  const model = await fit({ k: 5, alpha: 0.3, oversample: 10, power_iters: 10 });
  try {
    const got = await scoresOf(model, allUsers);
    const want = denseGfcf(5, 0.3);
    assert.ok(maxDiff(got, want) < 1e-5, `max diff ${maxDiff(got, want)}`);
  } finally {
    model.dispose();
  }
});

test('gfcf with alpha = 0 or k = 0 is the linear filter r R̃ᵀR̃ alone', async () => {
  const { R, P } = denseFilters(I, lists);
  const linear = new Float64Array(U * I);
  for (let u = 0; u < U; u++) linear.set(rowTimes(R.subarray(u * I, (u + 1) * I), P, I, I), u * I);
  for (const params of [{ alpha: 0 }, { k: 0 }]) {
    const model = await fit(params);
    try {
      assert.ok(maxDiff(await scoresOf(model, allUsers), linear) < 1e-5, JSON.stringify(params));
    } finally {
      model.dispose();
    }
  }
});

test('gfcf scores a batch the same whatever its size and order', async () => {
  const model = await fit({ k: 4 });
  try {
    const all = await scoresOf(model, allUsers);
    const some = [17, 3, 39, 0, 22, 8, 31];
    const part = await scoresOf(model, some);
    some.forEach((u, b) => assert.deepEqual(part.subarray(b * I, (b + 1) * I), all.subarray(u * I, (u + 1) * I)));
  } finally {
    model.dispose();
  }
});

test('gfcf beats popularity on held-out items of a data set with two planted taste groups', async () => {
  const data = plantedSplit(1);
  const model = await fit({ k: 2 }, data);
  try {
    const pop = await popSpec.fit(testFitContext(data, resolveParams(popSpec)));
    const rg = (await evaluateRecommender(model, data, 'test', { ks: [5] })).metrics['recall@5'];
    const rp = (await evaluateRecommender(pop, data, 'test', { ks: [5] })).metrics['recall@5'];
    assert.ok(rg > rp + 0.15, `gfcf recall@5 ${rg} vs pop ${rp}`);
  } finally {
    model.dispose();
  }
});

test('gfcf survives a save/load round trip with identical scores and refuses other train data', async () => {
  const model = await fit({ k: 5, alpha: 0.5 });
  const dir = await tempDir();
  try {
    await model.save(dir);
    const loaded = (await gfcfSpec.load(dir, splitFromLists(I, lists, testLists))) as GfcfModel;
    try {
      assert.deepEqual(await scoresOf(loaded, allUsers), await scoresOf(model, allUsers));
      assert.equal(loaded.state.k, 5);
      assert.equal(loaded.state.params.alpha, 0.5);
    } finally {
      loaded.dispose();
    }
    const other = lists.map((items, u) => (u === 0 ? [...items, (items[0] + 1) % I] : items));
    await assert.rejects(gfcfSpec.load(dir, splitFromLists(I, other, testLists)), { code: 'PP_MODEL_LOAD' });
  } finally {
    model.dispose();
  }
});
