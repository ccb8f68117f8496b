/**
 * Losses with their gradients (mean over the batch, accumulated in float64).
 *
 * | loss | value | gradient |
 * |---|---|---|
 * | {@link bprLoss} | L = (1/b) Σ_r −log σ(x⁺_r − x⁻_r) | ∂x⁺_r = −σ(−(x⁺_r − x⁻_r)) / b,  ∂x⁻_r = −∂x⁺_r |
 * | {@link l2Penalty} | R = λ · Σ_t ‖θ_t‖² / (2·b) (LightGCN's embedding regulariser) | ∂θ = λ·θ / b |
 * | {@link bceWithLogits} | L = (1/b) Σ_r softplus(z_r) − y_r·z_r | ∂z_r = (σ(z_r) − y_r) / b |
 * | {@link sampledSoftmax} | L = (1/b) Σ_r logsumexp(x⁺_r/τ, x⁻_r1/τ … x⁻_rN/τ) − x⁺_r/τ | ∂x⁺_r = (p⁺_r − 1)/(τb),  ∂x⁻_rm = p⁻_rm/(τb), p = the row's softmax |
 *
 * Shapes: x⁺, z, y [b]; x⁻ [b] ([b × N] row-major for sampledSoftmax); θ any.
 */
import { allocF32 } from './heap.js';
import { logSigmoidScalar, sigmoidScalar } from './elementwise.js';

export interface LossResult {
  loss: number;
}

/** Bayesian personalised ranking loss on positive and negative scores. */
export function bprLoss(pos: Float32Array, neg: Float32Array): LossResult & { dPos: Float32Array; dNeg: Float32Array } {
  const b = pos.length;
  if (neg.length !== b) throw new Error('bprLoss: pos and neg lengths differ');
  if (b === 0) throw new Error('bprLoss: empty batch');
  const dPos = allocF32(b, false);
  const dNeg = allocF32(b, false);
  let loss = 0;
  for (let r = 0; r < b; r++) {
    const x = pos[r] - neg[r];
    loss -= logSigmoidScalar(x);
    const g = -sigmoidScalar(-x) / b;
    dPos[r] = g;
    dNeg[r] = -g;
  }
  return { loss: loss / b, dPos, dNeg };
}

/** λ · Σ ‖θ‖² / (2b) over the given arrays; gradients λθ/b (new arrays, same order). */
export function l2Penalty(params: Float32Array[], lambda: number, batch: number): LossResult & { grads: Float32Array[] } {
  let s = 0;
  const grads: Float32Array[] = [];
  const c = lambda / batch;
  for (const p of params) {
    const g = allocF32(p.length, false);
    for (let i = 0; i < p.length; i++) {
      s += p[i] * p[i];
      g[i] = c * p[i];
    }
    grads.push(g);
  }
  return { loss: (c * s) / 2, grads };
}

/** Binary cross-entropy on logits z with targets y ∈ [0, 1]. */
export function bceWithLogits(z: Float32Array, y: ArrayLike<number>): LossResult & { dZ: Float32Array } {
  const b = z.length;
  if (y.length !== b) throw new Error('bceWithLogits: length mismatch');
  if (b === 0) throw new Error('bceWithLogits: empty batch');
  const dZ = allocF32(b, false);
  let loss = 0;
  for (let r = 0; r < b; r++) {
    // softplus(z) − y·z = −log σ(z)·y − log σ(−z)·(1 − y)
    loss -= y[r] * logSigmoidScalar(z[r]) + (1 - y[r]) * logSigmoidScalar(-z[r]);
    dZ[r] = (sigmoidScalar(z[r]) - y[r]) / b;
  }
  return { loss: loss / b, dZ };
}

/** Sampled softmax (InfoNCE) over each positive and its N candidates, temperature τ: neg is [b × N] row-major. */
export function sampledSoftmax(pos: Float32Array, neg: Float32Array, tau: number): LossResult & { dPos: Float32Array; dNeg: Float32Array } {
  const b = pos.length;
  if (b === 0) throw new Error('sampledSoftmax: empty batch');
  const N = neg.length / b;
  if (!Number.isInteger(N) || N < 1) throw new Error(`sampledSoftmax: ${neg.length} negatives for ${b} positives`);
  const dPos = allocF32(b, false);
  const dNeg = allocF32(neg.length, false);
  let loss = 0;
  const c = 1 / (tau * b);
  for (let r = 0; r < b; r++) {
    const zp = pos[r] / tau;
    let zmax = zp;
    for (let m = r * N; m < r * N + N; m++) zmax = Math.max(zmax, neg[m] / tau);
    const ep = Math.exp(zp - zmax);
    let sum = ep;
    for (let m = r * N; m < r * N + N; m++) sum += Math.exp(neg[m] / tau - zmax);
    loss += zmax + Math.log(sum) - zp;
    dPos[r] = c * (ep / sum - 1);
    for (let m = r * N; m < r * N + N; m++) dNeg[m] = (c * Math.exp(neg[m] / tau - zmax)) / sum;
  }
  return { loss: loss / b, dPos, dNeg };
}
