/**
 * The sparsity pattern of a CSR matrix (no values) for per-user item lists: the shape every evaluator in `src/eval`,
 * the samplers and the item-based models take interactions in; a valued {@link Csr} (./csr.ts) is one too.
 * Row `u` holds the items `indices[indptr[u] .. indptr[u + 1])`, so
 *
 *   deg(u) = indptr[u + 1] − indptr[u],    indptr.length = numUsers + 1,    indptr[0] = 0.
 *
 * Indices need not be sorted or unique; the evaluators de-duplicate where it matters (|relevant|).
 */

import { ppError } from '../errors.js';
import type { Csr } from './csr.js';

/** Per-user item lists in CSR form (the same shape as `scipy.sparse.csr_matrix`'s `indptr` / `indices`, no values). */
export interface CsrPattern {
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
}

/** Builds a CSR from an array of per-row item lists (convenient in tests and small tools). */
export function csrFromLists(lists: readonly (readonly number[])[]): CsrPattern {
  const indptr = new Int32Array(lists.length + 1);
  for (let r = 0; r < lists.length; r++) indptr[r + 1] = indptr[r] + lists[r].length;
  const indices = new Int32Array(indptr[lists.length]);
  for (let r = 0; r < lists.length; r++) indices.set(lists[r], indptr[r]);
  return { indptr, indices };
}

/**
 * Builds a CSR from parallel (row, column) arrays, a counting sort by row: O(nnz + numRows). Within a row,
 * columns keep their input order.
 */
export function csrFromPairs(numRows: number, rows: ArrayLike<number>, cols: ArrayLike<number>): CsrPattern {
  if (rows.length !== cols.length) throw ppError('PP_EVAL_INVALID', 'rows and cols differ in length');
  const indptr = new Int32Array(numRows + 1);
  for (let e = 0; e < rows.length; e++) {
    const r = rows[e];
    if (!(r >= 0 && r < numRows)) throw ppError('PP_EVAL_INVALID', `row ${r} is outside [0, ${numRows})`);
    indptr[r + 1]++;
  }
  for (let r = 0; r < numRows; r++) indptr[r + 1] += indptr[r];
  const fill = indptr.slice(0, numRows);
  const indices = new Int32Array(rows.length);
  for (let e = 0; e < rows.length; e++) indices[fill[rows[e]]++] = cols[e];
  return { indptr, indices };
}

/** Checks the CSR invariants against the expected shape; throws `PP_EVAL_INVALID` naming `what`. */
export function validateCsr(what: string, csr: CsrPattern, numRows: number, numCols: number): void {
  const { indptr, indices } = csr;
  if (!(indptr instanceof Int32Array) || !(indices instanceof Int32Array)) {
    throw ppError('PP_EVAL_INVALID', `${what}: indptr and indices must be Int32Array`);
  }
  if (indptr.length !== numRows + 1) {
    throw ppError('PP_EVAL_INVALID', `${what}: indptr has length ${indptr.length}, expected ${numRows + 1}`);
  }
  if (indptr[0] !== 0 || indptr[numRows] !== indices.length) {
    throw ppError('PP_EVAL_INVALID', `${what}: indptr must start at 0 and end at indices.length`);
  }
  for (let r = 0; r < numRows; r++) {
    if (indptr[r + 1] < indptr[r]) throw ppError('PP_EVAL_INVALID', `${what}: indptr decreases at row ${r}`);
  }
  for (let e = 0; e < indices.length; e++) {
    const c = indices[e];
    if (c < 0 || c >= numCols) throw ppError('PP_EVAL_INVALID', `${what}: item ${c} is outside [0, ${numCols})`);
  }
}

/** deg(u) = indptr[u + 1] − indptr[u] for every row (entries, duplicates included). */
export function rowDegrees(csr: CsrPattern): Int32Array {
  const n = csr.indptr.length - 1;
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) out[r] = csr.indptr[r + 1] - csr.indptr[r];
  return out;
}

/**
 * count(i) = |{ e : indices[e] = i }| — for the train CSR this is each item's train popularity (number of
 * train interactions), the quantity behind "average popularity of recommended items" and cold-item sets.
 */
export function columnCounts(csr: CsrPattern, numCols: number): Float32Array {
  const out = new Float32Array(numCols);
  const { indices } = csr;
  for (let e = 0; e < indices.length; e++) out[indices[e]]++;
  return out;
}
