/**
 * A recommendation list with live feedback: the serving vector u' and the consumed items of the key's profile
 * (profile.ts), the ANN top-k of ServedModel.recommend over u' with the known ∪ consumed items excluded, and each
 * item's `because` (because.ts) when explanations are on and a recent event shaped the vector. Without a profile
 * (no events, `feedback=false`, feedback disabled) it is exactly the model's list. The profile, u' and the
 * exclusion list are computed once per change of the key's events and reused, and so is each item's `because`
 * (profile.ts cachedProfile, becauseMemo).
 */
import { ppError } from '../../errors.js';
import type { Recommendation, ServedModel } from '../served-model.js';
import { becauseOf, norm } from './because.js';
import { becauseMemo, cachedProfile, exclusion, servingVector } from './profile.js';
import type { FeedbackSettings } from './settings.js';
import type { FeedbackEntry } from './store.js';

export interface LiveRequest {
  /** The learned (or request-folded) user vector; null for a user the model never saw or a bare session. */
  learned: Float32Array | null;
  /** Known items (sorted split ids) excluded with exclude_seen and compared against by explanations. */
  known: Int32Array;
  /** History order of the explanation (defaults to `known`) and its first attention entry (GAT), or null. */
  explainHistory?: ArrayLike<number>;
  attentionFrom: number | null;
  entry: FeedbackEntry | null;
  settings: FeedbackSettings;
  /** α for this request (default settings.blend). */
  blend?: number;
  k: number;
  excludeSeen: boolean;
  explain: boolean;
  /** epoch ms */
  now: number;
  /** What to name in the 404 when there is neither a learned vector nor live events. */
  unknown: string;
}

export function recommendLive(model: ServedModel, r: LiveRequest): Recommendation[] {
  const profile = r.entry ? cachedProfile(model, r.entry, r.settings, r.now) : null;
  const alpha = r.blend ?? r.settings.blend;
  const vector = profile ? servingVector(profile, r.learned, alpha) : r.learned;
  if (!vector) throw ppError('PP_SERVE_USER_UNKNOWN', r.unknown);
  const exclude = r.excludeSeen ? (profile ? exclusion(profile, r.known) : r.known) : null;
  let history: ArrayLike<number> = r.explainHistory ?? r.known;
  if (history.length === 0 && profile) history = profile.recentItems;
  const items = model.recommend(vector, r.k, exclude, r.explain ? { history, attentionFrom: r.attentionFrom } : null);
  if (r.explain && profile?.foldIn && (r.learned === null || alpha > 0)) {
    const known = becauseMemo(profile, r.learned, alpha);
    let n = -1;
    for (const it of items) {
      const iid = model.itemIndex.get(it.item_id)!;
      let because = known?.get(iid);
      if (because === undefined) {
        if (n < 0) n = r.learned ? norm(r.learned) : 0;
        because = becauseOf(model, iid, r.learned, profile.foldIn, alpha, profile.heaviest, n);
        known?.set(iid, because);
      }
      if (because) it.because = because;
    }
  }
  return items;
}
