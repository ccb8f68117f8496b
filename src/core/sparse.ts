/**
 * Sparse × dense products on CSR matrices (message passing).
 *
 * Shapes: A is `n × m` with `nnz` entries (row i = target, `indices[e]` = source, see
 * {@link ./csr.ts}); dense matrices are row-major Float32Arrays with `d` columns.
 *
 * | op | formula | shapes |
 * |---|---|---|
 * | {@link spmm} | Y = A·X (+ Z), Y[i] = Σ_{e∈row i} w_e · X[src(e)] | X [m, d] → Y [n, d] |
 * | {@link spmmTransposed} | dX = Aᵀ·dY, computed as a product with the transposed CSR (no scatter); per-edge weights of A are gathered into its order through `perm` | dY [n, d] → dX [m, d] |
 * | {@link sddmm} | s_e = ⟨P[i], Q[src(e)]⟩ for e = (i, src(e)) | P [n, d], Q [m, d] → s [nnz] |
 *
 * Gradients (used by the autograd tape):
 * - Y = A(w)·X:  ∂L/∂X = Aᵀ(w)·∂L/∂Y;   ∂L/∂w_e = ⟨∂L/∂Y[i], X[src(e)]⟩ = sddmm(A, ∂L/∂Y, X)
 * - s = sddmm(A, P, Q):  ∂L/∂P = A(∂L/∂s)·Q;   ∂L/∂Q = Aᵀ(∂L/∂s)·P
 *
 * Each output row is computed by one chunk only, in a fixed order, so results are deterministic
 * and identical serial vs parallel. Outputs default to new heap arrays (free them with
 * `heap.free`, or let the autograd tape do it).
 */
import type { Csr, CsrTransposed } from './csr.js';
import { allocF32, free } from './heap.js';
import { runKernel, type BackendName } from './pool.js';
import { csrChunking, uniformChunking, type ParallelOptions } from './chunks.js';
import { staged } from './stage.js';

export interface SpmmOptions extends ParallelOptions {
  /** Per-entry weights [nnz] used instead of `A.values`. */
  values?: Float32Array;
  /** Output [rows × d] (default: a new heap array). Must not alias X. */
  out?: Float32Array;
  /** Fused addition: Y = A·X + Z, Z [rows × d]; may be `out` itself (Y += A·X, in place). */
  add?: Float32Array;
  /** Force a backend (benchmarks); the wasm kernel needs d % 4 == 0 and falls back to js otherwise. */
  backend?: BackendName;
}

function pickBackend(d: number, forced?: BackendName): BackendName | undefined {
  if (d % 4 !== 0) return 'js';
  return forced;
}

function checkDense(name: string, x: Float32Array, rows: number, d: number): void {
  if (x.length !== rows * d) throw new Error(`${name}: expected ${rows}×${d} = ${rows * d} elements, got ${x.length}`);
}

/**
 * Y = A·X — sparse (CSR, per-entry weights) times dense.
 *
 * @param a CSR [n × m]
 * @param x dense [m × d]
 * @returns Y [n × d]
 */
export function spmm(a: Csr, x: Float32Array, d: number, opts: SpmmOptions = {}): Float32Array {
  checkDense('spmm X', x, a.cols, d);
  const values = opts.values ?? a.values;
  if (values.length !== a.indices.length) throw new Error(`spmm: values length ${values.length} != nnz ${a.indices.length}`);
  const y = opts.out ?? allocF32(a.rows * d, false);
  checkDense('spmm out', y, a.rows, d);
  if (y === x) throw new Error('spmm: out must not alias X');
  const z = opts.add;
  if (z) checkDense('spmm add', z, a.rows, d);
  staged((s) => {
    const py = s.outF32(y, z === y);
    const args = [s.inI32(a.indptr), s.inI32(a.indices), s.inF32(values), s.inF32(x), py, d, z ? (z === y ? py : s.inF32(z)) : 0];
    runKernel('spmm', args, csrChunking(a, d, opts), { backend: pickBackend(d, opts.backend), parallel: opts.parallel });
  });
  return y;
}

/**
 * dX = Aᵀ·dY using the transposed CSR `at = transpose(A)`: row j of Aᵀ lists the entries of A with
 * source j, so every output row is owned by one chunk (no scatter, no write conflicts).
 *
 * @param at transpose(A), [m × n]
 * @param dy dense [n × d]
 * @param opts.values per-entry weights of **A** ([nnz], in A's entry order), read through `at.perm`;
 *   default: the weights stored in `at`
 * @returns dX [m × d]
 */
export function spmmTransposed(at: CsrTransposed, dy: Float32Array, d: number, opts: SpmmOptions = {}): Float32Array {
  if (!opts.values) return spmm(at, dy, d, opts);
  const n = at.indices.length;
  if (opts.values.length !== n) throw new Error(`spmmTransposed: values length ${opts.values.length} != nnz ${n}`);
  // weights into transposed order first (one random-access pass), then the plain kernel: faster
  // than reading values[perm[t]] inside every column pass, and bitwise the same result
  const wt = allocF32(n, false);
  try {
    const values = opts.values;
    staged((s) => {
      runKernel('gather_f32', [s.inI32(at.perm), s.inF32(values), wt.byteOffset], uniformChunking(n, 4, opts), { backend: opts.backend, parallel: opts.parallel });
    });
    return spmm(at, dy, d, { ...opts, values: wt });
  } finally {
    free(wt);
  }
}

/**
 * Sampled dense–dense product: one score per stored entry,
 * s_e = ⟨P[i], Q[indices[e]]⟩ for e in row i (e.g. dot-product attention logits).
 *
 * @param p dense [n × d] (row / target side)
 * @param q dense [m × d] (column / source side)
 * @returns s [nnz]
 */
export function sddmm(a: Csr, p: Float32Array, q: Float32Array, d: number, opts: ParallelOptions & { out?: Float32Array; backend?: BackendName } = {}): Float32Array {
  checkDense('sddmm P', p, a.rows, d);
  checkDense('sddmm Q', q, a.cols, d);
  const n = a.indices.length;
  const out = opts.out ?? allocF32(n, false);
  if (out.length !== n) throw new Error(`sddmm: out length ${out.length} != nnz ${n}`);
  staged((s) => {
    const args = [s.inI32(a.indptr), s.inI32(a.indices), s.inF32(p), s.inF32(q), s.outF32(out), d];
    runKernel('sddmm', args, csrChunking(a, d, opts), { backend: pickBackend(d, opts.backend), parallel: opts.parallel });
  });
  return out;
}
