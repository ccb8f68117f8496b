/**
 * GAT: a graph attention network recommender (Veličković et al., ICLR 2018), applied to collaborative
 * filtering as on the BARS benchmark. Users and items are the nodes of the symmetric user–item graph of
 * the train part (node u for user u, node U + i for item i). Layer l computes, for every edge i ← j,
 *
 *     z_j      = W h_j                                   (per head; W = I with `transform: identity`)
 *     e_ij     = LeakyReLU(a_dstᵀ z_i + a_srcᵀ z_j)     (two per-node projections + an edge gather)
 *     α_ij     = softmax_{j ∈ N(i)} e_ij                 (segment softmax over i's incoming edges)
 *     w_ij     = dropout(α_ij) · c_ij                     (c_ij = 1 with `norm: softmax`,
 *                                                         c_ij = sqrt(deg_i / deg_j) with `norm: degree`)
 *     h'_i     = Σ_j w_ij z_j                             (SpMM with per-edge values)
 *
 * with several heads averaged (or, for inner layers of a `linear` transform, concatenated), and the final
 * embedding a combination of the layer outputs h⁰ … h^L (`readout`: their mean as in LightGCN,
 * the last one, or a learnt projection of their concatenation). Scores are dot products of final user
 * and item embeddings; training minimises BPR with an L2 penalty on the batch's layer-0 embeddings
 * (LightGCN's regulariser), Adam, early stopping on validation NDCG@20 through {@link trainLoop}.
 *
 * Design choices, measured on Gowalla (LightGCN's split with 10 % of train held out as valid; 2-core
 * machine shared with other jobs; 420-s runs with uniform negatives, lr 0.02, batch 32768; valid
 * Recall@20 at epoch 12, then test Recall@20 / NDCG@20 of the best validated epoch when the 420 s ran
 * out, and the CPU time of a step relative to the first row):
 *
 * | variant | valid R@20, epoch 12 | test R@20 / N@20 | CPU / step |
 * |---|---|---|---|
 * | additive attention, `transform: identity`, `norm: degree`, layer mean, 2 heads (defaults) | 0.147 | 0.146 / 0.126 (18 epochs) | 1 |
 * | `attention: none` (uniform α: exactly LightGCN) | 0.148 | 0.150 / 0.129 (29 epochs) | 0.57 |
 * | `attention: dot` | 0.146 | 0.141 / 0.121 (12 epochs) | 1.8 |
 * | `norm: softmax` (plain GAT weights) | 0.135 | 0.130 / 0.104 (27 epochs) | 1 |
 * | GAT as published: `linear` W, softmax, ELU, concatenated heads, last layer | 0.056 | 0.044 / 0.027 (10 epochs) | 3 |
 *
 * - `norm: degree` calibrates attention to LightGCN's symmetric normalisation: with uniform attention
 *   (α_ij = 1/deg_i) the weights are exactly 1/sqrt(deg_i·deg_j), so an untrained attention layer *is*
 *   a LightGCN layer and training learns deviations from it. Plain softmax weights average neighbours
 *   without down-weighting popular sources: −0.013 valid Recall@20 at equal epochs.
 * - `transform: identity` ("light" attention: no W and no nonlinearity, as LightGCN argues for CF) is
 *   what makes a GAT train on CF at all: with learnt W, ELU and the last layer as output it reaches a
 *   third of the Recall at equal epochs, and an epoch costs 3× more. With identity W the heads are
 *   averaged *before* aggregation (mean_k Σ_j α^k_ij h_j = Σ_j (mean_k α^k_ij) h_j), so a layer costs one
 *   SpMM whatever the number of heads, and one product X·[a_dst¹ a_src¹ …] gives every head's scores.
 * - Attention itself does not pay on Gowalla: per epoch, the calibrated attention tracks uniform
 *   weights (LightGCN) within ±0.002 Recall@20, at 2–3× the cost of an epoch (the attention weights'
 *   gradient is an extra SDDMM over all edges, plus per-head edge passes). It does learn something: in
 *   the first layer, α·deg_i spreads far from 1 (entropy 0.80 of uniform) and falls with the source's
 *   degree (corr(log deg_j, log α_ij·deg_i) ≈ −0.6: popular neighbours are discounted beyond
 *   1/sqrt(deg)); the second layer stays near uniform. That re-weighting does not rank better on
 *   Gowalla; it is a denoising knob for noisier graphs (ratings, views) and gives the per-neighbour
 *   weights behind {@link GatModel.explain}.
 * - What does pay: hard negatives (`negatives: hard`, the highest-scoring of 8 uniform candidates):
 *   valid Recall@20 0.165 after 10 epochs instead of 0.133, and large batches — a step propagates over
 *   the whole graph whatever the batch size, so the batch is nearly free and the learning rate sets the
 *   pace (0.01–0.02 with Adam; 0.05 overfits early).
 * - With the defaults, Gowalla (30-minute budget): early stop after 65 epochs (835 s, ~9.5 s per epoch
 *   of 23 steps, load 3), best valid epoch 50, test Recall@20 0.1516, NDCG@20 0.1270 (BARS GAT: 0.1501 /
 *   0.1233). Test peaks earlier than valid (0.1591 / 0.1355 at epoch 21): valid, carved from train,
 *   keeps improving while test declines, so valid-based selection is a few points late.
 *
 * Options: `attention: dot` swaps the additive score for a scaled dot product ⟨z_i, z_j⟩/√d (SDDMM,
 * parameter-free and "dynamic" — additive GAT attention ranks neighbours almost the same way for every
 * target, Brody et al. 2022); `self_loops` adds i ← i edges; `rating_weighted` uses the split's ratings
 * when it has them (`logit`: adds rating_scale·z-scored rating to e_ij; `message`: multiplies w_ij by
 * rating / mean rating); optional item input features ({@link ItemFeatures}, for the multimodal
 * models) enter through a learnt linear projection added to the items' layer-0 embeddings.
 *
 * {@link GatModel.explain} returns the neighbours that contribute most to a (user, item) score with
 * their attention weights (for explanations served by the API).
 */
import { join } from 'node:path';
import { ppError } from '../errors.js';
import type { SplitData } from '../graphs/split-data.js';
import {
  Adam,
  Rng,
  Tape,
  Tensor,
  allocF32,
  allocI32,
  constant,
  free,
  matmul,
  transposeDense,
  parameter,
  transpose,
  zeroGrad,
  type Csr,
  type CsrTransposed,
} from '../core/index.js';
import { BprSampler, pickHardest, type BprBatch } from '../train/sampler.js';
import { trainLoop, type TrainableModel } from '../train/trainer.js';
import { loadState, paramTensors, restoreParamTensors, saveState, type TensorState } from '../train/checkpoint.js';
import { registerModel, resolveParams } from './registry.js';
import { migrateParams } from './param-names.js';
import type { FitContext, ModelSpec, ParamSpec, Params, Recommender } from './model.js';

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
  /**
   * transform 'identity': the attention vectors of all heads as one matrix [d, 2H], columns 2k = a_dst
   * and 2k + 1 = a_src of head k, so one product X·A gives every head's per-node scores (and one
   * product its gradient w.r.t. X)
   */
  att: Tensor | null;
}

interface ParamSet {
  emb: Tensor;
  featProj: Tensor | null;
  layers: Layer[];
  proj: Tensor | null;
}

interface Cache {
  /** final embeddings, heap arrays */
  users: Float32Array;
  items: Float32Array;
  /** items transposed [d × numItems], made on the first scoring call */
  itemsT: Float32Array | null;
  /** per layer: softmax attention averaged over heads [nnz] */
  alphas: Float32Array[];
}

type P = Record<keyof typeof GAT_PARAMS, number | string | boolean>;

/** The user–item graph: A [N × N] (row = target), its transpose, per-edge constants. */
interface Graph {
  a: Csr;
  at: CsrTransposed;
  /** train entry (index into data.train) of each edge, −1 for self-loops */
  entry: Int32Array;
  /** sqrt(deg_i / deg_j) for `norm: degree` */
  calib: Float32Array;
}

function buildGraph(data: SplitData, selfLoops: boolean): Graph {
  const U = data.numUsers;
  const I = data.numItems;
  const N = U + I;
  const { indptr: tp, indices: ti } = data.train;
  // de-duplicated, sorted item lists per user (as train entry indices)
  const order: number[][] = [];
  const deg = new Int32Array(N);
  for (let u = 0; u < U; u++) {
    const ents: number[] = [];
    for (let e = tp[u]; e < tp[u + 1]; e++) ents.push(e);
    ents.sort((x, y) => ti[x] - ti[y] || x - y);
    const uniq: number[] = [];
    for (const e of ents) if (uniq.length === 0 || ti[uniq[uniq.length - 1]] !== ti[e]) uniq.push(e);
    order.push(uniq);
    deg[u] = uniq.length;
    for (const e of uniq) deg[U + ti[e]]++;
  }
  if (selfLoops) for (let n = 0; n < N; n++) deg[n]++;
  const indptr = allocI32(N + 1);
  for (let n = 0; n < N; n++) indptr[n + 1] = indptr[n] + deg[n];
  const nnz = indptr[N];
  const indices = allocI32(nnz, false);
  const values = allocF32(nnz, false).fill(1);
  const entry = new Int32Array(nnz);
  // user rows: (self-loop u <) items U + i, ascending
  for (let u = 0; u < U; u++) {
    let at = indptr[u];
    if (selfLoops) {
      indices[at] = u;
      entry[at++] = -1;
    }
    for (const e of order[u]) {
      indices[at] = U + ti[e];
      entry[at++] = e;
    }
  }
  // item rows: users ascending (filled in user order), then the self-loop U + i
  const fill = indptr.slice(U, N);
  for (let u = 0; u < U; u++) {
    for (const e of order[u]) {
      const i = ti[e];
      indices[fill[i]] = u;
      entry[fill[i]++] = e;
    }
  }
  if (selfLoops) {
    for (let i = 0; i < I; i++) {
      indices[fill[i]] = U + i;
      entry[fill[i]] = -1;
    }
  }
  const a: Csr = { rows: N, cols: N, indptr, indices, values };
  const calib = allocF32(nnz, false);
  for (let n = 0; n < N; n++) for (let e = indptr[n]; e < indptr[n + 1]; e++) calib[e] = Math.sqrt(deg[n] / deg[indices[e]]);
  return { a, at: transpose(a), entry, calib };
}

function freeCsr(a: Csr): void {
  free(a.indptr);
  free(a.indices);
  free(a.values);
}

/** A GAT recommender over one split. Create it with {@link fitGat} or {@link GatModel.load}. */
export class GatModel implements TrainableModel {
  readonly modelName = 'gat';
  readonly numUsers: number;
  readonly numItems: number;
  readonly params: P;
  private readonly d: number;
  private readonly graph: Graph;
  private readonly p: ParamSet;
  private readonly named: [string, Tensor][];
  private readonly embOpt: Adam;
  private readonly otherOpt: Adam | null;
  private readonly dropRng: Rng;
  /** selection matrices of the current step's gathers, by index array */
  private readonly selections = new Map<Int32Array, { s: Csr; st: CsrTransposed }>();
  private sampler: BprSampler | null = null;
  private cache: Cache | null = null;
  /** item feature matrix (heap) and the selection matrix that lifts item rows into node rows */
  private readonly feat: { x: Tensor; dim: number; sel: Csr; selT: CsrTransposed } | null;
  private readonly ratingLogit: Float32Array | null;
  private readonly ratingMsg: Float32Array | null;
  /** 1/deg_i per edge (attention 'none') */
  private readonly uniform: Float32Array | null;

  constructor(
    private readonly data: SplitData,
    params: Params,
    readonly seed: number,
    features?: ItemFeatures,
  ) {
    this.params = resolveParams(gatSpec, params) as P;
    const q = this.params;
    this.numUsers = data.numUsers;
    this.numItems = data.numItems;
    const d = (this.d = q.dim as number);
    const L = q.layers as number;
    const H = q.heads as number;
    const linear = q.transform === 'linear';
    const concat = q.head_merge === 'concat';
    if (concat && !linear) throw ppError('PP_MODEL_PARAM', "gat.head_merge: 'concat' needs transform 'linear' (identity heads have nothing to concatenate)");
    if (concat && L > 1 && d % H !== 0) throw ppError('PP_MODEL_PARAM', `gat.head_merge: 'concat' needs dim (${d}) divisible by heads (${H})`);
    this.graph = buildGraph(data, q.self_loops as boolean);
    if (q.attention === 'none') {
      const { indptr } = this.graph.a;
      this.uniform = allocF32(indptr[indptr.length - 1], false);
      for (let i = 0; i + 1 < indptr.length; i++) this.uniform.fill(1 / (indptr[i + 1] - indptr[i]), indptr[i], indptr[i + 1]);
    } else {
      this.uniform = null;
    }
    const N = data.numUsers + data.numItems;
    const rng = new Rng(seed);
    const emb = parameter(rng.fillNormal(allocF32(N * d, false), q.init_std as number), [N, d]);
    this.named = [['emb', emb]];
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
    this.embOpt = new Adam([emb], { lr: q.lr as number });
    const others = this.named.filter(([n]) => n !== 'emb').map(([, t]) => t);
    this.otherOpt = others.length ? new Adam(others, { lr: q.lr as number, weightDecay: q.weight_decay as number }) : null;
    this.dropRng = new Rng(seed ^ 0x5bd1e995);
    // ratings, when the split has them
    const ratings = data.train.ratings;
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
    this.ratingLogit = null;
    this.ratingMsg = null;
    if (q.rating_weighted !== 'off' && n > 0) {
      const mean = s / n;
      const std = Math.sqrt(Math.max(ss / n - mean * mean, 0)) || 1;
      const { entry } = this.graph;
      const out = allocF32(entry.length, false);
      for (let e = 0; e < entry.length; e++) {
        const r = entry[e] >= 0 ? ratings[entry[e]] : NaN;
        if (q.rating_weighted === 'logit') out[e] = Number.isFinite(r) ? ((q.rating_scale as number) * (r - mean)) / std : 0;
        else out[e] = Number.isFinite(r) && mean !== 0 ? r / mean : 1;
      }
      if (q.rating_weighted === 'logit') this.ratingLogit = out;
      else this.ratingMsg = out;
    }
  }

  /** Trainable tensors by name (for tests and checkpoints). */
  parameters(): Record<string, Tensor> {
    return Object.fromEntries(this.named);
  }

  /** The attention graph: row i lists the sources j of the edges i ← j (node u = user u, node U + i = item i). */
  get adjacency(): Csr {
    return this.graph.a;
  }

  learningRate(): number {
    return this.embOpt.lr;
  }

  // ---- forward -----------------------------------------------------------------------------

  private readonly columns = new Map<string, Tensor>();
  /** The one-hot selector e_c [n, 1] (X·e_c = column c of X). */
  private column(n: number, c: number): Tensor {
    const key = `${n}:${c}`;
    let t = this.columns.get(key);
    if (!t) {
      const e = allocF32(n);
      e[c] = 1;
      this.columns.set(key, (t = constant(e, [n, 1])));
    }
    return t;
  }

  private edgeWeights(tape: Tape, alpha: Tensor): Tensor {
    let w = alpha;
    if (this.params.norm === 'degree') w = tape.mul(w, constant(this.graph.calib, w.shape));
    if (this.ratingMsg) w = tape.mul(w, constant(this.ratingMsg, w.shape));
    return w;
  }

  /** Layer outputs h⁰ … h^L and, per layer and head, the softmax attention (before dropout). */
  private propagate(tape: Tape, p: ParamSet, training: boolean, rng: Rng | null): { xs: Tensor[]; alphas: Tensor[][] } {
    const q = this.params;
    const { a, at } = this.graph;
    const L = q.layers as number;
    let x0 = p.emb;
    if (this.feat && p.featProj) {
      const f = tape.matmul(this.feat.x, p.featProj);
      x0 = tape.add(x0, tape.spmm(this.feat.sel, this.feat.selT, f));
    }
    const xs = [x0];
    const alphas: Tensor[][] = [];
    const slope = q.leaky_slope as number;
    const pDrop = q.attn_dropout as number;
    const drop = (t: Tensor) => (training && rng && pDrop > 0 ? tape.dropout(t, pDrop, rng, true) : t);
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
        if (q.attention === 'none') {
          // uniform attention: no scores, the same weights for every head
          const alpha = constant(this.uniform!, [a.indices.length]);
          layerAlphas.push(alpha);
          if (h.w) outs.push(tape.spmm(a, at, z, this.edgeWeights(tape, drop(alpha))));
          else attn.push(alpha);
          continue;
        }
        let s: Tensor;
        if (scores || h.att) {
          // t_i = a_dstᵀz_i, u_j = a_srcᵀz_j: columns of the score matrix, [N, 1] each
          const tu = scores ?? tape.matmul(z, h.att!);
          const c = scores ? 2 * k : 0;
          const t = tape.matmul(tu, this.column(tu.cols, c));
          const u = tape.matmul(tu, this.column(tu.cols, c + 1));
          s = tape.leakyRelu(tape.edgeScoreSum(a, at, t, u), slope);
        } else {
          s = tape.scale(tape.sddmm(a, at, z, z), 1 / Math.sqrt(z.cols));
        }
        if (this.ratingLogit) s = tape.add(s, constant(this.ratingLogit, s.shape));
        const alpha = tape.segmentSoftmax(a, s);
        layerAlphas.push(alpha);
        if (h.w) outs.push(tape.spmm(a, at, z, this.edgeWeights(tape, drop(alpha))));
        else attn.push(alpha);
      }
      let next: Tensor;
      if (attn.length) {
        // identity transform: average the heads' weights, drop edges, then one SpMM
        next = tape.spmm(a, at, x, this.edgeWeights(tape, drop(attn.length > 1 ? tape.mean(attn) : attn[0])));
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

  /**
   * The final embeddings as one node table when the combination is node-wise (mean, last), or null
   * (concat-proj: projected per gathered row, {@link combineRows}).
   */
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
   * (S[r, idx[r]] = 1 or scaleBy[r]): the forward
   * and the backward (a scatter-add, Sᵀ·∂Y fused into the table's gradient) then run the SIMD SpMM
   * kernels instead of scalar row copies. S lives until {@link releaseScratch}.
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

  private releaseScratch(): void {
    for (const { s, st } of this.selections.values()) {
      freeCsr(s);
      freeCsr(st);
      free(st.perm);
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
   * The BPR + L2 loss of a batch on `tape` (users u, positives i, one negative j per row).
   * `dropoutSeed`: draw attention dropout from a fresh Rng with this seed (reproducible; for gradient
   * checks), null = no dropout, undefined = the model's training stream.
   */
  lossOn(tape: Tape, users: Int32Array, pos: Int32Array, neg: Int32Array, dropoutSeed?: number | null): Tensor {
    const U = this.numUsers;
    const rng = dropoutSeed === null ? null : dropoutSeed === undefined ? this.dropRng : new Rng(dropoutSeed);
    const { xs } = this.propagate(tape, this.p, rng !== null, rng);
    const b = users.length;
    const pi = new Int32Array(b);
    const ni = new Int32Array(b);
    for (let r = 0; r < b; r++) {
      pi[r] = U + pos[r];
      ni[r] = U + neg[r];
    }
    const all = this.combineAll(tape, xs);
    const eu = this.combineRows(tape, xs, all, users, this.p);
    const ep = this.combineRows(tape, xs, all, pi, this.p);
    const en = this.combineRows(tape, xs, all, ni, this.p);
    // −log σ(⟨e_u, e_i⟩ − ⟨e_u, e_j⟩) = −log σ(⟨e_u, e_i − e_j⟩ − 0): one row-wise dot product
    const zero = constant(this.zeros(b), [b]);
    const bpr = tape.bprLoss(tape.rowDot(eu, tape.sub(ep, en)), zero);
    const lambda = this.params.reg as number;
    if (lambda <= 0) return bpr;
    // λ/(2b)·Σ_r ‖e⁰‖² over the batch's users, positives and negatives = λ/(2b)·Σ_n c_n‖e⁰_n‖² over
    // distinct nodes n (c_n occurrences): one gather of the distinct rows scaled by sqrt(c_n)
    const count = new Map<number, number>();
    for (const ix of [users, pi, ni]) for (let r = 0; r < b; r++) count.set(ix[r], (count.get(ix[r]) ?? 0) + 1);
    const nodes = Int32Array.from(count.keys()).sort();
    const scaleBy = new Float32Array(nodes.length);
    for (let k = 0; k < nodes.length; k++) scaleBy[k] = Math.sqrt(count.get(nodes[k])!);
    return tape.add(bpr, tape.l2([this.gather(tape, this.p.emb, nodes, scaleBy)], lambda, b));
  }

  /** Loss value of a batch without dropout (or with the dropout mask of `dropoutSeed`), gradients left on the parameters when `backward`. */
  batchLoss(users: Int32Array, pos: Int32Array, neg: Int32Array, opts: { backward?: boolean; dropoutSeed?: number | null } = {}): number {
    const tape = new Tape();
    try {
      const loss = this.lossOn(tape, users, pos, neg, opts.dropoutSeed ?? null);
      const v = loss.item();
      if (opts.backward) tape.backward(loss);
      return v;
    } finally {
      tape.dispose();
      this.releaseScratch();
    }
  }

  private step(batch: BprBatch, hardFrom: Float32Array | null): number {
    const params = this.named.map(([, t]) => t);
    let neg = batch.neg.subarray(0, batch.size);
    if (hardFrom) neg = pickHardest(batch, this.sampler!.negPerPos, (us, its) => this.pairScores(hardFrom, us, its));
    const tape = new Tape();
    try {
      const loss = this.lossOn(tape, batch.users.subarray(0, batch.size), batch.pos.subarray(0, batch.size), neg);
      const v = loss.item();
      tape.backward(loss);
      this.embOpt.step();
      this.otherOpt?.step();
      return v;
    } finally {
      zeroGrad(params);
      tape.dispose();
      this.releaseScratch();
    }
  }

  private zeroBuf = new Float32Array(0);
  private zeros(n: number): Float32Array {
    if (this.zeroBuf.length !== n) this.zeroBuf = new Float32Array(n);
    return this.zeroBuf;
  }

  private pairScores(fin: Float32Array, users: Int32Array, items: Int32Array): Float32Array {
    const d = this.d;
    const U = this.numUsers;
    const out = new Float32Array(users.length);
    for (let r = 0; r < users.length; r++) {
      const a = users[r] * d;
      const b = (U + items[r]) * d;
      let s = 0;
      for (let k = 0; k < d; k++) s += fin[a + k] * fin[b + k];
      out[r] = s;
    }
    return out;
  }

  async trainEpoch(_epoch: number): Promise<number> {
    const q = this.params;
    if (!this.sampler) {
      this.sampler = new BprSampler(this.data.train, this.numItems, {
        negatives: q.negatives as 'uniform' | 'popularity' | 'hard',
        hardCandidates: q.hard_candidates as number,
        seed: this.seed,
      });
    }
    // hard negatives are scored with the embeddings of the start of the epoch
    const hardFrom = q.negatives === 'hard' ? this.finalAll() : null;
    this.invalidate();
    let total = 0;
    let n = 0;
    for (const batch of this.sampler.epoch(q.batch as number)) {
      total += this.step(batch, hardFrom) * batch.size;
      n += batch.size;
    }
    return n ? total / n : 0;
  }

  // ---- inference ---------------------------------------------------------------------------

  private invalidate(): void {
    if (this.cache) {
      free(this.cache.users);
      free(this.cache.items);
      if (this.cache.itemsT) free(this.cache.itemsT);
      this.cache = null;
    }
  }

  /** Final embeddings of every node (users then items), [N × d], plain array. */
  private finalAll(): Float32Array {
    const c = this.refresh();
    const out = new Float32Array((this.numUsers + this.numItems) * this.d);
    out.set(c.users);
    out.set(c.items, c.users.length);
    return out;
  }

  /** Computes (once per parameter change) the final embeddings and the attention of every layer, without dropout. */
  private refresh(): Cache {
    if (this.cache) return this.cache;
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
      const users = allocF32(U * d, false);
      const items = allocF32(this.numItems * d, false);
      users.set(fin.data.subarray(0, U * d));
      items.set(fin.data.subarray(U * d, N * d));
      const mean = alphas.map((hs) => {
        const m = new Float32Array(hs[0].size);
        for (const h of hs) for (let e = 0; e < m.length; e++) m[e] += h.data[e] / hs.length;
        return m;
      });
      this.cache = { users, items, itemsT: null, alphas: mean };
      return this.cache;
    } finally {
      tape.dispose();
      this.releaseScratch();
    }
  }

  scoreUsers(users: Int32Array, out: Float32Array): void {
    const c = this.refresh();
    const d = this.d;
    const rows = allocF32(users.length * d, false);
    try {
      for (let r = 0; r < users.length; r++) rows.set(c.users.subarray(users[r] * d, users[r] * d + d), r * d);
      if (!c.itemsT) c.itemsT = transposeDense(c.items, this.numItems, d);
      matmul(rows, c.itemsT, users.length, d, this.numItems, { out });
    } finally {
      free(rows);
    }
  }

  embeddings(): { users: Float32Array; items: Float32Array; dim: number } {
    const c = this.refresh();
    return { users: c.users.slice(), items: c.items.slice(), dim: this.d };
  }

  /**
   * Softmax attention of layer `layer` (0-based), averaged over heads, one weight per edge of
   * {@link adjacency} (inference mode: no dropout). Weights sum to 1 over each node's incoming edges.
   */
  attention(layer: number): Float32Array {
    const c = this.refresh();
    if (!(layer >= 0 && layer < c.alphas.length)) throw new RangeError(`gat.attention: layer ${layer} not in [0, ${c.alphas.length})`);
    return c.alphas[layer].slice();
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
    const d = this.d;
    const U = this.numUsers;
    const { indptr, indices } = this.graph.a;
    const dotRows = (x: Float32Array, i: number, y: Float32Array, j: number) => {
      let s = 0;
      for (let k = 0; k < d; k++) s += x[i * d + k] * y[j * d + k];
      return s;
    };
    const att = (row: number, e: number) => {
      if (c.alphas.length === 0) return 1 / (indptr[row + 1] - indptr[row]);
      let s = 0;
      for (const a of c.alphas) s += a[e];
      return s / c.alphas.length;
    };
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

  // ---- state -------------------------------------------------------------------------------

  private optFor(name: string): Adam {
    return name === 'emb' ? this.embOpt : this.otherOpt!;
  }

  getState(): TensorState {
    return { tensors: paramTensors(this.named, (n) => this.optFor(n)), meta: { embStep: this.embOpt.t, otherStep: this.otherOpt?.t ?? 0 } };
  }

  setState(state: TensorState): void {
    restoreParamTensors('gat', this.named, (n) => this.optFor(n), state.tensors);
    const meta = state.meta as { embStep?: number; otherStep?: number };
    if (typeof meta.embStep === 'number') this.embOpt.t = meta.embStep;
    if (this.otherOpt && typeof meta.otherStep === 'number') this.otherOpt.t = meta.otherStep;
    this.invalidate();
  }

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
    this.invalidate();
    for (const [, t] of this.named) free(t.data);
    this.embOpt.dispose();
    this.otherOpt?.dispose();
    freeCsr(this.graph.a);
    freeCsr(this.graph.at);
    free(this.graph.at.perm);
    free(this.graph.calib);
    if (this.ratingLogit) free(this.ratingLogit);
    if (this.ratingMsg) free(this.ratingMsg);
    if (this.uniform) free(this.uniform);
    for (const t of this.columns.values()) free(t.data);
    if (this.feat) {
      free(this.feat.x.data);
      freeCsr(this.feat.sel);
      freeCsr(this.feat.selT);
      free(this.feat.selT.perm);
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
