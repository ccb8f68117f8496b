/**
 * LightGCN (He et al., SIGIR 2020): linear propagation of ID embeddings over the user–item graph,
 *
 *   E⁽ᵏ⁺¹⁾ = Â E⁽ᵏ⁾,   Â = D^-1/2 A D^-1/2,   A = [[0, R], [Rᵀ, 0]]  ((U+I) × (U+I), R binary),
 *   E = (E⁽⁰⁾ + E⁽¹⁾ + … + E⁽ᴷ⁾) / (K + 1),   x_ui = ⟨E[u], E[U + i]⟩,
 *
 * trained with BPR on the final embeddings and L2 on the batch's layer-0 embeddings (λ·Σ‖e⁰‖²/(2b)),
 * Adam lr 0.001, batch 2048, d 64, K 3, N(0, 0.1²) initialisation — the official configuration. With
 * `rating_weighted` and a split with ratings, A_ui = rating(u, i) (NaN → 1) before normalisation.
 * It runs on the propagation layer's fast path for uniform attention (src/models/propagation/lightgcn-fused.ts).
 * Shapes: E [N × d], N = U + I. Measurements (step cost, batch size vs learning rate, Gowalla):
 * docs/decisions/052-lightgcn-fused-propagation.md.
 */
import { ppError } from '../errors.js';
import type { ModelSpec } from './model.js';
import { registerModel, resolveParams } from './registry.js';
import { BPR_PARAMS, bprConfig, fitBpr, loadEmbeddings } from './mf.js';
import { LightGcnModel } from './propagation/lightgcn-fused.js';
import { normalizedUserItemAdjacency } from './propagation/graph.js';

export { LightGcnModel, FULL_LAST_LAYER, WHOLE_TABLE } from './propagation/lightgcn-fused.js';
/** Â of the split's train part (binary or rating-weighted); nodes 0..U−1 are users, U..U+I−1 items. */
export const lightGcnAdjacency = normalizedUserItemAdjacency;

export const lightGcnSpec: ModelSpec = registerModel({
  name: 'lightgcn',
  description: 'LightGCN: layer-mean linear propagation over the normalised user–item graph, BPR (He et al. 2020)',
  kind: 'trained',
  params: {
    ...BPR_PARAMS,
    layers: { default: 3, min: 0, max: 8, doc: 'propagation layers K (final embedding = mean of layers 0..K)' },
    rating_weighted: { default: false, doc: 'weight edges by rating before normalisation (when the split has ratings)' },
  },
  async fit(ctx) {
    const params = resolveParams(lightGcnSpec, ctx.params);
    const layers = params.layers as number;
    if (!Number.isInteger(layers)) throw ppError('PP_MODEL_PARAM', `lightgcn.layers: expected an integer (got ${layers})`);
    return fitBpr(ctx, new LightGcnModel(ctx.data, bprConfig(params), ctx.seed, params, layers, params.rating_weighted as boolean));
  },
  load(dir, data) {
    return loadEmbeddings(dir, data, 'lightgcn');
  },
});
