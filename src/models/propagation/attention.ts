/**
 * One relation layer on the autograd tape: attention weights over a graph's edges and the message passing
 * they weight (PyG's MessagePassing for the graph models). For a relation with adjacency A (row i ← j):
 *
 *     additive  e_ij = LeakyReLU(t_i + u_j) + b_ij      t = X·a_dst, u = X·a_src  ([N, 1] each; GAT)
 *     dot       e_ij = ⟨z_i, z_j⟩/√d + b_ij             (SDDMM, no parameters)
 *     none      α_ij = 1/deg_i                           (uniform: with degree calibration, LightGCN's Â)
 *     α_ij      = softmax_{j ∈ N(i)} e_ij               (segment softmax over i's incoming edges)
 *     w_ij      = dropout(α_ij) · c_ij · m_ij           (c: degree calibration sqrt(deg_i/deg_j), m: message scale)
 *     h_i       = Σ_j w_ij x_j                            (SpMM with per-edge values)
 *
 * b (a logit bias: rating or content similarity), c and m are per-edge constants, each optional. Shapes:
 * X [N × d], per-edge arrays [nnz], the score matrix of `additive` [N × 2H] (columns 2k, 2k + 1 = head k).
 * The fused, tape-free form of `none` (LightGCN) is src/models/propagation/lightgcn-fused.ts.
 */
import { ppError } from '../../errors.js';
import { Tape, Tensor, allocF32, constant, free, type Csr, type CsrTransposed, type Rng } from '../../core/index.js';

export type AttentionKind = 'additive' | 'dot' | 'none';

/** A relation: its graph and per-edge constants (heap arrays [nnz]). */
export interface Relation {
  a: Csr;
  at: CsrTransposed;
  /** uniform α = 1/deg_i (attention 'none'), or null when not needed */
  uniform: Float32Array | null;
  /** c_ij: degree calibration (null: plain softmax weights) */
  calib: Float32Array | null;
  /** m_ij: a message scale applied after c (e.g. rating / mean rating), or null */
  msg: Float32Array | null;
  /** b_ij: added to the attention logits, or null */
  bias: Float32Array | null;
}

/** One-hot column selectors e_c [n, 1] (X·e_c = column c of X), made once and kept. */
export class ColumnSelectors {
  private readonly cache = new Map<string, Tensor>();
  get(n: number, c: number): Tensor {
    const key = `${n}:${c}`;
    let t = this.cache.get(key);
    if (!t) {
      const e = allocF32(n);
      e[c] = 1;
      this.cache.set(key, (t = constant(e, [n, 1])));
    }
    return t;
  }
  dispose(): void {
    for (const t of this.cache.values()) free(t.data);
    this.cache.clear();
  }
}

/** Additive logits of head `head` from the score matrix `tu` = X·[a_dst¹ a_src¹ …] [N, 2H]: LeakyReLU(t_i + u_j). */
export function additiveLogits(tape: Tape, r: Relation, tu: Tensor, head: number, slope: number, cols: ColumnSelectors): Tensor {
  const t = tape.matmul(tu, cols.get(tu.cols, 2 * head));
  const u = tape.matmul(tu, cols.get(tu.cols, 2 * head + 1));
  return tape.leakyRelu(tape.edgeScoreSum(r.a, r.at, t, u), slope);
}

/** Scaled dot-product logits ⟨z_i, z_j⟩/√d. */
export function dotLogits(tape: Tape, r: Relation, z: Tensor): Tensor {
  return tape.scale(tape.sddmm(r.a, r.at, z, z), 1 / Math.sqrt(z.cols));
}

/** α = segment softmax of the logits (+ the relation's bias). */
export function softmaxAttention(tape: Tape, r: Relation, logits: Tensor): Tensor {
  const s = r.bias ? tape.add(logits, constant(r.bias, logits.shape)) : logits;
  return tape.segmentSoftmax(r.a, s);
}

/** Uniform α = 1/deg_i as a constant. */
export function uniformAttention(r: Relation): Tensor {
  if (!r.uniform) throw ppError('PP_INTERNAL', 'uniform attention on a relation built without uniform weights');
  return constant(r.uniform, [r.uniform.length]);
}

/** Dropout on attention weights during training (inverted, per edge), identity otherwise. */
export function attentionDropout(tape: Tape, alpha: Tensor, p: number, rng: Rng | null, training: boolean): Tensor {
  return training && rng && p > 0 ? tape.dropout(alpha, p, rng, true) : alpha;
}

/** h = Σ_j w_ij x_j with w = α · c · m (the relation's constants that are set). */
export function propagateEdges(tape: Tape, r: Relation, x: Tensor, alpha: Tensor): Tensor {
  let w = alpha;
  if (r.calib) w = tape.mul(w, constant(r.calib, w.shape));
  if (r.msg) w = tape.mul(w, constant(r.msg, w.shape));
  return tape.spmm(r.a, r.at, x, w);
}

/**
 * Attention of node `row` on its edge `e` for explanations: the mean over `layers` (each a per-edge α, as a
 * relation's CSR order) — or 1/deg(row) when there are none (uniform propagation).
 */
export function meanAttention(layers: readonly Float32Array[], indptr: Int32Array, row: number, e: number): number {
  if (layers.length === 0) return 1 / (indptr[row + 1] - indptr[row]);
  let s = 0;
  for (const a of layers) s += a[e];
  return s / layers.length;
}
