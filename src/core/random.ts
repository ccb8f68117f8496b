/**
 * The project's one seeded PRNG: xoshiro128** (Blackman & Vigna, 32-bit state words) seeded through
 * splitmix32, so that dropout masks, negative sampling, initialisation and the demo catalog are reproducible
 * for a given seed on every platform (integer and IEEE-754 arithmetic with exactly specified results).
 * Two normal samplers: {@link Rng.normal} (Box–Muller, one per call: the models' initialisation) and
 * {@link Rng.gaussian} (Marsaglia's polar method with a cached second value: the demo generator).
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** cached second value of the polar method ({@link gaussian}) */
  private spare = NaN;

  constructor(seed = 0) {
    this.s0 = this.s1 = this.s2 = this.s3 = 0;
    this.reseed(seed);
  }

  /** Resets the state from a 32-bit seed (splitmix32 expansion); allocation-free, for per-record streams. */
  reseed(seed: number): this {
    let x = seed >>> 0;
    x = (x + 0x9e3779b9) >>> 0;
    this.s0 = splitmix(x);
    x = (x + 0x9e3779b9) >>> 0;
    this.s1 = splitmix(x);
    x = (x + 0x9e3779b9) >>> 0;
    this.s2 = splitmix(x);
    x = (x + 0x9e3779b9) >>> 0;
    this.s3 = splitmix(x);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    this.spare = NaN;
    return this;
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    let u = this.next();
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /**
   * Fills `out` with independent N(0, std²) draws in index order, out[i] = {@link normal}() · std (rounded to
   * float32), and returns it: the initialisation of embeddings and weights. Consumes the stream exactly as
   * `out.length` calls of {@link normal}.
   */
  fillNormal(out: Float32Array, std: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal() * std;
    return out;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hi] inclusive. */
  intBetween(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** N(mean, sd²) by Marsaglia's polar method (the second value of a pair is cached for the next call). */
  gaussian(mean = 0, sd = 1): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = NaN;
      return mean + sd * v;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = this.next() * 2 - 1;
      v = this.next() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * m;
    return mean + sd * u * m;
  }

  /** exp(N(mu, sigma²)) (polar method). */
  lognormal(mu: number, sigma: number): number {
    return Math.exp(this.gaussian(mu, sigma));
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** A uniformly chosen element. */
  choice<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** An index drawn proportionally to non-negative weights (linear scan: for short lists). */
  weighted(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i];
    let x = this.next() * total;
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
