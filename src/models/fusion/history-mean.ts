/**
 * The history-mean user tower of the content-only fusion: a user is the mean of the fused vectors of their train
 * items, not a free parameter, so a user is as well represented after one step as after a thousand, whatever the
 * number of users (a free user vector learns only when its user is sampled).
 *
 *     scoring:   p_u = (1/|I_u|) Σ_{j∈I_u} f(j)                         I_u: u's TRAIN items (never valid/test)
 *     training:  p_u^{−i} = ((S_u − h̃_i) / (|I_u| − 1)) W₂ + b₂         S_u = Σ_{j∈I_u} h̃_j,  i ∈ I_u the positive
 *
 * f(j) = h(j) W₂ + b₂ with h the fusion MLP's hidden layer ({@link FusionMlp.forwardAllParts}), so the mean of f is
 * the mean of h through the output layer. h̃ is every item's hidden layer without dropout, computed once an epoch
 * and frozen for it: a step costs O(batch) (a sum over the batch users' histories in H dimensions, then one
 * [b × H]·[H × D] product), the user side's gradient reaches W₂ and b₂ exactly and W₁ not at all (the item side
 * carries W₁'s). The positive is left out of its own user's mean (otherwise the loss rewards each item's
 * similarity to itself); a user with a single train item has no leave-one-out history and is skipped in training
 * (scored by that item at evaluation).
 */
import type { PartCsr } from '../../graphs/split-data.js';

export class HistoryMean {
  private hidden: Float32Array | null = null;
  private width = 0;
  /** S_u of the users seen since the last {@link setHidden} (each summed once an epoch) */
  private readonly sums = new Map<number, Float32Array>();

  constructor(private readonly train: PartCsr) {}

  /** |I_u|: u's train items. */
  degree(u: number): number {
    return this.train.indptr[u + 1] - this.train.indptr[u];
  }

  /** The frozen hidden table h̃ [numItems × width] of this epoch (the previous sums are dropped). */
  setHidden(hidden: Float32Array, width: number): void {
    this.hidden = hidden;
    this.width = width;
    this.sums.clear();
  }

  get ready(): boolean {
    return this.hidden !== null;
  }

  private sumOf(u: number): Float32Array {
    let s = this.sums.get(u);
    if (s) return s;
    const h = this.hidden!;
    const w = this.width;
    const acc = new Float64Array(w);
    for (let e = this.train.indptr[u]; e < this.train.indptr[u + 1]; e++) {
      const at = this.train.indices[e] * w;
      for (let k = 0; k < w; k++) acc[k] += h[at + k];
    }
    s = Float32Array.from(acc);
    this.sums.set(u, s);
    return s;
  }

  /**
   * (S_u − h̃_i) / (|I_u| − 1) for each row (users[r], pos[r]) — pos[r] must be a train item of users[r] and the
   * user must have ≥ 2 train items — as [rows × width].
   */
  leaveOneOut(users: Int32Array, pos: Int32Array): Float32Array {
    if (!this.hidden) throw new Error('HistoryMean: setHidden first');
    const w = this.width;
    const h = this.hidden;
    const out = new Float32Array(users.length * w);
    for (let r = 0; r < users.length; r++) {
      const u = users[r];
      const s = this.sumOf(u);
      const inv = 1 / (this.degree(u) - 1);
      const at = pos[r] * w;
      for (let k = 0; k < w; k++) out[r * w + k] = (s[k] - h[at + k]) * inv;
    }
    return out;
  }

  /** p_u = the mean of `table`'s rows (item vectors [numItems × dim]) over u's train items; 0 for a user with none. */
  meanRows(users: ArrayLike<number>, table: Float32Array, dim: number, out = new Float32Array(users.length * dim)): Float32Array {
    const acc = new Float64Array(dim);
    for (let r = 0; r < users.length; r++) {
      const u = users[r];
      const from = this.train.indptr[u];
      const to = this.train.indptr[u + 1];
      acc.fill(0);
      for (let e = from; e < to; e++) {
        const at = this.train.indices[e] * dim;
        for (let k = 0; k < dim; k++) acc[k] += table[at + k];
      }
      const inv = to > from ? 1 / (to - from) : 0;
      for (let k = 0; k < dim; k++) out[r * dim + k] = acc[k] * inv;
    }
    return out;
  }
}
