/**
 * A closed-form prior for a trained graph model (mmgat `prior=ease|gfcf|bspm`): the closed-form model's
 * score, fitted on the train part, scaled to unit size on the train pairs:
 *
 *     p(u, i) = f(u, i) / c,   c = RMS of f(u, i) over (a sample of) the train pairs (u, i)
 *     s(u, i) = ⟨e_u, e_i⟩ + w · p(u, i)                    (w = prior_weight)
 *
 * f: EASE's x_u B (λ chosen on valid from a grid, src/models/ease.ts; B_ii = 0, so a train pair's prior is
 * its leave-one-out score), GF-CF's or BSPM's filtered row (their fixed defaults, or `params`;
 * src/models/gfcf.ts, bspm.ts). One interface for all three: `pairScores` for BPR triples (EASE and GF-CF
 * per pair by sparse/low-rank dots; BSPM reads each distinct user's full row, see graph-filter-pairs.ts),
 * `addScores` for ranking, save/load. Rows of `addScores` are kept per user up to `cacheMb` (the per-epoch
 * validation ranks the same users every time, and the prior's rows never change).
 * {@link selectPriorWeight} picks w on the valid part (NDCG@20) from a grid.
 * Shapes: pairScores [b], addScores adds into [users.length × I], a cached row [I].
 */
import { join } from 'node:path';
import type { SplitData } from '../graphs/split-data.js';
import { easeSpec, fitEase, type EaseModel } from './ease.js';
import { bspmSpec, fitBspm, type BspmModel } from './bspm.js';
import { fitGfcf, gfcfSpec, type GfcfModel } from './gfcf.js';
import { resolveParams } from './registry.js';
import type { Recommender } from './model.js';
import { loadState, saveState } from '../train/checkpoint.js';
import { ppError } from '../errors.js';

/** Most train pairs used to measure the scale c. */
const SCALE_SAMPLE = 20000;
/** BSPM scores whole rows for its pairs: its scale is measured on the train pairs of at most this many users. */
const SCALE_USERS_ROWS = 256;
/** Users scored per call when rows are filled. */
const ROW_CHUNK = 256;

export const PRIOR_KINDS = ['ease', 'gfcf', 'bspm'] as const;
export type PriorKind = (typeof PRIOR_KINDS)[number];

/** What a prior needs of its closed-form model (raw, unscaled scores). */
type PriorModel = (EaseModel | GfcfModel | BspmModel) & {
  pairScores(users: Int32Array, items: Int32Array): Float32Array;
  scoreUsers(users: Int32Array, out: Float32Array): void;
};

export interface PriorFitOptions {
  kind: PriorKind;
  /** EASE: λ > 0 fixes it; 0 chooses it on valid from `grid` */
  lambda: number;
  grid: string;
  memoryMb: number;
  /** GF-CF / BSPM: their params as `key=value,key=value` (empty: the model's defaults) */
  params?: string;
  /** MB of score rows kept for repeated users in addScores (0 = none) */
  cacheMb?: number;
}

export class ItemPrior {
  private readonly cache = new Map<number, Float32Array>();
  private cacheRows: number;

  private constructor(
    readonly kind: PriorKind,
    readonly model: PriorModel,
    /** c: the prior's raw scores are divided by it */
    readonly scale: number,
    cacheMb: number,
  ) {
    this.cacheRows = Math.floor((Math.max(0, cacheMb) * 2 ** 20) / (4 * Math.max(1, model.numItems)));
  }

  /**
   * Fits the prior's model on `data.train` (EASE: `lambda` > 0 fixes λ, 0 chooses it on valid with
   * `validate` from `grid`; GF-CF / BSPM: `params` or their defaults) and measures its scale on the train pairs.
   */
  static async fit(
    data: SplitData,
    opts: PriorFitOptions,
    seed: number,
    validate: ((m: Recommender) => Promise<Record<string, number>>) | null,
    report: (lambda: number, metrics: Record<string, number>) => void = () => {},
  ): Promise<ItemPrior> {
    const kind = opts.kind;
    let model: PriorModel;
    if (kind === 'ease') {
      const params = resolveParams(easeSpec, { lambda: opts.lambda, grid: opts.grid, memory_mb: opts.memoryMb });
      const hasValid = data.valid.indices.length > 0;
      model = await fitEase(data, params, seed, hasValid ? validate : null, (_s, lambda, metrics) => report(lambda, metrics));
    } else if (kind === 'gfcf') {
      model = fitGfcf(data, resolveParams(gfcfSpec, parsePriorParams(opts.params ?? '')), seed);
    } else if (kind === 'bspm') {
      model = fitBspm(data, resolveParams(bspmSpec, parsePriorParams(opts.params ?? '')), seed);
    } else {
      throw ppError('PP_MODEL_PARAM', `item prior: unknown kind '${String(kind)}' (one of ${PRIOR_KINDS.join(', ')})`);
    }
    return new ItemPrior(kind, model, trainScale(model, data, kind === 'bspm' ? SCALE_USERS_ROWS : Infinity), opts.cacheMb ?? 0);
  }

  /** The prior with a given scale (tests, reload). */
  static of(kind: PriorKind, model: PriorModel, scale: number, cacheMb = 0): ItemPrior {
    if (!(scale > 0)) throw ppError('PP_MODEL_PARAM', `item prior: scale ${scale} is not positive`);
    return new ItemPrior(kind, model, scale, cacheMb);
  }

  /** EASE's λ (NaN for the graph filters). */
  get lambda(): number {
    return this.kind === 'ease' ? (this.model as EaseModel).lambda : NaN;
  }

  get numItems(): number {
    return this.model.numItems;
  }

  /** Users whose rows are kept now. */
  get cachedUsers(): number {
    return this.cache.size;
  }

  /** Changes the row cache's size (rows beyond it are dropped, newest kept). */
  setCacheMb(mb: number): void {
    this.cacheRows = Math.floor((Math.max(0, mb) * 2 ** 20) / (4 * Math.max(1, this.model.numItems)));
    while (this.cache.size > this.cacheRows) this.cache.delete(this.cache.keys().next().value as number);
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
    const k = weight / this.scale;
    this.forRows(users, (r, row) => {
      const o = r * n;
      for (let j = 0; j < n; j++) out[o + j] += k * row[j];
    });
  }

  /** Calls `each(r, raw row of users[r])` for every r: kept rows, the rest scored in chunks (and kept while there is room). */
  private forRows(users: Int32Array, each: (r: number, row: Float32Array) => void): void {
    const n = this.model.numItems;
    const missing: number[] = [];
    for (let r = 0; r < users.length; r++) {
      const row = this.cache.get(users[r]);
      if (row) each(r, row);
      else missing.push(r);
    }
    if (missing.length === 0) return;
    const buf = new Float32Array(Math.min(ROW_CHUNK, missing.length) * n);
    for (let m0 = 0; m0 < missing.length; m0 += ROW_CHUNK) {
      const rs = missing.slice(m0, m0 + ROW_CHUNK);
      const chunk = Int32Array.from(rs, (r) => users[r]);
      this.model.scoreUsers(chunk, buf.subarray(0, chunk.length * n));
      for (let t = 0; t < rs.length; t++) {
        let row = buf.subarray(t * n, (t + 1) * n);
        if (this.cache.size < this.cacheRows && !this.cache.has(chunk[t])) {
          row = row.slice();
          this.cache.set(chunk[t], row);
        }
        each(rs[t], row);
      }
    }
  }

  async save(dir: string): Promise<void> {
    await this.model.save(join(dir, this.kind));
    await saveState(join(dir, 'scale'), { tensors: {}, meta: { scale: this.scale, kind: this.kind } });
  }

  /** Reads what {@link save} wrote (a save without a kind is an EASE prior, as before gfcf/bspm). */
  static async load(dir: string, data: SplitData, cacheMb = 0): Promise<ItemPrior> {
    const s = await loadState(join(dir, 'scale'));
    const meta = (s?.meta ?? {}) as { scale?: number; kind?: string };
    const kind = (meta.kind ?? 'ease') as PriorKind;
    const spec = kind === 'ease' ? easeSpec : kind === 'gfcf' ? gfcfSpec : kind === 'bspm' ? bspmSpec : null;
    if (!spec) throw ppError('PP_MODEL_LOAD', `item prior in ${dir}: unknown kind '${kind}'`);
    const model = (await spec.load(join(dir, kind), data)) as PriorModel;
    return ItemPrior.of(kind, model, Number(meta.scale), cacheMb);
  }

  dispose(): void {
    this.cache.clear();
    this.model.dispose();
  }
}

/** `k=256,alpha=0.3` → { k: '256', alpha: '0.3' } (values are coerced by the model's param specs). */
export function parsePriorParams(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((x) => x.trim()).filter(Boolean)) {
    const at = part.indexOf('=');
    if (at <= 0) throw ppError('PP_MODEL_PARAM', `prior_params: '${part}' is not key=value`);
    out[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return out;
}

/**
 * RMS of the raw prior over an evenly strided sample of the train pairs (1 when all are 0); with
 * `maxUsers` finite, over the train pairs of an evenly strided sample of that many users instead.
 */
function trainScale(model: PriorModel, data: SplitData, maxUsers: number): number {
  const { indptr, indices } = data.train;
  const U = data.numUsers;
  const us: number[] = [];
  const is: number[] = [];
  if (Number.isFinite(maxUsers)) {
    const step = Math.max(1, Math.floor(U / maxUsers));
    for (let u = 0; u < U && us.length < SCALE_SAMPLE; u += step) {
      for (let t = indptr[u]; t < indptr[u + 1] && us.length < SCALE_SAMPLE; t++) {
        us.push(u);
        is.push(indices[t]);
      }
    }
  } else {
    const nnz = indptr[U];
    const step = Math.max(1, Math.floor(nnz / SCALE_SAMPLE));
    let u = 0;
    for (let t = 0; t < nnz && us.length < Math.ceil(nnz / step); t += step) {
      while (indptr[u + 1] <= t) u++;
      us.push(u);
      is.push(indices[t]);
    }
  }
  const s = model.pairScores(Int32Array.from(us), Int32Array.from(is));
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
