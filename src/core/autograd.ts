/**
 * A small reverse-mode autograd tape over Float32Array tensors — just what MF, LightGCN, GAT and an
 * MLP need. Each op computes its output eagerly with the core kernels and, if an input requires a
 * gradient, records a closure; {@link Tape.backward} runs the closures in reverse order.
 *
 * Memory: outputs and gradients of intermediate tensors live in the shared heap and are released
 * by {@link Tape.dispose} (call it after the optimiser step; {@link Tape.keep} exempts a tensor).
 * Parameter gradients persist on the parameter until {@link zeroGrad}.
 *
 * ```ts
 * const tape = new Tape();
 * const e1 = tape.spmm(adj, adjT, emb);            // [N, d]
 * const u = tape.gatherRows(e1, users);              // [b, d]
 * const loss = tape.bprLoss(tape.rowDot(u, p), tape.rowDot(u, n));
 * tape.backward(loss); opt.step(); zeroGrad([emb]); tape.dispose();
 * ```
 *
 * Shapes are `[rows, cols]` for matrices, `[n]` for vectors, `[1]` for scalars.
 */
import type { Csr, CsrTransposed } from './csr.js';
import { allocF32, free } from './heap.js';
import { spmm, spmmTransposed, sddmm } from './sparse.js';
import { segmentSoftmax, segmentSoftmaxBackward, edgeScoreSum, segmentSum, segmentSumBySource } from './segment.js';
import { matmul, matmulNT, matmulTN } from './dense.js';
import {
  axpby,
  axpy,
  scale as scaleArr,
  mul as mulArr,
  relu as reluArr,
  reluBackward,
  leakyRelu as leakyReluArr,
  leakyReluBackward,
  elu as eluArr,
  eluBackward,
  sigmoid as sigmoidArr,
  sigmoidBackward,
  addRowVector,
  sumRows,
  rowDot as rowDotArr,
  sumSquares,
} from './elementwise.js';
import { gatherRows as gatherRowsArr, scatterAddRows, coalesceRows, type RowSparse } from './embedding.js';
import { dropout as dropoutArr, dropoutBackward } from './dropout.js';
import { bprLoss as bprLossArr, bceWithLogits as bceArr, sampledSoftmax as sampledSoftmaxArr } from './losses.js';
import type { Rng } from './random.js';

/** A dense float32 tensor (row-major) with an optional gradient. */
export class Tensor {
  grad: Float32Array | null = null;
  /** Row-sparse gradient parts of a `sparseGrad` parameter (from {@link Tape.gatherRows}). */
  rowGradParts: { idx: Int32Array; values: Float32Array }[] = [];

  constructor(
    public data: Float32Array,
    public readonly shape: readonly number[],
    public readonly requiresGrad = false,
    /** gradients from row gathers are kept row-sparse (for lazy optimiser updates) */
    public readonly sparseGrad = false,
  ) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`Tensor: shape [${shape.join(', ')}] needs ${n} elements, data has ${data.length}`);
  }

  get size(): number {
    return this.data.length;
  }

  /** Rows of a matrix (first dimension). */
  get rows(): number {
    return this.shape[0];
  }

  /** Columns of a matrix (product of the remaining dimensions; 1 for a vector). */
  get cols(): number {
    return this.shape.length < 2 ? 1 : this.data.length / this.shape[0];
  }

  /** The scalar value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) throw new Error('item(): tensor has more than one element');
    return this.data[0];
  }
}

/** A trainable leaf tensor. `sparseGrad`: gathers produce row-sparse gradients ({@link rowGrad}). */
export function parameter(data: Float32Array, shape: readonly number[], opts: { sparseGrad?: boolean } = {}): Tensor {
  return new Tensor(data, shape, true, opts.sparseGrad ?? false);
}

/** A leaf tensor without gradient. */
export function constant(data: Float32Array, shape: readonly number[]): Tensor {
  return new Tensor(data, shape, false);
}

/** Frees and clears the gradients of parameters (dense and row-sparse). */
export function zeroGrad(params: Tensor[]): void {
  for (const p of params) {
    if (p.grad) free(p.grad);
    p.grad = null;
    for (const part of p.rowGradParts) free(part.values);
    p.rowGradParts = [];
  }
}

/** The coalesced row-sparse gradient of a `sparseGrad` parameter, or null if no row was touched. */
export function rowGrad(p: Tensor): RowSparse | null {
  if (p.rowGradParts.length === 0) return null;
  return coalesceRows(p.rowGradParts, p.cols);
}

function sameShape(name: string, a: Tensor, b: Tensor): void {
  if (a.size !== b.size || a.shape.length !== b.shape.length || a.shape.some((s, i) => s !== b.shape[i])) {
    throw new Error(`${name}: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
  }
}

/** How {@link Tape} hands a gradient buffer to a tensor. */
type GradMode =
  /** a fresh buffer nobody else uses: may be adopted, or freed after adding */
  | 'owned'
  /** a buffer the caller keeps using or frees: copied or added, never kept */
  | 'borrowed'
  /** a buffer owned by the tape and shared read-only by several tensors (copy on write) */
  | 'shared';

export class Tape {
  /** Records per-op counts and backward times ({@link profile}). */
  readonly profiling: boolean;
  private readonly stats = new Map<string, { calls: number; backwardMs: number }>();
  private readonly ops: (() => void)[] = [];

  constructor(opts: { profile?: boolean } = {}) {
    this.profiling = opts.profile ?? false;
  }

  private temps: Tensor[] = [];
  private readonly tempSet = new Set<Tensor>();
  /** buffers shared read-only between gradients; freed by dispose unless a parameter took one */
  private readonly sharedBufs = new Set<Float32Array>();
  /** tensors whose gradient is currently a shared buffer */
  private readonly sharedGrads = new Set<Tensor>();
  /** leaves that received gradients */
  private readonly leaves = new Set<Tensor>();

  /** Adds `g` to t.grad (see {@link GradMode}). */
  private acc(t: Tensor, g: Float32Array, mode: GradMode): void {
    if (!t.requiresGrad) {
      if (mode === 'owned') free(g);
      return;
    }
    if (!this.tempSet.has(t)) this.leaves.add(t);
    if (!t.grad) {
      if (mode === 'owned') t.grad = g;
      else if (mode === 'shared') {
        t.grad = g;
        this.sharedGrads.add(t);
      } else {
        t.grad = allocF32(g.length, false);
        t.grad.set(g);
      }
      return;
    }
    if (this.sharedGrads.has(t)) {
      // copy on write: the sum goes to a buffer of t's own
      this.sharedGrads.delete(t);
      if (mode === 'owned') t.grad = axpby(1, t.grad, 1, g, g);
      else t.grad = axpby(1, t.grad, 1, g);
      return;
    }
    axpy(1, g, t.grad);
    if (mode === 'owned') free(g);
  }

  /**
   * Accumulates a gradient computed by a kernel with a fused addition, `compute(add, out)` =
   * contribution + add, without an extra pass: in place into an owned gradient, into a new buffer
   * on top of a shared one, or plain when t has no gradient yet.
   */
  private accFused(t: Tensor, compute: (add: Float32Array | undefined, out: Float32Array | undefined) => Float32Array): void {
    if (!t.requiresGrad) return;
    if (!this.tempSet.has(t)) this.leaves.add(t);
    if (!t.grad) t.grad = compute(undefined, undefined);
    else if (this.sharedGrads.has(t)) {
      this.sharedGrads.delete(t);
      t.grad = compute(t.grad, undefined);
    } else compute(t.grad, t.grad);
  }

  /** A gradient buffer of t's own to accumulate into in place (null if t has none yet). */
  private ownGrad(t: Tensor): Float32Array | null {
    if (!t.grad) return null;
    if (this.sharedGrads.has(t)) {
      this.sharedGrads.delete(t);
      const own = allocF32(t.grad.length, false);
      own.set(t.grad);
      t.grad = own;
    }
    return t.grad;
  }

  /** A buffer freed by {@link dispose} that several gradients may share read-only. */
  private shared(g: Float32Array): Float32Array {
    this.sharedBufs.add(g);
    return g;
  }

  private node(op: string, data: Float32Array, shape: readonly number[], parents: Tensor[], backward: (g: Float32Array) => void): Tensor {
    const requires = parents.some((p) => p.requiresGrad);
    const out = new Tensor(data, shape, requires);
    this.temps.push(out);
    this.tempSet.add(out);
    if (this.profiling) this.record(op, 0, 1);
    if (requires) {
      this.ops.push(() => {
        if (!out.grad) return;
        if (!this.profiling) backward(out.grad);
        else {
          const t0 = performance.now();
          backward(out.grad);
          this.record(op, performance.now() - t0, 0);
        }
        // every consumer of `out` was recorded after it, so its gradient is complete and now spent:
        // free it at once (the backward pass then holds only the gradients of its frontier)
        if (!this.sharedGrads.delete(out)) free(out.grad);
        out.grad = null;
      });
    }
    return out;
  }

  private record(op: string, ms: number, calls: number): void {
    const r = this.stats.get(op) ?? { calls: 0, backwardMs: 0 };
    r.calls += calls;
    r.backwardMs += ms;
    this.stats.set(op, r);
  }

  /** Per-op call counts and backward times (ms) since the tape was made, if it profiles. */
  profile(): Map<string, { calls: number; backwardMs: number }> {
    return new Map(this.stats);
  }

  /** Seeds ∂loss/∂loss = 1 and runs the recorded closures in reverse. */
  backward(loss: Tensor): void {
    if (loss.size !== 1) throw new Error('backward: loss must be a scalar tensor');
    if (!loss.requiresGrad) throw new Error('backward: loss does not depend on any parameter');
    const seed = allocF32(1, false);
    seed[0] = 1;
    this.acc(loss, seed, 'owned');
    for (let i = this.ops.length - 1; i >= 0; i--) this.ops[i]();
    this.ops.length = 0;
    // parameters outlive the tape: give each a gradient buffer of its own
    for (const t of this.leaves) {
      if (!this.sharedGrads.has(t) || !t.grad) continue;
      this.sharedGrads.delete(t);
      if (this.sharedBufs.has(t.grad) && ![...this.sharedGrads].some((o) => o.grad === t.grad)) this.sharedBufs.delete(t.grad);
      else {
        const own = allocF32(t.grad.length, false);
        own.set(t.grad);
        t.grad = own;
      }
    }
    this.leaves.clear();
  }

  /** Exempts `t` from {@link dispose} (its data then belongs to the caller; free it with heap.free). */
  keep(t: Tensor): Tensor {
    this.temps = this.temps.filter((x) => x !== t);
    this.tempSet.delete(t);
    return t;
  }

  /** Frees every intermediate tensor (data and gradient) made by this tape and forgets the ops. */
  dispose(): void {
    for (const t of this.temps) {
      free(t.data);
      if (t.grad && !this.sharedGrads.has(t)) free(t.grad);
      t.grad = null;
    }
    for (const b of this.sharedBufs) free(b);
    this.sharedBufs.clear();
    this.sharedGrads.clear();
    this.temps = [];
    this.tempSet.clear();
    this.ops.length = 0;
    this.leaves.clear();
  }

  // ---- sparse ------------------------------------------------------------------------------

  /**
   * Y = A·X (message passing). A [n × m] with its transpose `at` (for the backward product),
   * X [m, d] → Y [n, d]. With `weights` ([nnz] tensor, e.g. attention), A's values are replaced by
   * them and ∂weights_e = ⟨∂Y[i], X[src(e)]⟩ (SDDMM).
   */
  spmm(a: Csr, at: CsrTransposed, x: Tensor, weights?: Tensor): Tensor {
    const d = x.cols;
    if (x.rows !== a.cols) throw new Error(`spmm: X has ${x.rows} rows, A has ${a.cols} columns`);
    if (weights && weights.size !== a.indices.length) throw new Error('spmm: weights must have nnz elements');
    const y = spmm(a, x.data, d, { values: weights?.data });
    return this.node('spmm', y, [a.rows, d], weights ? [x, weights] : [x], (g) => {
      if (x.requiresGrad) this.accFused(x, (add, out) => spmmTransposed(at, g, d, { values: weights?.data, add, out }));
      if (weights?.requiresGrad) this.acc(weights, sddmm(a, g, x.data, d), 'owned');
    });
  }

  /** s_e = ⟨P[i], Q[src(e)]⟩: P [n, d], Q [m, d] → s [nnz]. */
  sddmm(a: Csr, at: CsrTransposed, p: Tensor, q: Tensor): Tensor {
    const d = p.cols;
    if (q.cols !== d) throw new Error('sddmm: P and Q widths differ');
    const s = sddmm(a, p.data, q.data, d);
    return this.node('sddmm', s, [a.indices.length], [p, q], (g) => {
      if (p.requiresGrad) this.acc(p, spmm(a, q.data, d, { values: g }), 'owned');
      if (q.requiresGrad) this.acc(q, spmmTransposed(at, p.data, d, { values: g }), 'owned');
    });
  }

  /** α = softmax of s [nnz] within each row of A. */
  segmentSoftmax(a: Csr, s: Tensor): Tensor {
    const alpha = segmentSoftmax(a, s.data);
    return this.node('segmentSoftmax', alpha, [alpha.length], [s], (g) => {
      this.acc(s, segmentSoftmaxBackward(a, alpha, g), 'owned');
    });
  }

  /** s_e = t[i] + u[src(e)] (GAT's additive attention logits): t [n], u [m] → s [nnz]. */
  edgeScoreSum(a: Csr, at: CsrTransposed, t: Tensor, u: Tensor): Tensor {
    const s = edgeScoreSum(a, t.data, u.data);
    return this.node('edgeScoreSum', s, [s.length], [t, u], (g) => {
      if (t.requiresGrad) this.acc(t, segmentSum(a, g), 'owned');
      if (u.requiresGrad) this.acc(u, segmentSumBySource(at, g), 'owned');
    });
  }

  // ---- dense -------------------------------------------------------------------------------

  /**
   * C = A·B (A [m, k], B [k, n]); with `transB`, C = A·Bᵀ (B [n, k]); with `transA`, C = Aᵀ·B
   * (A [m, k], B [m, n] → C [k, n]).
   */
  matmul(a: Tensor, b: Tensor, opts: { transA?: boolean; transB?: boolean } = {}): Tensor {
    const m = a.rows;
    const k = a.cols;
    if (opts.transA && opts.transB) throw new Error('matmul: transA and transB together are not supported');
    if (opts.transA) {
      if (b.rows !== m) throw new Error(`matmul: [${m}, ${k}]ᵀ · [${b.rows}, ${b.cols}]`);
      const n = b.cols;
      const c = matmulTN(a.data, b.data, m, k, n);
      return this.node('matmul', c, [k, n], [a, b], (g) => {
        if (a.requiresGrad) this.acc(a, matmulNT(b.data, g, m, n, k), 'owned');
        if (b.requiresGrad) this.acc(b, matmul(a.data, g, m, k, n), 'owned');
      });
    }
    if (!opts.transB) {
      if (b.rows !== k) throw new Error(`matmul: [${m}, ${k}] · [${b.rows}, ${b.cols}]`);
      const n = b.cols;
      const c = matmul(a.data, b.data, m, k, n);
      return this.node('matmul', c, [m, n], [a, b], (g) => {
        if (a.requiresGrad) this.acc(a, matmulNT(g, b.data, m, n, k), 'owned');
        if (b.requiresGrad) this.acc(b, matmulTN(a.data, g, m, k, n), 'owned');
      });
    }
    if (b.cols !== k) throw new Error(`matmul: [${m}, ${k}] · [${b.rows}, ${b.cols}]ᵀ`);
    const n = b.rows;
    const c = matmulNT(a.data, b.data, m, k, n);
    return this.node('matmul', c, [m, n], [a, b], (g) => {
      if (a.requiresGrad) this.acc(a, matmul(g, b.data, m, n, k), 'owned');
      if (b.requiresGrad) this.acc(b, matmulTN(g, a.data, m, n, k), 'owned');
    });
  }

  /** X + b broadcast over rows: X [m, n], b [n]. */
  addBias(x: Tensor, b: Tensor): Tensor {
    const m = x.rows;
    const n = x.cols;
    if (b.size !== n) throw new Error('addBias: bias length != columns');
    const y = addRowVector(x.data, b.data, m, n);
    return this.node('addBias', y, [m, n], [x, b], (g) => {
      if (x.requiresGrad) this.acc(x, g, 'borrowed');
      if (b.requiresGrad) this.acc(b, sumRows(g, m, n), 'owned');
    });
  }

  /** Concatenates matrices with equal row counts along columns: [m, d_1], … → [m, Σ d_i]. */
  concatColumns(parts: Tensor[]): Tensor {
    const m = parts[0].rows;
    const widths = parts.map((p) => p.cols);
    const total = widths.reduce((a, b) => a + b, 0);
    if (parts.some((p) => p.rows !== m)) throw new Error('concatColumns: row counts differ');
    const y = allocF32(m * total, false);
    let off = 0;
    parts.forEach((p, q) => {
      const w = widths[q];
      for (let i = 0; i < m; i++) y.set(p.data.subarray(i * w, i * w + w), i * total + off);
      off += w;
    });
    return this.node('concatColumns', y, [m, total], parts, (g) => {
      let o = 0;
      parts.forEach((p, q) => {
        const w = widths[q];
        if (p.requiresGrad) {
          const gp = allocF32(m * w, false);
          for (let i = 0; i < m; i++) gp.set(g.subarray(i * total + o, i * total + o + w), i * w);
          this.acc(p, gp, 'owned');
        }
        o += w;
      });
    });
  }

  // ---- element-wise ------------------------------------------------------------------------

  /** a + b (same shape). */
  add(a: Tensor, b: Tensor): Tensor {
    sameShape('add', a, b);
    return this.node('add', axpby(1, a.data, 1, b.data), a.shape, [a, b], (g) => {
      this.acc(a, g, 'borrowed');
      this.acc(b, g, 'borrowed');
    });
  }

  /** a − b (same shape). */
  sub(a: Tensor, b: Tensor): Tensor {
    sameShape('sub', a, b);
    return this.node('sub', axpby(1, a.data, -1, b.data), a.shape, [a, b], (g) => {
      this.acc(a, g, 'borrowed');
      if (b.requiresGrad) this.acc(b, scaleArr(g, -1), 'owned');
    });
  }

  /** a ⊙ b (same shape). */
  mul(a: Tensor, b: Tensor): Tensor {
    sameShape('mul', a, b);
    return this.node('mul', mulArr(a.data, b.data), a.shape, [a, b], (g) => {
      if (a.requiresGrad) this.acc(a, mulArr(g, b.data), 'owned');
      if (b.requiresGrad) this.acc(b, mulArr(g, a.data), 'owned');
    });
  }

  /** s·a. */
  scale(a: Tensor, s: number): Tensor {
    return this.node('scale', scaleArr(a.data, s), a.shape, [a], (g) => this.acc(a, scaleArr(g, s), 'owned'));
  }

  /** (1/n) Σ_i t_i over tensors of one shape (LightGCN's layer combination). */
  mean(ts: Tensor[]): Tensor {
    if (ts.length === 0) throw new Error('mean: no tensors');
    for (const t of ts) sameShape('mean', ts[0], t);
    const c = 1 / ts.length;
    const y = ts.length === 1 ? scaleArr(ts[0].data, c) : axpby(c, ts[0].data, c, ts[1].data);
    for (let i = 2; i < ts.length; i++) axpy(c, ts[i].data, y);
    return this.node('mean', y, ts[0].shape, ts, (g) => {
      const gs = this.shared(scaleArr(g, c));
      for (const t of ts) this.acc(t, gs, 'shared');
    });
  }

  relu(a: Tensor): Tensor {
    return this.node('relu', reluArr(a.data), a.shape, [a], (g) => this.acc(a, reluBackward(a.data, g), 'owned'));
  }

  leakyRelu(a: Tensor, slope = 0.2): Tensor {
    return this.node('leakyRelu', leakyReluArr(a.data, slope), a.shape, [a], (g) => this.acc(a, leakyReluBackward(a.data, g, slope), 'owned'));
  }

  elu(a: Tensor): Tensor {
    return this.node('elu', eluArr(a.data), a.shape, [a], (g) => this.acc(a, eluBackward(a.data, g), 'owned'));
  }

  sigmoid(a: Tensor): Tensor {
    const y = sigmoidArr(a.data);
    return this.node('sigmoid', y, a.shape, [a], (g) => this.acc(a, sigmoidBackward(y, g), 'owned'));
  }

  /** Inverted dropout (identity when `training` is false or p = 0); the mask is reused backward. */
  dropout(a: Tensor, p: number, rng: Rng, training = true): Tensor {
    if (!training || p === 0) return a;
    const { out, mask, scale } = dropoutArr(a.data, p, rng);
    return this.node('dropout', out, a.shape, [a], (g) => this.acc(a, dropoutBackward(g, mask, scale), 'owned'));
  }

  // ---- embeddings --------------------------------------------------------------------------

  /** Row lookup: T [N, d], idx [b] → [b, d]. Backward scatter-adds (row-sparse for `sparseGrad` parameters). */
  gatherRows(table: Tensor, idx: ArrayLike<number>): Tensor {
    const d = table.cols;
    const ix = Int32Array.from(idx);
    const y = gatherRowsArr(table.data, ix, d);
    return this.node('gatherRows', y, [ix.length, d], [table], (g) => {
      if (table.sparseGrad) {
        const v = allocF32(g.length, false);
        v.set(g);
        table.rowGradParts.push({ idx: ix, values: v });
        return;
      }
      const own = this.ownGrad(table);
      if (own) scatterAddRows(own, ix, g, d);
      else {
        const dense = allocF32(table.size);
        scatterAddRows(dense, ix, g, d);
        this.acc(table, dense, 'owned');
      }
    });
  }

  /** r[i] = ⟨A[i,:], B[i,:]⟩: A, B [b, d] → [b]. */
  rowDot(a: Tensor, b: Tensor): Tensor {
    sameShape('rowDot', a, b);
    const m = a.rows;
    const d = a.cols;
    return this.node('rowDot', rowDotArr(a.data, b.data, m, d), [m], [a, b], (g) => {
      const grad = (other: Float32Array): Float32Array => {
        const o = allocF32(m * d, false);
        for (let i = 0; i < m; i++) for (let k = 0; k < d; k++) o[i * d + k] = g[i] * other[i * d + k];
        return o;
      };
      if (a.requiresGrad) this.acc(a, grad(b.data), 'owned');
      if (b.requiresGrad) this.acc(b, grad(a.data), 'owned');
    });
  }

  // ---- losses ------------------------------------------------------------------------------

  /** Σ_i a_i (or Σ_i w_i·a_i with fixed weights w) → scalar. */
  sum(a: Tensor, weights?: Float32Array): Tensor {
    if (weights && weights.length !== a.size) throw new Error('sum: weights length != tensor size');
    let s = 0;
    const x = a.data;
    if (weights) for (let i = 0; i < x.length; i++) s += weights[i] * x[i];
    else for (let i = 0; i < x.length; i++) s += x[i];
    const out = allocF32(1, false);
    out[0] = s;
    return this.node('sum', out, [1], [a], (g) => {
      const d = allocF32(a.size, false);
      if (weights) for (let i = 0; i < d.length; i++) d[i] = g[0] * weights[i];
      else d.fill(g[0]);
      this.acc(a, d, 'owned');
    });
  }

  /** Mean BPR loss −log σ(x⁺ − x⁻) over the batch → scalar. */
  bprLoss(pos: Tensor, neg: Tensor): Tensor {
    const first = bprLossArr(pos.data, neg.data);
    free(first.dPos);
    free(first.dNeg);
    const out = allocF32(1, false);
    out[0] = first.loss;
    return this.node('bprLoss', out, [1], [pos, neg], (g) => {
      const r = bprLossArr(pos.data, neg.data);
      if (g[0] !== 1) {
        scaleArr(r.dPos, g[0], r.dPos);
        scaleArr(r.dNeg, g[0], r.dNeg);
      }
      this.acc(pos, r.dPos, 'owned');
      this.acc(neg, r.dNeg, 'owned');
    });
  }

  /** Mean sampled-softmax loss of positives [b] against their candidates [b·N] (row-major), temperature τ → scalar. */
  sampledSoftmaxLoss(pos: Tensor, neg: Tensor, tau: number): Tensor {
    const first = sampledSoftmaxArr(pos.data, neg.data, tau);
    free(first.dPos);
    free(first.dNeg);
    const out = allocF32(1, false);
    out[0] = first.loss;
    return this.node('sampledSoftmaxLoss', out, [1], [pos, neg], (g) => {
      const r = sampledSoftmaxArr(pos.data, neg.data, tau);
      if (g[0] !== 1) {
        scaleArr(r.dPos, g[0], r.dPos);
        scaleArr(r.dNeg, g[0], r.dNeg);
      }
      this.acc(pos, r.dPos, 'owned');
      this.acc(neg, r.dNeg, 'owned');
    });
  }

  /** λ · Σ_t ‖t‖² / (2·batch) → scalar (LightGCN's regulariser on the batch's ego embeddings); ∂t = λ·t / batch. */
  l2(ts: Tensor[], lambda: number, batch: number): Tensor {
    let ss = 0;
    for (const t of ts) ss += sumSquares(t.data);
    const out = allocF32(1, false);
    out[0] = (lambda * ss) / (2 * batch);
    return this.node('l2', out, [1], ts, (g) => {
      for (const t of ts) if (t.requiresGrad) this.acc(t, scaleArr(t.data, (g[0] * lambda) / batch), 'owned');
    });
  }

  /**
   * λ/(2b) · Σ_r ‖table[idx_r]‖² without gathering the rows (the same value and gradient as
   * l2([gatherRows(table, idx)], λ, b), to the last bit): ∂table[n] += g·λ/b · table[n] once per occurrence of n.
   */
  l2Rows(table: Tensor, idx: Int32Array, lambda: number, batch: number): Tensor {
    const d = table.cols;
    const x = table.data;
    let ss = 0;
    for (let r = 0; r < idx.length; r++) {
      const o = idx[r] * d;
      for (let k = 0; k < d; k++) ss += x[o + k] * x[o + k];
    }
    const out = allocF32(1, false);
    out[0] = (lambda * ss) / (2 * batch);
    return this.node('l2Rows', out, [1], [table], (g) => {
      if (!table.requiresGrad) return;
      const c = Math.fround((g[0] * lambda) / batch);
      let own = this.ownGrad(table);
      const fresh = !own;
      own ??= allocF32(table.size);
      for (let r = 0; r < idx.length; r++) {
        const o = idx[r] * d;
        for (let k = 0; k < d; k++) own[o + k] += Math.fround(c * x[o + k]);
      }
      if (fresh) this.acc(table, own, 'owned');
    });
  }

  /** Mean binary cross-entropy on logits z [b] with targets y [b] → scalar. */
  bceWithLogits(z: Tensor, y: ArrayLike<number>): Tensor {
    const first = bceArr(z.data, y);
    free(first.dZ);
    const out = allocF32(1, false);
    out[0] = first.loss;
    const targets = Float32Array.from(y);
    return this.node('bceWithLogits', out, [1], [z], (g) => {
      const { dZ } = bceArr(z.data, targets);
      this.acc(z, g[0] === 1 ? dZ : scaleArr(dZ, g[0], dZ), 'owned');
    });
  }
}
