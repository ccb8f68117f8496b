/**
 * The fusion MLP's forward pass in plain TypeScript, for one new item at serve time (weights exported by
 * `plotpointe embed fuse`, src/models/fusion/fusion-export.ts; training-side definition in fusion-mlp.ts):
 *
 *     x_m = z_m(c_m) = (c_m − μ_m) · s_m      when modality m is given (c_m = the raw encoder output, d_m values)
 *     x_m = p_m                               when it is not (the learned placeholder)
 *     x   = x_1 ⊕ … ⊕ x_M ⊕ π ⊕ 0_{d_id}       π ∈ {0,1}^M presence indicators; a new item has no ID embedding
 *     h   = act(x W₁ + b₁)                     W₁ [D_in × H]; act = ReLU or GELU x·σ(1.702x); no dropout
 *     f   = h W₂ + b₂                          W₂ [H × D_out] → f ∈ ℝ^{D_out} (not normalised; the fused index
 *                                              is cosine, callers normalise)
 *
 * Accumulates in float64; the training side computes in float32, so results agree to ~1e-6.
 */
import { ppError } from '../errors.js';
import type { FusionWeights } from '../models/fusion/fusion-export.js';

/** f(content) of one item; `inputs[name]` = that modality's raw vector (length d_m) or null/absent when missing. */
export function fusionForward(w: FusionWeights, inputs: Partial<Record<string, Float32Array | null>>): Float32Array {
  const M = w.modalities.length;
  const inputDim = w.modalities.reduce((s, m) => s + m.dim, 0) + M + w.idDim;
  const x = new Float64Array(inputDim);
  let at = 0;
  w.modalities.forEach((m, q) => {
    const c = inputs[m.name];
    if (c) {
      if (c.length !== m.dim) throw ppError('PP_SERVE_COLD_START', `fusion input ${m.name} has ${c.length} values, the fusion expects ${m.dim}`);
      for (let k = 0; k < m.dim; k++) x[at + k] = (c[k] - m.mean[k]) * m.scale;
    } else {
      for (let k = 0; k < m.dim; k++) x[at + k] = m.placeholder[k];
    }
    at += m.dim;
    x[inputDim - w.idDim - M + q] = c ? 1 : 0;
  });
  const H = w.hidden;
  const h = new Float64Array(H);
  for (let j = 0; j < H; j++) h[j] = w.b1[j];
  for (let i = 0; i < inputDim; i++) {
    const xi = x[i];
    if (xi === 0) continue;
    const row = i * H;
    for (let j = 0; j < H; j++) h[j] += xi * w.w1[row + j];
  }
  for (let j = 0; j < H; j++) h[j] = w.activation === 'relu' ? Math.max(0, h[j]) : h[j] / (1 + Math.exp(-1.702 * h[j]));
  const D = w.out;
  const f = new Float64Array(D);
  for (let j = 0; j < D; j++) f[j] = w.b2[j];
  for (let i = 0; i < H; i++) {
    const hi = h[i];
    if (hi === 0) continue;
    const row = i * D;
    for (let j = 0; j < D; j++) f[j] += hi * w.w2[row + j];
  }
  return Float32Array.from(f);
}
