/**
 * Scores of single (user, item) pairs for the graph-filter models (GF-CF, BSPM; notation in
 * ./graph-filter.ts), for callers that need a batch of pairs rather than whole rows (mmgat's closed-form
 * prior on BPR triples, src/models/item-prior.ts). Pairs are grouped by user first; per distinct user:
 *
 *   linear filter  (r_u P̃)_i = Σ_{v ∈ users(i)} R̃_vi · z_u[v],   z_u = R̃ r_uᵀ (U-vector, a sparse scatter
 *                  over u's items' users), so a pair costs one sparse dot of length deg(i)
 *   ideal filter   (r_u D_I^{-1/2} V) · basis[i]   (k-dot; the user's k coefficients cached once per user)
 *   any model      its full score row (`pairScoresFromRows`, chunks of users): exact but the cost of
 *                  scoring the user — what BSPM needs, whose linear part is a degree-5 polynomial in P̃
 *
 * Shapes: users/items [n] → scores [n]; z_u [U] (float64 scratch); coefficient cache [U × k] float32.
 */
import type { NormalizedInteractions } from './graph-filter.js';

/** Pair indices ordered by user: order[starts[g] .. starts[g+1]) are the pairs of user users[order[starts[g]]]. */
export function groupPairsByUser(users: Int32Array): { order: Int32Array; starts: Int32Array } {
  const order = new Int32Array(users.length);
  for (let r = 0; r < order.length; r++) order[r] = r;
  order.sort((a, b) => users[a] - users[b] || a - b);
  const starts: number[] = [];
  for (let t = 0; t < order.length; t++) if (t === 0 || users[order[t]] !== users[order[t - 1]]) starts.push(t);
  starts.push(order.length);
  return { order, starts: Int32Array.from(starts) };
}

/** out[r] (+)= c·(r_u P̃)_i for each pair (u = users[r], i = items[r]), by sparse dots (see the module comment). */
export function linearFilterPairs(
  graph: NormalizedInteractions,
  users: Int32Array,
  items: Int32Array,
  groups: { order: Int32Array; starts: Int32Array },
  out: Float32Array,
  c = 1,
): void {
  const { indptr, indices, values } = graph.rnT;
  const z = new Float64Array(graph.numUsers);
  const { order, starts } = groups;
  for (let g = 0; g + 1 < starts.length; g++) {
    const u = users[order[starts[g]]];
    const mine = graph.itemsOf(u);
    for (let t = 0; t < mine.length; t++) {
      const j = mine[t];
      for (let e = indptr[j]; e < indptr[j + 1]; e++) z[indices[e]] += values[e];
    }
    for (let t = starts[g]; t < starts[g + 1]; t++) {
      const r = order[t];
      const i = items[r];
      let s = 0;
      for (let e = indptr[i]; e < indptr[i + 1]; e++) s += values[e] * z[indices[e]];
      out[r] += c * s;
    }
    for (let t = 0; t < mine.length; t++) {
      const j = mine[t];
      for (let e = indptr[j]; e < indptr[j + 1]; e++) z[indices[e]] = 0;
    }
  }
}

/**
 * r_u D_I^{-1/2} V for any user, computed once per user and kept (U × k float32, as the block scorer's
 * coefficients are float32 too), so that a pair's ideal-filter score is one k-dot with the basis row.
 */
export class UserCoefficientCache {
  private readonly rows: Float32Array;
  private readonly ready: Uint8Array;
  private readonly scratch: Float64Array;

  constructor(
    private readonly graph: NormalizedInteractions,
    private readonly v: Float32Array,
    readonly k: number,
  ) {
    this.rows = new Float32Array(graph.numUsers * k);
    this.ready = new Uint8Array(graph.numUsers);
    this.scratch = new Float64Array(k);
  }

  /** The user's k coefficients (a view into the cache). */
  of(u: number): Float32Array {
    const { k } = this;
    const row = this.rows.subarray(u * k, (u + 1) * k);
    if (!this.ready[u]) {
      this.graph.userCoefficients(u, this.v, k, this.scratch);
      for (let j = 0; j < k; j++) row[j] = this.scratch[j];
      this.ready[u] = 1;
    }
    return row;
  }
}

/** out[r] += coef(u) · basis[i] for each pair (basis: I × k row-major). */
export function idealFilterPairs(
  cache: UserCoefficientCache,
  basis: Float32Array,
  users: Int32Array,
  items: Int32Array,
  groups: { order: Int32Array; starts: Int32Array },
  out: Float32Array,
): void {
  const { k } = cache;
  const { order, starts } = groups;
  for (let g = 0; g + 1 < starts.length; g++) {
    const coef = cache.of(users[order[starts[g]]]);
    for (let t = starts[g]; t < starts[g + 1]; t++) {
      const r = order[t];
      const o = items[r] * k;
      let s = 0;
      for (let j = 0; j < k; j++) s += coef[j] * basis[o + j];
      out[r] += s;
    }
  }
}

/** Distinct users scored per call in {@link pairScoresFromRows} (a chunk's rows: chunk × I floats). */
export const ROW_CHUNK = 64;

/**
 * The pairs' scores read off full score rows: `scoreUsers` runs once per chunk of distinct users. Exact
 * (the model's own scores) for any model; costs what scoring those users costs.
 */
export function pairScoresFromRows(
  scoreUsers: (users: Int32Array, out: Float32Array) => void,
  numItems: number,
  users: Int32Array,
  items: Int32Array,
): Float32Array {
  const out = new Float32Array(users.length);
  const { order, starts } = groupPairsByUser(users);
  const groups = starts.length - 1;
  const buf = new Float32Array(Math.min(ROW_CHUNK, groups) * numItems);
  for (let g0 = 0; g0 < groups; g0 += ROW_CHUNK) {
    const g1 = Math.min(groups, g0 + ROW_CHUNK);
    const chunk = new Int32Array(g1 - g0);
    for (let g = g0; g < g1; g++) chunk[g - g0] = users[order[starts[g]]];
    scoreUsers(chunk, buf.subarray(0, chunk.length * numItems));
    for (let g = g0; g < g1; g++) {
      const o = (g - g0) * numItems;
      for (let t = starts[g]; t < starts[g + 1]; t++) out[order[t]] = buf[o + items[order[t]]];
    }
  }
  return out;
}
