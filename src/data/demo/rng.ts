/**
 * A small, fast, seeded PRNG for the demo catalog: xoshiro128** (Blackman & Vigna) seeded through
 * splitmix32, with the distribution helpers the generator needs. Everything is integer or IEEE-754
 * arithmetic with exactly specified results, so a seed gives the same stream on every platform.
 *
 * Streams are derived from (seed, stream name, index) with `deriveSeed`, so that independent parts of the
 * generator (items, users, texts, images) do not shift each other when one of them draws more numbers.
 */

/** 32-bit FNV-1a of a string: names a stream. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A strong 32-bit integer finaliser (murmur3 fmix32). */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * Combines a user seed (any safe integer), a stream name and an index into a 32-bit stream seed.
 * The full 53 bits of the seed take part.
 */
export function deriveSeed(seed: number, stream: string | number, index = 0): number {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  const s = typeof stream === 'number' ? stream >>> 0 : hashString(stream);
  let h = mix32(lo ^ 0x9e3779b9);
  h = mix32(h ^ Math.imul(hi, 0x7feb352d) ^ 0x632be5ab);
  h = mix32(h ^ s);
  h = mix32(h ^ Math.imul(index >>> 0, 0x846ca68b) ^ Math.floor(index / 4294967296));
  return h;
}

export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;
  private spare = NaN;

  constructor(seed32 = 0) {
    this.reseed(seed32);
  }

  /** Resets the state from a 32-bit seed (splitmix32 expansion); allocation-free, for per-record streams. */
  reseed(seed32: number): this {
    // splitmix32 expansion, written out (no closure: this runs once per record).
    let s = seed32 | 0;
    s = (s + 0x9e3779b9) | 0;
    this.a = splitmix(s);
    s = (s + 0x9e3779b9) | 0;
    this.b = splitmix(s);
    s = (s + 0x9e3779b9) | 0;
    this.c = splitmix(s);
    s = (s + 0x9e3779b9) | 0;
    this.d = splitmix(s);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
    this.spare = NaN;
    return this;
  }

  /** A uniform unsigned 32-bit integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [0, n) for 1 ≤ n ≤ 2^32 (multiply-shift, negligible bias for our n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [lo, hi] inclusive. */
  intBetween(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** Standard normal (Marsaglia polar method, caches the second value). */
  normal(mean = 0, sd = 1): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = NaN;
      return mean + sd * v;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = this.float() * 2 - 1;
      v = this.float() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * m;
    return mean + sd * u * m;
  }

  /** exp(N(mu, sigma)). */
  lognormal(mu: number, sigma: number): number {
    return Math.exp(this.normal(mu, sigma));
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.float());
  }

  /** A uniformly chosen element. */
  choice<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** An index drawn proportionally to non-negative weights (linear scan: for short lists). */
  weighted(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i];
    let x = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i];
      if (x < 0) return i;
    }
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    return 0;
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T extends { length: number; [i: number]: unknown }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }

  /** `k` distinct indices from [0, n), in draw order (k small relative to n: rejection). */
  sampleDistinct(n: number, k: number): number[] {
    const out: number[] = [];
    if (k >= n) {
      for (let i = 0; i < n; i++) out.push(i);
      return this.shuffle(out);
    }
    while (out.length < k) {
      const x = this.int(n);
      if (!out.includes(x)) out.push(x);
    }
    return out;
  }
}

function splitmix(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * A sampler over a fixed discrete distribution by cumulative weights and binary search (O(log n) a draw,
 * no per-draw allocation). Used for Zipf popularity over thousands of items.
 */
export class CdfSampler {
  readonly cdf: Float64Array;
  readonly total: number;

  constructor(weights: ArrayLike<number>) {
    this.cdf = new Float64Array(weights.length);
    let acc = 0;
    for (let i = 0; i < weights.length; i++) {
      acc += weights[i];
      this.cdf[i] = acc;
    }
    this.total = acc;
  }

  get size(): number {
    return this.cdf.length;
  }

  sample(rng: Rng): number {
    const x = rng.float() * this.total;
    const cdf = this.cdf;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** Zipf weights 1/(rank+1)^s for ranks 0..n-1. */
export function zipfWeights(n: number, s: number): Float64Array {
  const w = new Float64Array(n);
  for (let r = 0; r < n; r++) w[r] = 1 / Math.pow(r + 1, s);
  return w;
}

/** A Zipf(s) sampler over ranks 0..n-1. */
export function zipfSampler(n: number, s: number): CdfSampler {
  return new CdfSampler(zipfWeights(n, s));
}

const BASE36 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** `n` uppercase base-36 characters. */
export function base36(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += BASE36[rng.int(36)];
  return s;
}
