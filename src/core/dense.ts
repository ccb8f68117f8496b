/**
 * Dense matrix products, row-major Float32Arrays.
 *
 * | op | formula | shapes |
 * |---|---|---|
 * | {@link matmul} | C = A·B | A [m, k], B [k, n] → C [m, n] |
 * | {@link matmulNT} | C = A·Bᵀ | A [m, k], B [n, k] → C [m, n] |
 * | {@link matmulTN} | C = Aᵀ·B | A [m, k], B [m, n] → C [k, n] |
 *
 * Backward of C = A·B: ∂A = ∂C·Bᵀ (matmulNT), ∂B = Aᵀ·∂C (matmulTN).
 *
 * Kernels: wasm SIMD register-blocked 2 rows × 16 columns (n % 4 == 0), rows split over the pool;
 * narrow outputs (n % 4 ≠ 0, e.g. attention vectors) use SIMD dot products against Bᵀ.
 * {@link matmulTN} sums per-chunk partial products (chunks of ≥ 64 rows, at most 32) in chunk order,
 * so it is deterministic and independent of the thread count. Plain loops when neither n nor k is
 * a multiple of 4 in matmulTN.
 */
import { allocF32, free } from './heap.js';
import { runKernel, type BackendName } from './pool.js';
import { chunkCount, type ParallelOptions } from './chunks.js';
import { staged } from './stage.js';

export interface MatmulOptions extends ParallelOptions {
  out?: Float32Array;
  backend?: BackendName;
}

function check(name: string, x: Float32Array, r: number, c: number): void {
  if (x.length !== r * c) throw new Error(`${name}: expected ${r}×${c} = ${r * c} elements, got ${x.length}`);
}

function backendFor(n: number, forced?: BackendName): BackendName | undefined {
  return n % 4 === 0 ? forced : 'js';
}

/** C = A·B with A [m × k], B [k × n] → C [m × n]. */
export function matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, opts: MatmulOptions = {}): Float32Array {
  check('matmul A', a, m, k);
  check('matmul B', b, k, n);
  const c = opts.out ?? allocF32(m * n, false);
  check('matmul out', c, m, n);
  if (c === a || c === b) throw new Error('matmul: out must not alias an input');
  if (m === 0) return c;
  if (k === 0) return c.fill(0);
  if (n % 4 !== 0 && opts.backend !== 'js') {
    // narrow outputs: dot products against Bᵀ
    const bt = transposeDense(b, k, n);
    try {
      gemmNt(a, bt, c, m, k, n, opts);
    } finally {
      free(bt);
    }
    return c;
  }
  const nChunks = Math.min(chunkCount(m * k * n, opts), Math.max(1, Math.ceil(m / 2)));
  const rowsPer = Math.ceil(m / nChunks);
  const size = rowsPer + (rowsPer % 2); // even: the kernel pairs rows
  staged((s) => {
    const args = [s.inF32(a), s.inF32(b), s.outF32(c), k, n];
    runKernel('gemm_nn', args, { kind: 'uniform', total: m, size }, { backend: opts.backend, parallel: opts.parallel });
  });
  return c;
}

/** C[i, j] = ⟨A[i,:], Bt[j,:]⟩ (wasm dot products, any k and n). */
function gemmNt(a: Float32Array, bt: Float32Array, c: Float32Array, m: number, k: number, n: number, opts: ParallelOptions): void {
  const nChunks = chunkCount(m * k * n, opts);
  const size = Math.max(1, Math.ceil(m / nChunks));
  staged((s) => {
    runKernel('gemm_nt', [s.inF32(a), s.inF32(bt), s.outF32(c), k, n], { kind: 'uniform', total: m, size }, { parallel: opts.parallel });
  });
}

/** Bᵀ: [n × k] → [k × n] (a new heap array). */
export function transposeDense(b: Float32Array, rows: number, cols: number, out?: Float32Array): Float32Array {
  check('transposeDense', b, rows, cols);
  const t = out ?? allocF32(rows * cols, false);
  const B = 32;
  for (let i0 = 0; i0 < rows; i0 += B) {
    const i1 = Math.min(rows, i0 + B);
    for (let j0 = 0; j0 < cols; j0 += B) {
      const j1 = Math.min(cols, j0 + B);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) t[j * rows + i] = b[i * cols + j];
    }
  }
  return t;
}

/**
 * C = A·Bᵀ with A [m × k], B [n × k] → C [m × n]. Wide outputs transpose B into a temporary and use
 * the register-blocked kernel; narrow ones (n < 16 or n % 4 ≠ 0) take dot products directly.
 */
export function matmulNT(a: Float32Array, b: Float32Array, m: number, k: number, n: number, opts: MatmulOptions = {}): Float32Array {
  check('matmulNT A', a, m, k);
  check('matmulNT B', b, n, k);
  if ((n < 16 || n % 4 !== 0) && opts.backend !== 'js' && k > 0) {
    const c = opts.out ?? allocF32(m * n, false);
    check('matmulNT out', c, m, n);
    if (c === a || c === b) throw new Error('matmulNT: out must not alias an input');
    if (m > 0) gemmNt(a, b, c, m, k, n, opts);
    return c;
  }
  const bt = transposeDense(b, n, k);
  try {
    return matmul(a, bt, m, k, n, opts);
  } finally {
    free(bt);
  }
}

/** C = Aᵀ·B with A [m × k], B [m × n] → C [k × n] (a sum of per-row outer products). */
export function matmulTN(a: Float32Array, b: Float32Array, m: number, k: number, n: number, opts: MatmulOptions = {}): Float32Array {
  check('matmulTN A', a, m, k);
  check('matmulTN B', b, m, n);
  const c = opts.out ?? allocF32(k * n, false);
  check('matmulTN out', c, k, n);
  if (m === 0) return c.fill(0);
  if (n % 4 !== 0 && k % 4 === 0 && opts.backend !== 'js') {
    // narrow B: Cᵀ = Bᵀ·A with the SIMD axis on k, then transpose the small result
    const ct = matmulTN(b, a, m, n, k, { ...opts, out: undefined });
    transposeDense(ct, n, k, c);
    free(ct);
    return c;
  }
  const nChunks = Math.min(chunkCount(m * k * n, opts), 32, Math.max(1, Math.floor(m / 64)), opts.chunks ?? Infinity);
  const size = Math.ceil(m / Math.max(1, nChunks));
  const chunks = Math.max(1, Math.ceil(m / size));
  const kn = k * n;
  if (chunks === 1) {
    staged((s) => {
      runKernel('gemm_tn', [s.inF32(a), s.inF32(b), s.outF32(c), k, n], { kind: 'uniform', total: m, size: Math.max(1, m) }, { backend: backendFor(n, opts.backend), parallel: false });
    });
    return c;
  }
  const partial = allocF32(chunks * kn, false);
  try {
    staged((s) => {
      runKernel('gemm_tn', [s.inF32(a), s.inF32(b), partial.byteOffset, k, n], { kind: 'uniform', total: m, size }, {
        backend: backendFor(n, opts.backend),
        parallel: opts.parallel,
        outArg: 2,
        outStride: kn * 4,
      });
    });
    c.set(partial.subarray(0, kn));
    for (let q = 1; q < chunks; q++) {
      const o = q * kn;
      for (let j = 0; j < kn; j++) c[j] += partial[o + j];
    }
  } finally {
    free(partial);
  }
  return c;
}
