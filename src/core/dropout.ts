/**
 * Inverted dropout with a seeded PRNG: y = x ⊙ m / (1 − p) with m_i ~ Bernoulli(1 − p).
 * The mask is returned and reused by the backward pass: ∂x = ∂y ⊙ m / (1 − p).
 * The same seed (same {@link Rng} state) gives the same mask on every run.
 *
 * Shapes: any; x, y, mask have the same length.
 */
import { allocF32 } from './heap.js';
import type { Rng } from './random.js';

export interface DropoutResult {
  out: Float32Array;
  /** 1 = kept, 0 = dropped */
  mask: Uint8Array;
  /** the scale applied to kept elements, 1 / (1 − p) */
  scale: number;
}

/** Applies dropout with probability `p` (0 ≤ p < 1), drawing the mask from `rng`. */
export function dropout(x: Float32Array, p: number, rng: Rng, out?: Float32Array): DropoutResult {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  const o = out ?? allocF32(x.length, false);
  const mask = new Uint8Array(x.length);
  const scale = 1 / (1 - p);
  const threshold = Math.floor(p * 4294967296);
  for (let i = 0; i < x.length; i++) {
    const keep = rng.nextU32() >= threshold ? 1 : 0;
    mask[i] = keep;
    o[i] = keep ? x[i] * scale : 0;
  }
  return { out: o, mask, scale };
}

/** ∂x = ∂y ⊙ mask · scale. */
export function dropoutBackward(dy: Float32Array, mask: Uint8Array, scale: number, out?: Float32Array): Float32Array {
  if (dy.length !== mask.length) throw new Error('dropoutBackward: length mismatch');
  const o = out ?? allocF32(dy.length, false);
  for (let i = 0; i < dy.length; i++) o[i] = mask[i] ? dy[i] * scale : 0;
  return o;
}
