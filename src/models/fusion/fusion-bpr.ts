/**
 * Content-only BPR: the fusion MLP trained by the ranking loss alone, so that its output is a
 * recommendation-space item vector computed from content (cold items included: they need no interaction).
 *
 *     score(u, i) = ⟨p_u, f(content_i)⟩            f: {@link FusionMlp}
 *     L = mean_b −log σ(score(u, i) − score(u, j)) [+ λ/(2b) Σ_b ‖p_u‖² for free users]   (AdamW decay on the MLP)
 *
 * The user tower p (`userTower`):
 * - `mean`: p_u is the mean of f over u's train items, the positive left out of its own user's mean in
 *   training ({@link HistoryMean}: frozen hidden layer an epoch, gradient into W₂ and b₂). No per-user parameter,
 *   so every user is represented from the first step — what the reference size needs, where a sampled batch
 *   reaches each of 192K users a few times in all (docs/decisions/250-fusion-history-mean-users.md).
 * - `free`: p ∈ ℝ^{U × D} learned user vectors (lazy Adam on the batch's rows).
 * - `mean+free` (default): the mean plus a learned residual per user (initialised at 0, lazy Adam, the L2 penalty
 *   on it): at the reference size the residual hardly moves and the mean carries the user; where users are
 *   visited often (Scientific, the demo) it adds a little (decision 250).
 *
 * A step runs the MLP only on the batch's distinct items (positives ∪ negatives) and touches only the batch's
 * users, so it costs O(batch), not O(users). An epoch is at most
 * `stepsPerEpoch` sampled batches (default 32 × 2048 triples) rather than a pass over the interactions, so the cost
 * of training stops growing with them (at the reference size a pass is ~660 batches); 0 restores full passes. Training goes through the
 * shared {@link trainLoop}: validation NDCG@20 on the valid part every `evalEvery` epochs, early stopping with
 * `patience`, the best epoch's state restored, the wall-clock budget.
 */
import { Adam, Rng, Tape, Tensor, allocF32, constant, free, matmul, parameter, rowGrad, transposeDense, zeroGrad } from '../../core/index.js';
import { ppError } from '../../errors.js';
import type { SplitData } from '../../graphs/split-data.js';
import type { ContentModality, ContentSource, FitContext, ItemContent } from '../model.js';
import { BprSampler, pickHardest, type BprBatch } from '../../train/sampler.js';
import { trainLoop, type TrainableModel, type TrainLoopResult } from '../../train/trainer.js';
import { paramTensors, restoreParamTensors, type TensorState } from '../../train/checkpoint.js';
import { WarmNegatives } from '../warm-negatives.js';
import { FusionMlp, type FusionModality } from './fusion-mlp.js';
import { HistoryMean } from './history-mean.js';

/** How the fusion represents a user: the mean of their train items' fused vectors, or a learned free vector. */
export type FusionUserTower = 'mean' | 'free' | 'mean+free';
export const FUSION_USER_TOWERS: readonly FusionUserTower[] = ['mean', 'free', 'mean+free'];

export interface FusionTrainOptions {
  /** output size D (default 128) */
  dim: number;
  hidden: number;
  dropout: number;
  activation: 'relu' | 'gelu';
  /** width of the learned ID embedding inside the fusion (0 = none; warm items only) */
  idDim: number;
  lr: number;
  batchSize: number;
  /**
   * BPR batches per epoch: 0 = one pass over the train interactions (the cost grows with them); n > 0 = at most n
   * batches sampled uniformly from the interactions (a full pass when that is fewer), so an epoch costs the same at
   * any data size beyond n × batchSize interactions.
   */
  stepsPerEpoch: number;
  epochs: number;
  evalEvery: number;
  patience: number;
  /** the user tower (see the module comment) */
  userTower: FusionUserTower;
  /** λ of the L2 penalty on the batch's learned user vectors (free and mean+free towers) */
  l2: number;
  /** AdamW decay on the MLP and placeholders */
  weightDecay: number;
  negatives: 'uniform' | 'popularity' | 'hard';
  hardCandidates: number;
  /** draw negatives among warm items only (see src/models/warm-negatives.ts) */
  warmNegatives: boolean;
}

export const FUSION_TRAIN_DEFAULTS: FusionTrainOptions = {
  dim: 128,
  hidden: 256,
  dropout: 0.1,
  activation: 'gelu',
  idDim: 0,
  lr: 0.001,
  batchSize: 2048,
  stepsPerEpoch: 32,
  epochs: 200,
  evalEvery: 2,
  patience: 5,
  userTower: 'mean+free',
  l2: 1e-4,
  weightDecay: 1e-4,
  negatives: 'uniform',
  hardCandidates: 8,
  warmNegatives: true,
};

/** The split's content for the fusion: the requested modalities that the lake has (null entries dropped). */
export async function fusionInputs(content: ContentSource, names: readonly ContentModality[]): Promise<{ inputs: FusionModality[]; encoders: Record<string, string>; missing: string[] }> {
  const inputs: FusionModality[] = [];
  const encoders: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of names) {
    const m: ItemContent | null = await content.modality(name);
    if (!m) {
      missing.push(name);
      continue;
    }
    inputs.push({ name, dim: m.dim, vectors: m.vectors, present: m.present });
    encoders[name] = m.encoder;
  }
  return { inputs, encoders, missing };
}

/** The fusion MLP with its user tower, trained by BPR (see the module comment). */
export class FusionBprModel implements TrainableModel {
  readonly modelName = 'fusion';
  readonly numUsers: number;
  readonly numItems: number;
  readonly fusion: FusionMlp;
  /** the learned user vectors [U × D] (free; mean+free: the residual; null for the mean tower) */
  readonly users: Tensor | null;
  /** the history-mean tower (null for the free tower) */
  readonly history: HistoryMean | null;
  private readonly opt: Adam;
  private readonly userOpt: Adam | null;
  private readonly rng: Rng;
  private sampler: BprSampler | null = null;
  private warmNeg: WarmNegatives | null = null;
  private items: Float32Array | null = null;
  /** the hidden layer behind `items` (mean tower) */
  private hidden: Float32Array | null = null;
  private itemsT: Float32Array | null = null;

  constructor(
    private readonly data: SplitData,
    modalities: FusionModality[],
    readonly options: FusionTrainOptions,
    readonly seed: number,
  ) {
    this.numUsers = data.numUsers;
    this.numItems = data.numItems;
    const idAllowed = new Uint8Array(data.numItems);
    for (let i = 0; i < data.numItems; i++) idAllowed[i] = data.coldItems[i] ? 0 : 1;
    this.fusion = new FusionMlp({
      numItems: data.numItems,
      modalities,
      idDim: options.idDim,
      idAllowed,
      hidden: options.hidden,
      out: options.dim,
      dropout: options.dropout,
      activation: options.activation,
      seed,
    });
    if (!FUSION_USER_TOWERS.includes(options.userTower)) throw ppError('PP_USAGE', `the fusion's user tower is ${FUSION_USER_TOWERS.join(' or ')}, got ${String(options.userTower)}`);
    if (options.userTower !== 'mean') {
      // free vectors start random; a residual on the mean starts at 0 (the user is their history's mean)
      const rng = new Rng(seed ^ 0x2545f491);
      const u = allocF32(data.numUsers * options.dim, true);
      if (options.userTower === 'free') for (let k = 0; k < u.length; k++) u[k] = rng.normal() * 0.1;
      this.users = parameter(u, [data.numUsers, options.dim], { sparseGrad: true });
      this.userOpt = new Adam([this.users], { lr: options.lr });
    } else {
      this.users = null;
      this.userOpt = null;
    }
    this.history = options.userTower === 'free' ? null : new HistoryMean(data.train);
    this.opt = new Adam(this.fusion.parameters().map(([, t]) => t), { lr: options.lr, weightDecay: options.weightDecay, decoupled: true });
    this.rng = new Rng(seed ^ 0x68e31da4);
  }

  private named(): [string, Tensor][] {
    return this.users ? [['users', this.users], ...this.fusion.parameters()] : this.fusion.parameters();
  }

  learningRate(): number {
    return this.opt.lr;
  }

  /**
   * The loss of a batch on `tape` (users u, positives i ∈ I_u, negatives j). `rng` null = no dropout. Null when
   * no row trains (mean tower: every user of the batch has a single train item).
   */
  lossOn(tape: Tape, users: Int32Array, pos: Int32Array, neg: Int32Array, rng: Rng | null): Tensor | null {
    if (this.history) {
      // a one-item user has no history once its positive is left out
      const keep: number[] = [];
      for (let r = 0; r < users.length; r++) if (this.history.degree(users[r]) >= 2) keep.push(r);
      if (keep.length === 0) return null;
      if (keep.length < users.length) {
        const pick = (a: Int32Array) => Int32Array.from(keep, (r) => a[r]);
        [users, pos, neg] = [pick(users), pick(pos), pick(neg)];
      }
    }
    const b = users.length;
    const local = new Map<number, number>();
    for (const ix of [pos, neg]) for (let r = 0; r < b; r++) if (!local.has(ix[r])) local.set(ix[r], local.size);
    const rows = Int32Array.from(local.keys());
    const f = this.fusion.forward(tape, rows, rng);
    const lp = Int32Array.from(pos, (i) => local.get(i)!);
    const ln = Int32Array.from(neg, (i) => local.get(i)!);
    let pu: Tensor | null = null;
    if (this.history) {
      if (!this.history.ready) this.refreshHistory();
      pu = this.fusion.output(tape, constant(this.history.leaveOneOut(users, pos), [b, this.fusion.hidden]));
    }
    const eu = this.users ? tape.gatherRows(this.users, users) : null;
    if (eu) pu = pu ? tape.add(pu, eu) : eu;
    const bpr = tape.bprLoss(tape.rowDot(pu!, tape.gatherRows(f, lp)), tape.rowDot(pu!, tape.gatherRows(f, ln)));
    if (!eu || this.options.l2 <= 0) return bpr;
    return tape.add(bpr, tape.l2([eu], this.options.l2, b));
  }

  /**
   * Mean tower: freezes the current hidden layer of every item as the users' history for the next steps (done
   * at the start of every epoch; the table validation computed is reused when nothing moved since).
   */
  refreshHistory(): void {
    if (!this.history) return;
    this.current();
    this.history.setHidden(this.hidden!, this.fusion.hidden);
  }

  /** Loss of a batch without dropout (0 when no row trains); gradients left on the parameters when `backward`. */
  batchLoss(users: Int32Array, pos: Int32Array, neg: Int32Array, opts: { backward?: boolean } = {}): number {
    const tape = new Tape();
    try {
      const loss = this.lossOn(tape, users, pos, neg, null);
      if (!loss) return 0;
      const v = loss.item();
      if (opts.backward) tape.backward(loss);
      return v;
    } finally {
      tape.dispose();
    }
  }

  /** Parameters by name (tests). */
  parameters(): Record<string, Tensor> {
    return Object.fromEntries(this.named());
  }

  private step(batch: BprBatch, hardFrom: Float32Array | null): number {
    const n = batch.size;
    const users = batch.users.subarray(0, n);
    this.warmNeg?.replace(batch.users, batch.neg, this.sampler!.negPerPos, n);
    let neg = batch.neg.subarray(0, n);
    if (hardFrom) {
      const d = this.options.dim;
      neg = pickHardest(batch, this.sampler!.negPerPos, (us, its) => {
        const out = new Float32Array(us.length);
        const pu = this.userRows(us, hardFrom);
        for (let r = 0; r < us.length; r++) {
          let s = 0;
          for (let k = 0; k < d; k++) s += pu[r * d + k] * hardFrom[its[r] * d + k];
          out[r] = s;
        }
        return out;
      });
    }
    const tape = new Tape();
    try {
      const loss = this.lossOn(tape, users, batch.pos.subarray(0, n), neg, this.rng);
      if (!loss) return NaN;
      const v = loss.item();
      tape.backward(loss);
      this.stepUsers();
      this.opt.step();
      return v;
    } finally {
      zeroGrad(this.named().map(([, t]) => t));
      tape.dispose();
    }
  }

  /**
   * Lazy Adam on the user vectors: only the batch's users (the rows their gather touched) move, with their own
   * moments and the global step count for bias correction (Adam.stepRows). A step costs O(batch × dim), not
   * O(users × dim); the other users keep their vectors and moments, where a dense Adam would keep moving them
   * by their decaying momentum.
   */
  private stepUsers(): void {
    if (!this.users) return;
    const g = rowGrad(this.users);
    if (!g) return;
    try {
      this.userOpt!.stepRows(this.users, g, this.options.dim);
    } finally {
      free(g.rows);
      free(g.values);
    }
  }

  async trainEpoch(): Promise<number> {
    const o = this.options;
    if (!this.sampler) {
      this.sampler = new BprSampler(this.data.train, this.numItems, { negatives: o.negatives, hardCandidates: o.hardCandidates, seed: this.seed });
      if (o.warmNegatives) this.warmNeg = new WarmNegatives(this.data.train, this.data.coldItems, this.seed);
    }
    const hardFrom = o.negatives === 'hard' ? this.itemVectors() : null;
    this.refreshHistory();
    this.invalidate();
    let total = 0;
    let n = 0;
    const pass = Math.ceil(this.sampler.interactions / o.batchSize);
    const batches = o.stepsPerEpoch > 0 && o.stepsPerEpoch < pass ? this.sampledBatches(o.stepsPerEpoch, o.batchSize) : this.sampler.epoch(o.batchSize);
    for (const batch of batches) {
      const loss = this.step(batch, hardFrom);
      if (Number.isNaN(loss)) continue;
      total += loss * batch.size;
      n += batch.size;
    }
    return n ? total / n : 0;
  }

  /** `steps` batches of `size` triples drawn by the sampler (each a uniform random train interaction). */
  private *sampledBatches(steps: number, size: number): Generator<BprBatch> {
    let buf: BprBatch | undefined;
    for (let s = 0; s < steps; s++) yield (buf = this.sampler!.sample(size, buf));
  }

  private invalidate(): void {
    this.items = null;
    this.hidden = null;
    if (this.itemsT) free(this.itemsT);
    this.itemsT = null;
  }

  /** The item vectors of the current parameters and (mean tower) their hidden layer, computed once per update. */
  private current(): Float32Array {
    if (!this.items) {
      const { out, hidden } = this.fusion.forwardAllParts(this.history !== null);
      this.items = out;
      this.hidden = hidden;
    }
    return this.items;
  }

  /** f(content) of every item, no dropout, [numItems × dim] (cached until the next update). */
  itemVectors(): Float32Array {
    return this.current();
  }

  /** The users' vectors [users.length × dim]: the mean of f over their TRAIN items, plus their learned vectors. */
  userVectors(users: ArrayLike<number>): Float32Array {
    return this.userRows(users, this.itemVectors());
  }

  /** {@link userVectors} with `items` as f. */
  private userRows(users: ArrayLike<number>, items: Float32Array): Float32Array {
    const d = this.options.dim;
    const rows = this.history ? this.history.meanRows(users, items, d) : new Float32Array(users.length * d);
    if (this.users) {
      const e = this.users.data;
      for (let r = 0; r < users.length; r++) for (let k = 0; k < d; k++) rows[r * d + k] += e[users[r] * d + k];
    }
    return rows;
  }

  scoreUsers(users: Int32Array, out: Float32Array): void {
    const d = this.options.dim;
    const items = this.itemVectors();
    if (!this.itemsT) this.itemsT = transposeDense(items, this.numItems, d);
    matmul(this.userVectors(users), this.itemsT, users.length, d, this.numItems, { out });
  }

  embeddings(): { users: Float32Array; items: Float32Array; dim: number } {
    return { users: this.userVectors(Int32Array.from({ length: this.numUsers }, (_, u) => u)), items: this.itemVectors().slice(), dim: this.options.dim };
  }

  private optFor(name: string): Adam {
    return name === 'users' ? this.userOpt! : this.opt;
  }

  getState(): TensorState {
    return { tensors: paramTensors(this.named(), (n) => this.optFor(n)), meta: { step: this.opt.t, userStep: this.userOpt?.t ?? 0 } };
  }

  setState(state: TensorState): void {
    restoreParamTensors('fusion', this.named(), (n) => this.optFor(n), state.tensors);
    const meta = state.meta as { step?: number; userStep?: number };
    if (typeof meta.step === 'number') this.opt.t = meta.step;
    if (this.userOpt && typeof meta.userStep === 'number') this.userOpt.t = meta.userStep;
    this.invalidate();
  }

  async save(): Promise<void> {
    throw ppError('PP_INTERNAL', 'the fusion model is saved as fused vectors (writeFused), not as a run model');
  }

  dispose(): void {
    this.invalidate();
    this.opt.dispose();
    this.userOpt?.dispose();
    if (this.users) free(this.users.data);
    this.fusion.dispose();
  }
}

/** Trains the fusion by content-only BPR on `ctx.data` (valid for early stopping). */
export async function trainFusion(
  ctx: FitContext,
  modalities: FusionModality[],
  options: Partial<FusionTrainOptions> = {},
): Promise<{ model: FusionBprModel; result: TrainLoopResult }> {
  const o = { ...FUSION_TRAIN_DEFAULTS, ...options };
  const model = new FusionBprModel(ctx.data, modalities, o, ctx.seed);
  const result = await trainLoop(ctx, model, { maxEpochs: o.epochs, evalEvery: o.evalEvery, patience: o.patience });
  return { model, result };
}
