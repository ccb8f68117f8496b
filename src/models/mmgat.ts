/**
 * mmgat: a multimodal graph attention recommender, configured on the propagation layer
 * (src/models/propagation/). Users have learned embeddings; an item's input comes from its content, so that
 * items without any interaction (cold items) still have one. Two relations are propagated, each with its own
 * attention: user–item (ui, the symmetric train graph, rating-weighted where the split has ratings) and
 * item–item (ii, the content kNN graph of `ii_modality`, `ii_k` neighbours per item, union-symmetrised).
 *
 *     x⁰_i = f(content_i) + ω_i · e_i     f: the fusion MLP over `features` (text, image or both), e: ID embedding,
 *                                          ω_i = 1 for warm items, 0 for cold ones ('none': x⁰_i = e_i)
 *     x⁰_u = p_u
 *     s^r_ij = LeakyReLU(a^{l,r}_dstᵀ x^l_i + a^{l,r}_srcᵀ x^l_j) (+ ii_sim_scale·sim_ij on ii)   ('none': α = 1/deg)
 *     α^r_ij = softmax_{j ∈ N_r(i)} s^r_ij,   w^r_ij = dropout(α^r_ij) · sqrt(deg_r(i)/deg_r(j)) [· rating/mean]
 *     h^{l,r}_i = Σ_j w^r_ij x^l_j,   x^{l+1}_n = Σ_r c_r[n] · h^{l,r}_n (+ x^l_n if n has no edge)
 *                                     (c_r[n] = 1/#relations with edges at n; h^{ii} scaled by `ii_weight`)
 *
 * Readout: the mean of x⁰ … x^L, or their concatenation. Loss: BPR (negatives among warm items with
 * `warm_negatives`) + λ/(2b)·Σ‖x⁰‖² over the batch's rows; Adam on embeddings, AdamW on the MLP and attention.
 * `prior=ease|gfcf|bspm`: s(u, i) = ⟨x_u, x_i⟩ + w·p(u, i), p = that closed-form model's score over its RMS on
 * train pairs (item-prior.ts); BPR on that sum (`prior_train`: the graph part learns a residual), w re-chosen
 * on valid (`prior_select`; w = ∞ there means the prior alone, so the selected blend is never below the prior on valid).
 * Shapes: X [N × d] (N = U + I), attention vectors [d × 2] per layer and relation, fusion MLP [Σ dims → hidden → d].
 * Measurements on Amazon Scientific and the design history: docs/decisions/051-mmgat-content-through-the-graph.md.
 * {@link MmgatModel.explain} gives the attention behind a (user, item) score.
 */
import { join } from 'node:path';
import { ppError } from '../errors.js';
import type { SplitData } from '../graphs/split-data.js';
import type { KnnGraph } from '../graphs/knn-graph.js';
import { Tape, Tensor, allocF32, constant, free, parameter, transpose, Rng, type Csr, type CsrTransposed } from '../core/index.js';
import { FusionMlp, type FusionModality } from './fusion/fusion-mlp.js';
import { fusionInputs } from './fusion/fusion-bpr.js';
import type { BprBatch } from '../train/sampler.js';
import { trainLoop } from '../train/trainer.js';
import { loadState, saveState, type TensorState } from '../train/checkpoint.js';
import { registerModel, resolveParams } from './registry.js';
import { WarmNegatives } from './warm-negatives.js';
import { EmbeddingScorer } from './mf.js';
import { ItemPrior, selectPriorWeight, type PriorKind } from './item-prior.js';
import type { ContentModality, ContentSource, FitContext, ModelSpec, ParamSpec, Params, Recommender } from './model.js';
import {
  degreeCalibration,
  fitItemGraph,
  freeCsr,
  knnItemGraph,
  liftItemGraph,
  liftRows,
  selectRows,
  meanPairRatings,
  perEdge,
  uniformWeights,
  userItemGraph,
} from './propagation/graph.js';
import { ColumnSelectors, additiveLogits, attentionDropout, meanAttention, propagateEdges, softmaxAttention, uniformAttention, type Relation } from './propagation/attention.js';
import { TapeGraphModel, repeatEach, samplingFrom, type FinalEmbeddings, type SamplingConfig } from './propagation/tape-model.js';
import { RANKING_LOSS_PARAMS } from './ranking-loss.js';

export const MMGAT_PARAMS = {
  features: {
    default: 'fused',
    choices: ['none', 'text', 'image', 'fused'],
    doc: "item input: the fusion MLP over 'text', 'image' or both ('fused': every modality the lake has), or 'none' (ID embeddings only: the ablation)",
  },
  item_edges: { default: true, doc: 'propagate over the item–item kNN relation as well as user–item' },
  ii_modality: { default: 'text', choices: ['text', 'image', 'fused'], doc: 'content whose kNN graph gives the item–item edges' },
  ii_k: { default: 10, min: 1, max: 200, doc: 'neighbours per item taken from the item–item kNN graph (stored by plotpointe graph knn, or built here), before union-symmetrisation' },
  ii_weight: { default: 1, min: 0, max: 10, doc: 'β: scale of the item–item messages h^{ii} before they are averaged with h^{ui}' },
  ii_sim_scale: { default: 1, min: 0, max: 100, doc: 'added to the item–item attention logits: ii_sim_scale · cosine similarity' },
  layers: { default: 2, min: 0, max: 6, doc: 'propagation layers L' },
  dim: { default: 64, min: 4, max: 1024, doc: 'embedding size d (and the fusion output size)' },
  hidden: { default: 256, min: 4, max: 4096, doc: 'hidden units of the fusion MLP' },
  id_embedding: { default: true, doc: 'add a learned ID embedding to warm items (cold items use content only)' },
  attention: { default: 'additive', choices: ['additive', 'none'], doc: "'additive' (GAT scores per relation) or 'none' (uniform α: degree-normalised propagation)" },
  readout: { default: 'mean', choices: ['mean', 'concat'], doc: 'final embedding: mean of the layer outputs x⁰…x^L, or their concatenation' },
  rating_weighted: { default: true, doc: 'multiply user–item messages by rating / mean rating where the split has ratings' },
  lr: { default: 0.005, min: 0, max: 1, doc: 'Adam learning rate' },
  reg: { default: 1e-4, min: 0, max: 10, doc: "λ of the L2 penalty on the batch's layer-0 rows, λ·Σ‖x⁰‖²/(2·batch)" },
  weight_decay: { default: 1e-4, min: 0, max: 1, doc: 'AdamW decay on the fusion MLP, placeholders and attention vectors' },
  dense_lr: { default: 0, min: 0, max: 1, doc: 'learning rate of the dense weights (fusion MLP, placeholders, attention vectors); 0 = lr. Large batches want a high lr for the embeddings and a lower one here' },
  dropout: { default: 0.1, min: 0, max: 0.9, doc: 'dropout on the fusion hidden layer and on the attention weights' },
  batch: { default: 4096, min: 1, max: 1 << 20, doc: 'BPR triples per step' },
  epochs: { default: 300, min: 1, max: 100000, doc: 'maximum epochs (one triple per train interaction each)' },
  eval_every: { default: 2, min: 1, max: 1000, doc: 'validate every this many epochs' },
  patience: { default: 5, min: 1, max: 1000, doc: 'stop after this many validations without improvement of ndcg@20' },
  warm_negatives: { default: true, doc: 'draw negatives among warm items only (a cold item is never a positive; as a negative it would only learn to rank last)' },
  negatives: { default: 'uniform', choices: ['uniform', 'popularity', 'hard'], doc: 'negative sampling (see BprSampler)' },
  hard_candidates: { default: 8, min: 2, max: 256, doc: "candidates per triple with negatives 'hard'" },
  ...RANKING_LOSS_PARAMS,
  content_init: { default: 0.4, min: 0, max: 10, doc: 'scale of the fusion output at initialisation (W₂ ~ N(0, content_init²/hidden)); small values start the model near its ID/graph part and let BPR grow the content part' },
  init_std: { default: 0.1, min: 0, max: 10, doc: 'standard deviation of the embeddings at initialisation (and the fusion output scale)' },
  leaky_slope: { default: 0.2, min: 0, max: 1, doc: 'negative slope of the LeakyReLU on attention logits' },
  prior: {
    default: 'none',
    choices: ['none', 'ease', 'gfcf', 'bspm'],
    doc: "add w · a closed-form model's score to the graph score (scaled to unit RMS on train pairs; src/models/item-prior.ts): 'ease' (λ on valid), 'gfcf' or 'bspm' (their defaults or prior_params). The model then exports no embeddings (not ANN-servable). 'bspm' has no cheap per-pair score (a pair costs its user's full row): use it with prior_train=false",
  },
  prior_weight: { default: 1, min: 0, max: 100, doc: 'w: weight of the prior in the score (and in the BPR loss with prior_train)' },
  prior_train: { default: true, doc: 'BPR on the graph score + w · prior (the graph part learns a residual); false: the graph part trains alone and the prior is added to its scores' },
  prior_select: { default: true, doc: 'after training, choose the final w on valid NDCG@20 among prior_weight × {0, ¼, ½, 1, 2, 4, 8, 16} and ∞ (the prior alone)' },
  prior_lambda: { default: 0, min: 0, doc: "the prior's EASE λ; 0 = chosen on valid NDCG@20 from prior_grid" },
  prior_grid: { default: '20,50,100,200,500,1000', doc: 'λ values tried for the prior when prior_lambda = 0' },
  prior_memory_mb: { default: 2048, min: 1, doc: "the prior's EASE is dense when ≈ 20·I² bytes fit in this many MB, else low-rank" },
  prior_params: { default: '', doc: "prior=gfcf|bspm: that model's params as key=value,key=value (e.g. 'k=256,alpha=0.3'); empty = its defaults" },
  prior_cache_mb: { default: 1024, min: 0, doc: "MB of the prior's score rows kept per user (4·I bytes a user): the per-epoch validations rank the same users, whose prior rows never change" },
} as const satisfies Record<string, ParamSpec>;

type P = { [K in keyof typeof MMGAT_PARAMS]: (typeof MMGAT_PARAMS)[K]['default'] extends boolean ? boolean : (typeof MMGAT_PARAMS)[K]['default'] extends number ? number : string };

/** The resolved content of a model: fusion inputs and the item–item graph over split item ids. */
export interface MmgatInputs {
  modalities: FusionModality[];
  /** encoder of each modality used (saved, checked on load) */
  encoders: Record<string, string>;
  graph: KnnGraph | null;
  /** where the graph came from: 'stored', 'built' or 'saved' */
  graphSource: string;
}

/** One neighbour in an explanation. */
export interface MmgatNeighbour {
  id: number;
  /** attention of the target on this neighbour, averaged over layers (Σ = 1 over the target's neighbours of one relation) */
  attention: number;
  /** attention × ⟨final embedding of the neighbour, final embedding of the other side⟩ */
  contribution: number;
  /** content similarity (item–item edges) */
  similarity?: number;
}

export interface MmgatExplanation {
  user: number;
  item: number;
  score: number;
  /** the user's train items: attention(user ← j), contribution = attention · ⟨e_j, e_item⟩ */
  history: MmgatNeighbour[];
  /** the item's content neighbours: attention(item ← j) on the item–item relation, contribution = attention · ⟨e_j, e_user⟩ */
  itemNeighbours: MmgatNeighbour[];
  /** the item's train users: attention(item ← v), contribution = attention · ⟨e_v, e_user⟩ */
  itemUsers: MmgatNeighbour[];
}

interface MmRelation extends Relation {
  name: 'ui' | 'ii';
  /** raw similarity per edge (ii), for explanations */
  sim: Float32Array | null;
}

interface ParamSet {
  users: Tensor;
  itemId: Tensor | null;
  /** per layer, per relation: [d, 2] (a_dst, a_src) */
  att: Tensor[][];
}

/** The fusion inputs and item–item graph that the params ask for, from `content` (async: content is loaded lazily). */
export async function resolveMmgatInputs(data: SplitData, params: Params, content?: ContentSource): Promise<MmgatInputs> {
  const q = resolveParams(mmgatSpec, params) as unknown as P;
  const need = (what: string) => ppError('PP_MODEL_PARAM', `mmgat: ${what} (no item content for this split: run plotpointe embed text${what.includes('image') ? ' / embed image' : ''} first)`);
  const modalities: FusionModality[] = [];
  const encoders: Record<string, string> = {};
  if (q.features !== 'none') {
    const names: ContentModality[] = q.features === 'fused' ? ['text', 'image'] : [q.features as ContentModality];
    const found = content ? await fusionInputs(content, names) : { inputs: [], encoders: {}, missing: names };
    if (q.features !== 'fused' && found.missing.length > 0) throw need(`features '${found.missing[0]}' needs ${found.missing[0]} embeddings`);
    for (const m of found.inputs) {
      if (m.vectors.length !== data.numItems * m.dim || m.present.length !== data.numItems) {
        throw ppError('PP_MODEL_PARAM', `mmgat: ${m.name} content has ${m.present.length} rows, the split has ${data.numItems} items`);
      }
    }
    if (found.inputs.length === 0) throw need("features 'fused' found neither text nor image embeddings");
    modalities.push(...found.inputs);
    Object.assign(encoders, found.encoders);
  }
  let graph: KnnGraph | null = null;
  let graphSource = 'none';
  if (q.item_edges) {
    const name = q.ii_modality as ContentModality;
    const stored = content ? await content.itemGraph(name) : null;
    // a stored graph was built with the graph step's k and symmetrisation: bring it to ii_k, symmetric
    graph = stored ? fitItemGraph(stored, q.ii_k as number) : null;
    graphSource = 'stored';
    if (!graph) {
      const m = content ? await content.modality(name) : null;
      if (!m) throw need(`item_edges over '${name}' needs ${name} embeddings or a stored knn-${name} graph${name === 'fused' ? ' (plotpointe embed fuse)' : ''}`);
      graph = knnItemGraph(m.vectors, m.present, data.numItems, m.dim, q.ii_k as number);
      graphSource = 'built';
    }
    if (graph.rows !== data.numItems || graph.cols !== data.numItems) {
      throw ppError('PP_MODEL_PARAM', `mmgat: the ${name} item graph is ${graph.rows} × ${graph.cols}, the split has ${data.numItems} items`);
    }
  }
  return { modalities, encoders, graph, graphSource };
}

/** A multimodal GAT over one split (see the module comment). Create it with {@link fitMmgat} or {@link loadMmgat}. */
export class MmgatModel extends TapeGraphModel {
  readonly modelName = 'mmgat';
  readonly params: P;
  readonly d: number;
  private readonly relations: MmRelation[];
  private readonly fusion: FusionMlp | null;
  private readonly p: ParamSet;
  /** node row of user u = u; of item i = U + i: selections lifting user / item tables into the node table */
  private readonly liftUsers: { s: Csr; st: CsrTransposed };
  private readonly liftItems: { s: Csr; st: CsrTransposed };
  /** [I × d] 1 for warm items (ID embedding allowed), 0 for cold ones */
  private readonly warm: Float32Array | null;
  private readonly cols = new ColumnSelectors();
  /** selection of the nodes without any edge (they keep x^l), or null */
  private readonly isolated: { s: Csr; st: CsrTransposed } | null;
  private warmNeg: WarmNegatives | null = null;

  constructor(
    data: SplitData,
    params: Params,
    seed: number,
    readonly inputs: MmgatInputs,
    /** the closed-form prior added to the score (params.prior), owned by the model */
    readonly prior: ItemPrior | null = null,
  ) {
    super(data, seed);
    this.params = resolveParams(mmgatSpec, params) as unknown as P;
    const q = this.params;
    const U = data.numUsers;
    const I = data.numItems;
    const N = U + I;
    const d = (this.d = q.dim);
    const rng = new Rng(seed);
    this.relations = [this.userItemRelation()];
    if (q.item_edges) {
      if (!inputs.graph) throw ppError('PP_MODEL_PARAM', 'mmgat: item_edges needs an item–item graph');
      this.relations.push(this.itemItemRelation(inputs.graph));
    }
    this.isolated = this.combineRelationWeights();
    const users = parameter(rng.fillNormal(allocF32(U * d, false), q.init_std), [U, d]);
    this.named.push(['users', users]);
    let itemId: Tensor | null = null;
    if (q.features === 'none' || q.id_embedding) {
      itemId = parameter(rng.fillNormal(allocF32(I * d, false), q.init_std), [I, d]);
      this.named.push(['itemId', itemId]);
    }
    this.warm = null;
    if (itemId && q.features !== 'none') {
      this.warm = allocF32(I * d);
      for (let i = 0; i < I; i++) if (!data.coldItems[i]) this.warm.fill(1, i * d, (i + 1) * d);
      for (let k = 0; k < itemId.size; k++) itemId.data[k] *= this.warm[k];
    }
    this.fusion = null;
    if (q.features !== 'none') {
      if (inputs.modalities.length === 0) throw ppError('PP_MODEL_PARAM', `mmgat: features '${q.features}' without content`);
      this.fusion = new FusionMlp({
        numItems: I,
        modalities: inputs.modalities,
        hidden: q.hidden,
        out: d,
        dropout: q.dropout,
        activation: 'gelu',
        seed: seed ^ 0x1b873593,
        outScale: q.content_init,
      });
      for (const [name, t] of this.fusion.parameters()) this.named.push([name, t]);
    }
    const att: Tensor[][] = [];
    if (q.attention === 'additive') {
      for (let l = 0; l < q.layers; l++) {
        att.push(
          this.relations.map((r) => {
            const t = parameter(rng.fillNormal(allocF32(d * 2, false), 0.1), [d, 2]);
            this.named.push([`l${l}.${r.name}.att`, t]);
            return t;
          }),
        );
      }
    }
    this.p = { users, itemId, att };
    this.initOptimizers(itemId ? ['users', 'itemId'] : ['users'], { lr: q.lr }, { lr: q.dense_lr || q.lr, weightDecay: q.weight_decay, decoupled: true });
    this.liftUsers = liftRows(N, U, 0);
    this.liftItems = liftRows(N, I, U);
    if ((q.prior !== 'none') !== (prior !== null)) throw ppError('PP_MODEL_PARAM', `mmgat: prior '${q.prior}' ${prior ? 'with' : 'without'} a fitted prior`);
    this.priorWeight = q.prior_weight;
  }

  /** w: the prior's weight in the score (prior_weight, or the one chosen on valid after training). */
  priorWeight: number;

  /** Sets w (selection on valid); the graph part is unchanged. */
  setPriorWeight(w: number): void {
    if (!(w >= 0)) throw new RangeError(`mmgat.setPriorWeight: ${w}`);
    this.priorWeight = w;
  }

  /** The symmetric user–item relation of the train part (a repeated pair is one edge with its mean rating). */
  private userItemRelation(): MmRelation {
    const g = userItemGraph(this.data);
    const pairRating = meanPairRatings(g, this.data.train.ratings);
    let sum = 0;
    let count = 0;
    for (const r of pairRating) {
      if (Number.isFinite(r)) {
        sum += r;
        count++;
      }
    }
    const useRatings = this.params.rating_weighted && count > 0;
    const mean = count ? sum / count : 1;
    if (useRatings && !(mean > 0)) throw ppError('PP_MODEL_PARAM', `mmgat.rating_weighted: the mean train rating is ${mean}`);
    const r = perEdge(g, pairRating, NaN);
    const calib = degreeCalibration(g.a, (e) => (useRatings && Number.isFinite(r[e]) ? Math.max(r[e], 0) / mean : 1));
    return { name: 'ui', a: g.a, at: g.at, calib, msg: null, bias: null, uniform: uniformWeights(g.a), sim: null };
  }

  /** The item–item relation: row U + i lists U + j for the kNN neighbours j of i, logits biased by the similarity. */
  private itemItemRelation(g: KnnGraph): MmRelation {
    const a = liftItemGraph(g, this.numUsers);
    const sim = Float32Array.from(g.weights);
    const scale = this.params.ii_sim_scale;
    let bias: Float32Array | null = null;
    if (scale > 0) {
      bias = allocF32(sim.length, false);
      for (let e = 0; e < sim.length; e++) bias[e] = scale * sim[e];
    }
    return { name: 'ii', a, at: transpose(a), calib: degreeCalibration(a), msg: null, bias, uniform: uniformWeights(a), sim };
  }

  protected sampling(): SamplingConfig {
    return samplingFrom(this.params);
  }

  protected override onSampler(): void {
    if (this.params.warm_negatives) this.warmNeg = new WarmNegatives(this.data.train, this.data.coldItems, this.seed);
  }

  protected override beforeStep(batch: BprBatch): void {
    this.warmNeg?.replace(batch.users, batch.neg, this.sampler!.negPerPos, batch.size);
  }

  // ---- forward -----------------------------------------------------------------------------

  private constParams(): ParamSet {
    const c = (t: Tensor) => constant(t.data, t.shape);
    return { users: c(this.p.users), itemId: this.p.itemId ? c(this.p.itemId) : null, att: this.p.att.map((l) => l.map(c)) };
  }

  /** X⁰ [N × d]: users' embeddings and items' content (+ ID) representations, lifted into node rows. */
  private inputLayer(tape: Tape, p: ParamSet, rng: Rng | null, training: boolean): Tensor {
    let items: Tensor | null = null;
    if (this.fusion) items = training ? this.fusion.forward(tape, null, rng) : constant(this.fusion.forwardAll(), [this.numItems, this.d]);
    if (p.itemId) {
      const id = this.warm ? tape.mul(p.itemId, constant(this.warm, p.itemId.shape)) : p.itemId;
      items = items ? tape.add(items, id) : id;
    }
    const x = tape.spmm(this.liftUsers.s, this.liftUsers.st, p.users);
    return tape.add(x, tape.spmm(this.liftItems.s, this.liftItems.st, items!));
  }

  /** Layer outputs x⁰ … x^L and, per layer and relation, the softmax attention (before dropout). */
  private propagate(tape: Tape, p: ParamSet, rng: Rng | null, training: boolean): { xs: Tensor[]; alphas: Tensor[][] } {
    const q = this.params;
    const xs = [this.inputLayer(tape, p, rng, training)];
    const alphas: Tensor[][] = [];
    for (let l = 0; l < q.layers; l++) {
      const x = xs[l];
      const hs: Tensor[] = [];
      const layerAlphas: Tensor[] = [];
      for (const [k, r] of this.relations.entries()) {
        const alpha =
          q.attention === 'additive' ? softmaxAttention(tape, r, additiveLogits(tape, r, tape.matmul(x, p.att[l][k]), 0, q.leaky_slope, this.cols)) : uniformAttention(r);
        layerAlphas.push(alpha);
        const h = propagateEdges(tape, r, x, attentionDropout(tape, alpha, q.dropout, rng, training));
        hs.push(h);
      }
      xs.push(this.combineRelations(tape, x, hs));
      alphas.push(layerAlphas);
    }
    return { xs, alphas };
  }

  /**
   * x^{l+1} = Σ_r c_r ⊙ h^{l,r} + z ⊙ x^l: c_r[n] = 1 / (relations with edges at n) (users: ui only; warm
   * items: the mean of both; cold items: ii only) and z[n] = 1 for a node without any edge (it keeps its
   * representation instead of vanishing from the layer mean). c_r (and β on ii) are folded into the edge weights
   * ({@link combineRelationWeights}), so the layer is the sum of the relations' messages, and z is a row selection.
   */
  private combineRelations(tape: Tape, x: Tensor, hs: Tensor[]): Tensor {
    let out = hs.length > 1 ? tape.add(hs[0], hs[1]) : hs[0];
    if (this.isolated) out = tape.add(out, tape.spmm(this.isolated.s, this.isolated.st, x));
    return out;
  }

  /**
   * Multiplies each relation's edge calibration by c_r of the edge's target row (and by β = ii_weight on ii), so
   * that h^{l,r} already carries c_r ⊙ β_r; returns the selection of the nodes without any edge (null: none).
   */
  private combineRelationWeights(): { s: Csr; st: CsrTransposed } | null {
    const N = this.numUsers + this.numItems;
    const count = new Uint8Array(N);
    for (const r of this.relations) for (let n = 0; n < N; n++) if (r.a.indptr[n + 1] > r.a.indptr[n]) count[n]++;
    for (const r of this.relations) {
      const beta = r.name === 'ii' ? this.params.ii_weight : 1;
      if (this.relations.length === 1 && beta === 1) continue;
      r.calib ??= allocF32(r.a.indices.length, false).fill(1);
      for (let n = 0; n < N; n++) {
        const c = beta / count[n];
        for (let e = r.a.indptr[n]; e < r.a.indptr[n + 1]; e++) r.calib[e] *= c;
      }
    }
    const isolated: number[] = [];
    for (let n = 0; n < N; n++) if (count[n] === 0) isolated.push(n);
    return isolated.length ? selectRows(N, Int32Array.from(isolated)) : null;
  }

  private readout(tape: Tape, xs: Tensor[]): Tensor {
    if (xs.length === 1) return xs[0];
    return this.params.readout === 'concat' ? tape.concatColumns(xs) : tape.mean(xs);
  }

  /**
   * The ranking (BPR or sampled softmax) + L2 loss of a batch on `tape` (users u, positives i [b], candidates j
   * [b·N], N per row). `dropoutSeed`: dropout from a fresh Rng with this seed (gradient checks), null = no dropout,
   * undefined = the model's training stream.
   */
  lossOn(tape: Tape, users: Int32Array, pos: Int32Array, neg: Int32Array, dropoutSeed?: number | null): Tensor {
    const U = this.numUsers;
    const rng = this.dropoutRng(dropoutSeed);
    const { xs } = this.propagate(tape, this.p, rng, true);
    const fin = this.readout(tape, xs);
    const b = users.length;
    const N = neg.length / b;
    const pi = Int32Array.from(pos, (i) => U + i);
    const ni = Int32Array.from(neg, (i) => U + i);
    // each candidate row's user: users repeated N times
    const un = N === 1 ? users : Int32Array.from(repeatEach(b, N), (r) => users[r]);
    const eu = tape.gatherRows(fin, users);
    let sPos = tape.rowDot(eu, tape.gatherRows(fin, pi));
    let sNeg = tape.rowDot(N === 1 ? eu : tape.gatherRows(fin, un), tape.gatherRows(fin, ni));
    const w = this.priorWeight;
    if (this.prior && this.params.prior_train && w > 0 && Number.isFinite(w)) {
      // residual: the ranking loss on graph score + w·prior (the prior is fixed: no gradient); positives and candidates in one call
      const us = new Int32Array(b + un.length);
      us.set(users);
      us.set(un, b);
      const its = new Int32Array(b + neg.length);
      its.set(pos);
      its.set(neg, b);
      const p = this.prior.pairScores(us, its);
      sPos = tape.add(sPos, constant(p.slice(0, b).map((v) => w * v), [b]));
      sNeg = tape.add(sNeg, constant(p.slice(b).map((v) => w * v), [neg.length]));
    }
    const rank = this.rankingLoss(tape, sPos, sNeg);
    const lambda = this.params.reg;
    if (lambda <= 0) return rank;
    // L2 on the batch's layer-0 rows: users, positives and candidates (each of N candidates weighing 1/N)
    const nodes = new Int32Array(N === 1 ? 3 * b : 2 * b);
    nodes.set(users);
    nodes.set(pi, b);
    if (N === 1) nodes.set(ni, 2 * b);
    const l2 = tape.l2Rows(xs[0], nodes, lambda, b);
    return tape.add(rank, N === 1 ? l2 : tape.add(l2, tape.l2Rows(xs[0], ni, lambda / N, b)));
  }

  // ---- inference ---------------------------------------------------------------------------

  /** s = graph score (+ w · prior); w = ∞: the prior alone. */
  override scoreUsers(users: Int32Array, out: Float32Array): void {
    if (this.prior && this.priorWeight === Infinity) return priorAlone(this.prior, users, out);
    super.scoreUsers(users, out);
    if (this.prior) this.prior.addScores(users, out, this.priorWeight);
  }

  /** The graph part's embeddings; null when a prior adds to the score (a dot product no longer gives it). */
  override embeddings(): { users: Float32Array; items: Float32Array; dim: number } | null {
    if (this.prior && this.priorWeight > 0) return null;
    return super.embeddings();
  }

  protected computeFinal(): FinalEmbeddings {
    const U = this.numUsers;
    const tape = new Tape();
    try {
      const { xs, alphas } = this.propagate(tape, this.constParams(), null, false);
      const fin = this.readout(tape, xs);
      const D = fin.cols;
      const perRelation = this.relations.map((_, k) => alphas.map((layer) => layer[k].data.slice()));
      return { users: fin.data.slice(0, U * D), items: fin.data.slice(U * D), alphas: perRelation };
    } finally {
      tape.dispose();
    }
  }

  /**
   * Attention of relation `relation` at layer `layer` (0-based), one weight per edge of {@link adjacency}
   * (inference: no dropout). Weights sum to 1 over each node's incoming edges of that relation.
   */
  attention(relation: 'ui' | 'ii', layer: number): Float32Array {
    const k = this.relations.findIndex((r) => r.name === relation);
    if (k < 0) throw new RangeError(`mmgat.attention: no ${relation} relation`);
    const a = this.refresh().alphas[k];
    if (!(layer >= 0 && layer < a.length)) throw new RangeError(`mmgat.attention: layer ${layer} not in [0, ${a.length})`);
    return a[layer].slice();
  }

  /** The relation's graph over nodes (user u = u, item i = U + i). */
  adjacency(relation: 'ui' | 'ii'): Csr {
    const r = this.relations.find((x) => x.name === relation);
    if (!r) throw new RangeError(`mmgat.adjacency: no ${relation} relation`);
    return r.a;
  }

  /** Item representations of layer 0 (content + ID), [numItems × d], no dropout. */
  itemInputs(): Float32Array {
    const tape = new Tape();
    try {
      const x0 = this.inputLayer(tape, this.constParams(), null, false);
      return x0.data.slice(this.numUsers * this.d);
    } finally {
      tape.dispose();
    }
  }

  /**
   * The attention behind the score of (user, item): the user's history items (user ← item attention), the
   * item's content neighbours (item–item attention) and its train users, with contributions; `top` of each.
   */
  explain(user: number, item: number, top = 5): MmgatExplanation {
    if (!(user >= 0 && user < this.numUsers)) throw new RangeError(`mmgat.explain: user ${user} out of range`);
    if (!(item >= 0 && item < this.numItems)) throw new RangeError(`mmgat.explain: item ${item} out of range`);
    const c = this.refresh();
    const U = this.numUsers;
    const D = c.users.length / U;
    const dot = (x: Float32Array, i: number, y: Float32Array, j: number) => {
      let s = 0;
      for (let k = 0; k < D; k++) s += x[i * D + k] * y[j * D + k];
      return s;
    };
    const att = (k: number, row: number, e: number) => meanAttention(c.alphas[k], this.relations[k].a.indptr, row, e);
    const ui = this.relations[0].a;
    const history: MmgatNeighbour[] = [];
    for (let e = ui.indptr[user]; e < ui.indptr[user + 1]; e++) {
      const j = ui.indices[e] - U;
      const attention = att(0, user, e);
      history.push({ id: j, attention, contribution: attention * dot(c.items, j, c.items, item) });
    }
    const itemUsers: MmgatNeighbour[] = [];
    for (let e = ui.indptr[U + item]; e < ui.indptr[U + item + 1]; e++) {
      const v = ui.indices[e];
      const attention = att(0, U + item, e);
      itemUsers.push({ id: v, attention, contribution: attention * dot(c.users, v, c.users, user) });
    }
    const itemNeighbours: MmgatNeighbour[] = [];
    const ii = this.relations[1];
    if (ii) {
      for (let e = ii.a.indptr[U + item]; e < ii.a.indptr[U + item + 1]; e++) {
        const j = ii.a.indices[e] - U;
        const attention = att(1, U + item, e);
        itemNeighbours.push({ id: j, attention, contribution: attention * dot(c.items, j, c.users, user), similarity: ii.sim![e] });
      }
    }
    const by = (x: MmgatNeighbour, y: MmgatNeighbour) => y.contribution - x.contribution || x.id - y.id;
    return {
      user,
      item,
      score: dot(c.users, user, c.items, item),
      history: history.sort(by).slice(0, top),
      itemNeighbours: itemNeighbours.sort(by).slice(0, top),
      itemUsers: itemUsers.sort(by).slice(0, top),
    };
  }

  /** The attention the user pays to each of their train items (explain's `history`, all of them, by item id). */
  historyAttention(user: number): Map<number, number> {
    const alphas = this.refresh().alphas[0];
    const ui = this.relations[0].a;
    const out = new Map<number, number>();
    for (let e = ui.indptr[user]; e < ui.indptr[user + 1]; e++) out.set(ui.indices[e] - this.numUsers, meanAttention(alphas, ui.indptr, user, e));
    return out;
  }

  /**
   * Saves parameters, the item–item graph used, and the final embeddings (so that a split without content
   * can still be scored after a reload).
   */
  async save(dir: string): Promise<void> {
    const tensors: Record<string, Float32Array> = {};
    for (const [name, t] of this.named) tensors[name] = t.data;
    const c = this.refresh();
    tensors['final.users'] = c.users;
    tensors['final.items'] = c.items;
    const g = this.inputs.graph;
    if (g && this.params.item_edges) {
      // ids as float32 are exact below 2^24
      tensors['ii.indptr'] = Float32Array.from(g.indptr);
      tensors['ii.indices'] = Float32Array.from(g.indices);
      tensors['ii.weights'] = g.weights;
    }
    if (this.prior) await this.prior.save(join(dir, 'prior'));
    await saveState(join(dir, 'mmgat'), {
      tensors,
      meta: {
        model: 'mmgat',
        version: 1,
        params: this.params,
        priorWeight: savedWeight(this.priorWeight),
        seed: this.seed,
        numUsers: this.numUsers,
        numItems: this.numItems,
        dim: c.users.length / this.numUsers,
        modalities: this.inputs.modalities.map((m) => ({ name: m.name, dim: m.dim })),
        encoders: this.inputs.encoders,
        graphSource: this.inputs.graphSource,
        splitHash: this.data.manifest.split_hash,
      },
    });
  }

  dispose(): void {
    this.disposeBase((name) => !name.startsWith('fusion.'));
    this.fusion?.dispose();
    for (const r of this.relations) {
      freeCsr(r.a);
      freeCsr(r.at);
      for (const x of [r.calib, r.uniform, r.bias]) if (x) free(x);
    }
    for (const l of [this.liftUsers, this.liftItems]) {
      freeCsr(l.s);
      freeCsr(l.st);
    }
    this.prior?.dispose();
    if (this.warm) free(this.warm);
    this.cols.dispose();
    if (this.isolated) {
      freeCsr(this.isolated.s);
      freeCsr(this.isolated.st);
    }
  }
}

/** A reloaded mmgat without its content: scores and exports the saved final embeddings (no explanations, no training). */
export class MmgatScorer implements Recommender {
  readonly modelName = 'mmgat';
  private readonly base: EmbeddingScorer;
  constructor(
    readonly numUsers: number,
    readonly numItems: number,
    private readonly state: TensorState,
    private readonly prior: ItemPrior | null = null,
    private readonly priorWeight = 0,
  ) {
    const users = state.tensors['final.users'];
    this.base = new EmbeddingScorer('mmgat', numUsers, numItems, users.length / numUsers, users, state.tensors['final.items'], state.meta);
  }
  scoreUsers(users: Int32Array, out: Float32Array): void {
    if (this.prior && this.priorWeight === Infinity) return priorAlone(this.prior, users, out);
    this.base.scoreUsers(users, out);
    if (this.prior) this.prior.addScores(users, out, this.priorWeight);
  }
  /** The saved final embeddings; null when a prior adds to the score. */
  embeddings(): { users: Float32Array; items: Float32Array; dim: number } | null {
    return this.prior && this.priorWeight > 0 ? null : this.base.embeddings();
  }
  async save(dir: string): Promise<void> {
    if (this.prior) await this.prior.save(join(dir, 'prior'));
    await saveState(join(dir, 'mmgat'), this.state);
  }
  dispose(): void {
    this.prior?.dispose();
    this.base.dispose();
  }
}

/** prior_select: the final w is chosen on valid among prior_weight × these (∞: the prior alone). */
export const PRIOR_WEIGHT_FACTORS = [0, 0.25, 0.5, 1, 2, 4, 8, 16, Infinity];

/** out = the prior's score alone (the blend at w = ∞, whose ranking is the prior's). */
function priorAlone(prior: ItemPrior, users: Int32Array, out: Float32Array): void {
  out.fill(0, 0, users.length * prior.numItems);
  prior.addScores(users, out, 1);
}

/** w as saved in the model's meta (JSON has no ∞). */
function savedWeight(w: number): number | string {
  return w === Infinity ? 'inf' : w;
}

function loadedWeight(w: unknown): number {
  return w === 'inf' ? Infinity : Number(w);
}

/** Trains mmgat on `ctx.data` with the content of `ctx.content` (valid for early stopping). */
export async function fitMmgat(ctx: FitContext): Promise<MmgatModel> {
  const params = resolveParams(mmgatSpec, ctx.params);
  const inputs = await resolveMmgatInputs(ctx.data, params, ctx.content);
  const t0 = performance.now();
  let validateSeconds = 0;
  const timedValidate = async (m: Recommender) => {
    const v0 = performance.now();
    const r = await ctx.validate(m);
    validateSeconds = (performance.now() - v0) / 1000;
    return r;
  };
  const prior = await fitPrior({ ...ctx, validate: timedValidate }, params);
  const priorSeconds = (performance.now() - t0) / 1000;
  const model = new MmgatModel(ctx.data, params, ctx.seed, inputs, prior);
  const q = model.params;
  const select = prior !== null && q.prior_select && ctx.data.valid.indices.length > 0;
  const grid = PRIOR_WEIGHT_FACTORS.map((f) => (f === Infinity ? f : f * q.prior_weight)).filter((x, k, a) => a.indexOf(x) === k);
  // the prior's fit and the weight selection after training (one validation per weight, timed on the prior's) count in the budget
  const reserve = priorSeconds + (select ? grid.length * validateSeconds : 0);
  await trainLoop({ ...ctx, budgetSeconds: ctx.budgetSeconds - reserve }, model, { maxEpochs: q.epochs, evalEvery: q.eval_every, patience: q.patience });
  if (select) {
    const progress = ctx.progress('mmgat: prior weight on valid', grid.length);
    try {
      const chosen = await selectPriorWeight(grid, (x) => model.setPriorWeight(x), () => ctx.validate(model));
      const tried = chosen.tried.map((t) => `${t.weight}:${(t.metrics['ndcg@20'] ?? NaN).toFixed(4)}`).join(',');
      progress.update(grid.length, { prior_weight: chosen.weight, 'ndcg@20': chosen.value, tried });
    } finally {
      progress.stop();
    }
  }
  return model;
}

/**
 * The closed-form prior of `prior` (EASE: λ on valid), or null. A graph-filter prior is validated alone once
 * (its valid NDCG@20 in the progress line; the validation's time sizes the budget reserved for choosing w, and
 * it fills the row cache with the validation users).
 */
async function fitPrior(ctx: FitContext, params: Params): Promise<ItemPrior | null> {
  if (params.prior === 'none') return null;
  const kind = String(params.prior) as PriorKind;
  const progress = ctx.progress(`mmgat: prior (${kind === 'ease' ? 'ease λ on valid' : kind})`, 1);
  try {
    const prior = await ItemPrior.fit(
      ctx.data,
      {
        kind,
        lambda: Number(params.prior_lambda),
        grid: String(params.prior_grid),
        memoryMb: Number(params.prior_memory_mb),
        params: String(params.prior_params),
        cacheMb: Number(params.prior_cache_mb),
      },
      ctx.seed,
      ctx.validate,
      (lambda, m) => progress.update(0, { lambda, ...(m['ndcg@20'] !== undefined ? { 'ndcg@20': m['ndcg@20'] } : {}) }),
    );
    if (kind !== 'ease' && ctx.data.valid.indices.length > 0) {
      const alone: Recommender = {
        modelName: `prior-${kind}`,
        numUsers: ctx.data.numUsers,
        numItems: ctx.data.numItems,
        scoreUsers: (users, out) => priorAlone(prior, users, out),
        save: async () => {},
      };
      const m = await ctx.validate(alone);
      progress.update(1, { [`${kind} valid ndcg@20`]: m['ndcg@20'] ?? NaN, 'recall@20': m['recall@20'] ?? NaN });
      // once the validation users' rows are kept, a validation costs the ranking only: time that one (it sizes the reserve)
      if (prior.cachedUsers > 0) await ctx.validate(alone);
    }
    return prior;
  } finally {
    progress.stop();
  }
}

/**
 * Reloads a saved mmgat. With the split's content (the same modalities and encoders) the full model is rebuilt
 * (explanations, attention, fine-tuning); without it, a {@link MmgatScorer} over the saved final embeddings.
 */
export async function loadMmgat(dir: string, data: SplitData, content?: ContentSource): Promise<MmgatModel | MmgatScorer> {
  const state = await loadState(join(dir, 'mmgat'));
  if (!state) throw ppError('PP_MODEL_LOAD', `no mmgat model in ${dir}`);
  const meta = state.meta as {
    model?: string;
    params: Params;
    seed: number;
    numUsers: number;
    numItems: number;
    modalities: { name: string; dim: number }[];
    encoders: Record<string, string>;
    graphSource: string;
    priorWeight?: number | string;
  };
  if (meta.model !== 'mmgat') throw ppError('PP_MODEL_LOAD', `${dir} holds a ${meta.model ?? 'unknown'} model, not mmgat`);
  if (meta.numUsers !== data.numUsers || meta.numItems !== data.numItems) {
    throw ppError('PP_MODEL_LOAD', `mmgat in ${dir} was trained on ${meta.numUsers} users × ${meta.numItems} items, the split has ${data.numUsers} × ${data.numItems}`);
  }
  const t = state.tensors;
  const prior =
    meta.params.prior !== undefined && meta.params.prior !== 'none' ? await ItemPrior.load(join(dir, 'prior'), data, Number(meta.params.prior_cache_mb ?? 0)) : null;
  const priorWeight = loadedWeight(meta.priorWeight ?? meta.params.prior_weight ?? 0);
  const modalities: FusionModality[] = [];
  let complete = true;
  for (const m of meta.modalities) {
    const c = content ? await content.modality(m.name as ContentModality) : null;
    if (!c || c.dim !== m.dim || c.encoder !== meta.encoders[m.name]) {
      complete = false;
      break;
    }
    modalities.push({ name: m.name, dim: c.dim, vectors: c.vectors, present: c.present });
  }
  if (!complete) return new MmgatScorer(data.numUsers, data.numItems, state, prior, priorWeight);
  let graph: KnnGraph | null = null;
  if (t['ii.indptr']) {
    graph = { rows: data.numItems, cols: data.numItems, indptr: Int32Array.from(t['ii.indptr']), indices: Int32Array.from(t['ii.indices']), weights: t['ii.weights'] };
  }
  const model = new MmgatModel(data, meta.params, meta.seed, { modalities, encoders: meta.encoders, graph, graphSource: 'saved' }, prior);
  model.setPriorWeight(priorWeight);
  model.setState({ tensors: t, meta: {} });
  return model;
}

export const mmgatSpec: ModelSpec = registerModel({
  name: 'mmgat',
  description: 'Multimodal GAT: items from fused content (+ ID for warm items), user–item and item–item (kNN) relations with attention per relation, BPR',
  kind: 'trained',
  readsContent: true,
  contentReads: (params) => {
    const q = resolveParams(mmgatSpec, params) as unknown as P;
    const embeddings: ContentModality[] = q.features === 'none' ? [] : q.features === 'fused' ? ['text', 'image'] : [q.features as ContentModality];
    const graphs: ContentModality[] = q.item_edges ? [q.ii_modality as ContentModality] : [];
    // without a stored graph mmgat builds the item–item graph from that modality's vectors
    for (const m of graphs) if (!embeddings.includes(m)) embeddings.push(m);
    return { embeddings, graphs };
  },
  params: MMGAT_PARAMS,
  fit: (ctx: FitContext): Promise<Recommender> => fitMmgat(ctx),
  load: (dir: string, data: SplitData, content?: ContentSource): Promise<Recommender> => loadMmgat(dir, data, content),
});
