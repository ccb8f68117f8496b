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
 * Sums accumulate in float64 within a row.
 */
import type { Csr, CsrTransposed } from './csr.js';
import { allocF32 } from './heap.js';

/** α = softmax of `s` within each row of `a`. */
export function segmentSoftmax(a: Csr, s: Float32Array, out?: Float32Array): Float32Array {
  const n = a.indices.length;
  if (s.length !== n) throw new Error(`segmentSoftmax: scores length ${s.length} != nnz ${n}`);
  const o = out ?? allocF32(n, false);
  const ip = a.indptr;
  for (let i = 0; i < a.rows; i++) {
    const b = ip[i];
    const e1 = ip[i + 1];
    if (b === e1) continue;
    let mx = -Infinity;
    for (let e = b; e < e1; e++) if (s[e] > mx) mx = s[e];
    let z = 0;
    for (let e = b; e < e1; e++) {
      const x = Math.exp(s[e] - mx);
      o[e] = x;
      z += x;
    }
    const inv = 1 / z;
    for (let e = b; e < e1; e++) o[e] *= inv;
  }
  return o;
}

/** ∂s from α = segmentSoftmax(s) and the upstream gradient ∂α. */
export function segmentSoftmaxBackward(a: Csr, alpha: Float32Array, dAlpha: Float32Array, out?: Float32Array): Float32Array {
  const n = a.indices.length;
  if (alpha.length !== n || dAlpha.length !== n) throw new Error('segmentSoftmaxBackward: length != nnz');
  const o = out ?? allocF32(n, false);
  const ip = a.indptr;
  for (let i = 0; i < a.rows; i++) {
    const b = ip[i];
    const e1 = ip[i + 1];
    let dot = 0;
    for (let e = b; e < e1; e++) dot += alpha[e] * dAlpha[e];
    for (let e = b; e < e1; e++) o[e] = alpha[e] * (dAlpha[e] - dot);
  }
  return o;
}

/** s_e = t[i] + u[src(e)] for every entry e of row i. */
export function edgeScoreSum(a: Csr, t: Float32Array, u: Float32Array, out?: Float32Array): Float32Array {
  if (t.length !== a.rows || u.length !== a.cols) throw new Error('edgeScoreSum: t must have rows, u cols elements');
  const o = out ?? allocF32(a.indices.length, false);
  const { indptr: ip, indices: ix } = a;
  for (let i = 0; i < a.rows; i++) {
    const ti = t[i];
    for (let e = ip[i]; e < ip[i + 1]; e++) o[e] = ti + u[ix[e]];
  }
  return o;
}

/** r[i] = Σ_{e∈row i} g_e. */
export function segmentSum(a: Csr, g: Float32Array, out?: Float32Array): Float32Array {
  if (g.length !== a.indices.length) throw new Error('segmentSum: length != nnz');
  const o = out ?? allocF32(a.rows, false);
  const ip = a.indptr;
  for (let i = 0; i < a.rows; i++) {
    let s = 0;
    for (let e = ip[i]; e < ip[i + 1]; e++) s += g[e];
    o[i] = s;
  }
  return o;
}

/** c[j] = Σ_{e: src(e)=j} g_e, with `at = transpose(a)` (g in a's entry order). */
export function segmentSumBySource(at: CsrTransposed, g: Float32Array, out?: Float32Array): Float32Array {
  if (g.length !== at.indices.length) throw new Error('segmentSumBySource: length != nnz');
  const o = out ?? allocF32(at.rows, false);
  const { indptr: ip, perm } = at;
  for (let j = 0; j < at.rows; j++) {
    let s = 0;
    for (let t = ip[j]; t < ip[j + 1]; t++) s += g[perm[t]];
    o[j] = s;
  }
  return o;
}
