/**
 * EASE (Steck, WWW 2019, "Embarrassingly Shallow Autoencoders for Sparse Data"): a closed-form item–item
 * linear model. With X (U × I) the binary train interactions and G = XᵀX:
 *
 *   P = (G + Λ)⁻¹,   B = I − P · diag(1/diag(P))   (so diag(B) = 0),   s_u = x_u B
 *
 * Λ = λI (EASE), or λI + p/(1−p)·diag(G) with `dropout` p > 0 (EDLAE, Steck 2020: the closed form of a
 * denoising linear autoencoder with dropout p, which emphasises the diagonal).
 *
 * Variants (`variant`, chosen by `auto` from the memory budget `memory_mb`):
 * - `dense`: G as a dense I × I float32 matrix and P by the core's SPD inverse (4/3·I³ flops); needs about
 *   20·I² bytes at the peak (4,385 items: 0.4 GB; 63K items: 80 GB — out of reach).
 * - `lowrank`: G ≈ V E Vᵀ + D, the top-r eigenpairs of G (randomized SVD of X: E = σ²) plus the diagonal
 *   remainder D = diag(G − V E Vᵀ) ≥ 0. Then by Woodbury, with D' = D + Λ and U' = D'⁻¹V (I × r),
 *     P = D'⁻¹ − U' M U'ᵀ,   M = (E⁻¹ + Vᵀ D'⁻¹ V)⁻¹   (r × r)
 *     diag(P)_j = 1/D'_j − (U' M U'ᵀ)_jj
 *   and for an item j the user has not seen, s_uj = ⟨x_u U' M, U'_j⟩ / diag(P)_j: a dot product of a user
 *   vector (x_u U' M) and an item vector (U'_j / diag(P)_j), so this variant exports embeddings and can be
 *   served from an ANN index. Memory O(I·r), no I × I matrix is formed.
 *
 * λ: `lambda` > 0 fixes it; `lambda` = 0 chooses it on the valid part (NDCG@20) from `grid`, each grid
 * value reported as one "epoch" (its valid metrics and λ) in the run store. A split without a valid part
 * takes the grid's middle value.
 */

import { join } from 'node:path';
import { allocF32, csrFromCoo, free, matmul, matmulNT, matmulTN, NotPositiveDefiniteError, spdInverse, spmm, transpose, type Csr, type CsrTransposed } from '../core/index.js';
import { ppError } from '../errors.js';
import type { CsrPattern as CsrPattern } from '../core/csr-pattern.js';
import type { SplitData } from '../graphs/split-data.js';
import { loadState, saveState } from '../train/checkpoint.js';
import { randomizedSvd, type LinearOperator } from './graph-filter.js';
import { distinctRows } from './itemknn.js';
import type { FitContext, ModelSpec, Params, Recommender } from './model.js';
import { registerModel } from './registry.js';

/** Peak bytes of the dense variant for I items (G, Λ-shifted copy, P and the inverse's temporaries). */
export function denseEaseBytes(numItems: number): number {
  return 20 * numItems * numItems;
}

/** The variant `auto` picks: dense when its peak fits in the memory budget (MB). */
export function chooseEaseVariant(numItems: number, memoryMb: number): 'dense' | 'lowrank' {
  return denseEaseBytes(numItems) <= memoryMb * 2 ** 20 ? 'dense' : 'lowrank';
}

/** The λ values to try: `lambda` when > 0, else the comma-separated `grid`. */
export function lambdaGrid(params: Params): number[] {
  const fixed = Number(params.lambda);
  if (fixed > 0) return [fixed];
  const grid = String(params.grid)
    .split(',')
    .map((x) => Number(x.trim()));
  if (grid.length === 0 || grid.some((x) => !(x > 0))) throw ppError('PP_MODEL_PARAM', `ease.grid: expected positive numbers separated by commas, got "${String(params.grid)}"`);
  return grid;
}

/** G = XᵀX (I × I, dense, heap) of binary interactions: G_ij = users with both i and j, G_ii = degree. */
export function denseGram(userItems: CsrPattern, numUsers: number, numItems: number): Float32Array {
  const g = allocF32(numItems * numItems, true);
  const { indptr, indices } = userItems;
  for (let u = 0; u < numUsers; u++) {
    for (let a = indptr[u]; a < indptr[u + 1]; a++) {
      const o = indices[a] * numItems;
      for (let b = indptr[u]; b < indptr[u + 1]; b++) g[o + indices[b]] += 1;
    }
  }
  return g;
}

/** Λ's diagonal: λ + p/(1−p)·G_ii. */
function shift(lambda: number, dropout: number, degree: number): number {
  return lambda + (dropout > 0 ? (dropout / (1 - dropout)) * degree : 0);
}

/** B = I − P·diag(1/diag(P)) with P = (G + Λ)⁻¹, in a new heap array (row i = what item i contributes). */
export function denseEaseWeights(g: Float32Array, numItems: number, lambda: number, dropout: number): Float32Array {
  const n = numItems;
  const a = allocF32(n * n, false);
  a.set(g);
  for (let i = 0; i < n; i++) a[i * n + i] += shift(lambda, dropout, g[i * n + i]);
  let p: Float32Array;
  try {
    p = spdInverse(a, n);
  } catch (err) {
    if (err instanceof NotPositiveDefiniteError) throw ppError('PP_MODEL_PARAM', `ease: G + λI is not numerically positive definite at λ = ${lambda} (raise lambda)`, err);
    throw err;
  } finally {
    free(a);
  }
  const inv = new Float64Array(n);
  for (let j = 0; j < n; j++) inv[j] = 1 / p[j * n + j];
  for (let i = 0; i < n; i++) {
    const o = i * n;
    for (let j = 0; j < n; j++) p[o + j] = -p[o + j] * inv[j];
    p[o + i] = 0;
  }
  return p;
}

/** What both variants share: the users' distinct train items, λ and the EDLAE dropout. */
abstract class EaseBase implements Recommender {
  abstract readonly variant: 'dense' | 'lowrank';
  readonly modelName = 'ease';
  protected readonly userItems: CsrPattern;

  constructor(
    readonly numUsers: number,
    readonly numItems: number,
    train: CsrPattern,
    readonly lambda: number,
    readonly dropout: number,
  ) {
    this.userItems = distinctRows(numUsers, numItems, train);
  }

  abstract scoreUsers(users: Int32Array, out: Float32Array): void;
  abstract save(dir: string): Promise<void>;
  abstract dispose(): void;
}

export class DenseEase extends EaseBase {
  readonly variant = 'dense';

  constructor(numUsers: number, numItems: number, train: CsrPattern, lambda: number, dropout: number, readonly weights: Float32Array) {
    super(numUsers, numItems, train, lambda, dropout);
  }

  scoreUsers(users: Int32Array, out: Float32Array): void {
    const n = this.numItems;
    const { indptr, indices } = this.userItems;
    const w = this.weights;
    out.fill(0, 0, users.length * n);
    for (let r = 0; r < users.length; r++) {
      const u = users[r];
      const row = out.subarray(r * n, (r + 1) * n);
      for (let e = indptr[u]; e < indptr[u + 1]; e++) {
        const o = indices[e] * n;
        for (let j = 0; j < n; j++) row[j] += w[o + j];
      }
    }
  }

  /** s_{u_r, i_r} for each pair (r): Σ_{k ∈ u} B_{k,i} (B_ii = 0: a train pair's own item does not count). */
  pairScores(users: Int32Array, items: Int32Array): Float32Array {
    const n = this.numItems;
    const { indptr, indices } = this.userItems;
    const w = this.weights;
    const out = new Float32Array(users.length);
    for (let r = 0; r < users.length; r++) {
      const u = users[r];
      const i = items[r];
      let s = 0;
      for (let e = indptr[u]; e < indptr[u + 1]; e++) s += w[indices[e] * n + i];
      out[r] = s;
    }
    return out;
  }

  async save(dir: string): Promise<void> {
    await saveState(join(dir, 'state'), {
      tensors: { weights: this.weights },
      meta: { model: 'ease', variant: 'dense', format: 1, numUsers: this.numUsers, numItems: this.numItems, lambda: this.lambda, dropout: this.dropout },
    });
  }

  dispose(): void {
    free(this.weights);
  }
}

/** The binary interaction matrix X (U × I) as a linear operator for the randomized SVD. */
class BinaryInteractions implements LinearOperator {
  readonly rows: number;
  readonly cols: number;
  private readonly x: Csr;
  private readonly xt: CsrTransposed;

  constructor(numUsers: number, numItems: number, userItems: CsrPattern) {
    const nnz = userItems.indptr[numUsers];
    const rowIdx = new Int32Array(nnz);
    for (let u = 0; u < numUsers; u++) rowIdx.fill(u, userItems.indptr[u], userItems.indptr[u + 1]);
    this.x = csrFromCoo(numUsers, numItems, rowIdx, userItems.indices.subarray(0, nnz), undefined, { binary: true });
    this.xt = transpose(this.x);
    this.rows = numUsers;
    this.cols = numItems;
  }

  apply(x: Float32Array, d: number, out: Float32Array): void {
    spmm(this.x, x, d, { out });
  }

  applyT(y: Float32Array, d: number, out: Float32Array): void {
    spmm(this.xt, y, d, { out });
  }

  dispose(): void {
    for (const m of [this.x, this.xt]) {
      free(m.indptr);
      free(m.indices);
      free(m.values);
    }
    free(this.xt.perm);
  }
}

/** The low-rank + diagonal factorisation of G (see the file header). */
export interface GramFactors {
  rank: number;
  /** Eigenvectors V (I × r, row-major, heap). */
  v: Float32Array;
  /** Eigenvalues E = σ² (r). */
  e: Float64Array;
  /** The item degrees G_ii (I). */
  degree: Float32Array;
  /** D = max(0, G_ii − Σ_k E_k V_ik²) (I). */
  residual: Float32Array;
}

/** V, E and D of G = XᵀX by a randomized SVD of X of rank r (clamped to the data). */
export function gramFactors(userItems: CsrPattern, numUsers: number, numItems: number, rank: number, oversample: number, powerIters: number, seed: number): GramFactors {
  const x = new BinaryInteractions(numUsers, numItems, userItems);
  const r = Math.max(1, Math.min(Math.floor(rank), numUsers, numItems));
  try {
    const svd = randomizedSvd(x, { rank: r, oversample, powerIters, seed });
    const e = new Float64Array(r);
    for (let k = 0; k < r; k++) e[k] = Math.fround(svd.values[k] ** 2); // float32, as saved
    const degree = new Float32Array(numItems);
    for (let t = 0; t < userItems.indptr[numUsers]; t++) degree[userItems.indices[t]]++;
    const residual = new Float32Array(numItems);
    for (let i = 0; i < numItems; i++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += e[k] * svd.v[i * r + k] ** 2;
      residual[i] = Math.max(0, degree[i] - s);
    }
    return { rank: r, v: svd.v, e, degree, residual };
  } finally {
    x.dispose();
  }
}

export class LowRankEase extends EaseBase {
  readonly variant = 'lowrank';
  /** U'·M (I × r): the user vector of u is Σ_{i ∈ u} row i of this. */
  private readonly left: Float32Array;
  /** U'_j / diag(P)_j (I × r): the item vectors. */
  private readonly right: Float32Array;
  /** 1/D'_j and 1/diag(P)_j, for the seen-item term x_uj (1 − 1/(D'_j diag(P)_j)). */
  private readonly selfTerm: Float32Array;

  constructor(numUsers: number, numItems: number, train: CsrPattern, lambda: number, dropout: number, readonly factors: GramFactors) {
    super(numUsers, numItems, train, lambda, dropout);
    const { rank: r, v, e, degree, residual } = factors;
    const n = numItems;
    const dInv = new Float64Array(n);
    for (let i = 0; i < n; i++) dInv[i] = 1 / (residual[i] + shift(lambda, dropout, degree[i]));
    const u = allocF32(n * r, false);
    for (let i = 0; i < n; i++) for (let k = 0; k < r; k++) u[i * r + k] = dInv[i] * v[i * r + k];
    // M = (E⁻¹ + Vᵀ D'⁻¹ V)⁻¹ = (E⁻¹ + Vᵀ U')⁻¹
    const inner = matmulTN(v, u, n, r, r);
    for (let a = 0; a < r; a++) {
      for (let b = a + 1; b < r; b++) inner[a * r + b] = inner[b * r + a] = 0.5 * (inner[a * r + b] + inner[b * r + a]);
      inner[a * r + a] += e[a] > 0 ? 1 / e[a] : 1e12;
    }
    const m = spdInverse(inner, r);
    free(inner);
    this.left = matmul(u, m, n, r, r);
    free(m);
    this.right = u; // scaled in place below
    this.selfTerm = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      let q = 0;
      for (let k = 0; k < r; k++) q += this.left[j * r + k] * u[j * r + k];
      const diagP = dInv[j] - q;
      const s = 1 / diagP;
      for (let k = 0; k < r; k++) u[j * r + k] *= s;
      this.selfTerm[j] = 1 - dInv[j] * s;
    }
  }

  /** The user vectors of `users` (B × r, heap). */
  private userVectors(users: Int32Array): Float32Array {
    const r = this.factors.rank;
    const w = allocF32(users.length * r, true);
    const { indptr, indices } = this.userItems;
    for (let b = 0; b < users.length; b++) {
      const u = users[b];
      for (let e = indptr[u]; e < indptr[u + 1]; e++) {
        const o = indices[e] * r;
        for (let k = 0; k < r; k++) w[b * r + k] += this.left[o + k];
      }
    }
    return w;
  }

  scoreUsers(users: Int32Array, out: Float32Array): void {
    const n = this.numItems;
    const r = this.factors.rank;
    const w = this.userVectors(users);
    const s = matmulNT(w, this.right, users.length, r, n);
    free(w);
    out.set(s.subarray(0, users.length * n));
    free(s);
    const { indptr, indices } = this.userItems;
    for (let b = 0; b < users.length; b++) {
      const u = users[b];
      for (let e = indptr[u]; e < indptr[u + 1]; e++) out[b * n + indices[e]] += this.selfTerm[indices[e]];
    }
  }

  /** s_{u_r, i_r} for each pair (r), as {@link scoreUsers} gives it (the seen-item term included). */
  pairScores(users: Int32Array, items: Int32Array): Float32Array {
    const r = this.factors.rank;
    const w = this.userVectors(users);
    const { indptr, indices } = this.userItems;
    const out = new Float32Array(users.length);
    for (let b = 0; b < users.length; b++) {
      const i = items[b];
      let s = 0;
      for (let k = 0; k < r; k++) s += w[b * r + k] * this.right[i * r + k];
      for (let e = indptr[users[b]]; e < indptr[users[b] + 1]; e++) if (indices[e] === i) s += this.selfTerm[i];
      out[b] = s;
    }
    free(w);
    return out;
  }

  /** s_uj = ⟨user_u, item_j⟩ for every item j the user has not seen (seen items are masked when serving). */
  embeddings(): { users: Float32Array; items: Float32Array; dim: number } {
    const all = new Int32Array(this.numUsers);
    for (let u = 0; u < all.length; u++) all[u] = u;
    const w = this.userVectors(all);
    const users = w.slice();
    free(w);
    return { users, items: this.right.slice(), dim: this.factors.rank };
  }

  async save(dir: string): Promise<void> {
    const f = this.factors;
    await saveState(join(dir, 'state'), {
      tensors: { v: f.v, e: Float32Array.from(f.e), degree: f.degree, residual: f.residual },
      meta: { model: 'ease', variant: 'lowrank', format: 1, numUsers: this.numUsers, numItems: this.numItems, rank: f.rank, lambda: this.lambda, dropout: this.dropout },
    });
  }

  dispose(): void {
    free(this.left);
    free(this.right);
  }
}

export type EaseModel = DenseEase | LowRankEase;

/**
 * Fits EASE on `data.train`: the variant from the memory budget, then every λ of the grid (validated with
 * `validate`, reported with `report`); returns the best and frees the others.
 */
export async function fitEase(
  data: SplitData,
  params: Params,
  seed: number,
  validate: ((m: Recommender) => Promise<Record<string, number>>) | null,
  report: (step: number, lambda: number, metrics: Record<string, number>, seconds: number) => void = () => {},
): Promise<EaseModel> {
  const n = data.numItems;
  const variant = params.variant === 'auto' ? chooseEaseVariant(n, Number(params.memory_mb)) : (params.variant as 'dense' | 'lowrank');
  const dropout = Number(params.dropout);
  const grid = lambdaGrid(params);
  const userItems = distinctRows(data.numUsers, n, data.train);
  let gram: Float32Array | null = null;
  let factors: GramFactors | null = null;
  if (variant === 'dense') gram = denseGram(userItems, data.numUsers, n);
  else factors = gramFactors(userItems, data.numUsers, n, Number(params.rank), Number(params.oversample), Number(params.power_iters), seed);
  const build = (lambda: number): EaseModel =>
    gram ? new DenseEase(data.numUsers, n, data.train, lambda, dropout, denseEaseWeights(gram, n, lambda, dropout)) : new LowRankEase(data.numUsers, n, data.train, lambda, dropout, factors!);
  let best: { model: EaseModel; value: number } | null = null;
  try {
    if (!validate || grid.length === 1) {
      const lambda = grid.length === 1 ? grid[0] : grid[Math.floor(grid.length / 2)];
      const t0 = performance.now();
      const model = build(lambda);
      report(1, lambda, validate ? await validate(model) : {}, (performance.now() - t0) / 1000);
      return model;
    }
    for (let s = 0; s < grid.length; s++) {
      const t0 = performance.now();
      const model = build(grid[s]);
      const metrics = await validate(model);
      report(s + 1, grid[s], metrics, (performance.now() - t0) / 1000);
      const value = metrics['ndcg@20'] ?? -Infinity;
      if (!best || value > best.value) {
        if (best) disposeWeights(best.model);
        best = { model, value };
      } else {
        disposeWeights(model);
      }
    }
    return best!.model;
  } finally {
    if (gram) free(gram);
  }
}

/** Frees what one λ's model owns (the low-rank factors are shared across the grid). */
function disposeWeights(m: EaseModel): void {
  m.dispose();
}

export const easeSpec: ModelSpec = registerModel({
  name: 'ease',
  description: 'EASE (Steck 2019): closed-form item–item autoencoder B = I − P·diag(1/diag P), P = (XᵀX + λI)⁻¹; dense or low-rank + diagonal',
  kind: 'closed-form',
  params: {
    lambda: { default: 0, min: 0, doc: 'L2 weight λ; 0 = chosen on valid NDCG@20 from grid' },
    grid: { default: '20,50,100,200,500,1000', doc: 'λ values tried when lambda = 0 (comma-separated)' },
    dropout: { default: 0, min: 0, max: 0.95, doc: 'EDLAE dropout p: Λ = λI + p/(1−p)·diag(XᵀX) (0 = plain EASE)' },
    variant: { default: 'auto', choices: ['auto', 'dense', 'lowrank'], doc: 'dense I×I inverse, low-rank + diagonal Gram, or auto (dense when it fits memory_mb)' },
    memory_mb: { default: 2048, min: 1, doc: 'auto: the dense variant when its peak (≈ 20·I² bytes) fits in this many MB' },
    rank: { default: 512, min: 1, doc: 'lowrank: eigenpairs r of XᵀX kept (randomized SVD of X)' },
    oversample: { default: 64, min: 0, doc: 'lowrank: randomized SVD extra directions' },
    power_iters: { default: 4, min: 0, max: 50, doc: 'lowrank: randomized SVD power iterations' },
  },
  async fit(ctx: FitContext): Promise<Recommender> {
    const grid = lambdaGrid(ctx.params);
    const progress = ctx.progress('ease: λ grid', grid.length);
    const hasValid = ctx.data.valid.indices.length > 0;
    try {
      return await fitEase(ctx.data, ctx.params, ctx.seed, hasValid ? ctx.validate : null, (step, lambda, metrics, seconds) => {
        ctx.onEpoch({ epoch: step, loss: 0, metrics: { ...metrics, lambda }, seconds });
        progress.update(step, { lambda, ...(metrics['ndcg@20'] !== undefined ? { 'ndcg@20': metrics['ndcg@20'] } : {}) });
      });
    } finally {
      progress.stop();
    }
  },
  async load(dir: string, data: SplitData): Promise<Recommender> {
    const state = await loadState(join(dir, 'state'));
    const m = state?.meta as { model?: string; variant?: string; numUsers?: number; numItems?: number; lambda?: number; dropout?: number; rank?: number } | undefined;
    if (!state || !m || m.model !== 'ease') throw ppError('PP_MODEL_LOAD', `ease: no saved ease model in ${dir}`);
    if (m.numUsers !== data.numUsers || m.numItems !== data.numItems) {
      throw ppError('PP_MODEL_LOAD', `ease: saved for ${m.numUsers} users × ${m.numItems} items, the split has ${data.numUsers} × ${data.numItems}`);
    }
    const n = data.numItems;
    const lambda = Number(m.lambda);
    const dropout = Number(m.dropout ?? 0);
    if (m.variant === 'dense') {
      const w = state.tensors.weights;
      if (!w || w.length !== n * n) throw ppError('PP_MODEL_LOAD', `ease: weights.f32 in ${dir} does not hold ${n} × ${n} values`);
      const heap = allocF32(n * n, false);
      heap.set(w);
      return new DenseEase(data.numUsers, n, data.train, lambda, dropout, heap);
    }
    const r = Number(m.rank);
    const { v, e, degree, residual } = state.tensors;
    if (!v || !e || !degree || !residual || v.length !== n * r || e.length !== r || degree.length !== n || residual.length !== n) {
      throw ppError('PP_MODEL_LOAD', `ease: the saved low-rank factors in ${dir} are incomplete`);
    }
    const vh = allocF32(n * r, false);
    vh.set(v);
    return new LowRankEase(data.numUsers, n, data.train, lambda, dropout, { rank: r, v: vh, e: Float64Array.from(e), degree, residual });
  },
});
