/**
 * Seeds and samplers of the demo catalog, over the project's one PRNG ({@link Rng} of src/core/random.ts:
 * xoshiro128** seeded through splitmix32; the generator's normal draws use its polar method, `gaussian`).
 *
 * Streams are derived from (seed, stream name, index) with `deriveSeed`, so that independent parts of the
 * generator (items, users, texts, images) do not shift each other when one of them draws more numbers.
 */

import { Rng } from '../../core/random.js';
import { fnv1a32 } from '../../core/hash.js';

export { Rng };

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
  const s = typeof stream === 'number' ? stream >>> 0 : fnv1a32(stream);
  let h = mix32(lo ^ 0x9e3779b9);
  h = mix32(h ^ Math.imul(hi, 0x7feb352d) ^ 0x632be5ab);
  h = mix32(h ^ s);
  h = mix32(h ^ Math.imul(index >>> 0, 0x846ca68b) ^ Math.floor(index / 4294967296));
  return h;
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
    const x = rng.next() * this.total;
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
