/**
 * Per-edge (per stored entry) operations grouped by CSR row, for attention (GAT).
 * A segment is the set of entries of one row, i.e. the incoming edges of target node i.
 *
 * | op | formula | shapes |
 * |---|---|---|
 * | {@link segmentSoftmax} | α_e = exp(s_e − max_{row}) / Σ_{e'∈row} exp(s_e' − max_{row}) | s [nnz] → α [nnz] |
 * | {@link segmentSoftmaxBackward} | ∂s_e = α_e (∂α_e − Σ_{e'∈row} α_e' ∂α_e') | α, ∂α [nnz] → ∂s [nnz] |
 * | {@link edgeScoreSum} | s_e = t[i] + u[src(e)] (GAT: a_dstᵀWh_i + a_srcᵀWh_j) | t [n], u [m] → s [nnz] |
 * | {@link segmentSum} | r[i] = Σ_{e∈row i} g_e | g [nnz] → r [n] |
 * | {@link segmentSumBySource} | c[j] = Σ_{e: src(e)=j} g_e, via the transposed CSR (no scatter) | g [nnz] → c [m] |
 *
 * The softmax subtracts each row's maximum (stable for any logits); empty rows produce nothing.
 * WebAssembly kernels ({@link ./wasm-math.ts}) over nnz-balanced row chunks on the pool; each row
 * is reduced by one chunk in a fixed order (float32 accumulation), so results are deterministic.
 */
import type { Csr, CsrTransposed } from './csr.js';
import { allocF32 } from './heap.js';
import { runKernel } from './pool.js';
import { csrChunking, type ParallelOptions } from './chunks.js';
import { staged } from './stage.js';

function nnzOf(a: Csr): number {
  return a.indices.length;
}

/** α = softmax of `s` within each row of `a`. */
export function segmentSoftmax(a: Csr, s: Float32Array, out?: Float32Array, opts: ParallelOptions = {}): Float32Array {
  const n = nnzOf(a);
  if (s.length !== n) throw new Error(`segmentSoftmax: scores length ${s.length} != nnz ${n}`);
  const o = out ?? allocF32(n, false);
  if (o.length !== n) throw new Error('segmentSoftmax: out length != nnz');
  staged((st) => {
    const ps = st.inF32(s);
    const po = o === s ? st.outF32(o, true) : st.outF32(o);
    runKernel('segment_softmax', [st.inI32(a.indptr), o === s ? po : ps, po], csrChunking(a, 1, opts), { parallel: opts.parallel });
  });
  return o;
}

/** ∂s from α = segmentSoftmax(s) and the upstream gradient ∂α. */
export function segmentSoftmaxBackward(a: Csr, alpha: Float32Array, dAlpha: Float32Array, out?: Float32Array, opts: ParallelOptions = {}): Float32Array {
  const n = nnzOf(a);
  if (alpha.length !== n || dAlpha.length !== n) throw new Error('segmentSoftmaxBackward: length != nnz');
  const o = out ?? allocF32(n, false);
  if (o === alpha || o === dAlpha) throw new Error('segmentSoftmaxBackward: out must not alias an input');
  staged((st) => {
    runKernel('segment_softmax_bwd', [st.inI32(a.indptr), st.inF32(alpha), st.inF32(dAlpha), st.outF32(o)], csrChunking(a, 1, opts), { parallel: opts.parallel });
  });
  return o;
}

/** s_e = t[i] + u[src(e)] for every entry e of row i. */
export function edgeScoreSum(a: Csr, t: Float32Array, u: Float32Array, out?: Float32Array, opts: ParallelOptions = {}): Float32Array {
  if (t.length !== a.rows || u.length !== a.cols) throw new Error('edgeScoreSum: t must have rows, u cols elements');
  const o = out ?? allocF32(nnzOf(a), false);
  staged((st) => {
    runKernel('edge_score_sum', [st.inI32(a.indptr), st.inI32(a.indices), st.inF32(t), st.inF32(u), st.outF32(o)], csrChunking(a, 1, opts), { parallel: opts.parallel });
  });
  return o;
}

/** r[i] = Σ_{e∈row i} g_e. */
export function segmentSum(a: Csr, g: Float32Array, out?: Float32Array, opts: ParallelOptions = {}): Float32Array {
  if (g.length !== nnzOf(a)) throw new Error('segmentSum: length != nnz');
  const o = out ?? allocF32(a.rows, false);
  staged((st) => {
    runKernel('segment_sum', [st.inI32(a.indptr), st.inF32(g), st.outF32(o)], csrChunking(a, 1, opts), { parallel: opts.parallel });
  });
  return o;
}

/** c[j] = Σ_{e: src(e)=j} g_e, with `at = transpose(a)` (g in a's entry order). */
export function segmentSumBySource(at: CsrTransposed, g: Float32Array, out?: Float32Array, opts: ParallelOptions = {}): Float32Array {
  if (g.length !== nnzOf(at)) throw new Error('segmentSumBySource: length != nnz');
  const o = out ?? allocF32(at.rows, false);
  staged((st) => {
    runKernel('segment_sum_perm', [st.inI32(at.indptr), st.inI32(at.perm), st.inF32(g), st.outF32(o)], csrChunking(at, 1, opts), { parallel: opts.parallel });
  });
  return o;
}
