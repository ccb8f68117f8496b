import { Rng } from '../core/random.js';
import type { CsrPattern } from '../core/csr-pattern.js';
import { pastEpochDeadline } from './epoch-deadline.js';

/** One BPR batch: user u, an observed item i and `negPerPos` unobserved candidates j per (u, i). */
export interface BprBatch {
  users: Int32Array;
  pos: Int32Array;
  /** batch × negPerPos, row-major. With `negatives: 'hard'` the model picks one per row (see `pickHardest`). */
  neg: Int32Array;
  size: number;
}

export interface SamplerOptions {
  /**
   * uniform: j uniform over items the user has not seen;
   * popularity: j ∝ count(j)^popAlpha among unseen items (harder, popular negatives);
   * hard: `hardCandidates` uniform candidates per pair, of which the model keeps the highest-scoring
   * (dynamic negative sampling, Zhang et al. 2013).
   */
  negatives: 'uniform' | 'popularity' | 'hard';
  popAlpha?: number;
  hardCandidates?: number;
  /** Candidates per positive pair with uniform or popularity negatives (default 1). */
  negSamples?: number;
  /**
   * How (u, i) is drawn: 'interaction' (default) — a uniform train interaction, so users weigh by degree;
   * 'user' — a uniform user with train items, then a uniform item of theirs (the official LightGCN/NGCF
   * samplers: every user gets the same number of triples per epoch in expectation).
   */
  positives?: 'interaction' | 'user';
  seed: number;
}

/**
 * Samples BPR triples from a user's train items: an epoch has one triple per train interaction, each taking
 * a positive pair (u, i) — a uniform random interaction, or (`positives: 'user'`, as LightGCN's reference
 * samplers do) a uniform user then a uniform item of theirs — and a negative j ∉ items(u) (rejection
 * sampling against the user's sorted item list). Deterministic for a seed.
 */
export class BprSampler {
  private readonly rng: Rng;
  private readonly sorted: Int32Array;
  private readonly rowOf: Int32Array;
  private readonly cdf: Float64Array | null;
  /** Users with ≥ 1 train item ('user' positives), else null. */
  private readonly activeUsers: Int32Array | null;
  readonly negPerPos: number;

  constructor(
    private readonly train: CsrPattern,
    private readonly numItems: number,
    private readonly options: SamplerOptions,
  ) {
    this.rng = new Rng(options.seed);
    const n = train.indptr.length - 1;
    const nnz = train.indptr[n];
    // Per-user sorted copies for binary-search membership tests, and the row of each interaction.
    this.sorted = new Int32Array(nnz);
    this.rowOf = new Int32Array(nnz);
    for (let u = 0; u < n; u++) {
      const a = train.indptr[u];
      const b = train.indptr[u + 1];
      this.sorted.set(train.indices.subarray(a, b), a);
      this.sorted.subarray(a, b).sort();
      this.rowOf.fill(u, a, b);
    }
    if (options.positives === 'user') {
      let m = 0;
      for (let u = 0; u < n; u++) if (train.indptr[u + 1] > train.indptr[u]) m++;
      this.activeUsers = new Int32Array(m);
      m = 0;
      for (let u = 0; u < n; u++) if (train.indptr[u + 1] > train.indptr[u]) this.activeUsers[m++] = u;
    } else {
      this.activeUsers = null;
    }
    this.negPerPos = options.negatives === 'hard' ? Math.max(2, options.hardCandidates ?? 8) : Math.max(1, options.negSamples ?? 1);
    if (options.negatives === 'popularity') {
      const alpha = options.popAlpha ?? 0.75;
      const cdf = new Float64Array(numItems);
      const counts = new Float64Array(numItems);
      for (let e = 0; e < nnz; e++) counts[train.indices[e]]++;
      let acc = 0;
      for (let i = 0; i < numItems; i++) cdf[i] = acc += Math.pow(counts[i] + 1, alpha);
      for (let i = 0; i < numItems; i++) cdf[i] /= acc;
      this.cdf = cdf;
    } else {
      this.cdf = null;
    }
  }

  /** Number of train interactions (triples per epoch). */
  get interactions(): number {
    return this.sorted.length;
  }

  private seen(u: number, item: number): boolean {
    let lo = this.train.indptr[u];
    let hi = this.train.indptr[u + 1] - 1;
    const s = this.sorted;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = s[mid];
      if (v === item) return true;
      if (v < item) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  private drawItem(): number {
    if (!this.cdf) return Math.floor(this.rng.next() * this.numItems);
    const r = this.rng.next();
    let lo = 0;
    let hi = this.numItems - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid] < r) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Fills a batch of `size` triples (reusing `into`'s arrays when given and large enough). */
  sample(size: number, into?: BprBatch): BprBatch {
    const b =
      into && into.users.length >= size
        ? into
        : { users: new Int32Array(size), pos: new Int32Array(size), neg: new Int32Array(size * this.negPerPos), size };
    b.size = size;
    const nnz = this.sorted.length;
    const deg = (u: number) => this.train.indptr[u + 1] - this.train.indptr[u];
    const active = this.activeUsers;
    for (let k = 0; k < size; k++) {
      let e: number;
      if (active) {
        const a = active[Math.floor(this.rng.next() * active.length)];
        e = this.train.indptr[a] + Math.floor(this.rng.next() * deg(a));
      } else {
        e = Math.floor(this.rng.next() * nnz);
      }
      const u = this.rowOf[e];
      b.users[k] = u;
      b.pos[k] = this.train.indices[e];
      const full = deg(u) >= this.numItems;
      for (let m = 0; m < this.negPerPos; m++) {
        let j = this.drawItem();
        // Rejection sampling; a user who has seen (nearly) everything falls back to any item.
        for (let tries = 0; !full && tries < 100 && this.seen(u, j); tries++) j = this.drawItem();
        b.neg[k * this.negPerPos + m] = j;
      }
    }
    return b;
  }

  /**
   * Batches covering one epoch (one triple per train interaction, last batch smaller). Inside a trainer
   * with a budget the epoch ends early, after any batch, once the epoch's deadline has passed (see
   * ./epoch-deadline.ts); the first batch always runs.
   */
  *epoch(batchSize: number): Generator<BprBatch> {
    const total = this.interactions;
    let buf: BprBatch | undefined;
    for (let done = 0; done < total; done += batchSize) {
      if (done > 0 && pastEpochDeadline()) return;
      buf = this.sample(Math.min(batchSize, total - done), buf);
      yield buf;
    }
  }
}

/**
 * Hard negatives: keeps, for each row of `batch.neg` (negPerPos candidates), the candidate the model scores
 * highest; `score(users, items)` returns one score per (user, item) pair. Returns a batch × 1 negative array.
 */
export function pickHardest(batch: BprBatch, negPerPos: number, score: (users: Int32Array, items: Int32Array) => Float32Array): Int32Array {
  const n = batch.size;
  const users = new Int32Array(n * negPerPos);
  for (let k = 0; k < n; k++) users.fill(batch.users[k], k * negPerPos, (k + 1) * negPerPos);
  const s = score(users, batch.neg.subarray(0, n * negPerPos));
  const out = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    let best = k * negPerPos;
    for (let m = 1; m < negPerPos; m++) if (s[k * negPerPos + m] > s[best]) best = k * negPerPos + m;
    out[k] = batch.neg[best];
  }
  return out;
}
