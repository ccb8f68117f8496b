/**
 * LightGCN (He et al., SIGIR 2020): linear propagation of ID embeddings over the user–item graph,
 *
 *   E⁽ᵏ⁺¹⁾ = Â E⁽ᵏ⁾,   Â = D^-1/2 A D^-1/2,   A = [[0, R], [Rᵀ, 0]]  ((U+I) × (U+I), R binary),
 *   E = (E⁽⁰⁾ + E⁽¹⁾ + … + E⁽ᴷ⁾) / (K + 1),   x_ui = ⟨E[u], E[U + i]⟩,
 *
 * trained with BPR on the final embeddings and L2 on the batch's layer-0 embeddings (λ·Σ‖e⁰‖²/(2b)),
 * Adam lr 0.001, batch 2048, d 64, K 3, N(0, 0.1²) initialisation — the official configuration.
 * With `rating_weighted` and a split with ratings, A_ui = rating(u, i) (NaN → 1) before normalisation.
 *
 * One step propagates the whole graph, forward and backward, with the core's kernels and no autograd
 * tape (the graph is fixed, so the backward pass is written out; Â is symmetric, Âᵀ = Â). With R the
 * batch's distinct nodes and G = ∂L/∂F / (K+1) on R (scattered: X, zero off R):
 *
 *   forward   E⁽ᵏ⁾ = Â E⁽ᵏ⁻¹⁾ for k < K over all nodes; the last layer only on R, E⁽ᴷ⁾[R] = Â[R, :] E⁽ᴷ⁻¹⁾
 *             (its other rows are never read); F = mean of the layers at R
 *   loss      the batch as a sparse |R| × |R| matrix S of (user, item) pairs: all scores in one SDDMM,
 *             ∂L/∂F = S(g)·F + S(g)ᵀ·F in two SpMMs (see mf.ts)
 *   backward  ∂E⁽ᴷ⁻¹⁾ = Â[R, :]ᵀ G + X;  ∂E⁽ᵏ⁾ = Â ∂E⁽ᵏ⁺¹⁾ + X (k < K−1, fused: one SpMM with accumulation);
 *             ∂E⁽⁰⁾ += λ·count·E⁽⁰⁾[R]/b;  then one dense Adam step (∂E⁽⁰⁾ reaches the K-hop neighbourhood
 *             of the batch, i.e. nearly every node)
 *
 * so a step costs 2(K−1) full SpMMs plus products restricted to the batch's rows, instead of the 2K full
 * ones and the full-size layer mean of a tape; every buffer is allocated once in the shared heap. When
 * the batch's rows hold most of Â's entries, the last layer goes over the whole graph (FULL_LAST_LAYER);
 * for batches of ≥ N/2 node slots, slots are node ids and the per-row passes become kernel passes
 * over the whole table (WHOLE_TABLE). Gradient checks in lightgcn.test.ts cover every path.
 *
 * Measured on Gowalla, 2-core VM shared with other jobs (load average 4–9 throughout):
 * - one step, batch 2048, 64-d, K 3, on the full train.txt graph (70,839 nodes, 1.62M entries), same
 *   session, load ≈ 5: this model 0.16–0.17 s (median), the same step on the autograd tape 0.19–0.22 s,
 *   PyTorch 1.13 with 2 threads (bench/core/lightgcn_step_torch.py) 1.71–1.77 s (0.45 s on a quiet
 *   machine, STACK-NOTES);
 * - one epoch of the official configuration on the split's 728,432 train pairs (356 steps): 57.5 s;
 * - large batches with a higher learning rate converge faster per wall-clock second: the SpMMs cost
 *   the same per step while the per-pair work runs in the kernels. 5-minute budgets, valid Recall@20:
 *   batch 4096 / lr 0.005: 0.120 (5 epochs); 16384 / 0.01: 0.130 (9); 65536 / 0.02: 0.157 (32);
 *   65536 / 0.05: 0.165 (58); 262144 / 0.05: 0.176 (86 epochs, ~2–4 s each).
 * - batch 262144, lr 0.05, other parameters official (30-minute budget, validation every 100 epochs;
 *   epochs of 0.7–1 s at load ≈ 4): valid NDCG@20 peaked at epoch 500 (Recall@20 0.191); the run ended
 *   at the 1000-epoch limit after 20 minutes, and the epoch-500 state scores test Recall@20 0.1596,
 *   NDCG@20 0.1364 (the split trains on 90 % of train.txt: 10 % is carved out for validation).
 */
import { ppError } from '../errors.js';
import {
  allocF32,
  allocI32,
  axpby,
  axpy,
  bipartiteNormalizedAdjacency,
  csrFromCoo,
  free,
  normalizeSymmetric,
  scale,
  spmm,
  transpose,
  type Csr,
} from '../core/index.js';
import type { SplitData } from '../graphs/split-data.js';
import type { ModelSpec, Params } from './model.js';
import { registerModel, resolveParams } from './registry.js';
import { BPR_PARAMS, BprEmbeddingModel, bprConfig, fitBpr, loadEmbeddings, type BprConfig } from './mf.js';

/** Share of Â's entries above which the batch rows' last layer is computed over the whole graph. */
export const FULL_LAST_LAYER = 0.5;
/** batch · (2 + candidates) ≥ WHOLE_TABLE · N: the step works on the whole table (slots = node ids). */
export const WHOLE_TABLE = 0.5;

/**
 * Â of the split's train part: symmetric normalised bipartite adjacency, binary or rating-weighted.
 * Nodes 0..U−1 are users, U..U+I−1 items.
 */
export function lightGcnAdjacency(data: SplitData, ratingWeighted: boolean): { adj: Csr; weighted: boolean } {
  const { train, numUsers: U, numItems: I } = data;
  const m = train.indices.length;
  const users = new Int32Array(m);
  for (let u = 0; u < U; u++) users.fill(u, train.indptr[u], train.indptr[u + 1]);
  let weighted = false;
  if (ratingWeighted) for (let e = 0; e < m && !weighted; e++) weighted = Number.isFinite(train.ratings[e]);
  if (!weighted) return { adj: bipartiteNormalizedAdjacency(U, I, users, train.indices), weighted };
  const n = U + I;
  const r = new Int32Array(2 * m);
  const c = new Int32Array(2 * m);
  const w = new Float32Array(2 * m);
  for (let e = 0; e < m; e++) {
    const rating = train.ratings[e];
    const v = Number.isFinite(rating) ? rating : 1;
    if (!(v >= 0)) throw ppError('PP_MODEL_PARAM', `lightgcn.rating_weighted: rating ${rating} of user ${users[e]} is negative`);
    r[2 * e] = users[e];
    c[2 * e] = U + train.indices[e];
    r[2 * e + 1] = U + train.indices[e];
    c[2 * e + 1] = users[e];
    w[2 * e] = w[2 * e + 1] = v;
  }
  const a = csrFromCoo(n, n, r, c, w);
  const norm = normalizeSymmetric(a);
  free(a.values);
  return { adj: norm, weighted };
}

/**
 * LightGCN with a hand-written forward/backward over the core's SpMM kernels (see the module comment).
 */
export class LightGcnModel extends BprEmbeddingModel {
  readonly modelName = 'lightgcn';
  readonly layers: number;
  readonly adj: Csr;
  /** Whether the edges carry ratings (ratingWeighted and the split has ratings). */
  readonly weighted: boolean;
  /** E⁽¹⁾ … E⁽ᴷ⁻¹⁾ over all nodes. */
  private readonly hidden: Float32Array[] = [];
  /** Two full buffers for the backward pass (and the full last layer); the gradient of E⁽⁰⁾. */
  private readonly bufA: Float32Array;
  private readonly bufB: Float32Array;
  private readonly grad: Float32Array;
  /** G scattered to the batch's rows, zero elsewhere (backward). */
  private readonly scattered: Float32Array;
  /** Â[R, :] of the current step (null when the last layer went over the whole graph). */
  private sub: Csr | null = null;
  private final: Float32Array | null = null;
  private finalValid = false;
  private released = false;
  /** Steps whose last layer used the batch rows (sub) vs the whole graph: for benchmarks. */
  readonly stats = { subSteps: 0, fullSteps: 0 };
  /** Share of Â's entries above which the last layer goes over the whole graph (0 = always; benchmarks). */
  fullLastLayer = FULL_LAST_LAYER;
  /** Batches with at least this many triples' nodes per graph node work on the whole table (Infinity = never; tests). */
  wholeTable = WHOLE_TABLE;

  constructor(data: SplitData, cfg: BprConfig, seed: number, params: Params, layers: number, ratingWeighted: boolean) {
    super(data, cfg, seed, params);
    this.layers = layers;
    const { adj, weighted } = lightGcnAdjacency(data, ratingWeighted);
    this.adj = adj;
    this.weighted = weighted;
    const size = this.numNodes * this.dim;
    for (let k = 1; k < layers; k++) this.hidden.push(allocF32(size, false));
    this.bufA = allocF32(layers >= 1 ? size : 0, false);
    this.bufB = allocF32(layers >= 2 ? size : 0, false);
    this.grad = allocF32(size, false);
    this.scattered = allocF32(size);
    this.param.grad = this.grad;
  }

  private layer(k: number): Float32Array {
    return k === 0 ? this.table : this.hidden[k - 1];
  }

  /**
   * E⁽¹⁾ … E⁽ᴷ⁻¹⁾ over the whole graph into the hidden buffers, then `sum` = E⁽⁰⁾ + … + E⁽ᴷ⁻¹⁾ + Â E⁽ᴷ⁻¹⁾
   * (the last product fused with the sum: one SpMM with accumulation).
   */
  private sumLayers(sum: Float32Array): void {
    const K = this.layers;
    const d = this.dim;
    for (let k = 1; k < K; k++) spmm(this.adj, this.layer(k - 1), d, { out: this.layer(k) });
    if (K === 0) {
      sum.set(this.table);
      return;
    }
    if (K === 1) sum.set(this.table);
    else axpby(1, this.table, 1, this.layer(1), sum);
    for (let k = 2; k < K; k++) axpy(1, this.layer(k), sum);
    spmm(this.adj, this.layer(K - 1), d, { out: sum, add: sum });
  }

  /** Batches of at least N/2 nodes (with repeats) work on the whole table: the per-row passes run in the kernels. */
  protected override identitySlots(batch: number, negPerPos: number): boolean {
    return batch * (2 + negPerPos) >= this.wholeTable * this.numNodes;
  }

  protected forwardRows(out: Float32Array): void {
    if (this.released) throw ppError('PP_INTERNAL', 'lightgcn: training already finished');
    const K = this.layers;
    const d = this.dim;
    const n = this.nRows;
    const rows = this.rows;
    const c = 1 / (K + 1);
    if (this.identity) {
      this.sub = null;
      if (K > 0) this.stats.fullSteps++;
      this.sumLayers(out);
      if (K > 0) scale(out, c, out);
      return;
    }
    const a = this.adj;
    let nnzSub = 0;
    for (let s = 0; s < n; s++) nnzSub += a.indptr[rows[s] + 1] - a.indptr[rows[s]];
    if (K === 0 || nnzSub > this.fullLastLayer * a.indptr[a.rows]) {
      // most of the graph: all layers everywhere (fused sum), then read the batch's rows
      this.sub = null;
      if (K > 0) this.stats.fullSteps++;
      const sum = K === 0 ? this.table : this.bufA;
      if (K > 0) this.sumLayers(sum);
      for (let s = 0; s < n; s++) {
        const o = rows[s] * d;
        const p = s * d;
        for (let q = 0; q < d; q++) out[p + q] = c * sum[o + q];
      }
      return;
    }
    this.stats.subSteps++;
    for (let k = 1; k < K; k++) spmm(a, this.layer(k - 1), d, { out: this.layer(k) });
    const indptr = allocI32(n + 1, false);
    const indices = allocI32(nnzSub, false);
    const values = allocF32(nnzSub, false);
    indptr[0] = 0;
    let at = 0;
    for (let s = 0; s < n; s++) {
      const lo = a.indptr[rows[s]];
      const hi = a.indptr[rows[s] + 1];
      indices.set(a.indices.subarray(lo, hi), at);
      values.set(a.values.subarray(lo, hi), at);
      at += hi - lo;
      indptr[s + 1] = at;
    }
    this.sub = { rows: n, cols: a.cols, indptr, indices, values };
    // E⁽ᴷ⁾[R] = Â[R, :] E⁽ᴷ⁻¹⁾, then F = (E⁽⁰⁾[R] + … + E⁽ᴷ⁾[R]) / (K + 1)
    spmm(this.sub, this.layer(K - 1), d, { out });
    for (let s = 0; s < n; s++) {
      const p = s * d;
      const r = rows[s] * d;
      for (let k = 0; k < K; k++) {
        const e = this.layer(k);
        for (let q = 0; q < d; q++) out[p + q] += e[r + q];
      }
      for (let q = 0; q < d; q++) out[p + q] *= c;
    }
  }

  protected backwardRows(l2Scale: number): void {
    const K = this.layers;
    const d = this.dim;
    const n = this.nRows;
    const rows = this.rows;
    const dF = this.dF;
    const c = 1 / (K + 1);
    const target = (k: number) => (k === 0 ? this.grad : (K - 1 - k) % 2 === 0 ? this.bufA : this.bufB);
    if (this.identity) {
      // G = ∂L/∂F / (K+1) over all nodes; ∂E⁽ᵏ⁾ = Â ∂E⁽ᵏ⁺¹⁾ + G, ∂E⁽ᴷ⁾ = G
      const G = dF.subarray(0, n * d);
      if (K === 0) this.grad.set(G);
      else {
        scale(G, c, G);
        spmm(this.adj, G, d, { out: target(K - 1), add: G });
        for (let k = K - 2; k >= 0; k--) spmm(this.adj, target(k + 1), d, { out: target(k), add: G });
      }
      // L2: grad += diag(λ/b · count) · E⁽⁰⁾
      const diag = this.diagonal();
      for (let s = 0; s < n; s++) diag.values[s] = l2Scale * this.l2Count[s];
      spmm(diag, this.table, d, { out: this.grad, add: this.grad });
      return;
    }
    // X = G scattered to the batch's rows (G = ∂L/∂F / (K+1), what every layer receives from the mean);
    // X is zero elsewhere, and its rows are cleared again at the end of the step
    const X = this.scattered;
    for (let s = 0; s < n; s++) {
      const o = rows[s] * d;
      const p = s * d;
      for (let q = 0; q < d; q++) X[o + q] = c * dF[p + q];
    }
    if (K === 0) {
      this.grad.set(X);
    } else {
      // ∂E⁽ᴷ⁻¹⁾ = Â[R, :]ᵀ G + X
      const t = target(K - 1);
      if (this.sub) {
        const G = dF.subarray(0, n * d);
        for (let q = 0; q < G.length; q++) G[q] *= c;
        const st = transpose(this.sub);
        spmm(st, G, d, { out: t, add: X });
        for (const x of [st.indptr, st.indices, st.values, st.perm]) free(x);
        this.freeSub();
      } else {
        // Â[R, :]ᵀ G = Âᵀ X = Â X
        spmm(this.adj, X, d, { out: t, add: X });
      }
      // ∂E⁽ᵏ⁾ = Â ∂E⁽ᵏ⁺¹⁾ + X
      for (let k = K - 2; k >= 0; k--) spmm(this.adj, target(k + 1), d, { out: target(k), add: X });
    }
    for (let s = 0; s < n; s++) X.fill(0, rows[s] * d, rows[s] * d + d);
    // L2 on the batch's layer-0 embeddings
    const E0 = this.table;
    const g = this.grad;
    for (let s = 0; s < n; s++) {
      const k = l2Scale * this.l2Count[s];
      if (k === 0) continue;
      const o = rows[s] * d;
      for (let q = 0; q < d; q++) g[o + q] += k * E0[o + q];
    }
  }

  private diag: Csr | null = null;

  /** An N × N diagonal CSR (fixed structure, values set per step). */
  private diagonal(): Csr {
    if (!this.diag) {
      const N = this.numNodes;
      const indptr = allocI32(N + 1, false);
      const indices = allocI32(N, false);
      for (let s = 0; s <= N; s++) indptr[s] = s;
      for (let s = 0; s < N; s++) indices[s] = s;
      this.diag = { rows: N, cols: N, indptr, indices, values: allocF32(N) };
    }
    return this.diag;
  }

  protected applyGradient(): void {
    this.adam.step();
  }

  protected denseGradient(): Float32Array {
    return this.grad.slice();
  }

  protected override endForward(): void {
    this.freeSub();
  }

  private freeSub(): void {
    if (this.sub) for (const x of [this.sub.indptr, this.sub.indices, this.sub.values]) free(x);
    this.sub = null;
  }

  protected invalidate(): void {
    this.finalValid = false;
  }

  /** Final embeddings of every node: all K layers over the whole graph, averaged. */
  protected finalTable(): Float32Array {
    if (this.final && this.finalValid) return this.final;
    if (!this.final) this.final = allocF32(this.numNodes * this.dim, false);
    this.sumLayers(this.final);
    scale(this.final, 1 / (this.layers + 1), this.final);
    this.finalValid = true;
    return this.final;
  }

  override getState() {
    if (this.released) throw ppError('PP_INTERNAL', 'lightgcn: training already finished');
    return super.getState();
  }

  /** Keeps only the final embeddings (scoring) and frees the training buffers. */
  override finishTraining(): void {
    if (this.released) return;
    super.finishTraining();
    this.releaseTraining();
  }

  private releaseTraining(): void {
    if (this.released) return;
    this.released = true;
    for (const h of this.hidden) free(h);
    this.hidden.length = 0;
    for (const x of [this.bufA, this.bufB, this.grad, this.scattered]) free(x);
    this.freeSub();
    if (this.diag) for (const x of [this.diag.indptr, this.diag.indices, this.diag.values]) free(x);
    this.diag = null;
    this.param.grad = null;
  }

  override dispose(): void {
    this.releaseTraining();
    if (this.final) free(this.final);
    this.final = null;
    for (const x of [this.adj.indptr, this.adj.indices, this.adj.values]) free(x);
    super.dispose();
  }
}

export const lightGcnSpec: ModelSpec = registerModel({
  name: 'lightgcn',
  description: 'LightGCN: layer-mean linear propagation over the normalised user–item graph, BPR (He et al. 2020)',
  kind: 'trained',
  params: {
    ...BPR_PARAMS,
    layers: { default: 3, min: 0, max: 8, doc: 'propagation layers K (final embedding = mean of layers 0..K)' },
    rating_weighted: { default: false, doc: 'weight edges by rating before normalisation (when the split has ratings)' },
  },
  async fit(ctx) {
    const params = resolveParams(lightGcnSpec, ctx.params);
    const layers = params.layers as number;
    if (!Number.isInteger(layers)) throw ppError('PP_MODEL_PARAM', `lightgcn.layers: expected an integer (got ${layers})`);
    return fitBpr(ctx, new LightGcnModel(ctx.data, bprConfig(params), ctx.seed, params, layers, params.rating_weighted as boolean));
  },
  load(dir, data) {
    return loadEmbeddings(dir, data, 'lightgcn');
  },
});
