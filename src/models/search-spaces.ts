/**
 * Default hyperparameter search spaces of `plotpointe tune`, one per model, in the registry's unified
 * parameter names (param-names.ts). A dimension is a float or integer range (uniform, or uniform in log
 * space with `log`) or a list of choices; params not named keep the model's default (or `tune --param`).
 * `tune --space key=…` replaces or adds dimensions (src/orchestration/search/space.ts parses them).
 *
 * Ranges follow the usual ones of each model's paper / RecBole's hyper-tuning files, kept narrow enough that
 * a handful of trials says something. `epochs` is never searched: trained models stop on valid (patience)
 * and the search prunes bad trials on their validation curve.
 */

export type Dimension =
  | { type: 'float'; low: number; high: number; log?: boolean }
  | { type: 'int'; low: number; high: number; log?: boolean }
  | { type: 'choice'; values: readonly (string | number | boolean)[] };

export type SearchSpace = Readonly<Record<string, Dimension>>;

const f = (low: number, high: number, log = false): Dimension => ({ type: 'float', low, high, log });
const i = (low: number, high: number, log = false): Dimension => ({ type: 'int', low, high, log });
const c = (...values: (string | number | boolean)[]): Dimension => ({ type: 'choice', values });

/** The BPR-trained models' common dimensions (mf, lightgcn). */
const BPR_SPACE: SearchSpace = { dim: c(32, 64, 128), lr: f(1e-4, 3e-2, true), reg: f(1e-6, 1e-2, true) };

export const DEFAULT_SEARCH_SPACES: Readonly<Record<string, SearchSpace>> = {
  pop: {},
  itemknn: { k: i(10, 400, true), shrink: f(0, 100), alpha: f(0, 1) },
  rp3beta: { k: i(10, 400, true), alpha: f(0.2, 2), beta: f(0, 1) },
  // lambda > 0 fixes λ (else ease picks it from its own grid on valid: nothing to search)
  ease: { lambda: f(1, 5000, true) },
  gfcf: { k: i(32, 512, true), alpha: f(0, 1) },
  bspm: { k: i(32, 512, true), beta: f(0, 1), blur_t: f(0.1, 3), sharpen_t: f(0.5, 5) },
  mf: BPR_SPACE,
  lightgcn: { ...BPR_SPACE, layers: i(1, 4) },
  gat: { dim: c(32, 64), layers: i(1, 3), heads: c(1, 2, 4), lr: f(1e-3, 3e-2, true), reg: f(1e-6, 1e-2, true), attn_dropout: f(0, 0.3) },
  mmgat: { layers: i(1, 3), lr: f(1e-3, 2e-2, true), reg: f(1e-6, 1e-2, true), dropout: f(0, 0.3), ii_k: c(5, 10, 20), content_init: f(0, 1) },
};
