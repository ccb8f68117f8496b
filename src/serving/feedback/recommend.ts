/**
 * A recommendation list with live feedback: the serving vector u' and the consumed items of the key's profile
 * (profile.ts), the ANN top-k of ServedModel.recommend over u' with the known ∪ consumed items excluded, and each
 * item's `because` (because.ts) when explanations are on and a recent event shaped the vector. Without a profile
 * (no events, `feedback=false`, feedback disabled) it is exactly the model's list.
 */
import { ppError } from '../../errors.js';
import type { Recommendation, ServedModel } from '../served-model.js';
import { becauseOf } from './because.js';
import { blendVector, liveProfile, mergeSorted } from './profile.js';
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
  const profile = r.entry ? liveProfile(model, r.entry, r.settings, r.now) : null;
  const alpha = r.blend ?? r.settings.blend;
  const vector = blendVector(r.learned, profile?.foldIn ?? null, alpha);
  if (!vector) throw ppError('PP_SERVE_USER_UNKNOWN', r.unknown);
  const exclude = r.excludeSeen ? mergeSorted(r.known, profile?.consumed ?? new Int32Array(0)) : null;
  let history: ArrayLike<number> = r.explainHistory ?? r.known;
  if (history.length === 0 && profile) history = profile.recent.map((e) => e.iid).reverse();
  const items = model.recommend(vector, r.k, exclude, r.explain ? { history, attentionFrom: r.attentionFrom } : null);
  if (r.explain && profile?.foldIn && (r.learned === null || alpha > 0)) {
    for (const it of items) {
      const because = becauseOf(model, model.itemIndex.get(it.item_id)!, r.learned, profile.foldIn, alpha, profile.recent);
      if (because) it.because = because;
    }
  }
  return items;
}
