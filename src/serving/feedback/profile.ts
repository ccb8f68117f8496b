/**
 * What a key's live feedback does to one request: the consumed items to exclude and the serving user vector.
 *
 *   w_e = weight[type_e] · 2^(−age_e / half-life)          age_e = now − ts_e (≥ 0); a rating below min_rating → 0
 *   f   = foldInUser(E, {i_e}, {w_e})                       unit weighted mean of the recent events' item vectors
 *   u'  = (1−α)·u + α·‖u‖·f  = ‖u‖·((1−α)·û + α·f)           learned vector u (null for a user the model never saw
 *                                                            or an anonymous session: u' = f)
 * Items the served model does not know are skipped (a reload to a run without them). Shapes: u, f, u' [dim];
 * E the bundle's item embeddings [numItems × dim].
 *
 * Per request, cachedProfile returns the profile computed once per change of the key's events: f is a unit vector,
 * so the common factor 2^(−now/half-life) of every w_e cancels and f does not depend on `now` while no event is
 * in the future (ts ≤ now: no clamp) — a key's profile is computed on its first request after an event and reused
 * until the next one (its `recent[].weight` stay those of that time: they only rank events against each other).
 * The serving vector (with the `because` of the items served with it) and the exclusion list of the last (u, α)
 * and known-items view are kept with the profile too, for the MEMO_KEYS most recently served keys.
 */
import { foldInUser } from '../../models/fold-in.js';
import type { EventType } from '../../analytics/log-schema.js';
import type { BecauseRecent, ServedModel } from '../served-model.js';
import type { FeedbackSettings } from './settings.js';
import type { FeedbackEntry } from './store.js';

export interface RecentEvent {
  iid: number;
  type: EventType;
  /** epoch ms */
  ts: number;
  /** w_e > 0 */
  weight: number;
}

export interface LiveProfile {
  /** Consumed items the model knows, sorted split ids. */
  consumed: Int32Array;
  /** f, or null when no recent event has weight > 0. */
  foldIn: Float32Array | null;
  /** The events f was made of. */
  recent: RecentEvent[];
  /**
   * Per distinct item of `recent` its heaviest event (the later one on a tie), most recent item first: the events
   * a `because` can name (of one item's events the heaviest has the largest w_e·⟨e_i, e_r⟩ whenever it is > 0).
   */
  heaviest: RecentEvent[];
  /** The items of `heaviest` (the explanation history of a key without known items). */
  recentItems: Int32Array;
}

/** What one profile serves repeatedly: the last blend (with its items' `because`) and the last exclusion list (see cachedProfile). */
interface ProfileMemo {
  model: ServedModel;
  settings: FeedbackSettings;
  version: number;
  /** the newest event's ts (epoch ms) */
  newest: number;
  profile: LiveProfile;
  vector?: { learned: Float32Array | null; alpha: number; out: Float32Array | null; because: Map<number, BecauseRecent | null> };
  exclude?: { known: Int32Array; out: Int32Array };
}

/**
 * Memos of the MEMO_KEYS most recently served keys (least recently used dropped): a few KB each (f, u' and the
 * exclusion list of dim / |known| numbers, ≤ max_events events, the `because` of the items served), so ~30 MB at
 * most at dim 64 — bounded apart from the store's max_keys.
 */
export const MEMO_KEYS = 10_000;
const memos = new Map<FeedbackEntry, ProfileMemo>();
const byProfile = new WeakMap<LiveProfile, ProfileMemo>();

const HOUR_MS = 3_600_000;

/** The fold-in weight of one event at time `now` (see the module comment). */
export function eventWeight(s: FeedbackSettings, type: EventType, value: number | null, ts: number, now: number): number {
  const w = s.weights[type] ?? 0;
  if (w <= 0) return 0;
  if (type === 'rating' && value !== null && value < s.minRating) return 0;
  return w * 2 ** (-Math.max(0, now - ts) / (s.halfLifeHours * HOUR_MS));
}

export function liveProfile(model: ServedModel, entry: FeedbackEntry, s: FeedbackSettings, now: number): LiveProfile {
  const consumed: number[] = [];
  for (const id of entry.consumed) {
    const iid = model.itemIndex.get(id);
    if (iid !== undefined) consumed.push(iid);
  }
  const recent: RecentEvent[] = [];
  for (let e = 0; e < entry.items.length; e++) {
    const iid = model.itemIndex.get(entry.items[e]);
    if (iid === undefined) continue;
    const weight = eventWeight(s, entry.types[e], entry.values[e], entry.ts[e], now);
    if (weight > 0) recent.push({ iid, type: entry.types[e], ts: entry.ts[e], weight });
  }
  const foldIn =
    recent.length > 0
      ? foldInUser(
          model.bundle.items,
          model.dim,
          recent.map((r) => r.iid),
          { weights: recent.map((r) => r.weight) },
        )
      : null;
  // Per distinct item its heaviest event (the later one on a tie), items ordered by their most recent event.
  const at = new Map<number, number>();
  const heaviest: RecentEvent[] = [];
  for (let e = recent.length - 1; e >= 0; e--) {
    const r = recent[e];
    const j = at.get(r.iid);
    if (j === undefined) {
      at.set(r.iid, heaviest.length);
      heaviest.push(r);
    } else if (r.weight > heaviest[j].weight || (r.weight === heaviest[j].weight && r.ts > heaviest[j].ts)) heaviest[j] = r;
  }
  return {
    consumed: Int32Array.from(consumed).sort(),
    foldIn: foldIn && foldIn.some((x) => x !== 0) ? foldIn : null,
    recent,
    heaviest,
    recentItems: Int32Array.from(heaviest, (r) => r.iid),
  };
}

/** liveProfile of `entry` at `now`, reused while the entry, the model and the settings stay the same (module comment). */
export function cachedProfile(model: ServedModel, entry: FeedbackEntry, s: FeedbackSettings, now: number): LiveProfile {
  const m = memos.get(entry);
  if (m) {
    memos.delete(entry);
    if (m.model === model && m.settings === s && m.version === entry.version && m.newest <= now) {
      memos.set(entry, m);
      return m.profile;
    }
  }
  const profile = liveProfile(model, entry, s, now);
  const last = newest(entry);
  if (last <= now) {
    const memo: ProfileMemo = { model, settings: s, version: entry.version, newest: last, profile };
    memos.set(entry, memo);
    if (memos.size > MEMO_KEYS) memos.delete(memos.keys().next().value!);
    byProfile.set(profile, memo);
  }
  return profile;
}

function newest(entry: FeedbackEntry): number {
  let t = -Infinity;
  for (let e = 0; e < entry.ts.length; e++) if (entry.ts[e] > t) t = entry.ts[e];
  return t;
}

/** True when a and b are the same view of the same memory (the bundle's rows are read-only). */
function sameView<T extends Float32Array | Int32Array>(a: T | null, b: T | null): boolean {
  return a === b || (a !== null && b !== null && a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length);
}

/** blendVector(learned, profile.foldIn, alpha), kept for the next request with the same learned view and α. */
export function servingVector(profile: LiveProfile, learned: Float32Array | null, alpha: number): Float32Array | null {
  const m = byProfile.get(profile);
  const v = m?.vector;
  if (v && v.alpha === alpha && sameView(v.learned, learned)) return v.out;
  const out = blendVector(learned, profile.foldIn, alpha);
  if (m) m.vector = { learned, alpha, out, because: new Map() };
  return out;
}

/**
 * The `because` of items already served with this (profile, learned view, α) — item id → its because (null: none)
 * — to fill in; null when the profile is not memoised (then nothing is kept). Call after servingVector(profile,
 * learned, alpha).
 */
export function becauseMemo(profile: LiveProfile, learned: Float32Array | null, alpha: number): Map<number, BecauseRecent | null> | null {
  const v = byProfile.get(profile)?.vector;
  return v && v.alpha === alpha && sameView(v.learned, learned) ? v.because : null;
}

/** mergeSorted(known, profile.consumed), kept for the next request with the same known-items view. */
export function exclusion(profile: LiveProfile, known: Int32Array): Int32Array {
  const m = byProfile.get(profile);
  const x = m?.exclude;
  if (x && sameView(x.known, known)) return x.out;
  const out = mergeSorted(known, profile.consumed);
  if (m) m.exclude = { known, out };
  return out;
}

/** u' = (1−α)·u + α·‖u‖·f; f alone without u (or with ‖u‖ = 0); u alone without f. */
export function blendVector(learned: Float32Array | null, foldIn: Float32Array | null, alpha: number): Float32Array | null {
  if (!foldIn) return learned;
  let n = 0;
  if (learned) for (let j = 0; j < learned.length; j++) n += learned[j] * learned[j];
  n = Math.sqrt(n);
  if (!learned || n === 0) return foldIn;
  if (alpha === 0) return learned;
  const out = new Float32Array(learned.length);
  for (let j = 0; j < out.length; j++) out[j] = (1 - alpha) * learned[j] + alpha * n * foldIn[j];
  return out;
}

/** The sorted union of two sorted id lists (either may be empty). */
export function mergeSorted(a: Int32Array, b: Int32Array): Int32Array {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out = new Int32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length || j < b.length) {
    const x = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i++] : b[j++];
    if (n === 0 || out[n - 1] !== x) out[n++] = x;
  }
  return out.subarray(0, n);
}
