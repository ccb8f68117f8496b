/**
 * The one set of hyperparameter names across the registry's models (RecBole style: `dim, layers, lr, reg,
 * batch, epochs, eval_every, patience, negatives, …`, snake_case where multiword), and the names they
 * replaced. A replaced name is refused with an error naming the new one; saved models whose meta holds old
 * names are read through {@link migrateParams}.
 */

/** old name → new name */
export const RENAMED_PARAMS: Readonly<Record<string, string>> = {
  batchSize: 'batch',
  l2: 'reg',
  evalEvery: 'eval_every',
  hardCandidates: 'hard_candidates',
  popAlpha: 'pop_alpha',
  initStd: 'init_std',
  attnInitStd: 'attn_init_std',
  attnDropout: 'attn_dropout',
  weightDecay: 'weight_decay',
  leakySlope: 'leaky_slope',
  selfLoops: 'self_loops',
  headMerge: 'head_merge',
  layerCombination: 'readout',
  ratingWeighted: 'rating_weighted',
  ratingScale: 'rating_scale',
  blurT: 'blur_t',
  blurSteps: 'blur_steps',
  blurSolver: 'blur_solver',
  sharpenT: 'sharpen_t',
  sharpenSteps: 'sharpen_steps',
  sharpenSolver: 'sharpen_solver',
  finalSharpening: 'final_sharpening',
  tPointCombination: 't_point_combination',
  powerIters: 'power_iters',
};

/** Params saved under old names (models written before the rename) under the current names. */
export function migrateParams<T>(params: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [RENAMED_PARAMS[k] ?? k, v]));
}
