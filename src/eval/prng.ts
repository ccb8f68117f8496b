/**
 * A small seeded pseudo-random generator for the evaluators (negative sampling, tie-breaking) and their tests.
 * Mulberry32: a 32-bit state advanced by the Weyl step s ← s + 0x6D2B79F5, then mixed; period 2^32, fast,
 * and identical on every platform — which is what reproducible evaluation needs (not cryptographic quality).
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n) for 1 ≤ n ≤ 2^32 (floor(u · n); bias ≤ n / 2^32, negligible for item counts). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}
