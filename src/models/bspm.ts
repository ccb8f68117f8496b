/**
 * BSPM (Choi et al., SIGIR 2023, "Blurring-Sharpening Process Models for Collaborative Filtering"):
 * a user's interaction row is blurred by a heat-diffusion ODE over the normalised item graph, then
 * sharpened by a reversed process. With P̃ = R̃ᵀR̃ and V_k as in ./graph-filter.ts (row vectors):
 *
 *   blurring     dx/dt = x P̃ − x = −x L̃    (L̃ = I − P̃),   x(0) = r_u,     t ∈ [0, T_b]
 *   ideal filter idl_u = r_u D_I^{-1/2} V_k V_kᵀ D_I^{1/2}
 *   sharpening   ds/dt = −s P̃,                                               t ∈ [0, T_s]
 *
 * "Final sharpening" (the paper's early merge, BSPM-EM; `final_sharpening = true`, the default):
 * s(0) = x(T_b) + β·idl_u and the score is s(T_s). Otherwise (late merge, BSPM-LM): s(0) = x(T_b) and
 * the score is s(T_s) + β·idl_u. With `t_point_combination` the score averages the grid states
 * x(t_1..t_Kb) and s(t_1..t_Ks) instead of taking s(T_s) (plus β·idl_u in the late-merge variant).
 *
 * Note on the sharpening form: −s P̃ = s L̃ − s, i.e. the reversed heat equation ds/dt = +L̃ s plus a
 * uniform decay −s, which scales every item's score by the same e^{−t} and so does not change
 * rankings; the reference code integrates −s P̃, and so does this. The reference computes the ideal
 * term as one Euler step of dx/dt = x D^{-1/2}V Vᵀ D^{1/2} − x over [0, 1], which equals idl_u exactly.
 *
 * Defaults: the authors' Gowalla command (jeongwhanchoi/BSPM README): factor_dim 448, idl_beta 0.2,
 * blurring Euler with 1 step over T_b = 1 (so x(T_b) = r_u P̃), sharpening RK4 with 1 step over
 * T_s = 2.5, final_sharpening True, t_point_combination False.
 *
 * Gowalla (official split, full ranking, bench/models/graph-filter.bench.ts): Recall@20 0.1927, NDCG@20
 * 0.1610 with these defaults (0.1924 / 0.1601 with a more exact SVD: 10 power iterations, 128 extra
 * directions); paper: about 0.192 / 0.160.
 *
 * Computation. Everything is linear in r_u, so the ideal term is folded into a precomputed basis: the
 * sharpening flow S_T (an RK4 polynomial in P̃) maps β·idl_u = (r_u D^{-1/2} V)(β Vᵀ D^{1/2}) to
 * (r_u D^{-1/2} V)·(β S_T(Vᵀ D^{1/2})), so `fit` runs the ODE once on the k rows of Vᵀ D^{1/2} and
 * `scoreUsers` does one matmul (I × k)·(k × block) for it. The blurred/sharpened part runs the ODE on
 * blocks of users (item-major I × block): the first P̃ product from the sparse r_u (a scatter + one
 * SpMM), then 2 SpMMs per further P̃ product (4 for one RK4 step). `pairScores` reads single pairs off
 * those rows: the sharpened part is a polynomial of degree up to 5 in P̃ (defaults), with no cheaper exact
 * per-pair form, so a pair costs its user's row (./graph-filter-pairs.ts).
 */

import { allocF32, axpby, free, matmul, scale } from '../core/index.js';
import type { SplitData } from '../graphs/split-data.js';
import {
  fitSpectralState,
  idealBasis,
  integrateLinear,
  loadSpectral,
  NormalizedInteractions,
  saveSpectral,
  scoreInBlocks,
  type LinearFlow,
  type OdeMethod,
  type SpectralState,
} from './graph-filter.js';
import { pairScoresFromRows } from './graph-filter-pairs.js';
import type { FitContext, ModelSpec, Params, Recommender } from './model.js';
import { registerModel } from './registry.js';

interface BspmSettings {
  beta: number;
  blurT: number;
  blurSteps: number;
  blurSolver: OdeMethod;
  sharpenT: number;
  sharpenSteps: number;
  sharpenSolver: OdeMethod;
  finalSharpening: boolean;
  tPointCombination: boolean;
}

function settings(p: Params): BspmSettings {
  return {
    beta: Number(p.beta),
    blurT: Number(p.blur_t),
    blurSteps: Number(p.blur_steps),
    blurSolver: String(p.blur_solver) as OdeMethod,
    sharpenT: Number(p.sharpen_t),
    sharpenSteps: Number(p.sharpen_steps),
    sharpenSolver: String(p.sharpen_solver) as OdeMethod,
    finalSharpening: Boolean(p.final_sharpening),
    tPointCombination: Boolean(p.t_point_combination),
  };
}

export class BspmModel implements Recommender {
  readonly modelName = 'bspm';
  readonly numUsers: number;
  readonly numItems: number;
  private readonly s: BspmSettings;
  /** The ideal term's left factor (I × k): β · D^{1/2}V, carried through the sharpening flow when merged early. */
  private readonly basis: Float32Array | null;
  /** dx/dt = x P̃ − x and ds/dt = −s P̃ on item-major blocks of the current width. */
  private readonly blurFlow: LinearFlow;
  private readonly sharpenFlow: LinearFlow;
  private width = 0;

  constructor(
    readonly graph: NormalizedInteractions,
    readonly state: SpectralState,
    private readonly splitHash: string,
  ) {
    this.numUsers = graph.numUsers;
    this.numItems = graph.numItems;
    const s = (this.s = settings(state.params as Params));
    const apply = (x: Float32Array, c: number, out: Float32Array, add?: Float32Array) => graph.applyP(x, this.width, out, c, add);
    this.blurFlow = { a: 1, s: -1, apply };
    this.sharpenFlow = { a: -1, s: 0, apply };
    const { k } = state;
    if (k > 0 && s.beta !== 0) {
      const I = this.numItems;
      const basis = idealBasis(graph, state, 1);
      if (s.finalSharpening) {
        // S_T(D^{1/2} V): the k basis columns through the sharpening ODE (or the mean of its grid states)
        this.width = k;
        const sum = s.tPointCombination ? allocF32(I * k) : undefined;
        integrateLinear(basis, this.sharpenFlow, { method: s.sharpenSolver, T: s.sharpenT, steps: s.sharpenSteps, sumStates: sum });
        if (sum) {
          basis.set(sum);
          free(sum);
        }
      }
      const scale = s.finalSharpening && s.tPointCombination ? s.beta / (s.blurSteps + s.sharpenSteps) : s.beta;
      for (let t = 0; t < basis.length; t++) basis[t] *= scale;
      this.basis = basis;
    } else {
      this.basis = null;
    }
  }

  scoreUsers(users: Int32Array, out: Float32Array): void {
    scoreInBlocks(users, this.numItems, out, (block, d) => this.scoreBlock(block, d));
  }

  /** The score of each pair (users[r], items[r]): scoreUsers' entry (each distinct user's row is scored). */
  pairScores(users: Int32Array, items: Int32Array): Float32Array {
    return pairScoresFromRows((us, out) => this.scoreUsers(us, out), this.numItems, users, items);
  }

  /** The item-major I × d scores of a block of users. */
  private scoreBlock(users: Int32Array, d: number): Float32Array {
    const { graph, numItems: I, s } = this;
    this.width = d;
    const n = I * d;
    const x = graph.buffer(1, n);
    const work = [graph.buffer(2, n), graph.buffer(3, n), graph.buffer(4, n)];
    const sum = s.tPointCombination ? graph.buffer(5, n) : undefined;
    if (sum) sum.fill(0);
    // blurring from r_u: its first product r_u P̃ comes from the sparse path
    graph.indicator(users, d, x);
    const firstApply = (c: number, out: Float32Array, add?: Float32Array) => graph.linearFilter(users, d, out, add, c);
    integrateLinear(x, this.blurFlow, { method: s.blurSolver, T: s.blurT, steps: s.blurSteps, firstApply, sumStates: sum, work });
    integrateLinear(x, this.sharpenFlow, { method: s.sharpenSolver, T: s.sharpenT, steps: s.sharpenSteps, sumStates: sum, work });
    const lin = sum ?? x;
    if (sum) scale(sum, 1 / (s.blurSteps + s.sharpenSteps), sum);
    if (this.basis) {
      const { k, v } = this.state;
      const wt = graph.buffer(7, k * d);
      graph.idealCoefficients(users, v, k, d, wt);
      const st = work[0];
      matmul(this.basis, wt, I, k, d, { out: st });
      return axpby(1, st, 1, lin, st);
    }
    return lin;
  }

  async save(dir: string): Promise<void> {
    await saveSpectral(dir, 'bspm', { numUsers: this.numUsers, numItems: this.numItems, splitHash: this.splitHash }, this.graph, this.state);
  }

  dispose(): void {
    if (this.basis) free(this.basis);
    free(this.state.v);
    this.graph.dispose();
  }
}

/** Fits BSPM on `data.train` with resolved params (also used by the tests and the benchmark). */
export function fitBspm(data: SplitData, params: Params, seed: number, onStep?: (done: number, total: number) => void): BspmModel {
  const graph = new NormalizedInteractions(data.numUsers, data.numItems, data.train);
  const state = fitSpectralState(graph, data, params, 'beta', seed, onStep);
  return new BspmModel(graph, state, data.manifest.split_hash);
}

const SOLVERS = ['euler', 'rk4'] as const;

export const bspmSpec: ModelSpec = registerModel({
  name: 'bspm',
  description: 'BSPM (SIGIR 2023): blurring (heat ODE) then sharpening ODE over the normalised item graph, with the ideal low-pass filter',
  kind: 'closed-form',
  params: {
    k: { default: 448, min: 0, doc: 'factor_dim: top right singular vectors of R̃ in the ideal low-pass filter (0 = none)' },
    beta: { default: 0.2, min: 0, doc: 'idl_beta: weight β of the ideal low-pass filter' },
    blur_t: { default: 1, min: 0, doc: 'T_b: end time of the blurring ODE dx/dt = x P̃ − x' },
    blur_steps: { default: 1, min: 1, max: 1000, doc: 'K_b: steps of the blurring solver' },
    blur_solver: { default: 'euler', choices: SOLVERS, doc: 'solver of the blurring ODE' },
    sharpen_t: { default: 2.5, min: 0, doc: 'T_s: end time of the sharpening ODE ds/dt = −s P̃' },
    sharpen_steps: { default: 1, min: 1, max: 1000, doc: 'K_s: steps of the sharpening solver' },
    sharpen_solver: { default: 'rk4', choices: SOLVERS, doc: 'solver of the sharpening ODE' },
    final_sharpening: { default: true, doc: 'early merge: add β·ideal before sharpening (true) or after it (false)' },
    t_point_combination: { default: false, doc: 'average the states at every solver step instead of the final state' },
    oversample: { default: 64, min: 0, doc: 'randomized SVD: extra random directions beyond k' },
    power_iters: { default: 4, min: 0, max: 50, doc: 'randomized SVD: power (subspace) iterations' },
  },
  async fit(ctx: FitContext): Promise<Recommender> {
    const progress = ctx.progress('bspm: randomized SVD', Number(ctx.params.power_iters) + 2);
    try {
      return fitBspm(ctx.data, ctx.params, ctx.seed, (done) => progress.update(done));
    } finally {
      progress.stop();
    }
  },
  async load(dir: string, data: SplitData): Promise<Recommender> {
    const { graph, state } = await loadSpectral(dir, 'bspm', data);
    return new BspmModel(graph, state, data.manifest.split_hash);
  },
});
