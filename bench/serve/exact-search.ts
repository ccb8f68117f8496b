/**
 * Exact (brute-force) top-k by inner product of external queries against a base matrix: the ground truth
 * for ANN recall in bench/serve/ann.bench.ts.
 *
 *   S = Q · Bᵀ  computed in blocks of `block` base rows: Q [q × d], B[b0:b1] [rows × d] → S [q × rows]
 *   (the core's wasm matmul, rows split over its worker pool), then every score goes through a bounded
 *   min-heap per query (size k, root = worst kept; ties broken towards the lower id), so memory is
 *   O(q · block + q · k) and time O(q · n · d). Results are sorted best first.
 *
 * For unit-length rows the inner product is the cosine, so this is also the exact cosine top-k.
 * {@link naiveTopK} is the same search in plain float64 loops, used to verify this one.
 */
import { matmulNT } from '../../src/core/dense.js';
import { free, inHeap } from '../../src/core/heap.js';

export interface TopK {
  k: number;
  /** [q × k] base row ids, best first (−1 padded when n < k) */
  ids: Int32Array;
  /** [q × k] inner products, best first (NaN padded) */
  scores: Float32Array;
}

/** true when (sa, ia) ranks below (sb, ib): lower score, or equal score and higher id */
function worse(sa: number, ia: number, sb: number, ib: number): boolean {
  return sa < sb || (sa === sb && ia > ib);
}

/**
 * A bounded min-heap of (score, id) per query, laid out in flat arrays: heap t occupies
 * `[t·k, t·k + size[t])`, its root is the worst kept pair.
 */
class TopKHeaps {
  readonly scores: Float64Array;
  readonly ids: Int32Array;
  readonly size: Int32Array;
  constructor(
    readonly q: number,
    readonly k: number,
  ) {
    this.scores = new Float64Array(q * k);
    this.ids = new Int32Array(q * k);
    this.size = new Int32Array(q);
  }

  /** Offers (s, id) to heap t. */
  push(t: number, s: number, id: number): void {
    const k = this.k;
    const base = t * k;
    const sc = this.scores;
    const ix = this.ids;
    const n = this.size[t];
    if (n < k) {
      // sift up
      let p = n;
      while (p > 0) {
        const parent = (p - 1) >> 1;
        if (!worse(s, id, sc[base + parent], ix[base + parent])) break;
        sc[base + p] = sc[base + parent];
        ix[base + p] = ix[base + parent];
        p = parent;
      }
      sc[base + p] = s;
      ix[base + p] = id;
      this.size[t] = n + 1;
      return;
    }
    if (!worse(sc[base], ix[base], s, id)) return; // not better than the worst kept
    // replace the root and sift down
    let p = 0;
    for (;;) {
      const l = 2 * p + 1;
      if (l >= k) break;
      const r = l + 1;
      let c = l;
      if (r < k && worse(sc[base + r], ix[base + r], sc[base + l], ix[base + l])) c = r;
      if (!worse(sc[base + c], ix[base + c], s, id)) break;
      sc[base + p] = sc[base + c];
      ix[base + p] = ix[base + c];
      p = c;
    }
    sc[base + p] = s;
    ix[base + p] = id;
  }

  /** The worst kept score of heap t (−∞ while it holds fewer than k). */
  threshold(t: number): number {
    return this.size[t] < this.k ? -Infinity : this.scores[t * this.k];
  }

  /** Sorted (best first) results. */
  result(): TopK {
    const { q, k } = this;
    const ids = new Int32Array(q * k).fill(-1);
    const scores = new Float32Array(q * k).fill(NaN);
    for (let t = 0; t < q; t++) {
      const n = this.size[t];
      const order = Array.from({ length: n }, (_, x) => t * k + x).sort((a, b) =>
        worse(this.scores[a], this.ids[a], this.scores[b], this.ids[b]) ? 1 : worse(this.scores[b], this.ids[b], this.scores[a], this.ids[a]) ? -1 : 0,
      );
      for (let x = 0; x < n; x++) {
        ids[t * k + x] = this.ids[order[x]];
        scores[t * k + x] = this.scores[order[x]];
      }
    }
    return { k, ids, scores };
  }
}

/**
 * Exact top-k by inner product: for each of the `q` query rows of `queries` [q × d], the k base rows of
 * `base` [n × d] with the largest ⟨query, row⟩ (blocked matmul + per-query min-heap).
 */
export function exactTopK(base: Float32Array, n: number, d: number, queries: Float32Array, q: number, k: number, opts: { block?: number } = {}): TopK {
  if (base.length !== n * d) throw new Error(`exactTopK: base has ${base.length} values, expected ${n}×${d}`);
  if (queries.length !== q * d) throw new Error(`exactTopK: queries have ${queries.length} values, expected ${q}×${d}`);
  if (!Number.isInteger(k) || k < 1) throw new Error(`exactTopK: k must be a positive integer, got ${k}`);
  const heaps = new TopKHeaps(q, k);
  const block = Math.max(16, Math.floor((opts.block ?? 4096) / 16) * 16);
  for (let b0 = 0; b0 < n; b0 += block) {
    const b1 = Math.min(n, b0 + block);
    const rows = b1 - b0;
    const S = matmulNT(queries, base.subarray(b0 * d, b1 * d), q, d, rows);
    try {
      for (let t = 0; t < q; t++) {
        let worst = heaps.threshold(t);
        const off = t * rows;
        for (let r = 0; r < rows; r++) {
          const s = S[off + r];
          // equal scores may still enter (a lower id wins the tie); push decides
          if (s < worst) continue;
          heaps.push(t, s, b0 + r);
          worst = heaps.threshold(t);
        }
      }
    } finally {
      if (inHeap(S)) free(S);
    }
  }
  return heaps.result();
}

/** The same search in plain float64 loops (slow; for verification on a few queries). */
export function naiveTopK(base: Float32Array, n: number, d: number, queries: Float32Array, q: number, k: number): TopK {
  const ids = new Int32Array(q * k).fill(-1);
  const scores = new Float32Array(q * k).fill(NaN);
  const all = new Float64Array(n);
  const order = new Int32Array(n);
  for (let t = 0; t < q; t++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += queries[t * d + j] * base[i * d + j];
      all[i] = s;
      order[i] = i;
    }
    const sorted = Array.from(order).sort((a, b) => all[b] - all[a] || a - b);
    for (let x = 0; x < Math.min(k, n); x++) {
      ids[t * k + x] = sorted[x];
      scores[t * k + x] = all[sorted[x]];
    }
  }
  return { k, ids, scores };
}

/** ⟨base[i], query t⟩ in float64. */
export function dot(base: Float32Array, i: number, queries: Float32Array, t: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += base[i * d + j] * queries[t * d + j];
  return s;
}

/**
 * recall@k of approximate results against exact ones, ann-benchmarks style: a returned id is a hit when its
 * true inner product with the query reaches the exact k-th score minus `eps` (so ties and equal vectors are
 * not penalised); recall of a query = min(1, hits / k), averaged over queries. `approx` is [q × k] ids, −1 = none.
 */
export function recallAtK(
  approx: Int32Array,
  exact: TopK,
  base: Float32Array,
  queries: Float32Array,
  q: number,
  d: number,
  opts: { eps?: number } = {},
): number {
  const k = exact.k;
  const eps = opts.eps ?? 1e-5;
  let sum = 0;
  for (let t = 0; t < q; t++) {
    const kth = exact.scores[t * k + k - 1];
    const seen = new Set<number>();
    let hits = 0;
    for (let x = 0; x < k; x++) {
      const id = approx[t * k + x];
      if (id < 0 || seen.has(id)) continue;
      seen.add(id);
      if (dot(base, id, queries, t, d) >= kth - eps) hits++;
    }
    sum += Math.min(1, hits / k);
  }
  return sum / q;
}

/** Fraction of query rows whose id lists are identical (as sets) and max |score difference| between two results. */
export function compareTopK(a: TopK, b: TopK, q: number): { sameRows: number; maxScoreDiff: number } {
  const k = a.k;
  let same = 0;
  let maxDiff = 0;
  for (let t = 0; t < q; t++) {
    const sa = new Set(a.ids.subarray(t * k, t * k + k));
    let ok = true;
    for (const id of b.ids.subarray(t * k, t * k + k)) if (!sa.has(id)) ok = false;
    if (ok) same++;
    for (let x = 0; x < k; x++) maxDiff = Math.max(maxDiff, Math.abs(a.scores[t * k + x] - b.scores[t * k + x]));
  }
  return { sameRows: same / q, maxScoreDiff: maxDiff };
}
