import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { configureCore, shutdownPool, startPool } from '../core/index.js';
import { csrFromLists } from '../core/csr-pattern.js';
import { evaluateRecommender } from '../eval/evaluate-model.js';
import { resolveParams } from './registry.js';
import { BspmModel, bspmSpec } from './bspm.js';
import { integrateLinear, NormalizedInteractions, paddedWidth, symmetricEigen, type LinearFlow, type OdeMethod } from './graph-filter.js';
import { popSpec } from './pop.js';
import { denseFilters, maxDiff, plantedSplit, randomLists, rowTimes, scoresOf, splitFromLists, tempDir, testFitContext } from './graph-filter.testkit.js';

before(async () => {
  await configureCore({ threads: 2 });
  await startPool();
});
after(async () => {
  await shutdownPool();
});

const U = 30;
const I = 20;
const lists = randomLists(31, U, I, 0.2);
const testLists = lists.map(() => []);
const allUsers = Array.from({ length: U }, (_, u) => u);

async function fit(params: Record<string, unknown>, data = splitFromLists(I, lists, testLists)): Promise<BspmModel> {
  return (await bspmSpec.fit(testFitContext(data, resolveParams(bspmSpec, params)))) as BspmModel;
}

/** x exp(T·(c·P̃ + s·I)) for a row-major block of row vectors x (rows × I), by P̃ = W Λ Wᵀ. */
function closedForm(x: Float64Array, rows: number, P: Float64Array, T: number, c: number, s: number): Float64Array {
  const { values, vectors: W } = symmetricEigen(P, I);
  const E = new Float64Array(I * I); // W diag(exp(T(cλ + s))) Wᵀ
  for (let a = 0; a < I; a++)
    for (let b = 0; b < I; b++) {
      let t = 0;
      for (let j = 0; j < I; j++) t += W[a * I + j] * Math.exp(T * (c * values[j] + s)) * W[b * I + j];
      E[a * I + b] = t;
    }
  const out = new Float64Array(rows * I);
  for (let r = 0; r < rows; r++) out.set(rowTimes(x.subarray(r * I, (r + 1) * I), E, I, I), r * I);
  return out;
}

test('the blurring and sharpening ODEs solved on the sparse operators match their closed forms', () => {
  const { R, P } = denseFilters(I, lists);
  const graph = new NormalizedInteractions(U, I, csrFromLists(lists));
  try {
    const users = Int32Array.from([0, 5, 11, 29, 17]);
    const d = paddedWidth(users.length);
    const r = new Float64Array(users.length * I);
    users.forEach((u, b) => r.set(R.subarray(u * I, (u + 1) * I), b * I));
    /** Solves on an item-major block and returns user-major rows. */
    const solve = (flow: LinearFlow, T: number, steps: number, method: OdeMethod) => {
      const x = new Float32Array(I * d);
      graph.indicator(users, d, x);
      integrateLinear(x, flow, { method, T, steps });
      const rows = new Float64Array(users.length * I);
      for (let b = 0; b < users.length; b++) for (let i = 0; i < I; i++) rows[b * I + i] = x[i * d + b];
      return rows;
    };
    const apply = (x: Float32Array, c: number, out: Float32Array, add?: Float32Array) => graph.applyP(x, d, out, c, add);
    const blur: LinearFlow = { a: 1, s: -1, apply }; // x P̃ − x
    const sharpen: LinearFlow = { a: -1, s: 0, apply }; // −x P̃
    const blurExact = closedForm(r, users.length, P, 1.5, 1, -1); // r exp(1.5 (P̃ − I))
    assert.ok(maxDiff(solve(blur, 1.5, 10, 'rk4'), blurExact) < 1e-5);
    const sharpExact = closedForm(r, users.length, P, 2.5, -1, 0); // r exp(−2.5 P̃)
    assert.ok(maxDiff(solve(sharpen, 2.5, 20, 'rk4'), sharpExact) < 1e-5);
    // Euler converges at first order: 4× the steps, about a quarter of the error
    const e50 = maxDiff(solve(blur, 1.5, 50, 'euler'), blurExact);
    const e200 = maxDiff(solve(blur, 1.5, 200, 'euler'), blurExact);
    assert.ok(e50 < 2e-2 && e200 < e50 / 3, `Euler errors ${e50}, ${e200}`);
  } finally {
    graph.dispose();
  }
});

/** The reference implementation's getUsersRating (jeongwhanchoi/BSPM, CPU `BSPM` class) in float64. */
function referenceBspm(model: BspmModel): Float64Array {
  const p = model.state.params;
  const { R, P, itemDegree } = denseFilters(I, lists);
  const { k, v } = model.state;
  const step = (f: (x: Float64Array) => Float64Array, y: Float64Array, h: number, method: string): Float64Array => {
    const add = (a: Float64Array, ...terms: [number, Float64Array][]) => a.map((val, t) => terms.reduce((s, [c, b]) => s + c * b[t], val));
    if (method === 'euler') return add(y, [h, f(y)]);
    // torchdiffeq's "rk4" is the 3/8 rule
    const k1 = f(y);
    const k2 = f(add(y, [h / 3, k1]));
    const k3 = f(add(y, [h, k2], [-h / 3, k1]));
    const k4 = f(add(y, [h, k1], [-h, k2], [h, k3]));
    return add(y, [h / 8, k1], [(3 * h) / 8, k2], [(3 * h) / 8, k3], [h / 8, k4]);
  };
  const odeint = (f: (x: Float64Array) => Float64Array, y0: Float64Array, T: number, K: number, method: string) => {
    const states = [y0];
    for (let s = 0; s < K; s++) states.push(step(f, states[s], T / K, method));
    return states;
  };
  const blurF = (x: Float64Array) => rowTimes(x, P, I, I).map((val, t) => val - x[t]);
  const sharpF = (x: Float64Array) => rowTimes(x, P, I, I).map((val) => -val);
  const out = new Float64Array(U * I);
  for (let u = 0; u < U; u++) {
    const r = R.slice(u * I, (u + 1) * I);
    // idl = r D^{-1/2} V Vᵀ D^{1/2}
    const coef = new Float64Array(k);
    for (let i = 0; i < I; i++) if (r[i]) for (let j = 0; j < k; j++) coef[j] += v[i * k + j] / Math.sqrt(itemDegree[i]);
    const idl = new Float64Array(I);
    for (let i = 0; i < I; i++) for (let j = 0; j < k; j++) idl[i] += coef[j] * v[i * k + j] * Math.sqrt(itemDegree[i]);
    const blurred = odeint(blurF, r, Number(p.blur_t), Number(p.blur_steps), String(p.blur_solver));
    const b = blurred[blurred.length - 1];
    const s0 = p.final_sharpening ? b.map((val, t) => val + Number(p.beta) * idl[t]) : b;
    const sharpened = odeint(sharpF, s0, Number(p.sharpen_t), Number(p.sharpen_steps), String(p.sharpen_solver));
    let u2: Float64Array;
    if (p.t_point_combination) {
      const states = [...blurred.slice(1), ...sharpened.slice(1)];
      u2 = new Float64Array(I).map((_, t) => states.reduce((s, x) => s + x[t], 0) / states.length);
    } else {
      u2 = sharpened[sharpened.length - 1];
    }
    const ret = p.final_sharpening ? u2 : u2.map((val, t) => val + Number(p.beta) * idl[t]);
    out.set(ret, u * I);
  }
  return out;
}

test('bspm scores equal the reference getUsersRating for the Gowalla defaults and the other variants', async () => {
  const variants: Record<string, unknown>[] = [
    { k: 6 }, // factor_dim, β 0.2, Euler blur 1 step T 1, RK4 sharpen 1 step T 2.5, final sharpening
    { k: 6, final_sharpening: false },
    { k: 6, t_point_combination: true, blur_steps: 2, sharpen_steps: 3, sharpen_t: 1.2, sharpen_solver: 'euler' },
    { k: 6, t_point_combination: true, final_sharpening: false, blur_steps: 3, blur_solver: 'rk4', blur_t: 0.8 },
    { k: 0 },
  ];
  for (const params of variants) {
    const model = await fit(params);
    try {
      const got = await scoresOf(model, allUsers);
      const want = referenceBspm(model);
      assert.ok(maxDiff(got, want) < 2e-5, `${JSON.stringify(params)}: max diff ${maxDiff(got, want)}`);
    } finally {
      model.dispose();
    }
  }
});

test('bspm beats popularity on held-out items of a data set with two planted taste groups', async () => {
  const data = plantedSplit(1);
  const model = await fit({ k: 2 }, data);
  try {
    const pop = await popSpec.fit(testFitContext(data, resolveParams(popSpec)));
    const rb = (await evaluateRecommender(model, data, 'test', { ks: [5] })).metrics['recall@5'];
    const rp = (await evaluateRecommender(pop, data, 'test', { ks: [5] })).metrics['recall@5'];
    assert.ok(rb > rp + 0.15, `bspm recall@5 ${rb} vs pop ${rp}`);
  } finally {
    model.dispose();
  }
});

test('bspm survives a save/load round trip with identical scores', async () => {
  const model = await fit({ k: 4, beta: 0.5, sharpen_t: 1.7 });
  const dir = await tempDir();
  try {
    await model.save(dir);
    const loaded = (await bspmSpec.load(dir, splitFromLists(I, lists, testLists))) as BspmModel;
    try {
      assert.deepEqual(await scoresOf(loaded, allUsers), await scoresOf(model, allUsers));
      assert.equal(loaded.state.params.sharpen_t, 1.7);
    } finally {
      loaded.dispose();
    }
    await assert.rejects(gfcfLoadOfBspm(dir), { code: 'PP_MODEL_LOAD' });
  } finally {
    model.dispose();
  }
});

async function gfcfLoadOfBspm(dir: string) {
  const { gfcfSpec } = await import('./gfcf.js');
  return gfcfSpec.load(dir, splitFromLists(I, lists, testLists));
}
