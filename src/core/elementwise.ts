/**
 * Element-wise ops and small reductions on Float32Arrays of equal length (shape-agnostic).
 *
 * | op | formula |
 * |---|---|
 * | {@link axpby} | out = α·x + β·y (wasm SIMD, split over the pool when large) |
 * | {@link axpy} | y ← y + α·x |
 * | {@link add}, {@link sub}, {@link mul}, {@link scale} | out = x + y, x − y, x ⊙ y, s·x |
 * | {@link relu} / {@link reluBackward} | max(x, 0);  ∂x = ∂y · [x > 0] |
 * | {@link leakyRelu} / {@link leakyReluBackward} | x > 0 ? x : s·x;  ∂x = ∂y · (x > 0 ? 1 : s) |
 * | {@link elu} / {@link eluBackward} | x > 0 ? x : eˣ − 1;  ∂x = ∂y · (x > 0 ? 1 : eˣ) |
 * | {@link sigmoid} / {@link sigmoidBackward} | σ(x) = 1 / (1 + e^{−x}) (stable for large |x|);  ∂x = ∂y·σ(1 − σ) |
 * | {@link addRowVector} / {@link sumRows} | X[i,:] + b (bias, X [m, n], b [n]);  Σ_i X[i,:] → [n] |
 * | {@link rowDot} | r[i] = ⟨X[i,:], Y[i,:]⟩ → [m] |
 * | {@link dot}, {@link sumSquares}, {@link sum} | reductions, accumulated in float64 |
 *
 * `out` may alias an input. Outputs default to new heap arrays. The activations run wasm kernels
 * ({@link ./wasm-math.ts}: f32x4, a polynomial exp) split over the pool for large inputs.
 */
import { allocF32 } from './heap.js';
import { runKernel, type BackendName, type KernelName } from './pool.js';
import { uniformChunking, type ParallelOptions } from './chunks.js';
import { staged } from './stage.js';

function same(name: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new Error(`${name}: length mismatch ${a.length} vs ${b.length}`);
}

/** out = α·x + β·y. */
export function axpby(alpha: number, x: Float32Array, beta: number, y: Float32Array, out?: Float32Array, opts: ParallelOptions & { backend?: BackendName } = {}): Float32Array {
  same('axpby', x, y);
  const o = out ?? allocF32(x.length, false);
  same('axpby out', x, o);
  const n = x.length;
  if (n < 4096 && !opts.chunks) {
    const a = Math.fround(alpha);
    const b = Math.fround(beta);
    for (let i = 0; i < n; i++) o[i] = a * x[i] + b * y[i];
    return o;
  }
  staged((s) => {
    let px: number;
    let py: number;
    let po: number;
    if (o === x) {
      po = px = s.outF32(x, true);
      py = y === x ? px : s.inF32(y);
    } else if (o === y) {
      po = py = s.outF32(y, true);
      px = s.inF32(x);
    } else {
      px = s.inF32(x);
      py = y === x ? px : s.inF32(y);
      po = s.outF32(o);
    }
    runKernel('axpby', [px, py, po, alpha, beta], uniformChunking(n, 4, opts), { backend: opts.backend, parallel: opts.parallel });
  });
  return o;
}

/** y ← y + α·x (in place). */
export function axpy(alpha: number, x: Float32Array, y: Float32Array, opts: ParallelOptions = {}): Float32Array {
  return axpby(alpha, x, 1, y, y, opts);
}

/** out = x + y. */
export function add(x: Float32Array, y: Float32Array, out?: Float32Array): Float32Array {
  return axpby(1, x, 1, y, out);
}

/** out = x − y. */
export function sub(x: Float32Array, y: Float32Array, out?: Float32Array): Float32Array {
  return axpby(1, x, -1, y, out);
}

/** out = s·x. */
export function scale(x: Float32Array, s: number, out?: Float32Array): Float32Array {
  return axpby(s, x, 0, x, out);
}

/**
 * Runs an element-wise wasm kernel (`name(in_1, …, in_k, out, …scalars, r0, r1)`) over all
 * elements, split over the pool when large. `out` may alias an input.
 */
function mapOp(name: KernelName, ins: Float32Array[], out: Float32Array | undefined, scalars: number[] = [], opts: ParallelOptions = {}): Float32Array {
  const n = ins[0].length;
  for (const a of ins) same(name, ins[0], a);
  const o = out ?? allocF32(n, false);
  same(`${name} out`, ins[0], o);
  if (n === 0) return o;
  staged((s) => {
    const alias = ins.indexOf(o);
    const ptrs: number[] = [];
    for (let i = 0; i < ins.length; i++) {
      const j = ins.indexOf(ins[i]);
      if (j < i) ptrs.push(ptrs[j]);
      else ptrs.push(i === alias ? s.outF32(o, true) : s.inF32(ins[i]));
    }
    const po = alias >= 0 ? ptrs[alias] : s.outF32(o);
    runKernel(name, [...ptrs, po, ...scalars], uniformChunking(n, 8, opts), { parallel: opts.parallel });
  });
  return o;
}

/** out = x ⊙ y (Hadamard product). */
export function mul(x: Float32Array, y: Float32Array, out?: Float32Array, opts: ParallelOptions = {}): Float32Array {
  return mapOp('hadamard', [x, y], out, [], opts);
}

/** max(x, 0). */
export function relu(x: Float32Array, out?: Float32Array, opts: ParallelOptions = {}): Float32Array {
  return mapOp('relu_fwd', [x], out, [], opts);
}

/** ∂x = ∂y · [x > 0]. */
export function reluBackward(x: Float32Array, dy: Float32Array, out?: Float32Array, opts: ParallelOptions = {}): Float32Array {
  return mapOp('relu_bwd', [x, dy], out, [], opts);
}

/** LeakyReLU: x > 0 ? x : slope·x (GAT uses slope 0.2). */
export function leakyRelu(x: Float32Array, slope = 0.2, out?: Float32Array, opts: ParallelOptions = {}): Float32Array {
  return mapOp('leaky_fwd', [x], out, [slope], opts);
}

/** ∂x = ∂y · (x > 0 ? 1 : slope), with x the LeakyReLU input. */
export function leakyReluBackward(x: Float32Array, dy: Float32Array, slope = 0.2, out?: Float32Array, opts: ParallelOptions = {}): Float32Array {
  return mapOp('leaky_bwd', [x, dy], out, [slope], opts);
}

/** ELU (α = 1): x > 0 ? x : eˣ − 1 (wasm expm1, relative error ~1e-7). */
export function elu(x: Float32Array, out?: Float32Array, opts: ParallelOptions = {}): Float32Array {
  return mapOp('elu_fwd', [x], out, [], opts);
}

/** ∂x = ∂y · (x > 0 ? 1 : eˣ), with x the ELU input. */
export function eluBackward(x: Float32Array, dy: Float32Array, out?: Float32Array, opts: ParallelOptions = {}): Float32Array {
  return mapOp('elu_bwd', [x, dy], out, [], opts);
}

/** σ(x) = 1 / (1 + e^{−x}), computed without overflow. */
export function sigmoidScalar(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** log σ(x) = −softplus(−x), stable for any x. */
export function logSigmoidScalar(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

/** Element-wise σ(x) (wasm exp; saturates to 0 / 1 without overflow). */
export function sigmoid(x: Float32Array, out?: Float32Array, opts: ParallelOptions = {}): Float32Array {
  return mapOp('sigmoid_fwd', [x], out, [], opts);
}

/** ∂x = ∂y · y · (1 − y), with y = σ(x). */
export function sigmoidBackward(y: Float32Array, dy: Float32Array, out?: Float32Array, opts: ParallelOptions = {}): Float32Array {
  return mapOp('sigmoid_bwd', [y, dy], out, [], opts);
}

/** out[i,:] = X[i,:] + b with X [m × n], b [n]. */
export function addRowVector(x: Float32Array, b: Float32Array, m: number, n: number, out?: Float32Array): Float32Array {
  if (x.length !== m * n || b.length !== n) throw new Error('addRowVector: shape mismatch');
  const o = out ?? allocF32(m * n, false);
  for (let i = 0; i < m; i++) {
    const r = i * n;
    for (let j = 0; j < n; j++) o[r + j] = x[r + j] + b[j];
  }
  return o;
}

/** Column sums Σ_i X[i,:] of X [m × n] → [n] (the bias gradient). */
export function sumRows(x: Float32Array, m: number, n: number, out?: Float32Array): Float32Array {
  if (x.length !== m * n) throw new Error('sumRows: shape mismatch');
  const acc = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    const r = i * n;
    for (let j = 0; j < n; j++) acc[j] += x[r + j];
  }
  const o = out ?? allocF32(n, false);
  for (let j = 0; j < n; j++) o[j] = acc[j];
  return o;
}

/** r[i] = ⟨X[i,:], Y[i,:]⟩ with X, Y [m × d] → [m]. */
export function rowDot(x: Float32Array, y: Float32Array, m: number, d: number, out?: Float32Array): Float32Array {
  if (x.length !== m * d || y.length !== m * d) throw new Error('rowDot: shape mismatch');
  const o = out ?? allocF32(m, false);
  for (let i = 0; i < m; i++) {
    const r = i * d;
    let s = 0;
    for (let k = 0; k < d; k++) s += x[r + k] * y[r + k];
    o[i] = s;
  }
  return o;
}

/** Σ x_i y_i (float64 accumulation). */
export function dot(x: ArrayLike<number>, y: ArrayLike<number>): number {
  same('dot', x, y);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

/** Σ x_i² (float64 accumulation). */
export function sumSquares(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

/** Σ x_i (float64 accumulation). */
export function sum(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s;
}
