/**
 * The ranking-loss params every trained embedding model shares (mf, lightgcn, gat, mmgat): a positive pair's
 * score x_ui against N uniform (or popularity) candidates x_uj, as BPR averaged over the N pairs or as sampled
 * softmax at temperature τ, L = logsumexp(x_ui/τ, x_uj₁/τ … x_ujN/τ) − x_ui/τ (src/core/losses.ts).
 */
import { ppError } from '../errors.js';
import type { ParamSpec, Params } from './model.js';

export const RANKING_LOSS_PARAMS = {
  loss: { default: 'bpr', choices: ['bpr', 'softmax'], doc: 'bpr: −log σ(x_ui − x_uj), the mean over the neg_samples candidates j; softmax: sampled softmax over the positive and its candidates at temperature τ' },
  neg_samples: { default: 1, min: 1, max: 1024, doc: 'uniform (or popularity) candidates per positive pair (negatives=hard keeps one of hard_candidates instead)' },
  temperature: { default: 1, min: 1e-3, max: 100, doc: 'τ of loss=softmax (scores are divided by it)' },
} as const satisfies Record<string, ParamSpec>;

/** Refuses what hard negatives cannot take: they keep one of hard_candidates per pair. */
export function checkRankingLoss(p: Params): void {
  if (!Number.isInteger(p.neg_samples ?? 1)) throw ppError('PP_MODEL_PARAM', `neg_samples: expected an integer (got ${p.neg_samples})`);
  if (p.negatives === 'hard' && (p.loss === 'softmax' || (p.neg_samples ?? 1) !== 1)) {
    throw ppError('PP_MODEL_PARAM', 'negatives=hard keeps one of hard_candidates per pair: it takes neither loss=softmax nor neg_samples (use negatives=uniform)');
  }
}
