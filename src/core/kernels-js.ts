/**
 * Plain TypeScript versions of the WebAssembly kernels ({@link ./wasm-kernels.ts}), with the same
 * pointer-style signatures (byte offsets into the heap, a half-open range `[r0, r1)` last) so the
 * worker pool can run either backend. They accept any row width (no multiple-of-4 requirement)
 * and are the fallback when the wasm kernels do not apply, and the reference of "option (a)"
 * (worker_threads without wasm) in the benchmark.
 */

/** Views over the whole heap buffer. */
export interface HeapViews {
  f32: Float32Array;
  i32: Int32Array;
}

export type JsKernel = (h: HeapViews, ...args: number[]) => void;

/** Row kernel shared by spmm and spmm_perm: views start at the operands, weights via `w(e)`. */
function spmmRows(
  ip: Int32Array, ix: Int32Array, X: Float32Array, Y: Float32Array, Z: Float32Array | null,
  d: number, r0: number, r1: number, w: (e: number) => number,
): void {
  for (let i = r0; i < r1; i++) {
    const o = i * d;
    if (Z) for (let k = 0; k < d; k++) Y[o + k] = Z[o + k];
    else Y.fill(0, o, o + d);
    const end = ip[i + 1];
    for (let e = ip[i]; e < end; e++) {
      const v = w(e);
      const s = ix[e] * d;
      let k = 0;
      for (; k + 4 <= d; k += 4) {
        Y[o + k] += v * X[s + k];
        Y[o + k + 1] += v * X[s + k + 1];
        Y[o + k + 2] += v * X[s + k + 2];
        Y[o + k + 3] += v * X[s + k + 3];
      }
      for (; k < d; k++) Y[o + k] += v * X[s + k];
    }
  }
}

function spmm(h: HeapViews, indptr: number, indices: number, values: number, x: number, y: number, d: number, z: number, r0: number, r1: number): void {
  const buf = h.f32.buffer;
  const ip = new Int32Array(buf, indptr, r1 + 1);
  const nnzEnd = ip[r1];
  const ix = new Int32Array(buf, indices, nnzEnd);
  const vl = new Float32Array(buf, values, nnzEnd);
  const X = new Float32Array(buf, x);
  const Y = new Float32Array(buf, y, r1 * d);
  const Z = z ? new Float32Array(buf, z, r1 * d) : null;
  spmmRows(ip, ix, X, Y, Z, d, r0, r1, (e) => vl[e]);
}

function gatherF32(h: HeapViews, idx: number, src: number, out: number, r0: number, r1: number): void {
  const { f32, i32 } = h;
  const ib = idx >>> 2;
  const sb = src >>> 2;
  const ob = out >>> 2;
  for (let i = r0; i < r1; i++) f32[ob + i] = f32[sb + i32[ib + i]];
}

function sddmm(h: HeapViews, indptr: number, indices: number, a: number, b: number, out: number, d: number, r0: number, r1: number): void {
  const { f32, i32 } = h;
  const ip = indptr >>> 2;
  const ix = indices >>> 2;
  const ab = a >>> 2;
  const bb = b >>> 2;
  const ob = out >>> 2;
  for (let i = r0; i < r1; i++) {
    const pa = ab + i * d;
    const end = i32[ip + i + 1];
    for (let e = i32[ip + i]; e < end; e++) {
      const pb = bb + i32[ix + e] * d;
      let s = 0;
      for (let k = 0; k < d; k++) s += f32[pa + k] * f32[pb + k];
      f32[ob + e] = s;
    }
  }
}

function gemmNn(h: HeapViews, a: number, b: number, c: number, k: number, n: number, r0: number, r1: number): void {
  const { f32 } = h;
  const ab = a >>> 2;
  const bb = b >>> 2;
  const cb = c >>> 2;
  for (let i = r0; i < r1; i++) {
    const co = cb + i * n;
    for (let j = 0; j < n; j++) f32[co + j] = 0;
    for (let p = 0; p < k; p++) {
      const x = f32[ab + i * k + p];
      const bo = bb + p * n;
      for (let j = 0; j < n; j++) f32[co + j] += x * f32[bo + j];
    }
  }
}

function gemmTn(h: HeapViews, a: number, b: number, c: number, k: number, n: number, r0: number, r1: number): void {
  const { f32 } = h;
  const ab = a >>> 2;
  const bb = b >>> 2;
  const cb = c >>> 2;
  f32.fill(0, cb, cb + k * n);
  for (let i = r0; i < r1; i++) {
    const bo = bb + i * n;
    for (let p = 0; p < k; p++) {
      const x = f32[ab + i * k + p];
      const co = cb + p * n;
      for (let j = 0; j < n; j++) f32[co + j] += x * f32[bo + j];
    }
  }
}

function axpby(h: HeapViews, x: number, y: number, out: number, alpha: number, beta: number, r0: number, r1: number): void {
  const { f32 } = h;
  const xb = x >>> 2;
  const yb = y >>> 2;
  const ob = out >>> 2;
  const a = Math.fround(alpha);
  const b = Math.fround(beta);
  for (let i = r0; i < r1; i++) f32[ob + i] = a * f32[xb + i] + b * f32[yb + i];
}

function adam(
  h: HeapViews,
  p: number, g: number, m: number, v: number,
  b1: number, omb1: number, b2: number, omb2: number, eps: number, wd: number, lrwd: number,
  decoupled: number, stepSize: number, ibc2: number,
  r0: number, r1: number,
): void {
  const { f32 } = h;
  const pb = p >>> 2;
  const gb = g >>> 2;
  const mb = m >>> 2;
  const vb = v >>> 2;
  for (let i = r0; i < r1; i++) {
    let gi = f32[gb + i];
    let pi = f32[pb + i];
    if (decoupled) pi -= lrwd * pi;
    else gi += wd * pi;
    const mi = b1 * f32[mb + i] + omb1 * gi;
    const vi = b2 * f32[vb + i] + omb2 * gi * gi;
    f32[mb + i] = mi;
    f32[vb + i] = vi;
    f32[pb + i] = pi - (stepSize * mi) / (Math.sqrt(vi * ibc2) + eps);
  }
}

/** JS kernels by the name of their wasm twin. */
export const JS_KERNELS: Record<string, JsKernel> = {
  spmm: spmm as JsKernel,
  gather_f32: gatherF32 as JsKernel,
  sddmm: sddmm as JsKernel,
  gemm_nn: gemmNn as JsKernel,
  gemm_tn: gemmTn as JsKernel,
  axpby: axpby as JsKernel,
  adam: adam as JsKernel,
};
