import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  axpby,
  axpy,
  add,
  sub,
  scale,
  mul,
  relu,
  reluBackward,
  leakyRelu,
  leakyReluBackward,
  elu,
  eluBackward,
  sigmoid,
  sigmoidScalar,
  logSigmoidScalar,
  addRowVector,
  sumRows,
  rowDot,
  dot,
  sumSquares,
} from './elementwise.js';
import { gatherRows, scatterAddRows, coalesceRows } from './embedding.js';
import { bprLoss, l2Penalty, bceWithLogits } from './losses.js';
import { segmentSoftmax, segmentSoftmaxBackward, edgeScoreSum, segmentSum, segmentSumBySource } from './segment.js';
import { csrFromCoo, transpose } from './csr.js';
import { allocF32 } from './heap.js';
import { configureCore, startPool, shutdownPool } from './pool.js';
import { Rng } from './random.js';
import { randomArray, randomCsr, maxRelErr, bitwiseEqual } from './testing.js';

before(async () => {
  await configureCore({ threads: 2 });
  await startPool();
});
after(async () => {
  await shutdownPool();
});

test('axpby computes α·x + β·y for small and large arrays, in place, serial == parallel', () => {
  const rng = new Rng(1);
  for (const n of [0, 3, 17, 5000, 100003]) {
    const x = randomArray(rng, n);
    const y = randomArray(rng, n);
    const ref = Array.from(x, (v, i) => 0.5 * v - 2 * y[i]);
    for (const backend of ['wasm', 'js'] as const) assert.ok(maxRelErr(axpby(0.5, x, -2, y, undefined, { backend }), ref) < 1e-6, `n=${n} ${backend}`);
    const hx = allocF32(n);
    hx.set(x);
    assert.ok(bitwiseEqual(axpby(0.5, hx, -2, y, undefined, { parallel: false }), axpby(0.5, hx, -2, y, undefined, { chunks: 5 })));
    const yy = new Float32Array(y);
    axpy(3, x, yy);
    assert.ok(maxRelErr(yy, Array.from(x, (v, i) => y[i] + 3 * v)) < 1e-6);
    const xx = new Float32Array(x);
    axpby(2, xx, 1, y, xx); // out aliases x
    assert.ok(maxRelErr(xx, Array.from(x, (v, i) => 2 * v + y[i])) < 1e-6);
  }
});

test('add, sub, scale and mul are element-wise', () => {
  const x = Float32Array.from([1, 2, 3]);
  const y = Float32Array.from([4, 5, 6]);
  assert.deepEqual(Array.from(add(x, y)), [5, 7, 9]);
  assert.deepEqual(Array.from(sub(x, y)), [-3, -3, -3]);
  assert.deepEqual(Array.from(scale(x, 2)), [2, 4, 6]);
  assert.deepEqual(Array.from(mul(x, y)), [4, 10, 18]);
  assert.throws(() => add(x, new Float32Array(2)), /length mismatch/);
});

test('activations and their backward passes follow their definitions', () => {
  const x = Float32Array.from([-2, -0.5, 0.5, 3]);
  const dy = Float32Array.from([1, 2, 3, 4]);
  assert.deepEqual(Array.from(relu(x)), [0, 0, 0.5, 3]);
  assert.deepEqual(Array.from(reluBackward(x, dy)), [0, 0, 3, 4]);
  assert.ok(maxRelErr(leakyRelu(x, 0.2), [-0.4, -0.1, 0.5, 3]) < 1e-7);
  assert.ok(maxRelErr(leakyReluBackward(x, dy, 0.2), [0.2, 0.4, 3, 4]) < 1e-7);
  assert.ok(maxRelErr(elu(x), [Math.expm1(-2), Math.expm1(-0.5), 0.5, 3]) < 1e-7);
  assert.ok(maxRelErr(sigmoid(x), Array.from(x, (v) => 1 / (1 + Math.exp(-v)))) < 1e-7);
  // stable at extremes
  assert.equal(sigmoidScalar(-1000), 0);
  assert.equal(sigmoidScalar(1000), 1);
  assert.ok(Math.abs(logSigmoidScalar(-1000) + 1000) < 1e-9);
  assert.ok(Math.abs(logSigmoidScalar(1000)) < 1e-12);
});

test('row-vector add, column sums and row dots have the right shapes and values', () => {
  const x = Float32Array.from([1, 2, 3, 4, 5, 6]); // 2×3
  assert.deepEqual(Array.from(addRowVector(x, Float32Array.from([10, 20, 30]), 2, 3)), [11, 22, 33, 14, 25, 36]);
  assert.deepEqual(Array.from(sumRows(x, 2, 3)), [5, 7, 9]);
  assert.deepEqual(Array.from(rowDot(x, x, 2, 3)), [14, 77]);
  assert.equal(dot([1, 2], [3, 4]), 11);
  assert.equal(sumSquares([3, 4]), 25);
});

test('gatherRows and scatterAddRows are inverse-adjoint lookups; duplicates accumulate', () => {
  const table = Float32Array.from([0, 1, 10, 11, 20, 21]); // 3×2
  assert.deepEqual(Array.from(gatherRows(table, [2, 0, 2], 2)), [20, 21, 0, 1, 20, 21]);
  const acc = new Float32Array(6);
  scatterAddRows(acc, [2, 0, 2], Float32Array.from([1, 1, 2, 2, 3, 3]), 2);
  assert.deepEqual(Array.from(acc), [2, 2, 0, 0, 4, 4]);
  assert.throws(() => gatherRows(table, [3], 2), /out of range/);
  const c = coalesceRows([{ idx: [5, 1, 5], values: Float32Array.from([1, 2, 3]) }, { idx: [1], values: Float32Array.from([10]) }], 1);
  assert.deepEqual(Array.from(c.rows), [1, 5]);
  assert.deepEqual(Array.from(c.values), [12, 4]);
});

test('BPR loss equals −log σ(x⁺ − x⁻) averaged, with gradients; L2 and BCE match their formulas', () => {
  const pos = Float32Array.from([2, 0, -1]);
  const neg = Float32Array.from([1, 0, 3]);
  const r = bprLoss(pos, neg);
  const ref = [1, 0, -4].map((x) => Math.log(1 + Math.exp(-x))).reduce((a, b) => a + b) / 3;
  assert.ok(Math.abs(r.loss - ref) < 1e-7);
  assert.ok(Math.abs(r.dPos[0] + 1 / (1 + Math.exp(1)) / 3) < 1e-7);
  assert.equal(r.dNeg[1], -r.dPos[1]);
  const l2 = l2Penalty([Float32Array.from([1, 2]), Float32Array.from([3])], 0.5, 2);
  assert.ok(Math.abs(l2.loss - (0.5 * 14) / 4) < 1e-7);
  assert.ok(maxRelErr(l2.grads[0], [0.25, 0.5]) < 1e-7);
  const b = bceWithLogits(Float32Array.from([0, 2]), [1, 0]);
  assert.ok(Math.abs(b.loss - (Math.log(2) + Math.log(1 + Math.exp(2))) / 2) < 1e-6);
  // stable for huge logits
  assert.ok(Number.isFinite(bprLoss(Float32Array.from([-1e4]), Float32Array.from([1e4])).loss));
});

test('segment softmax sums to one per row, is stable for large logits, and its backward matches the Jacobian', () => {
  const a = csrFromCoo(3, 4, [0, 0, 0, 2, 2], [0, 1, 3, 1, 2]);
  const s = Float32Array.from([1000, 1001, 999, -5, 5]);
  const alpha = segmentSoftmax(a, s);
  assert.ok(Math.abs(alpha[0] + alpha[1] + alpha[2] - 1) < 1e-6);
  assert.ok(Math.abs(alpha[3] + alpha[4] - 1) < 1e-6);
  assert.ok(alpha.every((v) => Number.isFinite(v)));
  const g = Float32Array.from([1, 2, 3, 4, 5]);
  const ds = segmentSoftmaxBackward(a, alpha, g);
  // explicit Jacobian of row 2: J = diag(α) − ααᵀ
  const [p, q] = [alpha[3], alpha[4]];
  assert.ok(Math.abs(ds[3] - (p * (1 - p) * 4 - p * q * 5)) < 1e-6);
});

test('wasm exp-based activations stay within 1e-6 of Math over a wide range, saturate, and split over the pool identically', () => {
  const n = 300001;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = -100 + (200 * i) / (n - 1);
  x[0] = -1e-7;
  x[1] = 1e-30;
  const e = elu(x);
  const sg = sigmoid(x);
  let errE = 0;
  let errS = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const refE = v > 0 ? v : Math.expm1(v);
    errE = Math.max(errE, Math.abs(e[i] - refE) / Math.max(1e-30, Math.abs(refE)));
    const refS = 1 / (1 + Math.exp(-v));
    errS = Math.max(errS, Math.abs(sg[i] - refS) / Math.max(1e-30, refS) * (refS < 1e-37 ? 0 : 1));
  }
  assert.ok(errE < 1e-6, `elu relative error ${errE}`);
  assert.ok(errS < 1e-6, `sigmoid relative error ${errS}`);
  assert.ok(sigmoid(Float32Array.from([-1000]))[0] < 1e-37);
  assert.equal(sigmoid(Float32Array.from([1000]))[0], 1);
  assert.equal(elu(Float32Array.from([-1000]))[0], -1);
  const dy = new Float32Array(n).fill(1.5);
  const g = eluBackward(x, dy);
  for (const i of [0, 1000, 150000, 299999]) {
    const ref = x[i] > 0 ? 1.5 : 1.5 * Math.exp(x[i]);
    assert.ok(Math.abs(g[i] - ref) <= 1e-6 * Math.max(1e-30, Math.abs(ref)), `elu' at ${x[i]}`);
  }
  for (const f of [(o: { chunks?: number; parallel?: boolean }) => elu(x, undefined, o), (o: { chunks?: number; parallel?: boolean }) => sigmoid(x, undefined, o), (o: { chunks?: number; parallel?: boolean }) => leakyRelu(x, 0.1, undefined, o)]) {
    assert.ok(bitwiseEqual(f({ parallel: false }), f({ chunks: 9 })));
  }
});

test('segment kernels (softmax, its backward, edge scores, row and column sums) match naive loops, serial == parallel', () => {
  const rng = new Rng(8);
  const a = randomCsr(rng, 500, 400, 0.03);
  const at = transpose(a);
  const nz = a.indices.length;
  const s = randomArray(rng, nz, 5);
  const alpha = segmentSoftmax(a, s);
  const da = randomArray(rng, nz);
  const ds = segmentSoftmaxBackward(a, alpha, da);
  const t = randomArray(rng, a.rows);
  const u = randomArray(rng, a.cols);
  const es = edgeScoreSum(a, t, u);
  const rs = segmentSum(a, da);
  const cs = segmentSumBySource(at, da);
  const refCs = new Float64Array(a.cols);
  for (let i = 0; i < a.rows; i++) {
    const b = a.indptr[i];
    const e1 = a.indptr[i + 1];
    let mx = -Infinity;
    for (let e = b; e < e1; e++) mx = Math.max(mx, s[e]);
    let z = 0;
    for (let e = b; e < e1; e++) z += Math.exp(s[e] - mx);
    let dot = 0;
    let rsum = 0;
    for (let e = b; e < e1; e++) {
      const al = Math.exp(s[e] - mx) / z;
      assert.ok(Math.abs(alpha[e] - al) < 1e-6, `alpha row ${i}`);
      dot += al * da[e];
      rsum += da[e];
      refCs[a.indices[e]] += da[e];
      assert.ok(Math.abs(es[e] - (t[i] + u[a.indices[e]])) < 1e-6);
    }
    for (let e = b; e < e1; e++) assert.ok(Math.abs(ds[e] - alpha[e] * (da[e] - dot)) < 1e-5, `ds row ${i}`);
    assert.ok(Math.abs(rs[i] - rsum) < 1e-5);
  }
  assert.ok(maxRelErr(cs, refCs) < 1e-5);
  assert.ok(bitwiseEqual(alpha, segmentSoftmax(a, s, undefined, { chunks: 7 })));
  assert.ok(bitwiseEqual(ds, segmentSoftmaxBackward(a, alpha, da, undefined, { chunks: 7 })));
  assert.ok(bitwiseEqual(cs, segmentSumBySource(at, da, undefined, { chunks: 5 })));
  assert.ok(bitwiseEqual(es, edgeScoreSum(a, t, u, undefined, { chunks: 3 })));
});
