/**
 * The fast path of `attention: none`: uniform attention with degree calibration is LightGCN's propagation
 * Â = D^-1/2 A D^-1/2 (src/models/propagation/attention.ts), and since Â is fixed the forward and backward
 * passes are written out over the core's SpMM kernels instead of an autograd tape (Â symmetric, Âᵀ = Â):
 *
 *   E⁽ᵏ⁺¹⁾ = Â E⁽ᵏ⁾,   F = (E⁽⁰⁾ + … + E⁽ᴷ⁾) / (K + 1),   x_ui = ⟨F[u], F[U + i]⟩
 *
 * With R the batch's distinct nodes and G = ∂L/∂F / (K+1) on R (scattered: X, zero off R):
 *
 *   forward   E⁽ᵏ⁾ = Â E⁽ᵏ⁻¹⁾ for k < K over all nodes; the last layer only on R, E⁽ᴷ⁾[R] = Â[R, :] E⁽ᴷ⁻¹⁾;
 *             F = mean of the layers at R
 *   loss      the batch as a sparse |R| × |R| matrix of (user, item) pairs: one SDDMM, two SpMMs (mf.ts)
 *   backward  ∂E⁽ᴷ⁻¹⁾ = Â[R, :]ᵀ G + X;  ∂E⁽ᵏ⁾ = Â ∂E⁽ᵏ⁺¹⁾ + X (k < K−1, one SpMM with accumulation);
 *             ∂E⁽⁰⁾ += λ·count·E⁽⁰⁾[R]/b;  then one dense Adam step
 *
 * When the batch's rows hold most of Â's entries the last layer goes over the whole graph (FULL_LAST_LAYER);
 * for batches of ≥ N/2 node slots the slots are node ids and the per-row passes become kernel passes over the
 * whole table (WHOLE_TABLE). Shapes: E⁽ᵏ⁾ [N × d] (N = U + I), Â [N × N] with 2·|R| entries.
 * Gradient checks in src/models/lightgcn.test.ts cover every path; measurements in
 * docs/decisions/052-lightgcn-fused-propagation.md.
 */
import { ppError } from '../../errors.js';
import { allocF32, allocI32, axpby, axpy, free, scale, spmm, transpose, type Csr } from '../../core/index.js';
import type { SplitData } from '../../graphs/split-data.js';
import type { Params } from '../model.js';
import { BprEmbeddingModel, type BprConfig } from '../mf.js';
import { normalizedUserItemAdjacency } from './graph.js';

/** Share of Â's entries above which the batch rows' last layer is computed over the whole graph. */
export const FULL_LAST_LAYER = 0.5;
/** batch · (2 + candidates) ≥ WHOLE_TABLE · N: the step works on the whole table (slots = node ids). */
export const WHOLE_TABLE = 0.5;

/** LightGCN with a hand-written forward/backward over the core's SpMM kernels (see the module comment). */
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
    const { adj, weighted } = normalizedUserItemAdjacency(data, ratingWeighted);
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

