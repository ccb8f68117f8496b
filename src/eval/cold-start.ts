/**
 * Cold-start evaluation: restrict full-ranking evaluation to a subset of candidate items, typically the
 * cold items (items with few or no train interactions, which a pure collaborative model cannot place and a
 * content-aware one should).
 *
 *   cold(τ)  = { i : pop(i) ≤ τ }            pop(i) = train interaction count, τ = maxTrainCount (default 0)
 *   R_C(u)   = test(u) ∩ C                   users with R_C(u) = ∅ are skipped
 *
 * Two ranking pools, chosen with `rankAmong`:
 *   'candidates' (default) — the ranked list is over C only:  Recall@K = |TopK_C(u) ∩ R_C(u)| / |R_C(u)|.
 *                            Answers "among cold items, are the right ones on top?".
 *   'all'                  — the ranked list is over all items, but only cold test items count as hits:
 *                            Recall@K = |TopK_all(u) ∩ R_C(u)| / |R_C(u)|. Answers "do cold items surface
 *                            next to warm ones?" (much harder; values are much lower).
 * Report which one was used: the result carries `rankAmong` and `candidateItems`.
 */

import { ppError } from '../errors.js';
import { columnCounts, type CsrPattern } from '../core/csr-pattern.js';
import { evaluateFullRanking, type FullRankingOptions, type FullRankingResult } from './full-ranking.js';

/** pop(i): number of train interactions of each item. */
export function itemTrainCounts(train: CsrPattern, numItems: number): Float32Array {
  return columnCounts(train, numItems);
}

/** Items whose count is ≤ maxCount (default 0: never seen in train), ascending ids. */
export function coldItems(counts: ArrayLike<number>, maxCount = 0): Int32Array {
  if (!(maxCount >= 0)) throw ppError('PP_EVAL_INVALID', `maxCount must be ≥ 0, got ${maxCount}`);
  let n = 0;
  for (let i = 0; i < counts.length; i++) if (counts[i] <= maxCount) n++;
  const out = new Int32Array(n);
  n = 0;
  for (let i = 0; i < counts.length; i++) if (counts[i] <= maxCount) out[n++] = i;
  return out;
}

/** Items whose count is > maxColdCount: the complement of `coldItems(counts, maxColdCount)`. */
export function warmItems(counts: ArrayLike<number>, maxColdCount = 0): Int32Array {
  let n = 0;
  for (let i = 0; i < counts.length; i++) if (counts[i] > maxColdCount) n++;
  const out = new Int32Array(n);
  n = 0;
  for (let i = 0; i < counts.length; i++) if (counts[i] > maxColdCount) out[n++] = i;
  return out;
}

/** A byte mask of an item subset: mask[i] = 1 iff i ∈ items. */
export function itemMask(items: ArrayLike<number>, numItems: number): Uint8Array {
  const mask = new Uint8Array(numItems);
  for (let j = 0; j < items.length; j++) {
    const i = items[j];
    if (!(i >= 0 && i < numItems)) throw ppError('PP_EVAL_INVALID', `item ${i} is outside [0, ${numItems})`);
    mask[i] = 1;
  }
  return mask;
}

/** The CSR with each row restricted to the given items: row u → row u ∩ items (order kept). */
export function restrictCsrToItems(csr: CsrPattern, items: ArrayLike<number>, numItems: number): CsrPattern {
  const mask = itemMask(items, numItems);
  const rows = csr.indptr.length - 1;
  const indptr = new Int32Array(rows + 1);
  let nnz = 0;
  for (let e = 0; e < csr.indices.length; e++) if (mask[csr.indices[e]] !== 0) nnz++;
  const indices = new Int32Array(nnz);
  nnz = 0;
  for (let r = 0; r < rows; r++) {
    for (let e = csr.indptr[r]; e < csr.indptr[r + 1]; e++) {
      const i = csr.indices[e];
      if (mask[i] !== 0) indices[nnz++] = i;
    }
    indptr[r + 1] = nnz;
  }
  return { indptr, indices };
}

export interface ColdStartOptions extends Omit<FullRankingOptions, 'candidates'> {
  /** The cold item set; default `coldItems(train counts, maxTrainCount)`. */
  readonly coldItems?: ArrayLike<number>;
  /** τ for the default cold set (default 0). */
  readonly maxTrainCount?: number;
}

export interface ColdStartResult extends FullRankingResult {
  readonly subset: 'cold-items';
  /** τ used to define the cold set, null when the set was given explicitly. */
  readonly maxTrainCount: number | null;
}

/**
 * Full-ranking evaluation restricted to cold items (see the module comment). An empty cold set throws
 * `PP_EVAL_INVALID` rather than reporting meaningless zeros.
 */
export async function evaluateColdStart(options: ColdStartOptions): Promise<ColdStartResult> {
  const explicit = options.coldItems != null;
  const tau = options.maxTrainCount ?? 0;
  const cold = explicit ? options.coldItems! : coldItems(itemTrainCounts(options.train, options.numItems), tau);
  if (cold.length === 0) throw ppError('PP_EVAL_INVALID', 'the cold item set is empty');
  const result = await evaluateFullRanking({ ...options, candidates: cold });
  return { ...result, subset: 'cold-items', maxTrainCount: explicit ? null : tau };
}
