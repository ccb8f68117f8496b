/**
 * One served run: a serving bundle (src/index/serving-bundle.ts) opened for requests, with the lookups and the
 * hot-path queries the routes call. Everything here is synchronous and allocation-light: per request it
 * allocates only the k-sized result arrays (the ANN search result and the response objects).
 *
 * Scores and similarities:
 * - recommendation score of item i for user vector u: ⟨u, e_i⟩ (the model's own score), found by querying the
 *   `graph` index (metric ip, distance = 1 − ⟨q, x⟩) with u and over-fetching |seen| extra results to drop the
 *   user's known items (exclude_seen);
 * - graph similarity of items i, j: cos(e_i, e_j) — the ip index is queried with e_i/‖e_i‖, 4k (≥ k + 1)
 *   candidates are re-ranked by exact cosine with the precomputed norms (ip alone would favour long vectors);
 * - content similarity (text / image / fused): cosine of the normalised content vectors (cos index).
 * With a precomputed similar table for the modality (index build, src/index/similar-table.ts: the same
 * similarity, neighbours found once per item in a cos index — for graph, better neighbours than the ip
 * over-fetch + re-rank below), `similar` with k ≤ K is a lookup of row iid; larger k searches the index.
 *
 * Scores and similarities in responses are rounded to 6 decimals.
 *
 * Explanations: for each recommended item r, the history items h (at most `explainHistory` of them) ranked by
 * cos(e_r, e_h) in model space, each with dot = ⟨e_r, e_h⟩, the model's attention weight of the user on h when
 * the model exports attention (GAT: softmax weight averaged over heads and layers), and the weight of the
 * item–item kNN edge r → h or h → r when the bundle has a content kNN graph and the edge exists.
 */
import { matmulNT } from '../core/dense.js';
import { allocF32, free } from '../core/heap.js';
import { ppError } from '../errors.js';
import type { AnnIndex } from '../graphs/ann-index.js';
import type { ServingBundle, ServingModality, ItemMeta } from '../index/serving-bundle.js';
import type { SimilarTables } from '../index/similar-table.js';
import type { EventType } from '../analytics/log-schema.js';

export interface Recommendation {
  item_id: string;
  score: number;
  rank: number;
  title: string | null;
  explanation?: ExplanationEntry[];
  /** Live feedback: the recent event that put the item here (src/serving/feedback/because.ts). */
  because?: BecauseRecent;
}

/** Live feedback's mark on a recommendation: the recent event that put it in the list (feedback/because.ts). */
export interface BecauseRecent {
  /** the item of the recent event */
  item_id: string;
  type: EventType;
  /** ISO time of the event */
  ts: string;
  /** e.g. "because you just viewed Wireless headphones" */
  message: string;
}

export interface ExplanationEntry {
  /** a history item of the user */
  item_id: string;
  /** cos(e_rec, e_hist) in model space */
  cosine: number;
  /** ⟨e_rec, e_hist⟩ in model space */
  dot: number;
  /** attention of the user on this history item (models that export it), else null */
  attention: number | null;
  /** similarity weight of the item–item kNN edge between the two items, null when there is no edge */
  knn_edge: number | null;
}

export interface SimilarItem {
  item_id: string;
  score: number;
  rank: number;
  title: string | null;
}

export interface ServedModelOptions {
  /** Most history items an explanation compares against (0 = none). */
  explainHistory: number;
  /** History items listed per recommended item. */
  explainTop?: number;
  /**
   * Precomputed top-K neighbours per modality (src/index/similar-table.ts): `similar` with k ≤ K reads them
   * instead of searching the index.
   */
  similarTables?: SimilarTables;
}

export class ServedModel {
  readonly bundle: ServingBundle;
  readonly modelVersion: string;
  readonly model: string;
  readonly numUsers: number;
  readonly numItems: number;
  readonly dim: number;
  readonly userIndex: Map<string, number>;
  readonly itemIndex: Map<string, number>;
  /** ‖e_i‖ of every item in model space. */
  readonly itemNorms: Float32Array;
  readonly explainHistory: number;
  readonly explainTop: number;
  readonly similarTables: SimilarTables;
  /** Scratch buffer for a normalised query [dim] (requests run one at a time on the event loop). */
  readonly #query: Float32Array;
  /** Scratch row of explanation cosines [explainHistory]. */
  readonly #explainCos: Float64Array;
  /** Item ids of the recommendations being built [grown to k]. */
  #kept = new Int32Array(128);

  constructor(bundle: ServingBundle, opts: ServedModelOptions) {
    this.bundle = bundle;
    this.modelVersion = bundle.manifest.model_version;
    this.model = bundle.manifest.model;
    this.numUsers = bundle.manifest.num_users;
    this.numItems = bundle.manifest.num_items;
    this.dim = bundle.manifest.dim;
    this.userIndex = new Map(bundle.userIds.map((id, i) => [id, i]));
    this.itemIndex = new Map(bundle.itemIds.map((id, i) => [id, i]));
    const d = this.dim;
    this.itemNorms = new Float32Array(this.numItems);
    for (let i = 0; i < this.numItems; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += bundle.items[i * d + j] ** 2;
      this.itemNorms[i] = Math.sqrt(s);
    }
    this.explainHistory = opts.explainHistory;
    this.explainTop = opts.explainTop ?? 3;
    this.similarTables = opts.similarTables ?? {};
    this.#explainCos = new Float64Array(this.explainHistory);
    this.#query = new Float32Array(Math.max(d, ...Object.values(bundle.content).map((c) => c.dim)));
  }

  /** The modalities with an index in this bundle. */
  get modalities(): ServingModality[] {
    return Object.keys(this.bundle.indexes) as ServingModality[];
  }

  indexSizes(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.bundle.indexes).map(([m, x]) => [m, (x as AnnIndex).size]));
  }

  userId(uid: number): string {
    return this.bundle.userIds[uid];
  }

  itemId(iid: number): string {
    return this.bundle.itemIds[iid];
  }

  /** Split id of a user, or a 404 error. */
  requireUser(userId: string): number {
    const u = this.userIndex.get(userId);
    if (u === undefined) throw ppError('PP_SERVE_USER_UNKNOWN', userId);
    return u;
  }

  /** Split id of an item, or a 404 error. */
  requireItem(itemId: string): number {
    const i = this.itemIndex.get(itemId);
    if (i === undefined) throw ppError('PP_SERVE_ITEM_UNKNOWN', itemId);
    return i;
  }

  itemMeta(iid: number): ItemMeta {
    return this.bundle.itemMeta[iid];
  }

  /** The user's known items (sorted item ids), a view into the bundle. */
  history(uid: number): Int32Array {
    const { indptr, indices } = this.bundle.history;
    return indices.subarray(indptr[uid], indptr[uid + 1]);
  }

  userVector(uid: number): Float32Array {
    return this.bundle.users.subarray(uid * this.dim, (uid + 1) * this.dim);
  }

  itemVector(iid: number): Float32Array {
    return this.bundle.items.subarray(iid * this.dim, (iid + 1) * this.dim);
  }

  /**
   * Top-k items for a model-space user vector by ⟨u, e_i⟩ through the ANN index, skipping `exclude` (sorted
   * item ids). `historyForExplanation` (item ids) and `attentionOffset` (the user's first history entry, for
   * attention weights) drive the explanations.
   */
  recommend(
    vector: Float32Array,
    k: number,
    exclude: Int32Array | null,
    explain: { history: ArrayLike<number>; attentionFrom: number | null } | null,
  ): Recommendation[] {
    const index = this.bundle.indexes.graph!;
    const skip = exclude?.length ?? 0;
    // Over-fetch by the history size, capped at max(8, k/2) first: a user's known items rarely fill the top
    // (500K × 128 bench bundle: 1.4 of the top 20 on average for 22 known items), and a search's cost grows with
    // max(ef, want). Search again with the full over-fetch only when too many results were known items.
    let want = Math.min(this.numItems, k + Math.min(skip, Math.max(8, Math.ceil(k / 2))));
    if (want === 0) return [];
    let m = index.search(vector, want);
    let kept = this.#unseen(m.keys, m.counts[0], exclude, k);
    if (kept < k && want < Math.min(this.numItems, k + skip)) {
      want = Math.min(this.numItems, k + skip);
      m = index.search(vector, want);
      kept = this.#unseen(m.keys, m.counts[0], exclude, k);
    }
    if (this.#kept.length < k) this.#kept = new Int32Array(k);
    const out: Recommendation[] = [];
    const n = m.counts[0];
    for (let j = 0; j < n && out.length < k; j++) {
      const iid = m.keys[j];
      if (skip > 0 && binarySearch(exclude!, iid)) continue;
      out.push({ item_id: this.bundle.itemIds[iid], score: round6(1 - m.distances[j]), rank: out.length + 1, title: this.bundle.itemMeta[iid].title });
      this.#kept[out.length - 1] = iid;
    }
    if (explain && this.explainHistory > 0 && explain.history.length > 0 && out.length > 0) {
      const kept = this.#kept.subarray(0, out.length);
      const dots = this.#historyDots(kept, explain.history);
      const h = Math.min(explain.history.length, this.explainHistory);
      for (let r = 0; r < out.length; r++) out[r].explanation = this.#explainRow(kept[r], dots.subarray(r * h, (r + 1) * h), explain.history, explain.attentionFrom);
    }
    return out;
  }

  /** How many of the first n keys are not in `exclude` (stops counting at k). */
  #unseen(keys: Int32Array, n: number, exclude: Int32Array | null, k: number): number {
    if (!exclude || exclude.length === 0) return Math.min(n, k);
    let c = 0;
    for (let j = 0; j < n && c < k; j++) if (!binarySearch(exclude, keys[j])) c++;
    return c;
  }

  /**
   * ⟨e_r, e_h⟩ for every item r of `iids` [m] and the first h = min(|history|, explainHistory) history items:
   * [m × h] row-major, one wasm SIMD product (src/core/dense.ts matmulNT) over rows gathered into the core heap
   * on the calling thread. The view is scratch, valid until the next call. (The scalar JS loop it replaces cost
   * ~2.5× as much: 20 × 22 rows of 128-d at 500K items.)
   */
  #historyDots(iids: Int32Array, history: ArrayLike<number>): Float32Array {
    const d = this.dim;
    const m = iids.length;
    const h = Math.min(history.length, this.explainHistory);
    const s = explainScratch(m * d, h * d, m * h);
    const E = this.bundle.items;
    for (let r = 0; r < m; r++) s.rows.set(E.subarray(iids[r] * d, (iids[r] + 1) * d), r * d);
    for (let p = 0; p < h; p++) s.history.set(E.subarray(history[p] * d, (history[p] + 1) * d), p * d);
    return matmulNT(s.rows.subarray(0, m * d), s.history.subarray(0, h * d), m, d, h, { out: s.dots.subarray(0, m * h), parallel: false });
  }

  /** History items that contributed most to recommending `iid` (see the module comment), from its dot products with the first dots.length history items. */
  #explainRow(iid: number, dots: Float32Array, history: ArrayLike<number>, attentionFrom: number | null): ExplanationEntry[] {
    const n = dots.length;
    const cos = this.#explainCos;
    const nr = this.itemNorms[iid];
    for (let p = 0; p < n; p++) {
      const h = history[p];
      const nh = this.itemNorms[h];
      cos[p] = h === iid ? -Infinity : nr > 0 && nh > 0 ? dots[p] / (nr * nh) : 0;
    }
    const att = this.bundle.history.attention;
    const out: ExplanationEntry[] = [];
    // explainTop is small (3): repeated arg-max over the scratch row.
    for (let r = 0; r < this.explainTop && r < n; r++) {
      let best = -1;
      for (let p = 0; p < n; p++) if (cos[p] > -Infinity && (best < 0 || cos[p] > cos[best])) best = p;
      if (best < 0) break;
      const h = history[best];
      const a = att && attentionFrom !== null ? att[attentionFrom + best] : NaN;
      const edge = this.knnEdge(iid, h);
      out.push({ item_id: this.bundle.itemIds[h], cosine: round6(cos[best]), dot: round6(dots[best]), attention: Number.isFinite(a) ? round6(a) : null, knn_edge: edge === null ? null : round6(edge) });
      cos[best] = -Infinity;
    }
    return out;
  }

  /** Weight of the kNN edge a → b (or b → a), null without one. */
  knnEdge(a: number, b: number): number | null {
    const g = this.bundle.itemGraph;
    if (!g) return null;
    let s = g.indptr[a];
    let e = g.indptr[a + 1];
    let at = lowerBound(g.indices, s, e, b);
    if (at < e && g.indices[at] === b) return g.weights[at];
    s = g.indptr[b];
    e = g.indptr[b + 1];
    at = lowerBound(g.indices, s, e, a);
    if (at < e && g.indices[at] === a) return g.weights[at];
    return null;
  }

  /** Items most similar to item `iid` in a modality (the item itself excluded). */
  similar(iid: number, modality: ServingModality, k: number): SimilarItem[] {
    const index = this.bundle.indexes[modality];
    if (!index) throw ppError('PP_SERVE_MODALITY_MISSING', `${modality} (this bundle has: ${this.modalities.join(', ')})`);
    const c = modality === 'graph' ? null : this.bundle.content[modality]!;
    if (c && !c.present[iid]) throw ppError('PP_SERVE_MODALITY_MISSING', `item ${this.itemId(iid)} has no ${modality} vector`);
    const table = this.similarTables[modality];
    if (table && k <= table.k) return this.#similarFromTable(table.ids, table.scores, iid * table.k, k);
    if (!c) return this.similarInModelSpace(iid, k);
    const q = c.vectors.subarray(iid * c.dim, (iid + 1) * c.dim);
    const m = index.search(q, Math.min(index.size, k + 1));
    const out: SimilarItem[] = [];
    for (let j = 0; j < m.counts[0] && out.length < k; j++) {
      if (m.keys[j] === iid) continue;
      out.push({ item_id: this.bundle.itemIds[m.keys[j]], score: round6(1 - m.distances[j]), rank: out.length + 1, title: this.bundle.itemMeta[m.keys[j]].title });
    }
    return out;
  }

  /** The first k entries of a precomputed row (ids −1 end it) starting at `off`. */
  #similarFromTable(ids: Int32Array, scores: Float32Array, off: number, k: number): SimilarItem[] {
    const out: SimilarItem[] = [];
    const itemIds = this.bundle.itemIds;
    const meta = this.bundle.itemMeta;
    for (let j = 0; j < k; j++) {
      const n = ids[off + j];
      if (n < 0) break;
      out.push({ item_id: itemIds[n], score: round6(scores[off + j]), rank: j + 1, title: meta[n].title });
    }
    return out;
  }

  /** Cosine neighbours in model space: ip-index candidates re-ranked by exact cosine. */
  similarInModelSpace(iid: number, k: number): SimilarItem[] {
    const d = this.dim;
    const q = this.#query.subarray(0, d);
    const v = this.itemVector(iid);
    const nq = this.itemNorms[iid] || 1;
    for (let j = 0; j < d; j++) q[j] = v[j] / nq;
    const index = this.bundle.indexes.graph!;
    const m = index.search(q, Math.min(index.size, Math.max(4 * k, k + 1)));
    const cand: { iid: number; cos: number }[] = [];
    for (let j = 0; j < m.counts[0]; j++) {
      const c = m.keys[j];
      if (c === iid) continue;
      const nc = this.itemNorms[c];
      // cosine = ⟨q̂, e_c⟩ / ‖e_c‖, from the f32 item vectors (the index's distance is only as exact as its
      // quantization, f16 by default).
      const items = this.bundle.items;
      let dot = 0;
      for (let t = 0, o = c * d; t < d; t++) dot += q[t] * items[o + t];
      cand.push({ iid: c, cos: nc > 0 ? dot / nc : 0 });
    }
    cand.sort((a, b) => b.cos - a.cos || a.iid - b.iid);
    return cand.slice(0, k).map((x, r) => ({ item_id: this.bundle.itemIds[x.iid], score: round6(x.cos), rank: r + 1, title: this.bundle.itemMeta[x.iid].title }));
  }

  /**
   * Items nearest to a content vector (cold start): normalised query, cos index. Returns split ids and cosines.
   */
  nearestByContent(modality: Exclude<ServingModality, 'graph'>, vector: Float32Array, k: number): { iids: Int32Array; sims: Float32Array } {
    const index = this.bundle.indexes[modality];
    if (!index) throw ppError('PP_SERVE_MODALITY_MISSING', modality);
    if (vector.length !== index.dimensions) {
      throw ppError('PP_SERVE_COLD_START', `the ${modality} encoder gives ${vector.length}-d vectors, the index holds ${index.dimensions}-d`);
    }
    const m = index.search(vector, Math.min(index.size, k));
    const n = m.counts[0];
    const sims = new Float32Array(n);
    for (let j = 0; j < n; j++) sims[j] = 1 - m.distances[j];
    return { iids: m.keys.slice(0, n), sims };
  }

  /** Top users by ⟨u, v⟩ for a model-space item vector v (exact scan over users; cold start only). */
  topUsers(v: Float32Array, k: number): { user_id: string; score: number; rank: number }[] {
    const d = this.dim;
    const U = this.bundle.users;
    const best: { u: number; s: number }[] = [];
    for (let u = 0; u < this.numUsers; u++) {
      let s = 0;
      const o = u * d;
      for (let j = 0; j < d; j++) s += U[o + j] * v[j];
      if (best.length === k && s <= best[k - 1].s) continue;
      let at = best.length;
      while (at > 0 && best[at - 1].s < s) at--;
      best.splice(at, 0, { u, s });
      if (best.length > k) best.pop();
    }
    return best.map((b, r) => ({ user_id: this.bundle.userIds[b.u], score: b.s, rank: r + 1 }));
  }
}

/** Core-heap scratch of the explanation products, shared by every ServedModel (requests run one at a time). */
let scratch: { rows: Float32Array; history: Float32Array; dots: Float32Array } | null = null;

/** The explanation scratch with room for at least the given element counts (grown, never shrunk). */
function explainScratch(rows: number, history: number, dots: number): { rows: Float32Array; history: Float32Array; dots: Float32Array } {
  if (!scratch || scratch.rows.length < rows || scratch.history.length < history || scratch.dots.length < dots) {
    if (scratch) for (const a of Object.values(scratch)) free(a);
    scratch = {
      rows: allocF32(Math.max(rows, scratch?.rows.length ?? 0), false),
      history: allocF32(Math.max(history, scratch?.history.length ?? 0), false),
      dots: allocF32(Math.max(dots, scratch?.dots.length ?? 0), false),
    };
  }
  return scratch;
}

/** Rounds to 6 decimals: shorter JSON (scores are float32 products; more digits carry no information). */
export function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function lowerBound(a: Int32Array, s: number, e: number, x: number): number {
  let lo = s;
  let hi = e;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** True when sorted `a` contains x. */
export function binarySearch(a: Int32Array, x: number): boolean {
  const at = lowerBound(a, 0, a.length, x);
  return at < a.length && a[at] === x;
}
