import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Tape, Tensor, parameter, constant, zeroGrad, rowGrad } from './autograd.js';
import { transpose, csrFromCoo, bipartiteNormalizedAdjacency, type Csr } from './csr.js';
import { configureCore, startPool, shutdownPool } from './pool.js';
import { heapStats } from './heap.js';
import { Rng } from './random.js';
import { randomCsr, randomArray, numericGrad, gradErr } from './testing.js';

before(async () => {
  await configureCore({ threads: 2 });
  await startPool();
});
after(async () => {
  await shutdownPool();
});

const TOL = 2e-2;

/**
 * Checks ∂(Σ w ⊙ build(inputs))/∂input for every input that requires a gradient, analytic (tape)
 * vs central finite differences (float64 accumulation of the weighted sum).
 */
function checkGrad(name: string, inputs: Tensor[], build: (t: Tape, xs: Tensor[]) => Tensor, opts: { h?: number; tol?: number; seed?: number } = {}): void {
  const rng = new Rng(opts.seed ?? 99);
  const probe = new Tape();
  const y0 = build(probe, inputs);
  const w = randomArray(rng, y0.size);
  probe.dispose();

  zeroGrad(inputs);
  const tape = new Tape();
  const loss = tape.sum(build(tape, inputs), w);
  tape.backward(loss);
  const f = (): number => {
    const t = new Tape();
    const y = build(t, inputs);
    let s = 0;
    for (let i = 0; i < y.size; i++) s += w[i] * y.data[i];
    t.dispose();
    return s;
  };
  for (const [k, x] of inputs.entries()) {
    if (!x.requiresGrad) continue;
    let analytic: Float32Array;
    if (x.sparseGrad) {
      analytic = new Float32Array(x.size);
      const rg = rowGrad(x);
      if (rg) rg.rows.forEach((r, i) => analytic.set(rg.values.subarray(i * x.cols, (i + 1) * x.cols), r * x.cols));
    } else analytic = x.grad ?? new Float32Array(x.size);
    const numeric = numericGrad(f, x.data, opts.h ?? 1e-2);
    const err = gradErr(analytic, numeric);
    assert.ok(err < (opts.tol ?? TOL), `${name}: input ${k} relative gradient error ${err.toExponential(2)}`);
  }
  tape.dispose();
  zeroGrad(inputs);
}

const rng = new Rng(2024);
const p = (rows: number, cols: number, scale = 1): Tensor => parameter(randomArray(rng, rows * cols, scale), cols === 1 ? [rows] : [rows, cols]);
const graph = (): { a: Csr; at: ReturnType<typeof transpose> } => {
  const a = randomCsr(rng, 9, 7, 0.35);
  return { a, at: transpose(a) };
};

test('spmm gradient w.r.t. the dense input matches finite differences', () => {
  const { a, at } = graph();
  for (const d of [3, 8]) checkGrad(`spmm d=${d}`, [p(7, d)], (t, [x]) => t.spmm(a, at, x));
});

test('spmm gradient w.r.t. per-edge weights (SDDMM) and input jointly matches finite differences', () => {
  const { a, at } = graph();
  const wts = parameter(randomArray(rng, a.indices.length), [a.indices.length]);
  checkGrad('weighted spmm', [p(7, 4), wts], (t, [x, ww]) => t.spmm(a, at, x, ww));
});

test('sddmm gradients w.r.t. both factors match finite differences', () => {
  const { a, at } = graph();
  checkGrad('sddmm', [p(9, 5), p(7, 5)], (t, [P, Q]) => t.sddmm(a, at, P, Q));
});

test('segment softmax gradient matches finite differences, including rows with one entry', () => {
  const a = csrFromCoo(4, 5, [0, 0, 0, 1, 3, 3], [0, 2, 4, 1, 0, 3]);
  checkGrad('segmentSoftmax', [p(6, 1, 2)], (t, [s]) => t.segmentSoftmax(a, s));
});

test('edge score sum gradients (GAT additive logits) match finite differences', () => {
  const { a, at } = graph();
  checkGrad('edgeScoreSum', [p(9, 1), p(7, 1)], (t, [u, v]) => t.edgeScoreSum(a, at, u, v));
});

test('matmul gradients (A·B, A·Bᵀ and Aᵀ·B) match finite differences for odd and SIMD-friendly sizes', () => {
  checkGrad('matmul (5x3)ᵀ·5x4', [p(5, 3), p(5, 4)], (t, [x, y]) => t.matmul(x, y, { transA: true }));
  checkGrad('matmul (9x8)ᵀ·9x8', [p(9, 8), p(9, 8)], (t, [x, y]) => t.matmul(x, y, { transA: true }));
  checkGrad('matmul 5x3·3x4', [p(5, 3), p(3, 4)], (t, [x, y]) => t.matmul(x, y));
  checkGrad('matmul 6x8·8x6', [p(6, 8), p(8, 6)], (t, [x, y]) => t.matmul(x, y));
  checkGrad('matmul 5x3·(4x3)ᵀ', [p(5, 3), p(4, 3)], (t, [x, y]) => t.matmul(x, y, { transB: true }));
  checkGrad('matmul 7x8·(16x8)ᵀ', [p(7, 8), p(16, 8)], (t, [x, y]) => t.matmul(x, y, { transB: true }));
});

test('bias add and column concatenation gradients match finite differences', () => {
  checkGrad('addBias', [p(4, 3), p(3, 1)], (t, [x, b]) => t.addBias(x, b));
  checkGrad('concatColumns', [p(3, 2), p(3, 5)], (t, [x, y]) => t.concatColumns([x, y]));
});

test('add, sub, mul, scale and mean gradients match finite differences', () => {
  checkGrad('add', [p(3, 4), p(3, 4)], (t, [x, y]) => t.add(x, y));
  checkGrad('sub', [p(3, 4), p(3, 4)], (t, [x, y]) => t.sub(x, y));
  checkGrad('mul', [p(3, 4), p(3, 4)], (t, [x, y]) => t.mul(x, y));
  checkGrad('scale', [p(3, 4)], (t, [x]) => t.scale(x, -2.5));
  checkGrad('mean', [p(3, 4), p(3, 4), p(3, 4)], (t, xs) => t.mean(xs));
});

/** values in ±[0.1, 1] so that kinks at 0 are farther than the finite-difference step */
function awayFromZero(n: number): Tensor {
  const x = randomArray(rng, n);
  for (let i = 0; i < n; i++) x[i] = Math.sign(x[i] || 1) * (0.1 + 0.9 * Math.abs(x[i]));
  return parameter(x, [n]);
}

test('ReLU, LeakyReLU, ELU and sigmoid gradients match finite differences', () => {
  checkGrad('relu', [awayFromZero(20)], (t, [x]) => t.relu(x), { h: 1e-2 });
  checkGrad('leakyRelu', [awayFromZero(20)], (t, [x]) => t.leakyRelu(x, 0.2), { h: 1e-2 });
  checkGrad('elu', [awayFromZero(20)], (t, [x]) => t.elu(x), { h: 1e-2 });
  checkGrad('sigmoid', [p(20, 1, 3)], (t, [x]) => t.sigmoid(x));
});

test('dropout gradient uses the forward mask (same seed, same mask)', () => {
  checkGrad('dropout', [p(30, 1)], (t, [x]) => t.dropout(x, 0.4, new Rng(5)));
});

test('row gather gradients match finite differences, dense and row-sparse, with repeated indices', () => {
  const idx = [2, 0, 2, 4];
  checkGrad('gatherRows', [p(5, 3)], (t, [x]) => t.gatherRows(x, idx));
  const sparse = parameter(randomArray(rng, 15), [5, 3], { sparseGrad: true });
  checkGrad('gatherRows sparse', [sparse], (t, [x]) => t.gatherRows(x, idx));
  checkGrad('rowDot', [p(4, 6), p(4, 6)], (t, [x, y]) => t.rowDot(x, y));
});

test('BPR loss with L2 and BCE-with-logits gradients match finite differences', () => {
  checkGrad('bpr', [p(8, 1, 3), p(8, 1, 3)], (t, [x, y]) => t.bprLoss(x, y));
  checkGrad('l2', [p(3, 4), p(2, 4)], (t, [x, y]) => t.l2([x, y], 0.1, 4));
  const y = [1, 0, 1, 1, 0, 0];
  checkGrad('bce', [p(6, 1, 4)], (t, [z]) => t.bceWithLogits(z, y));
});

test('the sampled-softmax loss gradient matches finite differences, and with one candidate at τ = 1 it equals BPR', () => {
  checkGrad('sampledSoftmax', [p(5, 1, 2), p(15, 1, 2)], (t, [x, y]) => t.sampledSoftmaxLoss(x, y, 0.7));
  // logsumexp(x⁺, x⁻) − x⁺ = softplus(x⁻ − x⁺) = −log σ(x⁺ − x⁻)
  const pos = p(6, 1, 3);
  const neg = p(6, 1, 3);
  const tape = new Tape();
  const a = tape.sampledSoftmaxLoss(pos, neg, 1).item();
  const b = tape.bprLoss(pos, neg).item();
  tape.dispose();
  assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);
});

test('l2Rows equals L2 over gathered rows, value and gradient to the last bit, with repeated rows', () => {
  const table = p(40, 16, 5);
  const idx = Int32Array.from([3, 7, 3, 39, 0, 7, 7, 12]);
  const run = (f: (t: Tape) => Tensor) => {
    zeroGrad([table]);
    const tape = new Tape();
    // a second use of the table first, so the gradient is accumulated into an existing buffer
    const loss = tape.add(tape.sum(tape.scale(table, 0.5)), f(tape));
    tape.backward(loss);
    const out = { value: loss.item(), grad: table.grad!.slice() };
    tape.dispose();
    return out;
  };
  const gathered = run((t) => t.l2([t.gatherRows(table, idx)], 0.3, 8));
  const direct = run((t) => t.l2Rows(table, idx, 0.3, 8));
  assert.equal(direct.value, gathered.value);
  assert.deepEqual(direct.grad, gathered.grad);
  checkGrad('l2Rows', [p(10, 4, 6)], (t, [x]) => t.l2Rows(x, Int32Array.from([1, 1, 9, 0]), 0.2, 4));
  zeroGrad([table]);
});

test('a LightGCN step (3 propagations, layer mean, gathers, BPR + L2) has correct gradients w.r.t. the embeddings', () => {
  const nU = 6;
  const nI = 5;
  const users = [0, 0, 1, 2, 2, 3, 4, 5, 5, 1];
  const items = [0, 1, 1, 2, 3, 4, 0, 2, 4, 3];
  const a = bipartiteNormalizedAdjacency(nU, nI, users, items);
  const at = transpose(a);
  const emb = p(nU + nI, 4);
  const bu = [0, 2, 5];
  const bp = [nU + 1, nU + 2, nU + 4];
  const bn = [nU + 3, nU + 0, nU + 1];
  checkGrad('lightgcn', [emb], (t, [e0]) => {
    const e1 = t.spmm(a, at, e0);
    const e2 = t.spmm(a, at, e1);
    const e3 = t.spmm(a, at, e2);
    const fin = t.mean([e0, e1, e2, e3]);
    const u = t.gatherRows(fin, bu);
    const pos = t.gatherRows(fin, bp);
    const neg = t.gatherRows(fin, bn);
    const bpr = t.bprLoss(t.rowDot(u, pos), t.rowDot(u, neg));
    const reg = t.l2([t.gatherRows(e0, bu), t.gatherRows(e0, bp), t.gatherRows(e0, bn)], 1e-2, bu.length);
    return t.add(bpr, reg);
  });
});

test('a GAT layer (XW, additive attention, LeakyReLU, segment softmax, weighted SpMM, ELU) has correct gradients', () => {
  const a = randomCsr(rng, 8, 8, 0.4);
  const at = transpose(a);
  const x = constant(randomArray(rng, 8 * 4), [8, 4]);
  checkGrad('gat', [p(4, 4, 0.5), p(4, 1), p(4, 1)], (t, [W, aSrc, aDst]) => {
    const h = t.matmul(x, W);
    const logits = t.leakyRelu(t.edgeScoreSum(a, at, t.matmul(h, aDst), t.matmul(h, aSrc)), 0.2);
    const alpha = t.segmentSoftmax(a, logits);
    return t.elu(t.spmm(a, at, h, alpha));
  });
});

test('tape.dispose returns intermediate buffers to the heap', () => {
  const x = p(50, 8);
  const before = heapStats().liveBytes;
  const tape = new Tape();
  const loss = tape.sum(tape.relu(tape.matmul(x, p(8, 8))));
  tape.backward(loss);
  tape.dispose();
  zeroGrad([x]);
  // only the new weight parameter (and its gradient) may remain
  assert.ok(heapStats().liveBytes - before <= 2 * 64 * 4 + 512, `leaked ${heapStats().liveBytes - before} bytes`);
});

test('the backward pass frees each intermediate gradient once spent, so it holds only the frontier', () => {
  const n = 1 << 16;
  const x = parameter(new Rng(3).fillNormal(new Float32Array(n), 1), [n]);
  const tape = new Tape();
  const chain: Tensor[] = [x];
  for (let k = 0; k < 12; k++) chain.push(k % 2 ? tape.leakyRelu(chain[k], 0.1) : tape.scale(chain[k], 1.5));
  const loss = tape.sum(chain[chain.length - 1]);
  const before = heapStats().liveBytes;
  tape.backward(loss);
  // 12 intermediates of n floats: kept, their gradients would add 12·4n bytes; only x's gradient remains
  const grew = heapStats().liveBytes - before;
  assert.ok(grew <= 4 * n + 1024, `backward left ${grew} bytes live (x's gradient is ${4 * n})`);
  for (const t of chain.slice(1)) assert.equal(t.grad, null);
  // ∂Σy/∂x: six ×1.5 scalings and six LeakyReLUs (slope 0.1 where the running value is negative)
  for (const i of [0, 7, n - 1]) assert.ok(Math.abs(x.grad![i] - 1.5 ** 6 * (x.data[i] > 0 ? 1 : 0.1 ** 6)) < 1e-3 * 1.5 ** 6);
  tape.dispose();
  zeroGrad([x]);
});

test('repeated training steps (tape, backward, Adam, zeroGrad, dispose) keep heap usage constant', async () => {
  const { Adam } = await import('./optim.js');
  const nU = 30;
  const nI = 20;
  const r = new Rng(77);
  const users = Array.from({ length: 200 }, () => r.int(nU));
  const items = Array.from({ length: 200 }, () => r.int(nI));
  const a = bipartiteNormalizedAdjacency(nU, nI, users, items);
  const at = transpose(a);
  const emb = p(nU + nI, 8);
  const opt = new Adam([emb], { lr: 0.01 });
  const live: number[] = [];
  for (let step = 0; step < 6; step++) {
    const tape = new Tape();
    const layers = [emb];
    let x = emb;
    for (let l = 0; l < 3; l++) layers.push((x = tape.spmm(a, at, x)));
    const fin = tape.mean(layers);
    const bu = [0, 1, 2, 3];
    const u = tape.gatherRows(fin, bu);
    const loss = tape.add(
      tape.bprLoss(tape.rowDot(u, tape.gatherRows(fin, [30, 31, 32, 33])), tape.rowDot(u, tape.gatherRows(fin, [40, 41, 42, 43]))),
      tape.l2([tape.gatherRows(emb, bu)], 1e-3, 4),
    );
    tape.backward(loss);
    opt.step();
    zeroGrad([emb]);
    tape.dispose();
    live.push(heapStats().liveBytes);
  }
  assert.ok(live.slice(1).every((v) => v === live[1]), `live heap bytes per step: ${live.join(', ')}`);
});

test('tape.keep exempts an output from dispose and profiling counts ops and times their backward', () => {
  const x = p(4, 4);
  const tape = new Tape({ profile: true });
  const h = tape.relu(tape.matmul(x, x));
  const kept = tape.keep(tape.scale(h, 2));
  tape.backward(tape.sum(kept));
  const prof = tape.profile();
  assert.equal(prof.get('matmul')?.calls, 1);
  assert.equal(prof.get('relu')?.calls, 1);
  assert.ok((prof.get('matmul')?.backwardMs ?? -1) >= 0);
  tape.dispose();
  assert.ok(kept.data.every((v) => Number.isFinite(v) && v >= 0), 'kept data is still valid');
  zeroGrad([x]);
});
