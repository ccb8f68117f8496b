/**
 * mmgat: a multimodal graph attention recommender. Nodes are users (learned embeddings) and items, whose
 * input is computed from their content, so that items without any interaction (cold items) still have one.
 * Two relations (edge types) are propagated, each with its own attention:
 *
 *   user–item (ui): the symmetric train graph (u ← i and i ← u), rating-weighted where the split has ratings;
 *   item–item (ii): a kNN graph over item content (cosine similarity; `ii_modality`), union-symmetrised.
 *
 * Item input (row U + i of X⁰, d columns):
 *
 *     x⁰_i = f(content_i) + ω_i · e_i        f: the fusion MLP ({@link FusionMlp}) over the `features` modalities
 *                                            (text, image, or both = 'fused'; learned placeholders where missing),
 *                                            e: learned ID embedding, ω_i = 1 for warm items (train edges), 0 cold
 *     x⁰_u = p_u                             (users: learned)
 *
 * (`features: none` is the ID-only ablation: x⁰_i = e_i for every item.) Layer l, per relation r:
 *
 *     s^r_ij   = LeakyReLU(a^{l,r}_dstᵀ x^l_i + a^{l,r}_srcᵀ x^l_j) (+ sim_ij for r = ii)      (two per-node scores,
 *                                                                                            an edge gather)
 *     α^r_ij   = softmax_{j ∈ N_r(i)} s^r_ij                        (segment softmax per relation)
 *     w^r_ij   = dropout(α^r_ij) · sqrt(deg_r(i) / deg_r(j)) [· rating_ij / mean rating]
 *     h^{l,r}_i = Σ_j w^r_ij x^l_j                                   (SpMM with per-edge values)
 *     x^{l+1}_n = Σ_r c_r[n] · h^{l,r}_n  (+ x^l_n if n has no edge)   (c_r[n] = 1/#relations with edges at n;
 *                                                                   h^{l,ii} scaled by β = `ii_weight`)
 *
 * The degree calibration makes uniform attention equal LightGCN's symmetric normalisation on the ui relation
 * (see src/models/gat.ts, where this was measured), so training learns deviations from it. A cold item has
 * no ui edges: its layers come from its content neighbours only. Averaging the relations per node (instead of
 * summing them) keeps warm and cold items on one scale: on the synthetic cold-item split of mmgat.test.ts,
 * summing gave cold-item NDCG@10 0.13, the per-node mean 0.43 (random 0.08). Negatives are drawn among warm
 * items (`warm_negatives`, see src/models/warm-negatives.ts). Readout: the mean of x⁰ … x^L (LightGCN) or
 * their concatenation (score = Σ_l ⟨x^l_u, x^l_i⟩). Loss: BPR on the readout with the split's sampler
 * (uniform, popularity or hard negatives) + λ/(2b)·Σ‖x⁰‖² over the batch's nodes; Adam on the embeddings, AdamW
 * (`weight_decay`) on the MLP and attention vectors; early stopping on valid NDCG@20 through {@link trainLoop}.
 *
 * Content comes from `FitContext.content` (the split's item vectors per modality and kNN graphs). When the
 * lake has no stored graph for `ii_modality`, the graph is built here from that modality's vectors (exact kNN,
 * k = `ii_k`, for catalogs up to 50,000 items; the HNSW builder above). The graph used is saved with the model.
 *
 * Measured on Amazon Scientific (leave-one-out split `given`: 8,442 users, 4,385 items, ~5 train items per
 * user; USE-lite 512-d text, no images; full ranking; lr 0.005, batch 8192, 2 layers, ii_k 10, attention
 * none unless said; machine load 5–28 on 2 cores, budget-cut runs resumed with `train --resume`):
 *
 * | config | valid NDCG@20 (seed 1) | test NDCG@20 / Recall@20 (3 seeds) |
 * |---|---|---|
 * | features none, item_edges (text kNN), dim 128 (selected on valid) | 0.0975 | 0.0662 ± 0.0006 / 0.1285 ± 0.0003 |
 * | features none, item_edges (text kNN), dim 64 | 0.0895 | 0.0629 ± 0.0006 / 0.1232 ± 0.0013 |
 * | same, additive attention, dim 64 | 0.0843 (15-min budget) | — |
 * | features text, item_edges, dim 64, content_init 0.02 | 0.0634 (stopped at epoch 28; the row above had 0.085 there) | — |
 * | features text, item_edges, additive attention, dim 64 | 0.0657 (stopped at epoch 20) | — |
 * | ID-only references: itemknn tuned on valid / LightGCN dim 64 | 0.0982 / 0.0868 | 0.0648 / 0.0613 ± 0.0010 |
 *
 * On this catalog the text helps through the item–item graph (ID embeddings smoothed over text neighbours,
 * as FREEDOM found for frozen content graphs), while text fed through the fusion MLP as the item input makes
 * the model rank by topic and loses ~0.02 valid NDCG; uniform attention beats learned attention at equal
 * time (and an epoch costs less). On the synthetic cold-item split of the tests the fusion input is what
 * carries cold items. Defaults stay general (features 'fused').
 *
 * {@link MmgatModel.explain} gives the attention behind a (user, item) score: the user's history items, the
 * item's content neighbours and its train users, each with its attention weight and contribution.
 */
import { join } from 'node:path';
import { ppError } from '../errors.js';
import type { SplitData } from '../graphs/split-data.js';
import { buildKnnGraph, csrFromEdges, exactKnn, unionGraph, type KnnGraph } from '../graphs/knn-graph.js';
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
  parameter,
  transpose,
  transposeDense,
  zeroGrad,
  type Csr,
  type CsrTransposed,
} from '../core/index.js';
import { FusionMlp, type FusionModality } from '../embeddings/fusion/fusion-mlp.js';
import { fusionInputs } from '../embeddings/fusion/fusion-bpr.js';
import { BprSampler, pickHardest, type BprBatch } from '../train/sampler.js';
import { trainLoop, type TrainableModel } from '../train/trainer.js';
import { loadState, paramTensors, restoreParamTensors, saveState, type TensorState } from '../train/checkpoint.js';
import { registerModel, resolveParams } from './registry.js';
import { WarmNegatives } from './warm-negatives.js';
import type { ContentModality, ContentSource, FitContext, ModelSpec, ParamSpec, Params, Recommender } from './model.js';

export const MMGAT_PARAMS = {
  features: {
    default: 'fused',
    choices: ['none', 'text', 'image', 'fused'],
    doc: "item input: the fusion MLP over 'text', 'image' or both ('fused': every modality the lake has), or 'none' (ID embeddings only: the ablation)",
  },
  item_edges: { default: true, doc: 'propagate over the item–item kNN relation as well as user–item' },
  ii_modality: { default: 'text', choices: ['text', 'image', 'fused'], doc: 'content whose kNN graph gives the item–item edges' },
  ii_k: { default: 10, min: 1, max: 200, doc: 'neighbours per item when the item–item graph is built here (no stored graph)' },
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
  dropout: { default: 0.1, min: 0, max: 0.9, doc: 'dropout on the fusion hidden layer and on the attention weights' },
  batch: { default: 4096, min: 1, max: 1 << 20, doc: 'BPR triples per step' },
  epochs: { default: 300, min: 1, max: 100000, doc: 'maximum epochs (one triple per train interaction each)' },
  eval_every: { default: 2, min: 1, max: 1000, doc: 'validate every this many epochs' },
  patience: { default: 5, min: 1, max: 1000, doc: 'stop after this many validations without improvement of ndcg@20' },
  warm_negatives: { default: true, doc: 'draw negatives among warm items only (a cold item is never a positive; as a negative it would only learn to rank last)' },
  negatives: { default: 'uniform', choices: ['uniform', 'popularity', 'hard'], doc: 'negative sampling (see BprSampler)' },
  hard_candidates: { default: 8, min: 2, max: 256, doc: "candidates per triple with negatives 'hard'" },
  content_init: { default: 0.4, min: 0, max: 10, doc: 'scale of the fusion output at initialisation (W₂ ~ N(0, content_init²/hidden)); small values start the model near its ID/graph part and let BPR grow the content part' },
  init_std: { default: 0.1, min: 0, max: 10, doc: 'standard deviation of the embeddings at initialisation (and the fusion output scale)' },
  leaky_slope: { default: 0.2, min: 0, max: 1, doc: 'negative slope of the LeakyReLU on attention logits' },
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

interface Relation {
  name: 'ui' | 'ii';
  a: Csr;
  at: CsrTransposed;
  /** sqrt(deg(i)/deg(j)) [· rating/mean] per edge */
  weight: Float32Array;
  /** constant added to the logits (ii: scaled similarity) */
  bias: Float32Array | null;
  /** uniform α = 1/deg(i) (attention 'none') */
  uniform: Float32Array;
  /** raw similarity per edge (ii), for explanations */
  sim: Float32Array | null;
}

interface ParamSet {
  users: Tensor;
  itemId: Tensor | null;
  /** per layer, per relation: [d, 2] (a_dst, a_src) */
  att: Tensor[][];
}

interface Cache {
  users: Float32Array;
  items: Float32Array;
  itemsT: Float32Array | null;
  /** per relation, per layer: softmax weights per edge (no dropout) */
  alphas: Float32Array[][];
}

function freeCsr(a: Csr): void {
  free(a.indptr);
  free(a.indices);
  free(a.values);
  if ('perm' in a) free((a as CsrTransposed).perm);
}

/** Builds a CSR (heap) from per-row sorted neighbour lists. */
function heapCsr(n: number, rows: { cols: number[] }[] | null, indptrIn?: Int32Array, indicesIn?: Int32Array): Csr {
  let indptr: Int32Array;
  let indices: Int32Array;
  if (rows) {
    indptr = allocI32(n + 1);
    for (let r = 0; r < n; r++) indptr[r + 1] = indptr[r] + rows[r].cols.length;
    indices = allocI32(indptr[n], false);
    for (let r = 0; r < n; r++) indices.set(rows[r].cols, indptr[r]);
  } else {
    indptr = allocI32(n + 1, false);
    indptr.set(indptrIn!);
    indices = allocI32(indicesIn!.length, false);
    indices.set(indicesIn!);
  }
  return { rows: n, cols: n, indptr, indices, values: allocF32(indices.length, false).fill(1) };
}

/** Item–item kNN graph over split item ids from one modality's vectors (exact up to 50,000 items), union-symmetrised. */
export function buildItemGraph(vectors: Float32Array, present: Uint8Array, n: number, d: number, k: number): KnnGraph {
  if (n > 50000) return buildKnnGraph(vectors, n, d, { k, present, symmetrize: 'union', threads: 1 });
  const queries: number[] = [];
  for (let i = 0; i < n; i++) if (present[i]) queries.push(i);
  const src: number[] = [];
  const dst: number[] = [];
  const w: number[] = [];
  const block = 2048;
  for (let s = 0; s < queries.length; s += block) {
    const q = Int32Array.from(queries.slice(s, s + block));
    const r = exactKnn(vectors, n, d, q, k, { present });
    for (let t = 0; t < q.length; t++) {
      for (let c = 0; c < r.counts[t]; c++) {
        src.push(q[t]);
        dst.push(r.indices[t * k + c]);
        w.push(r.sims[t * k + c]);
      }
    }
  }
  return unionGraph(csrFromEdges(n, n, Int32Array.from(src), Int32Array.from(dst), Float32Array.from(w)));
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
    graph = content ? await content.itemGraph(name) : null;
    graphSource = 'stored';
    if (!graph) {
      const m = content ? await content.modality(name) : null;
      if (!m) throw need(`item_edges over '${name}' needs ${name} embeddings or a stored knn-${name} graph${name === 'fused' ? ' (plotpointe embed fuse)' : ''}`);
      graph = buildItemGraph(m.vectors, m.present, data.numItems, m.dim, q.ii_k as number);
      graphSource = 'built';
    }
    if (graph.rows !== data.numItems || graph.cols !== data.numItems) {
      throw ppError('PP_MODEL_PARAM', `mmgat: the ${name} item graph is ${graph.rows} × ${graph.cols}, the split has ${data.numItems} items`);
    }
  }
  return { modalities, encoders, graph, graphSource };
}

/** A multimodal GAT over one split (see the module comment). Create it with {@link fitMmgat} or {@link loadMmgat}. */
export class MmgatModel implements TrainableModel {
  readonly modelName = 'mmgat';
  readonly numUsers: number;
  readonly numItems: number;
  readonly params: P;
  readonly d: number;
  private readonly relations: Relation[];
  private readonly fusion: FusionMlp | null;
  private readonly p: ParamSet;
  private readonly named: [string, Tensor][];
  private readonly embOpt: Adam;
  private readonly otherOpt: Adam | null;
  private readonly dropRng: Rng;
  /** node row of user u = u; of item i = U + i: selections lifting user / item tables into the node table */
  private readonly liftUsers: { s: Csr; st: CsrTransposed };
  private readonly liftItems: { s: Csr; st: CsrTransposed };
  /** [I × d] 1 for warm items (ID embedding allowed), 0 for cold ones */
  private readonly warm: Float32Array | null;
  private readonly columns: Tensor[];
  private sampler: BprSampler | null = null;
  private warmNeg: WarmNegatives | null = null;
  private cache: Cache | null = null;

  constructor(
    private readonly data: SplitData,
    params: Params,
    readonly seed: number,
    readonly inputs: MmgatInputs,
  ) {
    this.params = resolveParams(mmgatSpec, params) as unknown as P;
    const q = this.params;
    const U = (this.numUsers = data.numUsers);
    const I = (this.numItems = data.numItems);
    const N = U + I;
    const d = (this.d = q.dim);
    const rng = new Rng(seed);
    this.relations = [this.userItemRelation()];
    if (q.item_edges) {
      if (!inputs.graph) throw ppError('PP_MODEL_PARAM', 'mmgat: item_edges needs an item–item graph');
      this.relations.push(this.itemItemRelation(inputs.graph));
    }
    const users = parameter(rng.fillNormal(allocF32(U * d, false), q.init_std), [U, d]);
    this.named = [['users', users]];
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
    this.embOpt = new Adam(itemId ? [users, itemId] : [users], { lr: q.lr });
    const others = this.named.filter(([n]) => n !== 'users' && n !== 'itemId').map(([, t]) => t);
    this.otherOpt = others.length ? new Adam(others, { lr: q.lr, weightDecay: q.weight_decay, decoupled: true }) : null;
    this.dropRng = new Rng(seed ^ 0x5bd1e995);
    const lift = (rows: number, cols: number, offset: number) => {
      const indptr = allocI32(N + 1);
      for (let n = 0; n < N; n++) indptr[n + 1] = indptr[n] + (n >= offset && n < offset + cols ? 1 : 0);
      const indices = allocI32(cols, false);
      for (let c = 0; c < cols; c++) indices[c] = c;
      const s: Csr = { rows, cols, indptr, indices, values: allocF32(cols, false).fill(1) };
      return { s, st: transpose(s) };
    };
    this.liftUsers = lift(N, U, 0);
    this.liftItems = lift(N, I, U);
    const e0 = allocF32(2);
    e0[0] = 1;
    const e1 = allocF32(2);
    e1[1] = 1;
    this.columns = [constant(e0, [2, 1]), constant(e1, [2, 1])];
  }

  /** The symmetric user–item relation of the train part (duplicates merged, mean rating per pair). */
  private userItemRelation(): Relation {
    const { numUsers: U, numItems: I, train } = this.data;
    const N = U + I;
    const rows: { cols: number[]; r: number[] }[] = Array.from({ length: N }, () => ({ cols: [], r: [] }));
    let sum = 0;
    let count = 0;
    for (let u = 0; u < U; u++) {
      const byItem = new Map<number, { s: number; n: number }>();
      for (let e = train.indptr[u]; e < train.indptr[u + 1]; e++) {
        const i = train.indices[e];
        const r = train.ratings[e];
        const acc = byItem.get(i) ?? { s: 0, n: 0 };
        if (Number.isFinite(r)) {
          acc.s += r;
          acc.n++;
        }
        byItem.set(i, acc);
      }
      for (const i of [...byItem.keys()].sort((a, b) => a - b)) {
        const acc = byItem.get(i)!;
        const r = acc.n ? acc.s / acc.n : NaN;
        if (Number.isFinite(r)) {
          sum += r;
          count++;
        }
        rows[u].cols.push(U + i);
        rows[u].r.push(r);
        rows[U + i].cols.push(u);
        rows[U + i].r.push(r);
      }
    }
    const a = heapCsr(N, rows);
    const useRatings = this.params.rating_weighted && count > 0;
    const mean = count ? sum / count : 1;
    if (useRatings && !(mean > 0)) throw ppError('PP_MODEL_PARAM', `mmgat.rating_weighted: the mean train rating is ${mean}`);
    const flat = rows.flatMap((x) => x.r);
    return this.relation('ui', a, (e) => (useRatings && Number.isFinite(flat[e]) ? Math.max(flat[e], 0) / mean : 1), null);
  }

  /** The item–item relation: row U + i lists U + j for the kNN neighbours j of i. */
  private itemItemRelation(g: KnnGraph): Relation {
    const U = this.numUsers;
    const N = U + this.numItems;
    const indptr = new Int32Array(N + 1);
    for (let n = 0; n < N; n++) indptr[n + 1] = indptr[n] + (n >= U ? g.indptr[n - U + 1] - g.indptr[n - U] : 0);
    const indices = new Int32Array(g.indices.length);
    for (let e = 0; e < indices.length; e++) indices[e] = U + g.indices[e];
    const a = heapCsr(N, null, indptr, indices);
    const sim = Float32Array.from(g.weights);
    const scale = this.params.ii_sim_scale;
    return this.relation('ii', a, () => 1, sim, scale > 0 ? (e) => scale * sim[e] : null);
  }

  private relation(name: 'ui' | 'ii', a: Csr, extra: (e: number) => number, sim: Float32Array | null, bias: ((e: number) => number) | null = null): Relation {
    const N = a.rows;
    const nnz = a.indices.length;
    const deg = new Float64Array(N);
    for (let n = 0; n < N; n++) deg[n] = a.indptr[n + 1] - a.indptr[n];
    const weight = allocF32(nnz, false);
    const uniform = allocF32(nnz, false);
    const b = bias ? allocF32(nnz, false) : null;
    for (let n = 0; n < N; n++) {
      for (let e = a.indptr[n]; e < a.indptr[n + 1]; e++) {
        const j = a.indices[e];
        weight[e] = Math.sqrt(deg[n] / Math.max(deg[j], 1)) * extra(e);
        uniform[e] = 1 / deg[n];
        if (b) b[e] = bias!(e);
      }
    }
    return { name, a, at: transpose(a), weight, bias: b, uniform, sim };
  }

  /** Trainable tensors by name (tests, checkpoints). */
  parameters(): Record<string, Tensor> {
    return Object.fromEntries(this.named);
  }

  learningRate(): number {
    return this.embOpt.lr;
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
    const pDrop = q.dropout;
    for (let l = 0; l < q.layers; l++) {
      const x = xs[l];
      const hs: Tensor[] = [];
      const layerAlphas: Tensor[] = [];
      for (const [k, r] of this.relations.entries()) {
        let alpha: Tensor;
        if (q.attention === 'additive') {
          const tu = tape.matmul(x, p.att[l][k]);
          const t = tape.matmul(tu, this.columns[0]);
          const u = tape.matmul(tu, this.columns[1]);
          let s = tape.leakyRelu(tape.edgeScoreSum(r.a, r.at, t, u), q.leaky_slope);
          if (r.bias) s = tape.add(s, constant(r.bias, s.shape));
          alpha = tape.segmentSoftmax(r.a, s);
        } else {
          alpha = constant(r.uniform, [r.uniform.length]);
        }
        layerAlphas.push(alpha);
        const dropped = training && rng && pDrop > 0 ? tape.dropout(alpha, pDrop, rng, true) : alpha;
        const h = tape.spmm(r.a, r.at, x, tape.mul(dropped, constant(r.weight, [r.weight.length])));
        hs.push(r.name === 'ii' && q.ii_weight !== 1 ? tape.scale(h, q.ii_weight) : h);
      }
      xs.push(this.combineRelations(tape, x, hs));
      alphas.push(layerAlphas);
    }
    return { xs, alphas };
  }

  /**
   * x^{l+1} = Σ_r c_r ⊙ h^{l,r} + z ⊙ x^l: c_r[n] = 1 / (relations with edges at n) (users: ui only; warm
   * items: the mean of both; cold items: ii only) and z[n] = 1 for a node without any edge (it keeps its
   * representation instead of vanishing from the layer mean).
   */
  private combineRelations(tape: Tape, x: Tensor, hs: Tensor[]): Tensor {
    const { rowScale, isolated } = this.combination();
    let out = hs.length > 1 ? tape.add(tape.mul(hs[0], rowScale[0]), tape.mul(hs[1], rowScale[1])) : hs[0];
    if (isolated) out = tape.add(out, tape.mul(x, isolated));
    return out;
  }

  private comb: { rowScale: Tensor[]; isolated: Tensor | null } | null = null;
  private combination(): { rowScale: Tensor[]; isolated: Tensor | null } {
    if (this.comb) return this.comb;
    const N = this.numUsers + this.numItems;
    const d = this.d;
    const has = this.relations.map((r) => (n: number) => r.a.indptr[n + 1] > r.a.indptr[n]);
    const rowScale = this.relations.length > 1 ? this.relations.map(() => allocF32(N * d)) : [];
    let isolated: Float32Array | null = null;
    for (let n = 0; n < N; n++) {
      const count = has.reduce((c, h) => c + (h(n) ? 1 : 0), 0);
      if (count === 0) {
        isolated ??= allocF32(N * d);
        isolated.fill(1, n * d, (n + 1) * d);
      }
      if (rowScale.length) for (let k = 0; k < has.length; k++) if (has[k](n)) rowScale[k].fill(1 / count, n * d, (n + 1) * d);
    }
    this.comb = { rowScale: rowScale.map((a) => constant(a, [N, d])), isolated: isolated ? constant(isolated, [N, d]) : null };
    return this.comb;
  }

  private readout(tape: Tape, xs: Tensor[]): Tensor {
    if (xs.length === 1) return xs[0];
    return this.params.readout === 'concat' ? tape.concatColumns(xs) : tape.mean(xs);
  }

  /**
   * The BPR + L2 loss of a batch on `tape` (users u, positives i, one negative j per row).
   * `dropoutSeed`: dropout from a fresh Rng with this seed (gradient checks), null = no dropout,
   * undefined = the model's training stream.
   */
  lossOn(tape: Tape, users: Int32Array, pos: Int32Array, neg: Int32Array, dropoutSeed?: number | null): Tensor {
    const U = this.numUsers;
    const rng = dropoutSeed === null ? null : dropoutSeed === undefined ? this.dropRng : new Rng(dropoutSeed);
    const { xs } = this.propagate(tape, this.p, rng, true);
    const fin = this.readout(tape, xs);
    const b = users.length;
    const pi = Int32Array.from(pos, (i) => U + i);
    const ni = Int32Array.from(neg, (i) => U + i);
    const eu = tape.gatherRows(fin, users);
    const bpr = tape.bprLoss(tape.rowDot(eu, tape.gatherRows(fin, pi)), tape.rowDot(eu, tape.gatherRows(fin, ni)));
    const lambda = this.params.reg;
    if (lambda <= 0) return bpr;
    const nodes = new Int32Array(3 * b);
    nodes.set(users);
    nodes.set(pi, b);
    nodes.set(ni, 2 * b);
    return tape.add(bpr, tape.l2([tape.gatherRows(xs[0], nodes)], lambda, b));
  }

  /** Loss value of a batch (no dropout, or the mask of `dropoutSeed`); gradients left on the parameters when `backward`. */
  batchLoss(users: Int32Array, pos: Int32Array, neg: Int32Array, opts: { backward?: boolean; dropoutSeed?: number | null } = {}): number {
    const tape = new Tape();
    try {
      const loss = this.lossOn(tape, users, pos, neg, opts.dropoutSeed ?? null);
      const v = loss.item();
      if (opts.backward) tape.backward(loss);
      return v;
    } finally {
      tape.dispose();
    }
  }

  private step(batch: BprBatch, hardFrom: Cache | null): number {
    const n = batch.size;
    this.warmNeg?.replace(batch.users, batch.neg, this.sampler!.negPerPos, n);
    let neg = batch.neg.subarray(0, n);
    if (hardFrom) neg = pickHardest(batch, this.sampler!.negPerPos, (us, its) => this.pairScores(hardFrom, us, its));
    const tape = new Tape();
    try {
      const loss = this.lossOn(tape, batch.users.subarray(0, n), batch.pos.subarray(0, n), neg);
      const v = loss.item();
      tape.backward(loss);
      this.embOpt.step();
      this.otherOpt?.step();
      return v;
    } finally {
      zeroGrad(this.named.map(([, t]) => t));
      tape.dispose();
    }
  }

  private pairScores(c: Cache, users: Int32Array, items: Int32Array): Float32Array {
    const D = c.users.length / this.numUsers;
    const out = new Float32Array(users.length);
    for (let r = 0; r < users.length; r++) {
      const a = users[r] * D;
      const b = items[r] * D;
      let s = 0;
      for (let k = 0; k < D; k++) s += c.users[a + k] * c.items[b + k];
      out[r] = s;
    }
    return out;
  }

  async trainEpoch(): Promise<number> {
    const q = this.params;
    if (!this.sampler) {
      this.sampler = new BprSampler(this.data.train, this.numItems, {
        negatives: q.negatives as 'uniform' | 'popularity' | 'hard',
        hardCandidates: q.hard_candidates,
        seed: this.seed,
      });
      if (q.warm_negatives) this.warmNeg = new WarmNegatives(this.data.train, this.data.coldItems, this.seed);
    }
    const hardFrom = q.negatives === 'hard' ? this.refresh() : null;
    let total = 0;
    let n = 0;
    for (const batch of this.sampler.epoch(q.batch)) {
      total += this.step(batch, hardFrom) * batch.size;
      n += batch.size;
    }
    this.invalidate();
    return n ? total / n : 0;
  }

  // ---- inference ---------------------------------------------------------------------------

  private invalidate(): void {
    if (this.cache?.itemsT) free(this.cache.itemsT);
    this.cache = null;
  }

  /** Final embeddings and per-relation attention of every layer, without dropout (once per parameter change). */
  private refresh(): Cache {
    if (this.cache) return this.cache;
    const U = this.numUsers;
    const tape = new Tape();
    try {
      const { xs, alphas } = this.propagate(tape, this.constParams(), null, false);
      const fin = this.readout(tape, xs);
      const D = fin.cols;
      const users = fin.data.slice(0, U * D);
      const items = fin.data.slice(U * D);
      const perRelation = this.relations.map((_, k) => alphas.map((layer) => layer[k].data.slice()));
      this.cache = { users, items, itemsT: null, alphas: perRelation };
      return this.cache;
    } finally {
      tape.dispose();
    }
  }

  scoreUsers(users: Int32Array, out: Float32Array): void {
    scoreWith(this.refresh(), this.numItems, users, out);
  }

  embeddings(): { users: Float32Array; items: Float32Array; dim: number } {
    const c = this.refresh();
    return { users: c.users.slice(), items: c.items.slice(), dim: c.users.length / this.numUsers };
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
    const att = (k: number, row: number, e: number) => {
      const layers = c.alphas[k];
      const r = this.relations[k];
      if (layers.length === 0) return 1 / (r.a.indptr[row + 1] - r.a.indptr[row]);
      let s = 0;
      for (const a of layers) s += a[e];
      return s / layers.length;
    };
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

  // ---- state -------------------------------------------------------------------------------

  private optFor(name: string): Adam {
    return name === 'users' || name === 'itemId' ? this.embOpt : this.otherOpt!;
  }

  getState(): TensorState {
    return { tensors: paramTensors(this.named, (n) => this.optFor(n)), meta: { embStep: this.embOpt.t, otherStep: this.otherOpt?.t ?? 0 } };
  }

  setState(state: TensorState): void {
    restoreParamTensors('mmgat', this.named, (n) => this.optFor(n), state.tensors);
    const meta = state.meta as { embStep?: number; otherStep?: number };
    if (typeof meta.embStep === 'number') this.embOpt.t = meta.embStep;
    if (this.otherOpt && typeof meta.otherStep === 'number') this.otherOpt.t = meta.otherStep;
    this.invalidate();
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
    await saveState(join(dir, 'mmgat'), {
      tensors,
      meta: {
        model: 'mmgat',
        version: 1,
        params: this.params,
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
    this.invalidate();
    for (const [name, t] of this.named) if (!name.startsWith('fusion.')) free(t.data);
    this.fusion?.dispose();
    this.embOpt.dispose();
    this.otherOpt?.dispose();
    for (const r of this.relations) {
      freeCsr(r.a);
      freeCsr(r.at);
      free(r.weight);
      free(r.uniform);
      if (r.bias) free(r.bias);
    }
    for (const l of [this.liftUsers, this.liftItems]) {
      freeCsr(l.s);
      freeCsr(l.st);
    }
    if (this.warm) free(this.warm);
    for (const t of this.columns) free(t.data);
    if (this.comb) {
      for (const t of this.comb.rowScale) free(t.data);
      if (this.comb.isolated) free(this.comb.isolated.data);
    }
  }
}

/** users · itemsᵀ for the rows `users` into `out` (items transposed once, cached on `c`). */
function scoreWith(c: { users: Float32Array; items: Float32Array; itemsT: Float32Array | null }, numItems: number, users: Int32Array, out: Float32Array): void {
  const D = c.items.length / numItems;
  const rows = new Float32Array(users.length * D);
  for (let r = 0; r < users.length; r++) rows.set(c.users.subarray(users[r] * D, users[r] * D + D), r * D);
  if (!c.itemsT) c.itemsT = transposeDense(c.items, numItems, D, allocF32(c.items.length, false));
  matmul(rows, c.itemsT, users.length, D, numItems, { out });
}

/** A reloaded mmgat without its content: scores and exports the saved final embeddings (no explanations, no training). */
export class MmgatScorer implements Recommender {
  readonly modelName = 'mmgat';
  private readonly c: { users: Float32Array; items: Float32Array; itemsT: Float32Array | null };
  constructor(
    readonly numUsers: number,
    readonly numItems: number,
    private readonly state: TensorState,
  ) {
    this.c = { users: state.tensors['final.users'], items: state.tensors['final.items'], itemsT: null };
  }
  scoreUsers(users: Int32Array, out: Float32Array): void {
    scoreWith(this.c, this.numItems, users, out);
  }
  embeddings(): { users: Float32Array; items: Float32Array; dim: number } {
    return { users: this.c.users.slice(), items: this.c.items.slice(), dim: this.c.users.length / this.numUsers };
  }
  async save(dir: string): Promise<void> {
    await saveState(join(dir, 'mmgat'), this.state);
  }
  dispose(): void {
    if (this.c.itemsT) free(this.c.itemsT);
    this.c.itemsT = null;
  }
}

/** Trains mmgat on `ctx.data` with the content of `ctx.content` (valid for early stopping). */
export async function fitMmgat(ctx: FitContext): Promise<MmgatModel> {
  const params = resolveParams(mmgatSpec, ctx.params);
  const inputs = await resolveMmgatInputs(ctx.data, params, ctx.content);
  const model = new MmgatModel(ctx.data, params, ctx.seed, inputs);
  const q = model.params;
  await trainLoop(ctx, model, { maxEpochs: q.epochs, evalEvery: q.eval_every, patience: q.patience });
  return model;
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
  };
  if (meta.model !== 'mmgat') throw ppError('PP_MODEL_LOAD', `${dir} holds a ${meta.model ?? 'unknown'} model, not mmgat`);
  if (meta.numUsers !== data.numUsers || meta.numItems !== data.numItems) {
    throw ppError('PP_MODEL_LOAD', `mmgat in ${dir} was trained on ${meta.numUsers} users × ${meta.numItems} items, the split has ${data.numUsers} × ${data.numItems}`);
  }
  const t = state.tensors;
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
  if (!complete) return new MmgatScorer(data.numUsers, data.numItems, state);
  let graph: KnnGraph | null = null;
  if (t['ii.indptr']) {
    graph = { rows: data.numItems, cols: data.numItems, indptr: Int32Array.from(t['ii.indptr']), indices: Int32Array.from(t['ii.indices']), weights: t['ii.weights'] };
  }
  const model = new MmgatModel(data, meta.params, meta.seed, { modalities, encoders: meta.encoders, graph, graphSource: 'saved' });
  model.setState({ tensors: t, meta: {} });
  return model;
}

export const mmgatSpec: ModelSpec = registerModel({
  name: 'mmgat',
  description: 'Multimodal GAT: items from fused content (+ ID for warm items), user–item and item–item (kNN) relations with attention per relation, BPR',
  kind: 'trained',
  params: MMGAT_PARAMS,
  fit: (ctx: FitContext): Promise<Recommender> => fitMmgat(ctx),
  load: (dir: string, data: SplitData, content?: ContentSource): Promise<Recommender> => loadMmgat(dir, data, content),
});
