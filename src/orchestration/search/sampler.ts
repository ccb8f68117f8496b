/**
 * Samplers of `plotpointe tune`: where the next trial goes, given the finished ones.
 *
 * random: every point drawn independently from the space.
 * tpe: the Tree-structured Parzen Estimator of Bergstra et al. 2011 (as hyperopt/Optuna run it, per
 *   dimension, independent): after `startup` random trials, the trials are split into the best γ share
 *   ("good", at least one) and the rest ("bad"); per dimension, l(x) and g(x) are Parzen densities of the
 *   good and bad values, and of `candidates` draws from l the one with the largest l(x)/g(x) is taken.
 *   Numeric dims live in [0, 1] (linear or log quantile, space.ts): each density is a mixture of the uniform
 *   prior (one share) and one Gaussian per value with hyperopt's adaptive bandwidth ({@link parzen}).
 *   Choices: each value's count + 1 (the prior), normalised.
 * Failed trials (value null) count as bad. Deterministic for a seed.
 */
import { ppError } from '../../errors.js';
import { Rng } from '../../core/random.js';
import type { Dimension, SearchSpace } from '../../models/search-spaces.js';
import { fromUnit, randomPoint, toUnit, type ParamValue, type Point } from './space.js';

export interface Observation {
  params: Point;
  /** The objective (higher is better); null for a failed trial. */
  value: number | null;
}

export interface Sampler {
  readonly name: 'random' | 'tpe';
  next(space: SearchSpace, history: readonly Observation[]): Point;
}

export const SAMPLERS = ['random', 'tpe'] as const;

export function makeSampler(name: string, seed: number, opts: TpeOptions = {}): Sampler {
  if (name === 'random') return new RandomSampler(seed);
  if (name === 'tpe') return new TpeSampler(seed, opts);
  throw ppError('PP_USAGE', `--sampler must be one of ${SAMPLERS.join(', ')}, got "${name}"`);
}

export class RandomSampler implements Sampler {
  readonly name = 'random';
  private readonly rng: Rng;
  constructor(seed: number) {
    this.rng = new Rng(seed);
  }
  next(space: SearchSpace): Point {
    return randomPoint(space, this.rng);
  }
}

export interface TpeOptions {
  /** Random trials before the model is used (default 5). */
  startup?: number;
  /** Share of trials counted as good (default 0.25). */
  gamma?: number;
  /** Draws from l(x) scored per dimension (default 24). */
  candidates?: number;
}

type Numeric = Exclude<Dimension, { type: 'choice' }>;

export class TpeSampler implements Sampler {
  readonly name = 'tpe';
  private readonly rng: Rng;
  private readonly startup: number;
  private readonly gamma: number;
  private readonly candidates: number;

  constructor(seed: number, o: TpeOptions = {}) {
    this.rng = new Rng(seed);
    this.startup = o.startup ?? 5;
    this.gamma = o.gamma ?? 0.25;
    this.candidates = o.candidates ?? 24;
  }

  next(space: SearchSpace, history: readonly Observation[]): Point {
    if (history.length < this.startup) return randomPoint(space, this.rng);
    const sorted = [...history].sort((a, b) => (b.value ?? -Infinity) - (a.value ?? -Infinity));
    const nGood = Math.max(1, Math.ceil(this.gamma * sorted.filter((o) => o.value !== null).length));
    const good = sorted.slice(0, nGood);
    const bad = sorted.slice(nGood);
    const out: Point = {};
    for (const [k, d] of Object.entries(space)) {
      const valuesOf = (obs: readonly Observation[]) => obs.map((o) => o.params[k]).filter((v): v is ParamValue => v !== undefined);
      out[k] = d.type === 'choice' ? this.choice(d.values, valuesOf(good), valuesOf(bad)) : this.numeric(d, valuesOf(good) as number[], valuesOf(bad) as number[]);
    }
    return out;
  }

  private numeric(d: Numeric, good: number[], bad: number[]): number {
    const l = parzen(good.map((v) => toUnit(d, v)));
    const g = parzen(bad.map((v) => toUnit(d, v)));
    let best = { u: this.rng.next(), score: -Infinity };
    for (let c = 0; c < this.candidates; c++) {
      const u = l.sample(this.rng);
      const score = Math.log(l.density(u)) - Math.log(g.density(u));
      if (score > best.score) best = { u, score };
    }
    return fromUnit(d, best.u);
  }

  private choice(values: readonly ParamValue[], good: ParamValue[], bad: ParamValue[]): ParamValue {
    const weights = (obs: ParamValue[]) => {
      const w = values.map((v) => 1 + obs.filter((o) => o === v).length);
      const sum = w.reduce((a, b) => a + b, 0);
      return w.map((x) => x / sum);
    };
    const l = weights(good);
    const g = weights(bad);
    let best = { i: 0, score: -Infinity };
    for (let c = 0; c < this.candidates; c++) {
      let r = this.rng.next();
      let i = 0;
      while (i < l.length - 1 && r >= l[i]!) r -= l[i++]!;
      const score = Math.log(l[i]!) - Math.log(g[i]!);
      if (score > best.score) best = { i, score };
    }
    return values[best.i]!;
  }
}

/**
 * An adaptive Parzen density on [0, 1] (hyperopt's): the uniform prior (one share) and one Gaussian per
 * point whose σ is the larger distance to its neighbours (the ends 0 and 1 count as neighbours), clipped to
 * [1 / min(100, n + 1), 1] — wide while points are few, narrowing as they accumulate.
 */
export function parzen(points: readonly number[]): { density(u: number): number; sample(rng: Rng): number } {
  const n = points.length;
  const order = points.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const sigma = new Array<number>(n);
  const minSigma = 1 / Math.min(100, n + 1);
  order.forEach(({ p, i }, r) => {
    const left = p - (r > 0 ? order[r - 1]!.p : 0);
    const right = (r < n - 1 ? order[r + 1]!.p : 1) - p;
    sigma[i] = Math.min(1, Math.max(minSigma, left, right));
  });
  const SQRT_2PI = Math.sqrt(2 * Math.PI);
  return {
    density(u) {
      let s = 1; // the prior's density on [0, 1]
      for (let j = 0; j < n; j++) s += Math.exp(-0.5 * ((u - points[j]!) / sigma[j]!) ** 2) / (sigma[j]! * SQRT_2PI);
      return s / (n + 1);
    },
    sample(rng) {
      const j = rng.int(n + 1);
      if (j === n) return rng.next();
      // redrawn (a few times) until inside [0, 1]: a truncated Gaussian, not a pile-up at the ends
      for (let a = 0; a < 8; a++) {
        const u = points[j]! + sigma[j]! * rng.normal();
        if (u >= 0 && u <= 1) return u;
      }
      return Math.min(1, Math.max(0, points[j]!));
    },
  };
}
