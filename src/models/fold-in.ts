import { ppError } from '../errors.js';
import { allocF32, free, matmulNT } from '../core/index.js';
import type { Recommender } from './model.js';

/**
 * Fold-in of a new user: a user vector from the item embeddings of a short history, without retraining.
 *
 * For the dot-product models (MF, LightGCN, GAT, mmgat: score(u, i) = ⟨e_u, e_i⟩) a user is represented by
 * the (optionally weighted) mean of the embeddings of the items they interacted with, scaled to unit length:
 *
 *   m      = Σ_h w_h · e_{i_h} / Σ_h w_h          h = 1..|H|, i_h ∈ history (repeats count), w_h ≥ 0 (default 1)
 *   e_new  = m / ‖m‖₂                            (m itself when ‖m‖ = 0 or `normalise: false`)
 *
 * Why the mean: in LightGCN the first propagation of a user is e_u⁽¹⁾ = Σ_{i ∈ N(u)} e_i / √(|N(u)| |N(i)|),
 * a degree-weighted mean of its items, and the layer mean of the final user embedding is dominated by such
 * neighbourhood sums; a user is "where their items are". The ranking of one user is invariant to a positive
 * scale of e_new, so the normalisation only makes scores of different fold-in users comparable (cosine-like)
 * and keeps one heavy history from dominating mixed lists. Pass `weights` to favour recent or highly rated
 * items (e.g. w = rating, or w = 0.9^age).
 *
 * Shapes: `items` is row-major `numItems × dim` (the model's item embeddings, row = split item id); the
 * result has `dim` entries. An empty history (or all-zero weights) gives the zero vector — every item then
 * scores 0 and the caller should fall back to popularity.
 */
export function foldInUser(
  items: Float32Array,
  dim: number,
  history: ArrayLike<number>,
  opts: { weights?: ArrayLike<number>; normalise?: boolean } = {},
): Float32Array {
  if (!Number.isInteger(dim) || dim < 1 || items.length % dim !== 0) {
    throw ppError('PP_EVAL_INVALID', `item embeddings of length ${items.length} are not rows of dim ${dim}`);
  }
  const numItems = items.length / dim;
  const w = opts.weights;
  if (w && w.length !== history.length) throw ppError('PP_EVAL_INVALID', `${w.length} weights for a history of ${history.length} items`);
  const acc = new Float64Array(dim);
  let wsum = 0;
  for (let h = 0; h < history.length; h++) {
    const i = history[h];
    if (!Number.isInteger(i) || i < 0 || i >= numItems) throw ppError('PP_EVAL_INVALID', `history item ${i} is outside [0, ${numItems})`);
    const wh = w ? w[h] : 1;
    if (!(wh >= 0) || !Number.isFinite(wh)) throw ppError('PP_EVAL_INVALID', `weight ${wh} of history item ${i} must be finite and ≥ 0`);
    if (wh === 0) continue;
    wsum += wh;
    const o = i * dim;
    for (let j = 0; j < dim; j++) acc[j] += wh * items[o + j];
  }
  const out = new Float32Array(dim);
  if (wsum === 0) return out;
  let norm = 0;
  for (let j = 0; j < dim; j++) {
    acc[j] /= wsum;
    norm += acc[j] * acc[j];
  }
  const scale = opts.normalise === false || norm === 0 ? 1 : 1 / Math.sqrt(norm);
  for (let j = 0; j < dim; j++) out[j] = acc[j] * scale;
  return out;
}

/**
 * Scores of one user vector over all items: s_i = ⟨u, e_i⟩ (row-major items, numItems × dim), a scalar loop
 * with double sums — for one vector; batches of users go through {@link scoreVectors}.
 */
export function scoreAllItems(user: Float32Array, items: Float32Array, dim: number, into?: Float32Array): Float32Array {
  const n = items.length / dim;
  const out: Float32Array = into ?? new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * dim;
    for (let j = 0; j < dim; j++) s += user[j] * items[o + j];
    out[i] = s;
  }
  return out;
}

/**
 * Scores of a batch of user vectors over all items in one dense product on the core's wasm SIMD kernels:
 * out[r, i] = ⟨U[r, :], E[i, :]⟩, i.e. out = U·Eᵀ with U [rows × dim], E = items [numItems × dim], out
 * [rows × numItems]. Float32 sums in the kernel's order (a scalar loop's double sums differ by ~1e-7
 * relative). Operands outside the shared heap are copied in per call: keep `items` in the heap when
 * scoring many batches.
 */
export function scoreVectors(userVectors: Float32Array, rows: number, items: Float32Array, dim: number, out: Float32Array): Float32Array {
  const numItems = items.length / dim;
  if (userVectors.length !== rows * dim || out.length !== rows * numItems) {
    throw ppError('PP_EVAL_INVALID', `scoreVectors: ${userVectors.length} floats for ${rows} × ${dim} users, out ${out.length} for ${rows} × ${numItems}`);
  }
  if (rows === 0) return out;
  return matmulNT(userVectors, items, rows, dim, numItems, { out });
}

/**
 * A Recommender whose users are folded in from a per-user history (CSR rows, e.g. a split's train part)
 * over a trained model's item embeddings: the learned user vectors are not used. For evaluating fold-in
 * against the learned users (src/orchestration/cold-start-report.ts `foldInReport`).
 */
export function foldInRecommender(
  base: { items: Float32Array; dim: number; numItems: number; modelName: string },
  history: { indptr: Int32Array; indices: Int32Array; ratings?: Float32Array },
  opts: { useRatings?: boolean; normalise?: boolean } = {},
): Recommender {
  const numUsers = history.indptr.length - 1;
  const cache = new Map<number, Float32Array>();
  const userVector = (u: number): Float32Array => {
    let v = cache.get(u);
    if (!v) {
      const s = history.indptr[u];
      const e = history.indptr[u + 1];
      let weights: Float32Array | undefined;
      if (opts.useRatings && history.ratings) {
        weights = history.ratings.slice(s, e).map((r) => (Number.isFinite(r) && r > 0 ? r : 1));
      }
      v = foldInUser(base.items, base.dim, history.indices.subarray(s, e), { weights, normalise: opts.normalise });
      cache.set(u, v);
    }
    return v;
  };
  return {
    modelName: `${base.modelName}+fold-in`,
    numUsers,
    numItems: base.numItems,
    scoreUsers(users, out) {
      const d = base.dim;
      const rows = allocF32(users.length * d, false);
      try {
        for (let r = 0; r < users.length; r++) rows.set(userVector(users[r]), r * d);
        scoreVectors(rows, users.length, base.items, d, out);
      } finally {
        free(rows);
      }
    },
    async save() {
      throw ppError('PP_INTERNAL', 'a fold-in view is not saved; save the base model');
    },
  };
}
