/**
 * Top-K selection over dense score rows: the hot loop of full-ranking evaluation (Gowalla: 29,858 users ×
 * 40,981 items ≈ 1.2·10^9 scores per evaluation).
 *
 * Order. Item a ranks before item b iff
 *
 *   s_a > s_b,  or  s_a = s_b and a < b          (descending score, ties → lower item id first),
 *
 * so the result is a deterministic function of the scores. NaN scores rank as −∞ (after every real score,
 * ties among them again by id). Excluded items (a mask) and, optionally, items outside a candidate list are
 * never returned. When fewer than K items are eligible the output row is padded with −1.
 *
 * Algorithm. A bounded min-heap of size K keyed by that order (the root is the worst of the current top K):
 * one pass over the row, O(n + m·log K) for n items of which m displace the root — typically m ≪ n, so the
 * pass is a compare per item. Items are visited in ascending id order, so a later item with a score equal to
 * the root's can never displace it (its id is higher): the steady-state test is a single `s > threshold`.
 * The K survivors are then popped worst-first into the output, O(K log K). No full sort, no per-item
 * allocation; the heap and the mask are allocated once per selector and reused for every row.
 */

import { ppError } from '../errors.js';
import type { CsrPattern } from '../core/csr-pattern.js';

/** Per-row exclusions for a batch: score row r excludes CSR row `rows[r]` (e.g. user `rows[r]`'s train items). */
export interface BatchExclusion {
  readonly csr: CsrPattern;
  /** CSR row to use for each score row. */
  readonly rows: Int32Array;
}

export interface TopKBatchOptions {
  /** Items per score row (row stride). */
  readonly numItems: number;
  /** Items to exclude, per row. */
  readonly exclude?: BatchExclusion | null;
  /** Only these item ids are eligible (any order; duplicates ignored). */
  readonly candidates?: Int32Array | null;
  /** Output, length ≥ numRows · k; allocated when absent. */
  readonly out?: Int32Array;
}

/** Sorted, de-duplicated copy of a candidate list, validated against the catalog size. */
export function prepareCandidates(candidates: ArrayLike<number>, numItems: number): Int32Array {
  const sorted = Int32Array.from(candidates).sort();
  let n = 0;
  for (let j = 0; j < sorted.length; j++) {
    const c = sorted[j];
    if (c < 0 || c >= numItems) throw ppError('PP_EVAL_INVALID', `candidate item ${c} is outside [0, ${numItems})`);
    if (n === 0 || sorted[n - 1] !== c) sorted[n++] = c;
  }
  return n === sorted.length ? sorted : sorted.slice(0, n);
}

/** A reusable top-K selector: holds the heap (and, for batches, the exclusion mask) between rows. */
export class TopKSelector {
  readonly k: number;
  private readonly heapScores: Float64Array;
  private readonly heapIds: Int32Array;
  private mask: Uint8Array = new Uint8Array(0);

  constructor(k: number) {
    if (!Number.isInteger(k) || k < 1) throw ppError('PP_EVAL_INVALID', `K must be a positive integer, got ${k}`);
    this.k = k;
    this.heapScores = new Float64Array(k);
    this.heapIds = new Int32Array(k);
  }

  /**
   * Selects the top K of `scores[offset .. offset + numItems)` into `out[outOffset .. outOffset + k)`, best
   * first, −1-padded. `exclude[i] !== 0` removes item i. `candidates`, when given, must be sorted ascending
   * and unique (see `prepareCandidates`) and restricts the eligible items. Returns the number of items found.
   */
  selectRow(
    scores: Float32Array,
    offset: number,
    numItems: number,
    exclude: Uint8Array | null,
    candidates: Int32Array | null,
    out: Int32Array,
    outOffset: number,
  ): number {
    const k = this.k;
    const hs = this.heapScores;
    const hi = this.heapIds;
    let n = 0;
    if (candidates === null) {
      let i = 0;
      // Fill phase: the first k eligible items enter unconditionally.
      for (; i < numItems && n < k; i++) {
        if (exclude !== null && exclude[i] !== 0) continue;
        let s = scores[offset + i];
        if (s !== s) s = -Infinity;
        n = heapPush(hs, hi, n, s, i);
      }
      // Steady state: only a strictly higher score than the current worst can enter (ids ascend).
      // Four items per test: almost every group fails all four compares, and the combined branch is
      // markedly faster in V8 than one branch per item; a passing group is replayed item by item.
      if (n === k) {
        let threshold = hs[0];
        const end4 = numItems - 3;
        for (; i < end4; i += 4) {
          const o = offset + i;
          if (scores[o] > threshold || scores[o + 1] > threshold || scores[o + 2] > threshold || scores[o + 3] > threshold) {
            for (let t = 0; t < 4; t++) {
              const s = scores[o + t];
              if (s > threshold) {
                if (exclude !== null && exclude[i + t] !== 0) continue;
                heapReplaceRoot(hs, hi, k, s, i + t);
                threshold = hs[0];
              }
            }
          }
        }
        for (; i < numItems; i++) {
          const s = scores[offset + i];
          if (s > threshold) {
            if (exclude !== null && exclude[i] !== 0) continue;
            heapReplaceRoot(hs, hi, k, s, i);
            threshold = hs[0];
          }
        }
      }
    } else {
      const nc = candidates.length;
      let j = 0;
      for (; j < nc && n < k; j++) {
        const i = candidates[j];
        if (exclude !== null && exclude[i] !== 0) continue;
        let s = scores[offset + i];
        if (s !== s) s = -Infinity;
        n = heapPush(hs, hi, n, s, i);
      }
      if (n === k) {
        let threshold = hs[0];
        for (; j < nc; j++) {
          const i = candidates[j];
          const s = scores[offset + i];
          if (s > threshold) {
            if (exclude !== null && exclude[i] !== 0) continue;
            heapReplaceRoot(hs, hi, k, s, i);
            threshold = hs[0];
          }
        }
      }
    }
    // Pop worst-first into the tail of the output so that it ends up best-first.
    const found = n;
    for (let m = n - 1; m >= 0; m--) {
      out[outOffset + m] = hi[0];
      const lastS = hs[m];
      const lastI = hi[m];
      siftDown(hs, hi, m, 0, lastS, lastI);
    }
    for (let m = found; m < k; m++) out[outOffset + m] = -1;
    return found;
  }

  /**
   * Top K of every row of a row-major `numRows × numItems` score block into `out` (`numRows × k`, row-major,
   * −1-padded). Exclusions are applied through a byte mask set and cleared per row (O(deg) per row).
   */
  selectBatch(scores: Float32Array, numRows: number, options: TopKBatchOptions): Int32Array {
    const { numItems } = options;
    const k = this.k;
    if (scores.length < numRows * numItems) {
      throw ppError('PP_EVAL_INVALID', `score block has ${scores.length} values, expected ${numRows * numItems}`);
    }
    const out = options.out ?? new Int32Array(numRows * k);
    if (out.length < numRows * k) throw ppError('PP_EVAL_INVALID', 'top-K output buffer is too small');
    const exclude = options.exclude ?? null;
    const candidates = options.candidates ?? null;
    if (exclude !== null && exclude.rows.length < numRows) {
      throw ppError('PP_EVAL_INVALID', 'exclusion rows are fewer than score rows');
    }
    let mask: Uint8Array | null = null;
    if (exclude !== null) {
      if (this.mask.length < numItems) this.mask = new Uint8Array(numItems);
      mask = this.mask;
    }
    for (let r = 0; r < numRows; r++) {
      let start = 0;
      let end = 0;
      if (exclude !== null) {
        const row = exclude.rows[r];
        start = exclude.csr.indptr[row];
        end = exclude.csr.indptr[row + 1];
        const idx = exclude.csr.indices;
        for (let e = start; e < end; e++) mask![idx[e]] = 1;
      }
      this.selectRow(scores, r * numItems, numItems, start < end ? mask : null, candidates, out, r * k);
      if (start < end) {
        const idx = exclude!.csr.indices;
        for (let e = start; e < end; e++) mask![idx[e]] = 0;
      }
    }
    return out;
  }
}

/*
 * The heap keeps the worst of the current top K at the root: every parent ranks at or after its children,
 * where (a ranks after b) ⇔ s_a < s_b or (s_a = s_b and a > b).
 */

/** Inserts (s, id) into a heap of size n; returns the new size. */
function heapPush(hs: Float64Array, hi: Int32Array, n: number, s: number, id: number): number {
  // Sift up: parents that rank before (s, id) move down.
  let pos = n;
  while (pos > 0) {
    const parent = (pos - 1) >> 1;
    const ps = hs[parent];
    // Stop when the parent is at least as bad as (s, id).
    if (ps < s || (ps === s && hi[parent] > id)) break;
    hs[pos] = ps;
    hi[pos] = hi[parent];
    pos = parent;
  }
  hs[pos] = s;
  hi[pos] = id;
  return n + 1;
}

function heapReplaceRoot(hs: Float64Array, hi: Int32Array, n: number, s: number, id: number): void {
  siftDown(hs, hi, n, 0, s, id);
}

/** Places (s, id) at `pos` and sifts it down within a heap of size n (worst at the root). */
function siftDown(hs: Float64Array, hi: Int32Array, n: number, pos: number, s: number, id: number): void {
  for (;;) {
    let child = 2 * pos + 1;
    if (child >= n) break;
    let cs = hs[child];
    let ci = hi[child];
    const right = child + 1;
    if (right < n) {
      const rs = hs[right];
      const ri = hi[right];
      // Pick the worse of the two children.
      if (rs < cs || (rs === cs && ri > ci)) {
        child = right;
        cs = rs;
        ci = ri;
      }
    }
    // Stop when (s, id) is at least as bad as the worse child.
    if (s < cs || (s === cs && id > ci)) break;
    hs[pos] = cs;
    hi[pos] = ci;
    pos = child;
  }
  hs[pos] = s;
  hi[pos] = id;
}

/**
 * The top K item ids of one score row, best first (ties → lower id), excluding `exclude` — a byte mask
 * (`mask[i] !== 0` excludes i) or a list/set of item ids — and restricted to `candidates` when given.
 * The result has length min(K, eligible items).
 */
export function topK(
  scores: Float32Array,
  k: number,
  options: { exclude?: Uint8Array | Iterable<number> | null; candidates?: ArrayLike<number> | null } = {},
): Int32Array {
  const numItems = scores.length;
  let mask: Uint8Array | null = null;
  const ex = options.exclude;
  if (ex instanceof Uint8Array) {
    if (ex.length < numItems) throw ppError('PP_EVAL_INVALID', 'exclusion mask is shorter than the score row');
    mask = ex;
  } else if (ex != null) {
    mask = new Uint8Array(numItems);
    for (const i of ex) if (i >= 0 && i < numItems) mask[i] = 1;
  }
  const cands = options.candidates != null ? prepareCandidates(options.candidates, numItems) : null;
  const selector = new TopKSelector(k);
  const out = new Int32Array(k);
  const found = selector.selectRow(scores, 0, numItems, mask, cands, out, 0);
  return found === k ? out : out.slice(0, found);
}

/**
 * Batched top K over a row-major `numRows × numItems` block; returns `numRows × k` ids (−1-padded).
 * Equivalent to `topK` on every row.
 */
export function topKBatch(
  scores: Float32Array,
  numRows: number,
  k: number,
  options: Omit<TopKBatchOptions, 'candidates'> & { candidates?: ArrayLike<number> | null },
): Int32Array {
  const cands = options.candidates != null ? prepareCandidates(options.candidates, options.numItems) : null;
  return new TopKSelector(k).selectBatch(scores, numRows, { ...options, candidates: cands });
}
