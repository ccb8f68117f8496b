/**
 * GAT: a graph attention network recommender (Veličković et al., ICLR 2018) on the symmetric user–item graph
 * of the train part (node u = user u, node U + i = item i), configured on the propagation layer
 * (src/models/propagation/). Layer l, for every edge i ← j and head k:
 *
 *     z_j  = W_k h_j                                (W = I with `transform: identity`)
 *     e_ij = LeakyReLU(a_dstᵀ z_i + a_srcᵀ z_j) (+ rating logit)   | ⟨z_i, z_j⟩/√d (`dot`) | none: α = 1/deg_i
 *     α_ij = softmax_{j ∈ N(i)} e_ij
 *     w_ij = dropout(α_ij) · sqrt(deg_i / deg_j) [· rating / mean]   (`norm: degree`; 1 with `softmax`)
 *     h'_i = Σ_j w_ij z_j                           (heads averaged, or concatenated for inner `linear` layers)
 *
 * Final embedding: the mean of h⁰ … h^L (`readout: mean`, LightGCN), the last one, or a learnt projection of
 * their concatenation; h⁰ = the ID embedding (+ a linear projection of optional item features). Score ⟨e_u, e_i⟩;
 * loss BPR + λ/(2b)·Σ‖e⁰‖² over the batch's rows; Adam; early stopping on valid NDCG@20 ({@link trainLoop}).
 * Shapes: embeddings [N × d]; attention vectors [d × 2H] (identity) or [d_out × 2] per head (linear); W [d × d_out].
 * With uniform attention and degree calibration a layer is exactly LightGCN's Â (its fast, tape-free form is
 * the lightgcn model). Design choices and their measurements: docs/decisions/050-gat-light-attention.md.
 * {@link GatModel.explain} lists the neighbours behind a score with their attention weights.
 */
import { join } from 'node:path';
import { ppError } from '../errors.js';
import type { SplitData } from '../graphs/split-data.js';
import { Tape, Tensor, allocF32, allocI32, constant, free, parameter, transpose, Rng, type Csr, type CsrTransposed } from '../core/index.js';
import { trainLoop } from '../train/trainer.js';
import { loadState, saveState } from '../train/checkpoint.js';
import { registerModel, resolveParams } from './registry.js';
import { migrateParams } from './param-names.js';
import type { FitContext, ModelSpec, ParamSpec, Params, Recommender } from './model.js';
import { freeCsr, meanPairRatings, perEdge, degreeCalibration, uniformWeights, userItemGraph, type UserItemGraph } from './propagation/graph.js';
import {
  ColumnSelectors,
  additiveLogits,
  attentionDropout,
  dotLogits,
  meanAttention,
  propagateEdges,
  softmaxAttention,
  uniformAttention,
  type Relation,
} from './propagation/attention.js';
import { TapeGraphModel, repeatEach, samplingFrom, type FinalEmbeddings, type SamplingConfig } from './propagation/tape-model.js';
import { RANKING_LOSS_PARAMS } from './ranking-loss.js';

export const GAT_PARAMS = {
  dim: { default: 64, min: 4, max: 1024, doc: 'embedding size d (a multiple of 4 runs the SIMD kernels)' },
  layers: { default: 2, min: 0, max: 8, doc: 'attention layers L (0 = matrix factorisation)' },
  heads: { default: 2, min: 1, max: 16, doc: 'attention heads per layer' },
  attn_dropout: { default: 0.1, min: 0, max: 0.9, doc: 'dropout on the attention weights α during training' },
  transform: {
    default: 'identity',
    choices: ['identity', 'linear'],
    doc: "feature transform W per head: 'identity' (light attention, no W; trains better on CF) or 'linear' (learnt d×d W, initialised to I)",
  },
  attention: {
    default: 'additive',
    choices: ['additive', 'dot', 'none'],
    doc: "attention score: 'additive' (GAT: LeakyReLU(a_dstᵀz_i + a_srcᵀz_j)), 'dot' (⟨z_i, z_j⟩/√d, no attention parameters) or 'none' (uniform α = 1/deg_i: the ablation without attention; with norm 'degree' and transform 'identity' this is LightGCN)",
  },
  norm: {
    default: 'degree',
    choices: ['degree', 'softmax'],
    doc: "edge weights: 'softmax' (α_ij, the original GAT) or 'degree' (α_ij·sqrt(deg_i/deg_j): uniform attention = LightGCN's normalisation)",
  },
  head_merge: {
    default: 'mean',
    choices: ['mean', 'concat'],
    doc: "inner layers' heads: averaged, or concatenated (transform 'linear' only; each head then has d/heads columns)",
  },
  readout: {
    default: 'mean',
    choices: ['mean', 'last', 'concat-proj'],
    doc: 'final embedding: mean of layer outputs h⁰…h^L (LightGCN), the last layer, or a learnt projection of their concatenation',
  },
  activation: { default: 'none', choices: ['none', 'elu'], doc: 'nonlinearity after inner layers (GAT uses ELU; none for light attention)' },
  self_loops: { default: false, doc: 'add a self-loop i ← i to every node' },
  leaky_slope: { default: 0.2, min: 0, max: 1, doc: 'negative slope of the LeakyReLU on attention logits' },
  rating_weighted: {
    default: 'off',
    choices: ['off', 'logit', 'message'],
    doc: "use ratings when the split has them: 'logit' adds rating_scale·z(rating) to e_ij, 'message' multiplies w_ij by rating/mean",
  },
  rating_scale: { default: 1, min: 0, max: 10, doc: "weight of the z-scored rating in the attention logits (rating_weighted 'logit')" },
  lr: { default: 0.01, min: 0, max: 1, doc: 'Adam learning rate' },
  batch: { default: 32768, min: 1, max: 1 << 20, doc: 'BPR triples per step (a step propagates over the whole graph whatever its size, so large batches are nearly free)' },
  reg: { default: 1e-4, min: 0, max: 10, doc: "λ of the L2 penalty on the batch's layer-0 embeddings, λ·Σ‖e⁰‖²/(2·batch)" },
  weight_decay: { default: 0, min: 0, max: 1, doc: 'L2 (Adam coupled) on attention vectors, transforms and projections' },
  dense_lr: { default: 0, min: 0, max: 1, doc: 'learning rate of the dense weights (attention vectors, transforms, projections); 0 = lr' },
  init_std: { default: 0.1, min: 0, max: 10, doc: 'standard deviation of the normal initialisation of the embeddings' },
  attn_init_std: { default: 0.1, min: 0, max: 10, doc: 'standard deviation of the normal initialisation of the attention vectors' },
  epochs: { default: 1000, min: 1, max: 100000, doc: 'maximum epochs (one BPR triple per train interaction each)' },
  eval_every: { default: 5, min: 1, max: 1000, doc: 'validate every this many epochs' },
  patience: { default: 3, min: 1, max: 1000, doc: 'stop after this many validations without improvement of ndcg@20' },
  negatives: {
    default: 'hard',
    choices: ['uniform', 'popularity', 'hard'],
    doc: "negative sampling (see BprSampler); 'hard' keeps the candidate the model (as of the start of the epoch) scores highest",
  },
  hard_candidates: { default: 8, min: 2, max: 256, doc: "candidates per triple with negatives 'hard'" },
  ...RANKING_LOSS_PARAMS,
} as const satisfies Record<string, ParamSpec>;

/** Item input features for the multimodal models: `data` is [numItems × dim], row-major. */
export interface ItemFeatures {
  data: Float32Array;
  dim: number;
}

/** One neighbour in an explanation. */
export interface GatNeighbour {
  /** item id (user side) or user id (item side) */
  id: number;
  /** attention of the target on this neighbour: softmax weight averaged over heads and layers (Σ = 1 over the target's neighbours) */
  attention: number;
  /** attention × agreement of the neighbour with the other side of the pair (final-embedding dot product) */
  contribution: number;
}

export interface GatExplanation {
  user: number;
  item: number;
  score: number;
  /** the user's train items, by contribution: attention(user → item j) · ⟨e_j, e_item⟩ */
  items: GatNeighbour[];
  /** the item's train users, by contribution: attention(item → user v) · ⟨e_v, e_user⟩ */
  users: GatNeighbour[];
}

interface Head {
  w: Tensor | null;
  /** [a_dst a_src] of this head, [d_out, 2] (transform 'linear') */
  att: Tensor | null;
}

interface Layer {
  heads: Head[];
  /** transform 'identity': every head's attention vectors as one matrix [d, 2H] (columns 2k = a_dst, 2k + 1 = a_src of head k) */
  att: Tensor | null;
}

interface ParamSet {
  emb: Tensor;
  featProj: Tensor | null;
  layers: Layer[];
  proj: Tensor | null;
}

type P = Record<keyof typeof GAT_PARAMS, number | string | boolean>;

/** A GAT recommender over one split. Create it with {@link fitGat} or {@link GatModel.load}. */
export class GatModel extends TapeGraphModel {
  readonly modelName = 'gat';
  readonly params: P;
  private readonly d: number;
  private readonly graph: UserItemGraph;
  private readonly rel: Relation;
  private readonly p: ParamSet;
  private readonly cols = new ColumnSelectors();
  /** selection matrices of the current step's gathers, by index array */
  private readonly selections = new Map<Int32Array, { s: Csr; st: CsrTransposed }>();
  /** item feature matrix (heap) and the selection matrix that lifts item rows into node rows */
  private readonly feat: { x: Tensor; dim: number; sel: Csr; selT: CsrTransposed } | null;

  constructor(
    data: SplitData,
    params: Params,
    seed: number,
    features?: ItemFeatures,
  ) {
    super(data, seed);
    this.params = resolveParams(gatSpec, params) as P;
    const q = this.params;
    const d = (this.d = q.dim as number);
    const L = q.layers as number;
    const H = q.heads as number;
    const linear = q.transform === 'linear';
    const concat = q.head_merge === 'concat';
    if (concat && !linear) throw ppError('PP_MODEL_PARAM', "gat.head_merge: 'concat' needs transform 'linear' (identity heads have nothing to concatenate)");
    if (concat && L > 1 && d % H !== 0) throw ppError('PP_MODEL_PARAM', `gat.head_merge: 'concat' needs dim (${d}) divisible by heads (${H})`);
    this.graph = userItemGraph(data, { selfLoops: q.self_loops as boolean });
    const { a, at } = this.graph;
    this.rel = {
      a,
      at,
      uniform: q.attention === 'none' ? uniformWeights(a) : null,
      calib: q.norm === 'degree' ? degreeCalibration(a) : null,
      msg: null,
      bias: null,
    };
    this.ratingWeights();
    const N = data.numUsers + data.numItems;
    const rng = new Rng(seed);
    const emb = parameter(rng.fillNormal(allocF32(N * d, false), q.init_std as number), [N, d]);
    this.named.push(['emb', emb]);
    let featProj: Tensor | null = null;
    if (features) {
      if (features.data.length !== data.numItems * features.dim) {
        throw ppError('PP_MODEL_PARAM', `gat: item features must be ${data.numItems} × ${features.dim}, got ${features.data.length} values`);
      }
      const x = constant(allocF32(features.data.length, false), [data.numItems, features.dim]);
      x.data.set(features.data);
      // node row U + i ← item row i
      const indptr = allocI32(N + 1);
      for (let n = 0; n < N; n++) indptr[n + 1] = indptr[n] + (n >= data.numUsers ? 1 : 0);
      const indices = allocI32(data.numItems, false);
      for (let i = 0; i < data.numItems; i++) indices[i] = i;
      const sel: Csr = { rows: N, cols: data.numItems, indptr, indices, values: allocF32(data.numItems, false).fill(1) };
      this.feat = { x, dim: features.dim, sel, selT: transpose(sel) };
      // projected (standardised) features start at the scale of the id embeddings
      featProj = parameter(rng.fillNormal(allocF32(features.dim * d, false), (q.init_std as number) / Math.sqrt(features.dim)), [features.dim, d]);
      this.named.push(['featProj', featProj]);
    } else {
      this.feat = null;
    }
    const layers: Layer[] = [];
    const additive = q.attention === 'additive';
    for (let l = 0; l < L; l++) {
      const heads: Head[] = [];
      const out = concat && l < L - 1 ? d / H : d;
      for (let k = 0; k < H; k++) {
        let w: Tensor | null = null;
        if (linear) {
          // identity (the head's block of columns of I when concatenating) plus a little noise
          const wd = rng.fillNormal(allocF32(d * out, false), 0.01);
          const off = concat && l < L - 1 ? k * out : 0;
          for (let c = 0; c < out; c++) wd[(off + c) * out + c] += 1;
          w = parameter(wd, [d, out]);
          this.named.push([`l${l}.h${k}.W`, w]);
        }
        let att: Tensor | null = null;
        if (additive && linear) {
          att = parameter(rng.fillNormal(allocF32(out * 2, false), q.attn_init_std as number), [out, 2]);
          this.named.push([`l${l}.h${k}.att`, att]);
        }
        heads.push({ w, att });
      }
      let att: Tensor | null = null;
      if (additive && !linear) {
        att = parameter(rng.fillNormal(allocF32(d * 2 * H, false), q.attn_init_std as number), [d, 2 * H]);
        this.named.push([`l${l}.att`, att]);
      }
      layers.push({ heads, att });
    }
    let proj: Tensor | null = null;
    if (q.readout === 'concat-proj') {
      // initialised to the layer mean: [I; I; …] / (L + 1)
      const pd = allocF32((L + 1) * d * d);
      for (let l = 0; l <= L; l++) for (let c = 0; c < d; c++) pd[(l * d + c) * d + c] = 1 / (L + 1);
      proj = parameter(pd, [(L + 1) * d, d]);
      this.named.push(['proj', proj]);
    }
    this.p = { emb, featProj, layers, proj };
    this.initOptimizers(['emb'], { lr: q.lr as number }, { lr: (q.dense_lr as number) || (q.lr as number), weightDecay: q.weight_decay as number });
  }

  /** Rating logits (z-scored rating · rating_scale) or message scales (rating / mean) per edge, when the split has ratings. */
  private ratingWeights(): void {
    const q = this.params;
    const ratings = this.data.train.ratings;
    let n = 0;
    let s = 0;
    let ss = 0;
    for (let e = 0; e < ratings.length; e++) {
      const r = ratings[e];
      if (Number.isFinite(r)) {
        n++;
        s += r;
        ss += r * r;
      }
    }
    if (q.rating_weighted === 'off' || n === 0) return;
    const mean = s / n;
    const std = Math.sqrt(Math.max(ss / n - mean * mean, 0)) || 1;
    const edge = perEdge(this.graph, meanPairRatings(this.graph, ratings), NaN);
    const out = allocF32(edge.length, false);
    for (let e = 0; e < edge.length; e++) {
      const r = edge[e];
      if (q.rating_weighted === 'logit') out[e] = Number.isFinite(r) ? ((q.rating_scale as number) * (r - mean)) / std : 0;
      else out[e] = Number.isFinite(r) && mean !== 0 ? r / mean : 1;
    }
    if (q.rating_weighted === 'logit') this.rel.bias = out;
    else this.rel.msg = out;
  }

  /** The attention graph: row i lists the sources j of the edges i ← j (node u = user u, node U + i = item i). */
  get adjacency(): Csr {
    return this.graph.a;
  }

  protected sampling(): SamplingConfig {
    return samplingFrom(this.params);
  }

  // ---- forward -----------------------------------------------------------------------------

  /** Layer outputs h⁰ … h^L and, per layer and head, the softmax attention (before dropout). */
  private propagate(tape: Tape, p: ParamSet, training: boolean, rng: Rng | null): { xs: Tensor[]; alphas: Tensor[][] } {
    const q = this.params;
    const r = this.rel;
    const L = q.layers as number;
    let x0 = p.emb;
    if (this.feat && p.featProj) {
      const f = tape.matmul(this.feat.x, p.featProj);
      x0 = tape.add(x0, tape.spmm(this.feat.sel, this.feat.selT, f));
    }
    const xs = [x0];
    const alphas: Tensor[][] = [];
    const slope = q.leaky_slope as number;
    const drop = (t: Tensor) => attentionDropout(tape, t, q.attn_dropout as number, rng, training);
    for (let l = 0; l < L; l++) {
      const x = xs[l];
      const { heads, att } = p.layers[l];
      // identity transform: every head's [t | u] scores in one product, [N, 2H]
      const scores = att ? tape.matmul(x, att) : null;
      const outs: Tensor[] = [];
      const attn: Tensor[] = [];
      const layerAlphas: Tensor[] = [];
      for (const [k, h] of heads.entries()) {
        // without a transform, parameter-free attention ('dot', 'none') is the same for every head
        if (!h.w && !scores && k > 0) continue;
        const z = h.w ? tape.matmul(x, h.w) : x;
        let alpha: Tensor;
        if (q.attention === 'none') alpha = uniformAttention(r);
        else if (scores || h.att) alpha = softmaxAttention(tape, r, additiveLogits(tape, r, scores ?? tape.matmul(z, h.att!), scores ? k : 0, slope, this.cols));
        else alpha = softmaxAttention(tape, r, dotLogits(tape, r, z));
        layerAlphas.push(alpha);
        if (h.w) outs.push(propagateEdges(tape, r, z, drop(alpha)));
        else attn.push(alpha);
      }
      let next: Tensor;
      if (attn.length) {
        // identity transform: average the heads' weights, drop edges, then one SpMM
        next = propagateEdges(tape, r, x, drop(attn.length > 1 ? tape.mean(attn) : attn[0]));
      } else if (q.head_merge === 'concat' && l < L - 1) {
        next = tape.concatColumns(outs);
      } else {
        next = outs.length > 1 ? tape.mean(outs) : outs[0];
      }
      if (q.activation === 'elu' && l < L - 1) next = tape.elu(next);
      xs.push(next);
      alphas.push(layerAlphas);
    }
    return { xs, alphas };
  }

  /** The final embeddings as one node table when the readout is node-wise (mean, last), or null (concat-proj: per gathered row). */
  private combineAll(tape: Tape, xs: Tensor[]): Tensor | null {
    const c = this.params.readout;
    if (c === 'last') return xs[xs.length - 1];
    if (c === 'mean') return xs.length > 1 ? tape.mean(xs) : xs[0];
    return null;
  }

  /** Final embeddings of the nodes `idx`: rows of `all`, or the projection of the gathered layer outputs. */
  private combineRows(tape: Tape, xs: Tensor[], all: Tensor | null, idx: Int32Array, p: ParamSet): Tensor {
    if (all) return this.gather(tape, all, idx);
    return tape.matmul(tape.concatColumns(xs.map((x) => this.gather(tape, x, idx))), p.proj!);
  }

  /**
   * Rows `idx` of a node table (times `scaleBy[r]` when given), as a product with a selection matrix S
   * (S[r, idx[r]] = 1 or scaleBy[r]): forward and backward (a scatter-add) run the SIMD SpMM kernels instead
   * of scalar row copies. S lives until {@link releaseScratch}.
   */
  private gather(tape: Tape, x: Tensor, idx: Int32Array, scaleBy?: Float32Array): Tensor {
    let sel = this.selections.get(idx);
    if (!sel) {
      const b = idx.length;
      const indptr = allocI32(b + 1, false);
      for (let r = 0; r <= b; r++) indptr[r] = r;
      const indices = allocI32(b, false);
      indices.set(idx);
      const values = allocF32(b, false);
      if (scaleBy) values.set(scaleBy);
      else values.fill(1);
      const s: Csr = { rows: b, cols: x.rows, indptr, indices, values };
      sel = { s, st: transpose(s) };
      this.selections.set(idx, sel);
    }
    return tape.spmm(sel.s, sel.st, x);
  }

  protected override releaseScratch(): void {
    for (const { s, st } of this.selections.values()) {
      freeCsr(s);
      freeCsr(st);
    }
    this.selections.clear();
  }

  private constParams(): ParamSet {
    const c = (t: Tensor | null) => (t ? constant(t.data, t.shape) : null);
    return {
      emb: c(this.p.emb)!,
      featProj: c(this.p.featProj),
      layers: this.p.layers.map((l) => ({ heads: l.heads.map((h) => ({ w: c(h.w), att: c(h.att) })), att: c(l.att) })),
      proj: c(this.p.proj),
    };
  }

  /**
   * The ranking (BPR or sampled softmax) + L2 loss of a batch on `tape` (users u, positives i [b], candidates j
   * [b·N], N per row). `dropoutSeed`: attention dropout from a fresh Rng with this seed (gradient checks), null = no dropout,
   * undefined = the model's training stream.
   */
  lossOn(tape: Tape, users: Int32Array, pos: Int32Array, neg: Int32Array, dropoutSeed?: number | null): Tensor {
    const U = this.numUsers;
    const rng = this.dropoutRng(dropoutSeed);
    const { xs } = this.propagate(tape, this.p, rng !== null, rng);
    const b = users.length;
    const pi = Int32Array.from(pos, (i) => U + i);
    const ni = Int32Array.from(neg, (i) => U + i);
    const all = this.combineAll(tape, xs);
    const eu = this.combineRows(tape, xs, all, users, this.p);
    const ep = this.combineRows(tape, xs, all, pi, this.p);
    const en = this.combineRows(tape, xs, all, ni, this.p);
    const N = ni.length / b;
    let rank: Tensor;
    if (N === 1 && this.params.loss === 'bpr') {
      // −log σ(⟨e_u, e_i⟩ − ⟨e_u, e_j⟩) = −log σ(⟨e_u, e_i − e_j⟩ − 0): one row-wise dot product
      rank = tape.bprLoss(tape.rowDot(eu, tape.sub(ep, en)), constant(this.zeros(b), [b]));
    } else {
      rank = this.rankingLoss(tape, tape.rowDot(eu, ep), tape.rowDot(N === 1 ? eu : tape.gatherRows(eu, repeatEach(b, N)), en));
    }
    const lambda = this.params.reg as number;
    if (lambda <= 0) return rank;
    // λ/(2b)·Σ_r ‖e⁰‖² over the batch's users, positives and negatives (each of N candidates weighing 1/N)
    // = λ/(2b)·Σ_n c_n‖e⁰_n‖² over distinct nodes n (c_n occurrences): one gather of the distinct rows scaled by sqrt(c_n)
    const count = new Map<number, number>();
    for (const ix of [users, pi]) for (let r = 0; r < b; r++) count.set(ix[r], (count.get(ix[r]) ?? 0) + 1);
    for (let r = 0; r < ni.length; r++) count.set(ni[r], (count.get(ni[r]) ?? 0) + 1 / N);
    const nodes = Int32Array.from(count.keys()).sort();
    const scaleBy = new Float32Array(nodes.length);
    for (let k = 0; k < nodes.length; k++) scaleBy[k] = Math.sqrt(count.get(nodes[k])!);
    return tape.add(rank, tape.l2([this.gather(tape, this.p.emb, nodes, scaleBy)], lambda, b));
  }

  private zeroBuf = new Float32Array(0);
  private zeros(n: number): Float32Array {
    if (this.zeroBuf.length !== n) this.zeroBuf = new Float32Array(n);
    return this.zeroBuf;
  }

  // ---- inference ---------------------------------------------------------------------------

  protected computeFinal(): FinalEmbeddings {
    const d = this.d;
    const U = this.numUsers;
    const N = U + this.numItems;
    const tape = new Tape();
    try {
      const p = this.constParams();
      const { xs, alphas } = this.propagate(tape, p, false, null);
      const all = new Int32Array(N);
      for (let n = 0; n < N; n++) all[n] = n;
      const fin = this.combineAll(tape, xs) ?? this.combineRows(tape, xs, null, all, p);
      const mean = alphas.map((hs) => {
        const m = new Float32Array(hs[0].size);
        for (const h of hs) for (let e = 0; e < m.length; e++) m[e] += h.data[e] / hs.length;
        return m;
      });
      return { users: fin.data.slice(0, U * d), items: fin.data.slice(U * d, N * d), alphas: [mean] };
    } finally {
      tape.dispose();
      this.releaseScratch();
    }
  }

  /**
   * Softmax attention of layer `layer` (0-based), averaged over heads, one weight per edge of
   * {@link adjacency} (inference mode: no dropout). Weights sum to 1 over each node's incoming edges.
   */
  attention(layer: number): Float32Array {
    const a = this.refresh().alphas[0];
    if (!(layer >= 0 && layer < a.length)) throw new RangeError(`gat.attention: layer ${layer} not in [0, ${a.length})`);
    return a[layer].slice();
  }

  /**
   * The neighbours behind the score of (user, item): the user's train items and the item's train users,
   * each with the attention its target pays to it (softmax weight averaged over heads and layers) and its
   * contribution = attention × agreement with the other side of the pair (dot product of final embeddings).
   * Sorted by contribution, `top` of each.
   */
  explain(user: number, item: number, top = 5): GatExplanation {
    if (!(user >= 0 && user < this.numUsers)) throw new RangeError(`gat.explain: user ${user} out of range`);
    if (!(item >= 0 && item < this.numItems)) throw new RangeError(`gat.explain: item ${item} out of range`);
    const c = this.refresh();
    const alphas = c.alphas[0];
    const d = this.d;
    const U = this.numUsers;
    const { indptr, indices } = this.graph.a;
    const dotRows = (x: Float32Array, i: number, y: Float32Array, j: number) => {
      let s = 0;
      for (let k = 0; k < d; k++) s += x[i * d + k] * y[j * d + k];
      return s;
    };
    const att = (row: number, e: number) => meanAttention(alphas, indptr, row, e);
    const items: GatNeighbour[] = [];
    for (let e = indptr[user]; e < indptr[user + 1]; e++) {
      const j = indices[e];
      if (j < U) continue; // self-loop
      const attention = att(user, e);
      items.push({ id: j - U, attention, contribution: attention * dotRows(c.items, j - U, c.items, item) });
    }
    const users: GatNeighbour[] = [];
    for (let e = indptr[U + item]; e < indptr[U + item + 1]; e++) {
      const v = indices[e];
      if (v >= U) continue;
      const attention = att(U + item, e);
      users.push({ id: v, attention, contribution: attention * dotRows(c.users, v, c.users, user) });
    }
    const by = (x: GatNeighbour, y: GatNeighbour) => y.contribution - x.contribution || x.id - y.id;
    return {
      user,
      item,
      score: dotRows(c.users, user, c.items, item),
      items: items.sort(by).slice(0, top),
      users: users.sort(by).slice(0, top),
    };
  }

  /** The attention the user pays to each of their train items (explain's `items`, all of them, by item id). */
  historyAttention(user: number): Map<number, number> {
    const alphas = this.refresh().alphas[0];
    const { indptr, indices } = this.graph.a;
    const out = new Map<number, number>();
    for (let e = indptr[user]; e < indptr[user + 1]; e++) if (indices[e] >= this.numUsers) out.set(indices[e] - this.numUsers, meanAttention(alphas, indptr, user, e));
    return out;
  }

  // ---- persistence -------------------------------------------------------------------------

  async save(dir: string): Promise<void> {
    const tensors: Record<string, Float32Array> = {};
    for (const [name, t] of this.named) tensors[name] = t.data;
    if (this.feat) tensors.itemFeatures = this.feat.x.data;
    await saveState(join(dir, 'gat'), {
      tensors,
      meta: {
        model: 'gat',
        version: 1,
        params: this.params,
        seed: this.seed,
        numUsers: this.numUsers,
        numItems: this.numItems,
        featureDim: this.feat?.dim ?? 0,
        splitHash: this.data.manifest.split_hash,
      },
    });
  }

  static async load(dir: string, data: SplitData): Promise<GatModel> {
    const state = await loadState(join(dir, 'gat'));
    if (!state) throw ppError('PP_MODEL_LOAD', `no gat model in ${dir}`);
    const meta = state.meta as { model?: string; params: Params; seed: number; numUsers: number; numItems: number; featureDim: number };
    if (meta.model !== 'gat') throw ppError('PP_MODEL_LOAD', `${dir} holds a ${meta.model ?? 'unknown'} model, not gat`);
    if (meta.numUsers !== data.numUsers || meta.numItems !== data.numItems) {
      throw ppError('PP_MODEL_LOAD', `gat in ${dir} was trained on ${meta.numUsers} users × ${meta.numItems} items, the split has ${data.numUsers} × ${data.numItems}`);
    }
    const features = meta.featureDim > 0 && state.tensors.itemFeatures ? { data: state.tensors.itemFeatures, dim: meta.featureDim } : undefined;
    const model = new GatModel(data, migrateParams(meta.params), meta.seed, features);
    model.setState({ tensors: state.tensors, meta: {} });
    return model;
  }

  dispose(): void {
    this.disposeBase();
    freeCsr(this.graph.a);
    freeCsr(this.graph.at);
    for (const x of [this.rel.uniform, this.rel.calib, this.rel.msg, this.rel.bias]) if (x) free(x);
    this.cols.dispose();
    if (this.feat) {
      free(this.feat.x.data);
      freeCsr(this.feat.sel);
      freeCsr(this.feat.selT);
    }
  }
}

/** Trains a GAT on `ctx.data` (train part; valid for early stopping), optionally with item input features. */
export async function fitGat(ctx: FitContext, features?: ItemFeatures): Promise<GatModel> {
  const model = new GatModel(ctx.data, ctx.params, ctx.seed, features);
  const q = model.params;
  await trainLoop(ctx, model, {
    maxEpochs: q.epochs as number,
    evalEvery: q.eval_every as number,
    patience: q.patience as number,
  });
  return model;
}

export const gatSpec: ModelSpec = registerModel({
  name: 'gat',
  description: 'Graph attention network (GAT, ICLR 2018) on the user–item graph: multi-head attention, layer mean, BPR',
  kind: 'trained',
  params: GAT_PARAMS,
  fit: (ctx: FitContext): Promise<Recommender> => fitGat(ctx),
  load: (dir: string, data: SplitData): Promise<Recommender> => GatModel.load(dir, data),
});
