/**
 * Matrix factorisation trained with BPR (Rendle et al. 2009), as LightGCN's reference code trains its MF
 * baseline: one embedding per user and per item, score x_ui = ⟨e_u, e_i⟩, and per batch of b sampled
 * triples (u, i, j)
 *
 *   L = (1/b) Σ −log σ(x_ui − x_uj)  +  λ · Σ (‖e_u‖² + ‖e_i‖² + ‖e_j‖²) / (2b)
 *
 * (the L2 term on the batch's embeddings only, duplicates counted, as `BPRLoss` + `reg_loss` in
 * LightGCN-PyTorch). `loss: 'bce'` swaps the ranking term for binary cross-entropy with logits on
 * (u, i) = 1 and (u, j) = 0, averaged over the 2b pairs.
 *
 * This file also holds what MF and LightGCN share ({@link BprEmbeddingModel}): one table of N = U + I
 * node embeddings (users first, items at U + i), negative sampling (seeded per epoch, so a resumed run
 * samples as an uninterrupted one), the loss and its gradient on the batch's rows, optimiser state for
 * checkpoints, scoring by a dense product of user and item embeddings (`matmulNT`), and save/load of the
 * final embeddings. The batch's (user, item) pairs form a sparse matrix over its distinct nodes, so all
 * scores are one SDDMM and the gradient two SpMMs in the core's kernels; the per-pair JS work is only the
 * scalar loss. A subclass says how the batch's final embeddings are computed from the table
 * (`forwardRows`) and how their gradient reaches the parameters (`backwardRows`, `applyGradient`). MF's
 * final embeddings are the table's rows, so its Adam is lazy (row-wise, like `torch.optim.SparseAdam`):
 * a step touches only the ≤ 3b rows of the batch.
 *
 * On Gowalla (2 shared cores) the official configuration (batch 2048, lr 0.001) runs an epoch in
 * 5–8 s; for MF larger learning rates or batches did worse per wall-clock second in 4-minute
 * budgets (valid Recall@20: lr 0.001: 0.124 after 38 epochs; lr 0.005: 0.120; batch 65536 / lr 0.05:
 * 0.080), unlike LightGCN (see lightgcn.ts). With the official configuration and a 30-minute budget
 * (284 epochs of ~4–5 s at load 3–8, validation every 20): valid Recall@20 0.143 and still rising;
 * test Recall@20 0.1229, NDCG@20 0.0983.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ppError } from '../errors.js';
import { Adam, allocF32, allocI32, cosineLr, free, gatherRows, matmulNT, Rng, sampledSoftmax, sddmm, spmm, transpose, type OptimParam } from '../core/index.js';
import type { SplitData } from '../graphs/split-data.js';
import { BprSampler, type BprBatch } from '../train/sampler.js';
import { trainLoop, type TrainableModel, type TrainLoopResult } from '../train/trainer.js';
import type { TensorState } from '../train/checkpoint.js';
import type { FitContext, ModelSpec, Params, ParamSpec, Recommender } from './model.js';
import { registerModel, resolveParams } from './registry.js';
import { RANKING_LOSS_PARAMS, checkRankingLoss } from './ranking-loss.js';

/** Hyperparameters every BPR embedding model takes (MF and LightGCN). */
export const BPR_PARAMS = {
  dim: { default: 64, min: 1, max: 4096, doc: 'embedding size' },
  lr: { default: 0.001, min: 0, max: 10, doc: 'Adam learning rate' },
  lr_schedule: { default: 'constant', choices: ['constant', 'cosine'], doc: 'constant lr, or cosine annealing per epoch from lr to 0 over `epochs` epochs' },
  batch: { default: 2048, min: 1, max: 1 << 24, doc: 'BPR triples per optimiser step' },
  reg: { default: 1e-4, min: 0, doc: 'λ of the L2 penalty on the batch’s (layer-0) embeddings, λ·Σ‖e‖²/(2·batch)' },
  negatives: { default: 'uniform', choices: ['uniform', 'popularity', 'hard'], doc: 'negative sampling: uniform, popularity^pop_alpha, or hard (highest-scoring of hard_candidates)' },
  hard_candidates: { default: 8, min: 2, max: 1024, doc: 'uniform candidates per triple with negatives=hard' },
  pop_alpha: { default: 0.75, min: 0, max: 4, doc: 'exponent of popularity negatives' },
  positives: { default: 'interaction', choices: ['interaction', 'user'], doc: 'positive pairs: a uniform train interaction, or a uniform user then one of their items (the official LightGCN sampler)' },
  ...RANKING_LOSS_PARAMS,
  loss: { ...RANKING_LOSS_PARAMS.loss, choices: ['bpr', 'bce', 'softmax'], doc: `${RANKING_LOSS_PARAMS.loss.doc}; bce: BCE with logits on (u,i)=1 and (u,j)=0, averaged like bpr` },
  epochs: { default: 1000, min: 1, doc: 'maximum epochs (one triple per train interaction each)' },
  eval_every: { default: 5, min: 1, doc: 'validate (NDCG@20 on valid) every this many epochs' },
  patience: { default: 10, min: 1, doc: 'stop after this many validations without a better NDCG@20' },
  init_std: { default: 0.1, min: 0, doc: 'standard deviation of the normal initialisation' },
} as const satisfies Record<string, ParamSpec>;

export interface BprConfig {
  dim: number;
  lr: number;
  lrSchedule: 'constant' | 'cosine';
  batch: number;
  reg: number;
  negatives: 'uniform' | 'popularity' | 'hard';
  hardCandidates: number;
  popAlpha: number;
  positives: 'interaction' | 'user';
  loss: 'bpr' | 'bce' | 'softmax';
  negSamples: number;
  temperature: number;
  epochs: number;
  evalEvery: number;
  patience: number;
  initStd: number;
}

/** The typed view of resolved params (integers where they must be). */
export function bprConfig(p: Params): BprConfig {
  const int = (k: string) => {
    const v = p[k] as number;
    if (!Number.isInteger(v)) throw ppError('PP_MODEL_PARAM', `${k}: expected an integer (got ${v})`);
    return v;
  };
  checkRankingLoss(p);
  return {
    dim: int('dim'),
    lr: p.lr as number,
    lrSchedule: (p.lr_schedule ?? 'constant') as BprConfig['lrSchedule'],
    batch: int('batch'),
    reg: p.reg as number,
    negatives: p.negatives as BprConfig['negatives'],
    hardCandidates: int('hard_candidates'),
    popAlpha: p.pop_alpha as number,
    positives: (p.positives ?? 'interaction') as BprConfig['positives'],
    loss: p.loss as BprConfig['loss'],
    negSamples: int('neg_samples'),
    temperature: p.temperature as number,
    epochs: int('epochs'),
    evalEvery: int('eval_every'),
    patience: int('patience'),
    initStd: p.init_std as number,
  };
}

/** A 32-bit seed for epoch `epoch` of a run seeded `seed`: epochs sample independently, and a resumed run samples as an uninterrupted one. */
export function epochSeed(seed: number, epoch: number): number {
  let h = Math.imul((seed ^ 0x2545f491) >>> 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return (h ^ (h >>> 15)) >>> 0;
}

/** softplus(x) = log(1 + eˣ), stable for large |x|. */
function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** out[r, :] = table[rows[r], :] for r < n (rows of width d). */
function gatherInto(table: Float32Array, rows: Int32Array, n: number, d: number, out: Float32Array): void {
  for (let r = 0; r < n; r++) {
    const s = rows[r] * d;
    out.set(table.subarray(s, s + d), r * d);
  }
}

/** Writes a Float32Array as little-endian float32 (the machine order on every platform Node runs on). */
async function writeF32(path: string, a: Float32Array): Promise<void> {
  await writeFile(path, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

async function readF32(path: string, length: number): Promise<Float32Array> {
  const buf = await readFile(path);
  if (buf.byteLength !== length * 4) throw ppError('PP_MODEL_LOAD', `${path} has ${buf.byteLength} bytes, expected ${length * 4}`);
  const out = allocF32(length, false);
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(buf);
  return out;
}

/** What `save` writes beside the embeddings. */
interface SavedHeader {
  model: string;
  format: 1;
  dim: number;
  numUsers: number;
  numItems: number;
  splitHash: string;
  params: Params;
  training?: Omit<TrainLoopResult, 'bestMetrics'> & { bestMetrics: Record<string, number> };
}

/** Fills out[r, :] = ⟨users[r], items[j]⟩ for every item j, from user rows gathered out of `userTable`. */
function scoreByDot(userTable: Float32Array, itemTable: Float32Array, d: number, numItems: number, users: Int32Array, out: Float32Array): void {
  if (out.length !== users.length * numItems) throw new Error(`scoreUsers: out has ${out.length} elements, expected ${users.length} × ${numItems}`);
  if (users.length === 0) return;
  const u = gatherRows(userTable, users, d);
  try {
    matmulNT(u, itemTable, users.length, d, numItems, { out });
  } finally {
    free(u);
  }
}

/** A model restored by `load`: final user and item embeddings, scored by their dot product. */
export class EmbeddingScorer implements Recommender {
  constructor(
    readonly modelName: string,
    readonly numUsers: number,
    readonly numItems: number,
    readonly dim: number,
    private users: Float32Array,
    private items: Float32Array,
    readonly header: Readonly<Record<string, unknown>>,
  ) {}

  scoreUsers(users: Int32Array, out: Float32Array): void {
    scoreByDot(this.users, this.items, this.dim, this.numItems, users, out);
  }

  embeddings(): { users: Float32Array; items: Float32Array; dim: number } {
    return { users: this.users, items: this.items, dim: this.dim };
  }

  async save(dir: string): Promise<void> {
    await saveEmbeddings(dir, this.header as unknown as SavedHeader, this.users, this.items);
  }

  dispose(): void {
    free(this.users);
    free(this.items);
    this.users = new Float32Array(0);
    this.items = new Float32Array(0);
  }
}

async function saveEmbeddings(dir: string, header: SavedHeader, users: Float32Array, items: Float32Array): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeF32(join(dir, 'user_embeddings.f32'), users);
  await writeF32(join(dir, 'item_embeddings.f32'), items);
  await writeFile(join(dir, 'model.json'), JSON.stringify(header, null, 1) + '\n');
}

/** Reads what {@link BprEmbeddingModel.save} wrote, checked against the split it is loaded for. */
export async function loadEmbeddings(dir: string, data: SplitData, expectModel: string): Promise<EmbeddingScorer> {
  let header: SavedHeader;
  try {
    header = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
  } catch (err) {
    throw ppError('PP_MODEL_LOAD', `no saved model in ${dir}`, err);
  }
  if (header.model !== expectModel) throw ppError('PP_MODEL_LOAD', `${dir} holds a ${header.model} model, not ${expectModel}`);
  if (header.numUsers !== data.numUsers || header.numItems !== data.numItems) {
    throw ppError('PP_MODEL_LOAD', `${dir} was trained on ${header.numUsers} users × ${header.numItems} items, the split has ${data.numUsers} × ${data.numItems}`);
  }
  if (header.splitHash !== data.manifest.split_hash) {
    throw ppError('PP_MODEL_LOAD', `${dir} was trained on split ${header.splitHash}, not ${data.manifest.split_hash}`);
  }
  const d = header.dim;
  const users = await readF32(join(dir, 'user_embeddings.f32'), header.numUsers * d);
  const items = await readF32(join(dir, 'item_embeddings.f32'), header.numItems * d);
  return new EmbeddingScorer(header.model, header.numUsers, header.numItems, d, users, items, header as unknown as Record<string, unknown>);
}

/**
 * A BPR-trained embedding model over N = U + I nodes (user u is node u, item i is node U + i). One step:
 *
 * 1. the batch's distinct nodes R (users, positives, negatives — every candidate with hard negatives),
 *    or all N nodes for large batches ({@link BprEmbeddingModel.identitySlots});
 * 2. `forwardRows(R)`: their final embeddings F [|R| × d];
 * 3. scores of every (user, candidate) pair by SDDMM; with hard negatives each triple keeps its
 *    highest-scoring candidate;
 * 4. the loss, ∂L/∂F (two SpMMs), and the L2 term's per-row occurrence counts;
 * 5. `backwardRows`: ∂L/∂F and the L2 gradient λ·count·E0[r]/b to the table; `applyGradient`: Adam.
 */
export abstract class BprEmbeddingModel implements TrainableModel {
  abstract readonly modelName: string;
  readonly numUsers: number;
  readonly numItems: number;
  readonly numNodes: number;
  readonly dim: number;
  /** Layer-0 embeddings [N × d] (heap), the trained parameters (a live view). */
  readonly table: Float32Array;
  protected readonly param: OptimParam;
  protected adam: Adam;
  /** Set by `fit` once training ended. */
  training?: TrainLoopResult;

  /** Distinct nodes of the current batch and each node's slot in it. */
  protected rows = new Int32Array(0);
  protected nRows = 0;
  /** This step's slots are the node ids (rows = 0..N−1): large batches, see {@link identitySlots}. */
  protected identity = false;
  private readonly slotOf: Int32Array;
  private readonly stampOf: Int32Array;
  private stamp = 0;
  /** ∂L/∂F and L2 occurrence counts per slot. */
  protected dF: Float32Array = new Float32Array(0);
  protected l2Count = new Float32Array(0);
  private slotU = new Int32Array(0);
  private slotP = new Int32Array(0);
  private slotN = new Int32Array(0);
  private entry = new Int32Array(0);

  constructor(
    readonly data: SplitData,
    readonly cfg: BprConfig,
    readonly seed: number,
    readonly params: Params,
  ) {
    this.numUsers = data.numUsers;
    this.numItems = data.numItems;
    this.numNodes = data.numUsers + data.numItems;
    this.dim = cfg.dim;
    this.table = allocF32(this.numNodes * cfg.dim, false);
    const rng = new Rng(seed);
    for (let k = 0; k < this.table.length; k++) this.table[k] = cfg.initStd * rng.normal();
    this.param = { data: this.table, grad: null };
    this.adam = new Adam([this.param], { lr: cfg.lr });
    this.slotOf = new Int32Array(this.numNodes);
    this.stampOf = new Int32Array(this.numNodes);
  }

  /** Final embeddings of the nodes `rows[0..nRows)` into out [nRows × d] (a heap view). */
  protected abstract forwardRows(out: Float32Array): void;
  /** The gradient of the table from ∂L/∂F (`dF`) and the L2 term (λ/b · `l2Count`[s] · E0[rows[s]]). */
  protected abstract backwardRows(l2Scale: number): void;
  /** A forward pass without a backward one ended (release per-step buffers). */
  protected endForward(): void {}
  /** One optimiser step with the gradient of `backwardRows`. */
  protected abstract applyGradient(): void;
  /** That gradient as a dense [N × d] copy (tests). */
  protected abstract denseGradient(): Float32Array;
  /** Final embeddings of all N nodes (cached until the parameters change). */
  protected abstract finalTable(): Float32Array;
  /** The parameters changed (a step or setState): drop cached final embeddings. */
  protected abstract invalidate(): void;

  private F: Float32Array = new Float32Array(0);
  private capacity = 0;

  private ensureRows(n: number): void {
    if (n <= this.capacity) return;
    // distinct nodes never exceed N
    const cap = Math.min(this.numNodes, Math.max(n, Math.ceil(this.capacity * 1.5)));
    const d = this.dim;
    free(this.F);
    free(this.dF);
    this.F = allocF32(cap * d, false);
    this.dF = allocF32(cap * d, false);
    this.l2Count = new Float32Array(cap);
    this.rows = new Int32Array(cap);
    this.capacity = cap;
    this.onCapacity(cap);
  }

  /**
   * Whether a batch works on the whole table (slot = node id) instead of its distinct nodes: worth it
   * when the batch touches most nodes and the subclass's per-row work is cheaper over the whole table.
   */
  protected identitySlots(_batch: number, _negPerPos: number): boolean {
    return false;
  }

  /** Subclasses grow their per-row buffers here. */
  protected onCapacity(_rows: number): void {}

  private slot(node: number): number {
    if (this.stampOf[node] !== this.stamp) {
      this.stampOf[node] = this.stamp;
      this.slotOf[node] = this.nRows;
      this.rows[this.nRows++] = node;
    }
    return this.slotOf[node];
  }

  /** One optimiser step on a batch; returns its loss (ranking term + L2). */
  step(batch: BprBatch, negPerPos: number): number {
    const loss = this.lossAndGradient(batch, negPerPos, true);
    this.applyGradient();
    this.invalidate();
    return loss;
  }

  /** The loss of a batch at the current parameters (no update). */
  batchLoss(batch: BprBatch, negPerPos: number): number {
    return this.lossAndGradient(batch, negPerPos, false);
  }

  /** The loss of a batch and its gradient w.r.t. the layer-0 table, dense [N × d] (no update; for tests). */
  batchGradient(batch: BprBatch, negPerPos: number): { loss: number; grad: Float32Array } {
    const loss = this.lossAndGradient(batch, negPerPos, true);
    return { loss, grad: this.denseGradient() };
  }

  /** Forward pass, loss, and with `backward` the gradient into the subclass's buffers. */
  private lossAndGradient(batch: BprBatch, negPerPos: number, backward: boolean): number {
    const b = batch.size;
    const d = this.dim;
    const U = this.numUsers;
    const N = this.numNodes;
    this.identity = this.identitySlots(b, negPerPos);
    this.ensureRows(Math.min(N, this.identity ? N : b * (2 + negPerPos)));
    if (this.slotU.length < b) {
      this.slotU = new Int32Array(b);
      this.slotP = new Int32Array(b);
    }
    if (this.slotN.length < b * negPerPos) this.slotN = new Int32Array(b * negPerPos);
    if (this.identity) {
      // slots are the node ids: F and ∂L/∂F cover the whole table
      for (let s = 0; s < N; s++) this.rows[s] = s;
      this.nRows = N;
      for (let k = 0; k < b; k++) {
        this.slotU[k] = batch.users[k];
        this.slotP[k] = U + batch.pos[k];
      }
      for (let k = 0; k < b * negPerPos; k++) this.slotN[k] = U + batch.neg[k];
    } else {
      this.stamp++;
      this.nRows = 0;
      for (let k = 0; k < b; k++) {
        this.slotU[k] = this.slot(batch.users[k]);
        this.slotP[k] = this.slot(U + batch.pos[k]);
        for (let m = 0; m < negPerPos; m++) this.slotN[k * negPerPos + m] = this.slot(U + batch.neg[k * negPerPos + m]);
      }
    }
    const n = this.nRows;
    const F = this.F.subarray(0, n * d);
    this.forwardRows(F);
    // The batch as a sparse n × n matrix S over slots: row su_k holds (sp_k) and the candidates (sn_km)
    // of triple k. Scores x_e = ⟨F[row], F[col]⟩ are one SDDMM; with per-entry loss gradients g_e,
    // ∂L/∂F = S(g)·F + S(g)ᵀ·F is one SpMM and one transposed SpMM — all in the core's kernels.
    const per = 1 + negPerPos;
    const nE = b * per;
    const indptr = allocI32(n + 1);
    for (let k = 0; k < b; k++) indptr[this.slotU[k] + 1] += per;
    for (let s = 0; s < n; s++) indptr[s + 1] += indptr[s];
    const fill = indptr.slice(0, n);
    const indices = allocI32(nE, false);
    const g = allocF32(nE);
    if (this.entry.length < nE) this.entry = new Int32Array(nE);
    const entry = this.entry; // entry[k·per] = (su, sp), entry[k·per + 1 + m] = (su, sn_km)
    for (let k = 0; k < b; k++) {
      const su = this.slotU[k];
      let e = fill[su]++;
      entry[k * per] = e;
      indices[e] = this.slotP[k];
      for (let m = 0; m < negPerPos; m++) {
        e = fill[su]++;
        entry[k * per + 1 + m] = e;
        indices[e] = this.slotN[k * negPerPos + m];
      }
    }
    const S = { rows: n, cols: n, indptr, indices, values: g };
    const x = sddmm(S, F, F, d);
    const cnt = this.l2Count;
    cnt.fill(0, 0, n);
    let loss = 0;
    const lossKind = this.cfg.loss;
    const hard = this.cfg.negatives === 'hard';
    const softmax = lossKind === 'softmax' ? { pos: allocF32(b, false), neg: allocF32(b * negPerPos, false) } : null;
    // every candidate is a term of its own (weight 1/N) unless hard negatives keep only the highest-scoring one
    const share = hard ? 1 : 1 / negPerPos;
    for (let k = 0; k < b; k++) {
      const ep = entry[k * per];
      const xp = x[ep];
      cnt[this.slotU[k]]++;
      cnt[this.slotP[k]]++;
      if (softmax) {
        // scores into [b] and [b × N], the loss and its gradients once for the batch (below)
        softmax.pos[k] = xp;
        for (let m = 0; m < negPerPos; m++) {
          softmax.neg[k * negPerPos + m] = x[entry[k * per + 1 + m]];
          cnt[this.slotN[k * negPerPos + m]] += share;
        }
        continue;
      }
      let first = 0;
      let last = negPerPos;
      if (hard) {
        // the highest-scoring candidate of each triple
        let xn = x[entry[k * per + 1]];
        for (let m = 1; m < negPerPos; m++) {
          const xm = x[entry[k * per + 1 + m]];
          if (xm > xn) {
            xn = xm;
            first = m;
          }
        }
        last = first + 1;
      }
      for (let m = first; m < last; m++) {
        const en = entry[k * per + 1 + m];
        const xn = x[en];
        if (lossKind === 'bce') {
          loss += (share * softplus(-xp) + share * softplus(xn)) / 2;
          g[ep] += (share * (sigmoid(xp) - 1)) / (2 * b);
          g[en] += (share * sigmoid(xn)) / (2 * b);
        } else {
          const z = xp - xn;
          const gz = (share * sigmoid(-z)) / b;
          loss += share * softplus(-z);
          g[ep] -= gz;
          g[en] += gz;
        }
        cnt[this.slotN[k * negPerPos + m]] += share;
      }
    }
    if (softmax) {
      const r = sampledSoftmax(softmax.pos, softmax.neg, this.cfg.temperature);
      loss = r.loss * b;
      for (let k = 0; k < b; k++) {
        g[entry[k * per]] += r.dPos[k];
        for (let m = 0; m < negPerPos; m++) g[entry[k * per + 1 + m]] += r.dNeg[k * negPerPos + m];
      }
      for (const t of [softmax.pos, softmax.neg, r.dPos, r.dNeg]) free(t);
    }
    free(x);
    if (backward) {
      const dF = this.dF.subarray(0, n * d);
      spmm(S, F, d, { out: dF });
      const St = transpose(S);
      spmm(St, F, d, { out: dF, add: dF });
      for (const t of [St.indptr, St.indices, St.values, St.perm]) free(t);
    }
    for (const t of [indptr, indices, g]) free(t);
    loss /= b;
    // L2 on the batch's layer-0 embeddings (each occurrence counts, as the norm of the gathered batch)
    let ss = 0;
    const E0 = this.table;
    for (let s = 0; s < n; s++) {
      if (cnt[s] === 0) continue;
      const o = this.rows[s] * d;
      let r = 0;
      for (let q = 0; q < d; q++) r += E0[o + q] * E0[o + q];
      ss += cnt[s] * r;
    }
    const reg = this.cfg.reg;
    loss += (reg * ss) / (2 * b);
    if (backward) this.backwardRows(reg / b);
    else this.endForward();
    return loss;
  }

  /** One epoch: one triple per train interaction, sampled with a seed derived from (seed, epoch). */
  trainEpoch(epoch: number): number {
    if (this.cfg.lrSchedule === 'cosine') this.adam.lr = cosineLr(this.cfg.lr, this.cfg.epochs)(epoch - 1);
    const sampler = new BprSampler(this.data.train, this.numItems, {
      negatives: this.cfg.negatives,
      hardCandidates: this.cfg.hardCandidates,
      negSamples: this.cfg.negSamples,
      popAlpha: this.cfg.popAlpha,
      positives: this.cfg.positives,
      seed: epochSeed(this.seed, epoch),
    });
    let total = 0;
    let count = 0;
    for (const batch of sampler.epoch(this.cfg.batch)) {
      total += this.step(batch, sampler.negPerPos) * batch.size;
      count += batch.size;
    }
    return count > 0 ? total / count : 0;
  }

  learningRate(): number {
    return this.adam.lr;
  }

  getState(): TensorState {
    const { m, v } = this.adam.moments(this.param);
    return {
      tensors: { embedding: this.table.slice(), adam_m: m.slice(), adam_v: v.slice(), adam_step: Float32Array.of(this.adam.t) },
      meta: { model: this.modelName, dim: this.dim },
    };
  }

  setState(state: TensorState): void {
    const t = state.tensors;
    for (const [name, len] of [['embedding', this.table.length], ['adam_m', this.table.length], ['adam_v', this.table.length], ['adam_step', 1]] as const) {
      if (!t[name] || t[name].length !== len) {
        throw ppError('PP_MODEL_LOAD', `${this.modelName} state: tensor ${name} missing or of length ${t[name]?.length}, expected ${len}`);
      }
    }
    this.table.set(t.embedding);
    const { m, v } = this.adam.moments(this.param);
    m.set(t.adam_m);
    v.set(t.adam_v);
    this.adam.t = t.adam_step[0];
    this.invalidate();
  }

  scoreUsers(users: Int32Array, out: Float32Array): void {
    const f = this.finalTable();
    const split = this.numUsers * this.dim;
    scoreByDot(f.subarray(0, split), f.subarray(split), this.dim, this.numItems, users, out);
  }

  embeddings(): { users: Float32Array; items: Float32Array; dim: number } {
    const f = this.finalTable();
    const split = this.numUsers * this.dim;
    return { users: f.subarray(0, split), items: f.subarray(split), dim: this.dim };
  }

  async save(dir: string): Promise<void> {
    const { users, items } = this.embeddings();
    await saveEmbeddings(dir, this.header(), users, items);
  }

  protected header(): SavedHeader {
    return {
      model: this.modelName,
      format: 1,
      dim: this.dim,
      numUsers: this.numUsers,
      numItems: this.numItems,
      splitHash: this.data.manifest.split_hash,
      params: this.params,
      ...(this.training ? { training: this.training } : {}),
    };
  }

  /** Releases the optimiser moments (training is over; scoring needs only the final embeddings). */
  finishTraining(): void {
    this.finalTable();
    this.adam.dispose();
  }

  dispose(): void {
    this.adam.dispose();
    free(this.table);
    free(this.F);
    free(this.dF);
    this.F = new Float32Array(0);
    this.dF = new Float32Array(0);
    this.capacity = 0;
  }
}

/** MF: the final embeddings are the table's rows; Adam updates only the rows a batch touched. */
export class MfModel extends BprEmbeddingModel {
  readonly modelName = 'mf';
  private grad: Float32Array = new Float32Array(0);
  private upd = new Int32Array(0);
  private nUpd = 0;

  protected override onCapacity(rows: number): void {
    free(this.grad);
    this.grad = allocF32(rows * this.dim, false);
    this.upd = new Int32Array(rows);
  }

  protected forwardRows(out: Float32Array): void {
    gatherInto(this.table, this.rows, this.nRows, this.dim, out);
  }

  protected backwardRows(l2Scale: number): void {
    const d = this.dim;
    const E0 = this.table;
    // rows that got a gradient (hard-negative candidates that were not chosen did not)
    let m = 0;
    for (let s = 0; s < this.nRows; s++) {
      const c = this.l2Count[s];
      if (c === 0) continue;
      const o = this.rows[s] * d;
      const g = m * d;
      const k = l2Scale * c;
      for (let q = 0; q < d; q++) this.grad[g + q] = this.dF[s * d + q] + k * E0[o + q];
      this.upd[m++] = this.rows[s];
    }
    this.nUpd = m;
  }

  protected applyGradient(): void {
    // slots are distinct nodes, so the rows are unique (their order does not matter to the update)
    const m = this.nUpd;
    this.adam.stepRows(this.param, { rows: this.upd.subarray(0, m), values: this.grad.subarray(0, m * this.dim) }, this.dim);
  }

  protected denseGradient(): Float32Array {
    const d = this.dim;
    const g = new Float32Array(this.table.length);
    for (let r = 0; r < this.nUpd; r++) g.set(this.grad.subarray(r * d, r * d + d), this.upd[r] * d);
    return g;
  }

  protected finalTable(): Float32Array {
    return this.table;
  }

  protected invalidate(): void {}

  override dispose(): void {
    free(this.grad);
    super.dispose();
  }
}

/** Fits a BPR embedding model with the shared training loop and returns it ready to score. */
export async function fitBpr<M extends BprEmbeddingModel>(ctx: FitContext, model: M): Promise<M> {
  try {
    model.training = await trainLoop(ctx, model, { maxEpochs: model.cfg.epochs, evalEvery: model.cfg.evalEvery, patience: model.cfg.patience });
    model.finishTraining();
    return model;
  } catch (err) {
    model.dispose();
    throw err;
  }
}

export const mfSpec: ModelSpec = registerModel({
  name: 'mf',
  description: 'Matrix factorisation trained with BPR (or BCE), Adam on the batch’s rows',
  kind: 'trained',
  params: BPR_PARAMS,
  async fit(ctx) {
    const params = resolveParams(mfSpec, ctx.params);
    return fitBpr(ctx, new MfModel(ctx.data, bprConfig(params), ctx.seed, params));
  },
  load(dir, data) {
    return loadEmbeddings(dir, data, 'mf');
  },
});
