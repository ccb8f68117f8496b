/**
 * The base of the tape-trained graph models (gat, mmgat): what they share around their forward pass.
 * A subclass builds its parameters and says how a batch's loss is computed on the tape ({@link lossOn}) and
 * how the final embeddings of every node come out ({@link computeFinal}); this class runs the rest:
 *
 *     step     L = lossOn(users, pos, neg) on a fresh tape → backward → Adam on the embeddings
 *              (`embedding` params) and Adam/AdamW on the others; hard negatives scored with the final
 *              embeddings of the start of the epoch
 *     loss     {@link rankingLoss} of the pair scores: BPR (the mean over a pair's N candidates) or sampled
 *              softmax over them (`loss`, `neg_samples`, `temperature` — the names of mf/lightgcn)
 *     epoch    one positive pair per train interaction (BprSampler, seeded), mean loss
 *     scoring  s = E_users[rows] · E_itemsᵀ  ([b × D] · [D × I]); final embeddings cached per parameter change
 *     state    parameters + Adam moments + step counts (checkpoints, best epoch)
 *
 * Shapes: final users [U × D], items [I × D] (D = d, or (L+1)·d for a concatenating readout).
 */
import { Adam, Rng, Tape, Tensor, allocF32, free, matmul, transposeDense, zeroGrad, type AdamOptions } from '../../core/index.js';
import type { SplitData } from '../../graphs/split-data.js';
import { BprSampler, pickHardest, type BprBatch } from '../../train/sampler.js';
import type { TrainableModel } from '../../train/trainer.js';
import type { Params } from '../model.js';
import { checkRankingLoss } from '../ranking-loss.js';
import { paramTensors, restoreParamTensors, type TensorState } from '../../train/checkpoint.js';

/** Final embeddings and, per relation and layer, the attention weights (inference: no dropout). */
export interface FinalEmbeddings {
  users: Float32Array;
  items: Float32Array;
  /** [relation][layer] per-edge weights */
  alphas: Float32Array[][];
}

interface Cache extends FinalEmbeddings {
  /** items transposed [D × I] (heap), made by the first scoring call */
  itemsT: Float32Array | null;
}

export interface SamplingConfig {
  negatives: 'uniform' | 'popularity' | 'hard';
  hardCandidates: number;
  batch: number;
  /** candidates per positive pair with uniform/popularity negatives */
  negSamples: number;
  loss: 'bpr' | 'softmax';
  /** τ of the softmax loss */
  temperature: number;
}

/** The sampling config from a tape model's params (negatives, hard_candidates, batch and the ranking-loss params). */
export function samplingFrom(q: Params): SamplingConfig {
  const cfg: SamplingConfig = {
    negatives: q.negatives as SamplingConfig['negatives'],
    hardCandidates: q.hard_candidates as number,
    batch: q.batch as number,
    negSamples: q.neg_samples as number,
    loss: q.loss as SamplingConfig['loss'],
    temperature: q.temperature as number,
  };
  checkRankingLoss(q);
  return cfg;
}

/** [0 × N, 1 × N, …, (b−1) × N]: row r of a [b] tensor repeated for each of its N candidates. */
export function repeatEach(b: number, N: number): Int32Array {
  const out = new Int32Array(b * N);
  for (let r = 0; r < b; r++) out.fill(r, r * N, r * N + N);
  return out;
}

export abstract class TapeGraphModel implements TrainableModel {
  abstract readonly modelName: string;
  readonly numUsers: number;
  readonly numItems: number;
  /** trainable tensors by name, in creation order (checkpoints) */
  protected readonly named: [string, Tensor][] = [];
  protected embOpt!: Adam;
  protected otherOpt: Adam | null = null;
  /** attention / hidden-layer dropout stream of training */
  protected readonly dropRng: Rng;
  protected sampler: BprSampler | null = null;
  private embeddingNames = new Set<string>();
  private cache: Cache | null = null;

  constructor(
    protected readonly data: SplitData,
    readonly seed: number,
  ) {
    this.numUsers = data.numUsers;
    this.numItems = data.numItems;
    this.dropRng = new Rng(seed ^ 0x5bd1e995);
  }

  /** The loss of a batch on `tape`; `dropoutSeed`: null = no dropout, undefined = the training stream, a number = a fresh stream. */
  abstract lossOn(tape: Tape, users: Int32Array, pos: Int32Array, neg: Int32Array, dropoutSeed?: number | null): Tensor;
  /** Final embeddings of every user and item and the attention of every layer, without dropout. */
  protected abstract computeFinal(): FinalEmbeddings;
  protected abstract sampling(): SamplingConfig;

  /** Adam (`opts`) on the embedding tensors `embeddings`, Adam with `otherOpts` on every other named tensor. */
  protected initOptimizers(embeddings: string[], opts: AdamOptions, otherOpts: AdamOptions): void {
    this.embeddingNames = new Set(embeddings);
    this.embOpt = new Adam(this.named.filter(([n]) => this.embeddingNames.has(n)).map(([, t]) => t), opts);
    const others = this.named.filter(([n]) => !this.embeddingNames.has(n)).map(([, t]) => t);
    this.otherOpt = others.length ? new Adam(others, otherOpts) : null;
  }

  /** The dropout stream for `dropoutSeed` (see {@link lossOn}). */
  protected dropoutRng(dropoutSeed: number | null | undefined): Rng | null {
    return dropoutSeed === null ? null : dropoutSeed === undefined ? this.dropRng : new Rng(dropoutSeed);
  }

  /**
   * The batch's ranking loss from positive scores [b] and candidate scores [b·N] (row-major): sampled softmax
   * (loss=softmax) or BPR, the mean over the b·N (positive, candidate) pairs.
   */
  protected rankingLoss(tape: Tape, sPos: Tensor, sNeg: Tensor): Tensor {
    const cfg = this.samplingConfig();
    if (cfg.loss === 'softmax') return tape.sampledSoftmaxLoss(sPos, sNeg, cfg.temperature);
    const N = sNeg.size / sPos.size;
    return tape.bprLoss(N === 1 ? sPos : tape.gatherRows(sPos, repeatEach(sPos.size, N)), sNeg);
  }

  private samplingCache: SamplingConfig | null = null;

  /** {@link sampling}, resolved and checked once (the params never change after construction). */
  private samplingConfig(): SamplingConfig {
    return (this.samplingCache ??= this.sampling());
  }

  /** Frees per-step scratch (called after every tape). */
  protected releaseScratch(): void {}
  /** Called before a step's negatives are read (e.g. to redraw some of them). */
  protected beforeStep(_batch: BprBatch): void {}
  /** Called when the sampler is created (first epoch). */
  protected onSampler(_sampler: BprSampler): void {}

  /** Trainable tensors by name (tests, checkpoints). */
  parameters(): Record<string, Tensor> {
    return Object.fromEntries(this.named);
  }

  learningRate(): number {
    return this.embOpt.lr;
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
      this.releaseScratch();
    }
  }

  private step(batch: BprBatch, hardFrom: Cache | null): number {
    const n = batch.size;
    this.beforeStep(batch);
    let neg = batch.neg.subarray(0, n * this.sampler!.negPerPos);
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
      this.releaseScratch();
    }
  }

  /** ⟨final user, final item⟩ of each pair. */
  private pairScores(c: FinalEmbeddings, users: Int32Array, items: Int32Array): Float32Array {
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

  async trainEpoch(_epoch: number): Promise<number> {
    const cfg = this.samplingConfig();
    if (!this.sampler) {
      this.sampler = new BprSampler(this.data.train, this.numItems, { negatives: cfg.negatives, hardCandidates: cfg.hardCandidates, negSamples: cfg.negSamples, seed: this.seed });
      this.onSampler(this.sampler);
    }
    // hard negatives are scored with the embeddings of the start of the epoch
    const hardFrom = cfg.negatives === 'hard' ? this.refresh() : null;
    let total = 0;
    let n = 0;
    for (const batch of this.sampler.epoch(cfg.batch)) {
      total += this.step(batch, hardFrom) * batch.size;
      n += batch.size;
    }
    this.invalidate();
    return n ? total / n : 0;
  }

  // ---- inference ---------------------------------------------------------------------------

  protected invalidate(): void {
    if (this.cache?.itemsT) free(this.cache.itemsT);
    this.cache = null;
  }

  /** The final embeddings (computed once per parameter change). */
  protected refresh(): Cache {
    this.cache ??= { ...this.computeFinal(), itemsT: null };
    return this.cache;
  }

  scoreUsers(users: Int32Array, out: Float32Array): void {
    const c = this.refresh();
    const D = c.users.length / this.numUsers;
    const rows = allocF32(users.length * D, false);
    try {
      for (let r = 0; r < users.length; r++) rows.set(c.users.subarray(users[r] * D, users[r] * D + D), r * D);
      c.itemsT ??= transposeDense(c.items, this.numItems, D, allocF32(c.items.length, false));
      matmul(rows, c.itemsT, users.length, D, this.numItems, { out });
    } finally {
      free(rows);
    }
  }

  embeddings(): { users: Float32Array; items: Float32Array; dim: number } | null {
    const c = this.refresh();
    return { users: c.users.slice(), items: c.items.slice(), dim: c.users.length / this.numUsers };
  }

  // ---- state -------------------------------------------------------------------------------

  private optFor(name: string): Adam {
    return this.embeddingNames.has(name) ? this.embOpt : this.otherOpt!;
  }

  getState(): TensorState {
    return { tensors: paramTensors(this.named, (n) => this.optFor(n)), meta: { embStep: this.embOpt.t, otherStep: this.otherOpt?.t ?? 0 } };
  }

  setState(state: TensorState): void {
    restoreParamTensors(this.modelName, this.named, (n) => this.optFor(n), state.tensors);
    const meta = state.meta as { embStep?: number; otherStep?: number };
    if (typeof meta.embStep === 'number') this.embOpt.t = meta.embStep;
    if (this.otherOpt && typeof meta.otherStep === 'number') this.otherOpt.t = meta.otherStep;
    this.invalidate();
  }

  /** Frees the cache, the optimisers and the named tensors that `owned` accepts. */
  protected disposeBase(owned: (name: string) => boolean = () => true): void {
    this.invalidate();
    for (const [name, t] of this.named) if (owned(name)) free(t.data);
    this.embOpt.dispose();
    this.otherOpt?.dispose();
  }

  abstract save(dir: string): Promise<void>;
}
