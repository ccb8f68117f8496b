/**
 * Compressed sparse row matrices.
 *
 * A `rows × cols` matrix A with `nnz` stored entries: row i holds the entries
 * `e ∈ [indptr[i], indptr[i+1])`, with column `indices[e]` and value `values[e]`; columns are
 * sorted ascending within a row and unique (builders sum duplicates).
 *
 * In message passing terms (PyG's `SparseTensor` layout), row i is the *target* node and
 * `indices[e]` the *source* node of edge e: `Y = A·X` aggregates `Y[i] = Σ_e A_e · X[src(e)]`.
 *
 * Arrays made by this module live in the shared heap ({@link ./heap.ts}), so kernels use them in
 * place; {@link csrToHeap} moves a CSR built elsewhere (e.g. read from disk).
 */
import { allocF32, allocI32, toHeapF32, toHeapI32, free } from './heap.js';

/** A CSR matrix. `indptr`: [rows + 1], `indices`: [nnz], `values`: [nnz]. */
export interface Csr {
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array;
}

/** A transposed CSR that remembers, for each of its entries t, the original entry `perm[t]`. */
export interface CsrTransposed extends Csr {
  /** perm[t] = index in the source matrix of the entry stored at position t. */
  perm: Int32Array;
}

/** Number of stored entries. */
export function nnz(a: Csr): number {
  return a.indptr[a.rows];
}

/** Throws if the structure is inconsistent (lengths, monotone indptr, sorted unique in-range columns). */
export function validateCsr(a: Csr): void {
  if (a.indptr.length !== a.rows + 1) throw new Error(`csr: indptr length ${a.indptr.length} != rows+1 (${a.rows + 1})`);
  const n = a.indptr[a.rows];
  if (a.indptr[0] !== 0) throw new Error('csr: indptr[0] != 0');
  if (a.indices.length !== n || a.values.length !== n) throw new Error(`csr: indices/values length != nnz ${n}`);
  for (let i = 0; i < a.rows; i++) {
    const s = a.indptr[i];
    const e = a.indptr[i + 1];
    if (e < s) throw new Error(`csr: indptr decreases at row ${i}`);
    for (let k = s; k < e; k++) {
      const c = a.indices[k];
      if (c < 0 || c >= a.cols) throw new Error(`csr: column ${c} out of range at row ${i}`);
      if (k > s && a.indices[k - 1] >= c) throw new Error(`csr: columns not sorted/unique in row ${i}`);
    }
  }
}

/**
 * Builds a CSR from coordinates. Entries are sorted by (row, col) with two stable counting sorts
 * (O(nnz + rows + cols)); duplicate coordinates are summed (or, with `binary`, collapsed to 1).
 *
 * @param rowIdx [nnz] row of each entry
 * @param colIdx [nnz] column of each entry
 * @param values [nnz] values (default 1)
 */
export function csrFromCoo(
  rows: number,
  cols: number,
  rowIdx: ArrayLike<number>,
  colIdx: ArrayLike<number>,
  values?: ArrayLike<number>,
  opts: { binary?: boolean } = {},
): Csr {
  const m = rowIdx.length;
  if (colIdx.length !== m || (values && values.length !== m)) throw new Error('csrFromCoo: length mismatch');
  for (let e = 0; e < m; e++) {
    const r = rowIdx[e];
    const c = colIdx[e];
    if (!(r >= 0 && r < rows && c >= 0 && c < cols)) throw new Error(`csrFromCoo: entry ${e} (${r}, ${c}) out of range ${rows}×${cols}`);
  }
  // pass 1: counting sort by column
  const colCount = new Int32Array(cols + 1);
  for (let e = 0; e < m; e++) colCount[colIdx[e] + 1]++;
  for (let c = 0; c < cols; c++) colCount[c + 1] += colCount[c];
  const byCol = new Int32Array(m);
  for (let e = 0; e < m; e++) byCol[colCount[colIdx[e]]++] = e;
  // pass 2: stable counting sort by row
  const rowPtr = new Int32Array(rows + 1);
  for (let e = 0; e < m; e++) rowPtr[rowIdx[e] + 1]++;
  for (let r = 0; r < rows; r++) rowPtr[r + 1] += rowPtr[r];
  const fill = rowPtr.slice(0, rows);
  const order = new Int32Array(m);
  for (let k = 0; k < m; k++) {
    const e = byCol[k];
    order[fill[rowIdx[e]]++] = e;
  }
  // merge duplicates
  const indptr = allocI32(rows + 1);
  const tmpIdx = new Int32Array(m);
  const tmpVal = new Float32Array(m);
  let out = 0;
  for (let r = 0; r < rows; r++) {
    const rowStart = out;
    for (let k = rowPtr[r]; k < rowPtr[r + 1]; k++) {
      const e = order[k];
      const c = colIdx[e];
      const v = opts.binary ? 1 : values ? values[e] : 1;
      if (out > rowStart && tmpIdx[out - 1] === c) {
        if (!opts.binary) tmpVal[out - 1] += v;
      } else {
        tmpIdx[out] = c;
        tmpVal[out] = v;
        out++;
      }
    }
    indptr[r + 1] = out;
  }
  const indices = allocI32(out, false);
  const vals = allocF32(out, false);
  indices.set(tmpIdx.subarray(0, out));
  vals.set(tmpVal.subarray(0, out));
  return { rows, cols, indptr, indices, values: vals };
}

/**
 * Aᵀ (cols × rows) with entries sorted, plus `perm` mapping each transposed entry to its source
 * entry — so per-edge arrays computed on A (e.g. attention weights) can be read through `perm`
 * when multiplying by Aᵀ. O(nnz + cols).
 */
export function transpose(a: Csr): CsrTransposed {
  const n = nnz(a);
  const indptr = allocI32(a.cols + 1);
  for (let e = 0; e < n; e++) indptr[a.indices[e] + 1]++;
  for (let c = 0; c < a.cols; c++) indptr[c + 1] += indptr[c];
  const fill = indptr.slice(0, a.cols);
  const indices = allocI32(n, false);
  const values = allocF32(n, false);
  const perm = allocI32(n, false);
  for (let r = 0; r < a.rows; r++) {
    for (let e = a.indptr[r]; e < a.indptr[r + 1]; e++) {
      const t = fill[a.indices[e]]++;
      indices[t] = r; // rows visited in ascending order => sorted
      values[t] = a.values[e];
      perm[t] = e;
    }
  }
  return { rows: a.cols, cols: a.rows, indptr, indices, values, perm };
}

/** Row sums: deg[i] = Σ_e∈row i values[e]  → Float64Array [rows]. */
export function rowSums(a: Csr): Float64Array {
  const out = new Float64Array(a.rows);
  for (let i = 0; i < a.rows; i++) {
    let s = 0;
    for (let e = a.indptr[i]; e < a.indptr[i + 1]; e++) s += a.values[e];
    out[i] = s;
  }
  return out;
}

/**
 * Symmetric normalisation Â = D^{-1/2} A D^{-1/2} of a square matrix, with D = diag(row sums).
 * Rows / columns of zero degree keep zero entries. Returns a new matrix sharing the structure.
 */
export function normalizeSymmetric(a: Csr): Csr {
  if (a.rows !== a.cols) throw new Error('normalizeSymmetric: matrix must be square');
  const deg = rowSums(a);
  const inv = new Float64Array(a.rows);
  for (let i = 0; i < a.rows; i++) inv[i] = deg[i] > 0 ? 1 / Math.sqrt(deg[i]) : 0;
  const values = allocF32(nnz(a), false);
  for (let i = 0; i < a.rows; i++) {
    for (let e = a.indptr[i]; e < a.indptr[i + 1]; e++) values[e] = a.values[e] * inv[i] * inv[a.indices[e]];
  }
  return { rows: a.rows, cols: a.cols, indptr: a.indptr, indices: a.indices, values };
}

/**
 * LightGCN's normalised bipartite adjacency: nodes 0..U-1 are users, U..U+I-1 items,
 *
 *     A = [[0, R], [Rᵀ, 0]],   Â = D^{-1/2} A D^{-1/2},   Â_{u,U+i} = 1 / sqrt(|N(u)| · |N(i)|)
 *
 * with R the binary interaction matrix (repeated interactions count once). Â is symmetric, so it is
 * its own transpose (the backward pass multiplies by Â again).
 *
 * @param users [m] user id of each interaction (0 ≤ u < nUsers)
 * @param items [m] item id of each interaction (0 ≤ i < nItems)
 * @returns (U+I) × (U+I) CSR with 2·|R| entries
 */
export function bipartiteNormalizedAdjacency(nUsers: number, nItems: number, users: ArrayLike<number>, items: ArrayLike<number>): Csr {
  const m = users.length;
  if (items.length !== m) throw new Error('bipartiteNormalizedAdjacency: length mismatch');
  const n = nUsers + nItems;
  const r = new Int32Array(2 * m);
  const c = new Int32Array(2 * m);
  for (let e = 0; e < m; e++) {
    const u = users[e];
    const i = items[e];
    if (!(u >= 0 && u < nUsers && i >= 0 && i < nItems)) throw new Error(`bipartiteNormalizedAdjacency: interaction ${e} (${u}, ${i}) out of range`);
    r[2 * e] = u;
    c[2 * e] = nUsers + i;
    r[2 * e + 1] = nUsers + i;
    c[2 * e + 1] = u;
  }
  const a = csrFromCoo(n, n, r, c, undefined, { binary: true });
  const norm = normalizeSymmetric(a);
  free(a.values);
  return norm;
}

/**
 * Splits rows into `parts` contiguous ranges of balanced cost, cost(row) = nnz(row) + `rowCost`
 * (the per-row overhead: reading indptr, writing the output row). Returns bounds [parts + 1]:
 * part p covers rows [bounds[p], bounds[p+1]). Parts may be empty when rows < parts.
 */
export function partitionRows(a: Csr, parts: number, rowCost = 4): Int32Array {
  const bounds = allocI32(parts + 1);
  const total = nnz(a) + rowCost * a.rows;
  let r = 0;
  for (let p = 1; p < parts; p++) {
    const target = (total * p) / parts;
    // smallest r with cost(prefix r) >= target; prefix cost is monotone, binary search
    let lo = r;
    let hi = a.rows;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a.indptr[mid] + rowCost * mid < target) lo = mid + 1;
      else hi = mid;
    }
    r = lo;
    bounds[p] = r;
  }
  bounds[parts] = a.rows;
  return bounds;
}

/** Moves a CSR built outside this module into the heap (a no-op for arrays already there). */
export function csrToHeap(a: Csr): Csr {
  return { rows: a.rows, cols: a.cols, indptr: toHeapI32(a.indptr), indices: toHeapI32(a.indices), values: toHeapF32(a.values) };
}

/** A dense copy (rows × cols, row-major) — for tests and debugging on small matrices. */
export function csrToDense(a: Csr): Float64Array {
  const out = new Float64Array(a.rows * a.cols);
  for (let i = 0; i < a.rows; i++) for (let e = a.indptr[i]; e < a.indptr[i + 1]; e++) out[i * a.cols + a.indices[e]] += a.values[e];
  return out;
}
