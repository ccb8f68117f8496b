/**
 * Adam and AdamW, dense and row-wise ("lazy") for embedding tables.
 *
 * With gradient g_t of parameter θ at step t = 1, 2, …:
 *
 *     Adam  (L2, coupled):   g ← g + λθ
 *     AdamW (decoupled):     θ ← θ − lr·λ·θ
 *     m ← β1·m + (1 − β1)·g            v ← β2·v + (1 − β2)·g²
 *     θ ← θ − lr · (m / (1 − β1^t)) / (sqrt(v / (1 − β2^t)) + ε)
 *
 * (PyTorch's `torch.optim.Adam` / `AdamW` formulas.) The dense update runs the wasm SIMD kernel
 * split over the pool; {@link Adam.stepRows} updates only given rows of a table — the rows a batch
 * touched — leaving the moments of the other rows untouched (like `torch.optim.SparseAdam`, with
 * the global step count for bias correction).
 *
 * Parameters are any objects with `data` (and `grad` for {@link Adam.step}); state lives in the heap.
 */
import { allocF32, free } from './heap.js';
import { runKernel } from './pool.js';
import { uniformChunking, type ParallelOptions } from './chunks.js';
import { staged } from './stage.js';
import type { RowSparse } from './embedding.js';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** λ: L2 (coupled) for Adam, decoupled decay for AdamW */
  weightDecay?: number;
  /** true = AdamW */
  decoupled?: boolean;
}

/** Something Adam can update. */
export interface OptimParam {
  data: Float32Array;
  grad?: Float32Array | null;
}

interface State {
  m: Float32Array;
  v: Float32Array;
}

export class Adam {
  readonly params: OptimParam[];
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupled: boolean;
  /** Steps taken (t after the last step). */
  t = 0;
  private readonly state = new Map<OptimParam, State>();

  constructor(params: OptimParam[], opts: AdamOptions) {
    this.params = params;
    this.lr = opts.lr;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.decoupled = opts.decoupled ?? false;
  }

  private stateOf(p: OptimParam): State {
    let s = this.state.get(p);
    if (!s) {
      s = { m: allocF32(p.data.length), v: allocF32(p.data.length) };
      this.state.set(p, s);
    }
    return s;
  }

  /** Moments of a parameter (for tests and checkpoints). */
  moments(p: OptimParam): State {
    return this.stateOf(p);
  }

  /** Advances the step counter; returns the bias corrections (1 − β1^t, 1 − β2^t). */
  private tick(): [number, number] {
    this.t += 1;
    return [1 - this.beta1 ** this.t, 1 - this.beta2 ** this.t];
  }

  /** One dense step over every parameter with a gradient (others are skipped). */
  step(opts: ParallelOptions & { lr?: number } = {}): void {
    const lr = opts.lr ?? this.lr;
    const [bc1, bc2] = this.tick();
    for (const p of this.params) {
      if (!p.grad) continue;
      if (p.grad.length !== p.data.length) throw new Error('Adam: grad and data lengths differ');
      const s = this.stateOf(p);
      const n = p.data.length;
      const grad = p.grad;
      staged((st) => {
        const args = [
          st.outF32(p.data, true), st.inF32(grad), st.outF32(s.m, true), st.outF32(s.v, true),
          this.beta1, 1 - this.beta1, this.beta2, 1 - this.beta2, this.eps, this.weightDecay, lr * this.weightDecay,
          this.decoupled ? 1 : 0, lr / bc1, 1 / bc2,
        ];
        runKernel('adam', args, uniformChunking(n, 16, opts), { parallel: opts.parallel });
      });
    }
  }

  /**
   * One lazy step on the given rows of table `p` ([N × d]): only rows in `g.rows` change (their
   * parameters and moments). Counts as one optimiser step.
   */
  stepRows(p: OptimParam, g: RowSparse, d: number, opts: { lr?: number } = {}): void {
    const lr = opts.lr ?? this.lr;
    const [bc1, bc2] = this.tick();
    this.updateRows(p, g, d, lr, bc1, bc2);
  }

  /** Lazy steps on several tables at once (one optimiser step). */
  stepRowsMany(items: { param: OptimParam; grad: RowSparse; d: number }[], opts: { lr?: number } = {}): void {
    const lr = opts.lr ?? this.lr;
    const [bc1, bc2] = this.tick();
    for (const it of items) this.updateRows(it.param, it.grad, it.d, lr, bc1, bc2);
  }

  private updateRows(p: OptimParam, g: RowSparse, d: number, lr: number, bc1: number, bc2: number): void {
    const s = this.stateOf(p);
    if (g.values.length !== g.rows.length * d) throw new Error('Adam.stepRows: values must be [rows × d]');
    const { data } = p;
    const { m, v } = s;
    const b1 = this.beta1;
    const b2 = this.beta2;
    const wd = this.weightDecay;
    const stepSize = lr / bc1;
    for (let r = 0; r < g.rows.length; r++) {
      const base = g.rows[r] * d;
      if (base < 0 || base + d > data.length) throw new RangeError(`Adam.stepRows: row ${g.rows[r]} out of range`);
      for (let k = 0; k < d; k++) {
        const i = base + k;
        let gi = g.values[r * d + k];
        let pi = data[i];
        if (this.decoupled) pi -= lr * wd * pi;
        else gi += wd * pi;
        const mi = b1 * m[i] + (1 - b1) * gi;
        const vi = b2 * v[i] + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        data[i] = pi - (stepSize * mi) / (Math.sqrt(vi / bc2) + this.eps);
      }
    }
  }

  /** Frees the moment buffers. */
  dispose(): void {
    for (const s of this.state.values()) {
      free(s.m);
      free(s.v);
    }
    this.state.clear();
  }
}

/** Convenience: an AdamW optimiser (decoupled weight decay, default λ = 0.01 as in PyTorch). */
export function adamW(params: OptimParam[], opts: Omit<AdamOptions, 'decoupled'>): Adam {
  return new Adam(params, { weightDecay: 0.01, ...opts, decoupled: true });
}
