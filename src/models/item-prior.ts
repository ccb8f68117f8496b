/**
 * A closed-form item–item prior for a trained graph model (mmgat `prior=ease`): EASE's score, fitted on the
 * train part with λ chosen on valid (src/models/ease.ts), scaled to unit size on the train pairs:
 *
 *     p(u, i) = (x_u B)_i / c,   c = RMS of (x_u B)_i over (a sample of) the train pairs (u, i)
 *     s(u, i) = ⟨e_u, e_i⟩ + w · p(u, i)                    (w = prior_weight)
 *
 * As B_ii = 0, a train pair's own item never counts in its prior score, so the prior of a training triple is
 * the leave-one-out score. {@link selectPriorWeight} picks w on the valid part (NDCG@20) from a grid.
 * Shapes: pairScores [b], addScores adds into [users.length × I].
 */
import { join } from 'node:path';
import type { SplitData } from '../graphs/split-data.js';
import { easeSpec, fitEase, type EaseModel } from './ease.js';
import { resolveParams } from './registry.js';
import type { Recommender } from './model.js';
import { loadState, saveState } from '../train/checkpoint.js';
import { ppError } from '../errors.js';

/** Most train pairs used to measure the scale c. */
const SCALE_SAMPLE = 20000;

export class ItemPrior {
  private constructor(
    readonly model: EaseModel,
    /** c: the prior's raw scores are divided by it */
    readonly scale: number,
  ) {}

  /**
   * Fits EASE on `data.train` (`lambda` > 0 fixes λ; 0 chooses it on valid with `validate` from `grid`) and
   * measures its scale on the train pairs.
   */
  static async fit(
    data: SplitData,
    opts: { lambda: number; grid: string; memoryMb: number },
    seed: number,
    validate: ((m: Recommender) => Promise<Record<string, number>>) | null,
    report: (lambda: number, metrics: Record<string, number>) => void = () => {},
  ): Promise<ItemPrior> {
    const params = resolveParams(easeSpec, { lambda: opts.lambda, grid: opts.grid, memory_mb: opts.memoryMb });
    const hasValid = data.valid.indices.length > 0;
    const model = await fitEase(data, params, seed, hasValid ? validate : null, (_s, lambda, metrics) => report(lambda, metrics));
    return new ItemPrior(model, trainScale(model, data));
  }

  /** The prior with a given scale (tests, reload). */
  static of(model: EaseModel, scale: number): ItemPrior {
    if (!(scale > 0)) throw ppError('PP_MODEL_PARAM', `item prior: scale ${scale} is not positive`);
    return new ItemPrior(model, scale);
  }

  get lambda(): number {
    return this.model.lambda;
  }

  /** p(u_r, i_r) for each pair. */
  pairScores(users: Int32Array, items: Int32Array): Float32Array {
    const s = this.model.pairScores(users, items);
    for (let r = 0; r < s.length; r++) s[r] /= this.scale;
    return s;
  }

  /** out[r, :] += weight · p(users[r], :) (out: users.length × I). */
  addScores(users: Int32Array, out: Float32Array, weight: number): void {
    if (weight === 0) return;
    const n = this.model.numItems;
    const tmp = new Float32Array(users.length * n);
    this.model.scoreUsers(users, tmp);
    const k = weight / this.scale;
    for (let j = 0; j < tmp.length; j++) out[j] += k * tmp[j];
  }

  async save(dir: string): Promise<void> {
    await this.model.save(join(dir, 'ease'));
    await saveState(join(dir, 'scale'), { tensors: {}, meta: { scale: this.scale } });
  }

  static async load(dir: string, data: SplitData): Promise<ItemPrior> {
    const model = (await easeSpec.load(join(dir, 'ease'), data)) as EaseModel;
    const s = await loadState(join(dir, 'scale'));
    return ItemPrior.of(model, Number((s?.meta as { scale?: number } | undefined)?.scale));
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** RMS of the raw prior over an evenly strided sample of the train pairs (1 when all are 0). */
function trainScale(model: EaseModel, data: SplitData): number {
  const { indptr, indices } = data.train;
  const nnz = indptr[data.numUsers];
  const step = Math.max(1, Math.floor(nnz / SCALE_SAMPLE));
  const n = Math.ceil(nnz / step);
  const users = new Int32Array(n);
  const items = new Int32Array(n);
  let u = 0;
  for (let t = 0, r = 0; t < nnz && r < n; t += step, r++) {
    while (indptr[u + 1] <= t) u++;
    users[r] = u;
    items[r] = indices[t];
  }
  const s = model.pairScores(users, items);
  let sq = 0;
  for (const v of s) sq += v * v;
  const rms = Math.sqrt(sq / Math.max(1, s.length));
  return rms > 0 ? rms : 1;
}

/**
 * The weight of the prior with the best valid NDCG@20 among `candidates` (ties: the first), applied with
 * `apply` before each validation; returns every candidate's valid metrics too. Test is never looked at.
 */
export async function selectPriorWeight(
  candidates: number[],
  apply: (w: number) => void,
  validate: () => Promise<Record<string, number>>,
): Promise<{ weight: number; value: number; tried: { weight: number; metrics: Record<string, number> }[] }> {
  if (candidates.length === 0) throw ppError('PP_MODEL_PARAM', 'item prior: no weights to choose from');
  let best = { weight: candidates[0], value: -Infinity };
  const tried: { weight: number; metrics: Record<string, number> }[] = [];
  for (const w of candidates) {
    apply(w);
    const metrics = await validate();
    tried.push({ weight: w, metrics });
    const v = metrics['ndcg@20'] ?? -Infinity;
    if (v > best.value) best = { weight: w, value: v };
  }
  apply(best.weight);
  return { ...best, tried };
}
