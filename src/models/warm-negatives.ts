/**
 * Negatives restricted to warm items (items with at least one train interaction), for content-aware models.
 *
 * A cold item never appears as a positive, so with negatives drawn over all items it only ever receives
 * "score lower" gradients: a content model that can tell items apart (an MLP on item vectors memorises
 * them on small catalogs) learns to rank exactly the cold items last, which is what cold start must avoid.
 * Drawing negatives among warm items only (as cold-start recommenders train) removes that signal: the
 * model then ranks a cold item by its content alone.
 */
import { Rng } from '../core/index.js';
import type { PartCsr } from '../graphs/split-data.js';

export class WarmNegatives {
  private readonly warm: Int32Array;
  private readonly isCold: Uint8Array;
  private readonly seen: Set<number>[];
  private readonly rng: Rng;

  constructor(train: PartCsr, coldItems: Uint8Array, seed: number) {
    const warm: number[] = [];
    for (let i = 0; i < coldItems.length; i++) if (!coldItems[i]) warm.push(i);
    this.warm = Int32Array.from(warm);
    this.isCold = coldItems;
    const users = train.indptr.length - 1;
    this.seen = Array.from({ length: users }, (_, u) => new Set(train.indices.subarray(train.indptr[u], train.indptr[u + 1])));
    this.rng = new Rng(seed ^ 0x3c6ef372);
  }

  /** True when some items are cold (otherwise {@link replace} changes nothing). */
  get active(): boolean {
    return this.warm.length < this.isCold.length && this.warm.length > 0;
  }

  /**
   * In place: every cold candidate in `neg` (row r of `negPerPos` candidates belongs to users[r]) becomes a
   * uniform warm item the user has not seen (after 100 rejections, any warm item).
   */
  replace(users: ArrayLike<number>, neg: Int32Array, negPerPos: number, size: number): void {
    if (!this.active) return;
    const n = this.warm.length;
    for (let r = 0; r < size; r++) {
      const seen = this.seen[users[r]];
      for (let m = 0; m < negPerPos; m++) {
        const k = r * negPerPos + m;
        if (!this.isCold[neg[k]]) continue;
        let j = this.warm[this.rng.int(n)];
        for (let t = 0; t < 100 && seen.has(j); t++) j = this.warm[this.rng.int(n)];
        neg[k] = j;
      }
    }
  }
}
