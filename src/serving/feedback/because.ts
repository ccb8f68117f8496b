/**
 * "Because you just viewed X": which recommended items are there because of a recent event.
 *
 * With u' = (1−α)·u + α·‖u‖·f (profile.ts) the score of item r splits into the learned part (1−α)·⟨u, e_r⟩ and
 * the live part α·‖u‖·⟨f, e_r⟩ (for a user without a learned vector the score is all live). r is marked when the
 * live part is larger; the event named is the one that contributed most to ⟨f, e_r⟩ — f is a positive multiple
 * of Σ_e w_e·e_{i_e}, so that is the event with the largest w_e·⟨e_{i_e}, e_r⟩. Cost: |recent| dot products per
 * recommended item (≤ 50 × dim; recommend.ts passes one event per distinct item, profile.ts `heaviest`, and ‖u‖ once).
 */
import type { EventType } from '../../analytics/log-schema.js';
import type { BecauseRecent, ServedModel } from '../served-model.js';
import type { RecentEvent } from './profile.js';

export type { BecauseRecent };

const VERB: Record<EventType, string> = { impression: 'saw', click: 'viewed', purchase: 'bought', rating: 'rated' };

export function becauseMessage(type: EventType, title: string | null, itemId: string): string {
  return `because you just ${VERB[type]} ${title ?? itemId}`;
}

/**
 * The recent event that put item `iid` in the list, or null when the learned part of its score is the larger.
 * `learned` = u (null: all live), `foldIn` = f, `alpha` = α.
 */
export function becauseOf(
  model: ServedModel,
  iid: number,
  learned: Float32Array | null,
  foldIn: Float32Array,
  alpha: number,
  recent: readonly RecentEvent[],
  learnedNorm = learned ? norm(learned) : 0,
): BecauseRecent | null {
  const d = model.dim;
  const E = model.bundle.items;
  const o = iid * d;
  if (learned) {
    let uDot = 0;
    let fDot = 0;
    for (let j = 0; j < d; j++) {
      uDot += learned[j] * E[o + j];
      fDot += foldIn[j] * E[o + j];
    }
    if (alpha * learnedNorm * fDot <= (1 - alpha) * uDot) return null;
  }
  let best = -1;
  let bestScore = -Infinity;
  for (let r = 0; r < recent.length; r++) {
    if (recent[r].iid === iid) continue; // "because you just viewed it" says nothing
    const h = recent[r].iid * d;
    let dot = 0;
    for (let j = 0; j < d; j++) dot += E[h + j] * E[o + j];
    const s = recent[r].weight * dot;
    if (s > bestScore || (s === bestScore && recent[r].ts > recent[best].ts)) {
      best = r;
      bestScore = s;
    }
  }
  if (best < 0 || !(bestScore > 0)) return null;
  const ev = recent[best];
  const id = model.itemId(ev.iid);
  return { item_id: id, type: ev.type, ts: new Date(ev.ts).toISOString(), message: becauseMessage(ev.type, model.itemMeta(ev.iid).title, id) };
}

/** ‖v‖₂ */
export function norm(v: Float32Array): number {
  let n = 0;
  for (let j = 0; j < v.length; j++) n += v[j] * v[j];
  return Math.sqrt(n);
}
