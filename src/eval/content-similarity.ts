/**
 * Plain content similarity: the baseline a content-aware model must beat on cold items. No training.
 *
 * With x̂_i = x_i / ‖x_i‖ the unit content vector of item i (one modality) and H(u) the user's history items
 * that have the modality:
 *
 *   p_u       = Σ_{h ∈ H(u)} x̂_h / |H(u)|         (the mean of the history embeddings, via foldInUser)
 *   score(u,i) = ⟨p_u / ‖p_u‖, x̂_i⟩ = cos(p_u, x_i)  for items with the modality
 *   score(u,i) = −2 (below any cosine)             for items without it
 *
 * A user whose history has no item with the modality scores every item 0 (ties: lower id first, i.e. an
 * arbitrary but deterministic order) — reported via `usersWithoutProfile`.
 */
import type { CsrPattern } from '../core/csr-pattern.js';
import { allocF32, free } from '../core/heap.js';
import type { ItemContent, Recommender } from '../models/model.js';
import { foldInUser, scoreVectors } from '../models/fold-in.js';
import { ppError } from '../errors.js';
import { l2NormaliseRows } from '../embeddings/encoder.js';

export interface ContentSimilarityRecommender extends Recommender {
  /** Users whose history has no item with the modality (their scores are all 0 / −2). */
  usersWithoutProfile(users: ArrayLike<number>): number;
  /** Frees the unit vectors (in the shared heap); the recommender cannot score afterwards. */
  dispose(): void;
}

/**
 * The content-similarity recommender of one modality over per-user histories (e.g. the split's train part;
 * never its test part). A batch of users is scored in one dense product P·X̂ᵀ (P = the batch's profiles
 * [B × dim], X̂ the unit item vectors kept in the shared heap, scoreVectors on the wasm SIMD kernels); the
 * fixed scores (−2 without the modality, 0 for a user without a profile) are written after it.
 */
export function contentSimilarityRecommender(content: ItemContent, history: CsrPattern): ContentSimilarityRecommender {
  const { dim, present } = content;
  const numItems = present.length;
  if (content.vectors.length !== numItems * dim) throw ppError('PP_EVAL_INVALID', `${content.modality}: ${content.vectors.length} floats for ${numItems} × ${dim}`);
  let unit = allocF32(numItems * dim, false);
  unit.set(content.vectors);
  l2NormaliseRows(unit, dim);
  const numUsers = history.indptr.length - 1;
  const profile = (u: number): Float32Array | null => {
    const items: number[] = [];
    for (let e = history.indptr[u]; e < history.indptr[u + 1]; e++) if (present[history.indices[e]]) items.push(history.indices[e]);
    return items.length ? foldInUser(unit, dim, items) : null;
  };
  return {
    modelName: `content-similarity/${content.modality}`,
    numUsers,
    numItems,
    scoreUsers(users, out) {
      const profiles = allocF32(users.length * dim); // zero rows for users without a profile
      const without: number[] = [];
      try {
        for (let r = 0; r < users.length; r++) {
          const p = profile(users[r]);
          if (p) profiles.set(p, r * dim);
          else without.push(r);
        }
        scoreVectors(profiles, users.length, unit, dim, out);
      } finally {
        free(profiles);
      }
      for (let r = 0; r < users.length; r++) {
        const row = out.subarray(r * numItems, (r + 1) * numItems);
        for (let i = 0; i < numItems; i++) if (!present[i]) row[i] = -2;
      }
      for (const r of without) {
        const row = out.subarray(r * numItems, (r + 1) * numItems);
        for (let i = 0; i < numItems; i++) row[i] = present[i] ? 0 : -2;
      }
    },
    usersWithoutProfile(users) {
      let n = 0;
      for (let t = 0; t < users.length; t++) {
        const u = users[t];
        let any = false;
        for (let e = history.indptr[u]; e < history.indptr[u + 1] && !any; e++) any = present[history.indices[e]] === 1;
        if (!any) n++;
      }
      return n;
    },
    async save() {
      throw ppError('PP_INTERNAL', 'content similarity has nothing to save');
    },
    dispose() {
      free(unit);
      unit = new Float32Array(0);
    },
  };
}
