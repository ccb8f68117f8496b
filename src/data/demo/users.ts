/**
 * Users and their reviews. Every user has latent tastes — 1–3 preferred top categories (with weights),
 * sometimes a category their taste drifts towards over time, favourite and disliked brands, a price
 * sensitivity, a rating bias and an exploration rate. Items have a Zipf popularity within their top
 * category (more popular items tend to be better). A user's number of reviews is heavy-tailed (at least
 * 5) and the counts are scaled to hit the requested total exactly. Ratings come from the match between
 * taste and item (category, brand, price) plus item quality and noise; review days are strictly
 * increasing within a user's history, between 2014-01-01 and 2018-09-30.
 *
 * Everything is held in typed arrays (CSR by user) so the reference preset (1.7M reviews) stays small.
 */
import { CdfSampler, Rng, base36, deriveSeed, zipfWeights } from './rng.js';
import type { Catalog } from './catalog.js';
import { BRANDS, BRANDS_BY_TOP, PRODUCT_TYPES, TOP_CATEGORIES } from './taxonomy.js';

/** Days since the Unix epoch of the first and last possible review day. */
export const FIRST_DAY = Date.UTC(2014, 0, 1) / 86_400_000;
export const LAST_DAY = Date.UTC(2018, 8, 30) / 86_400_000;
/** Per-user cap on reviews (also ≤ the number of items that can be reviewed). */
export const MAX_REVIEWS_PER_USER = 1000;
export const MIN_REVIEWS_PER_USER = 5;
/** Zipf exponent of item popularity within a top category. */
export const POPULARITY_EXPONENT = 1.0;

export interface Tastes {
  /** Up to 3 preferred top categories per user (row of 3, -1 = none), strongest first. */
  prefCats: Int8Array;
  /** Their weights (sum 1 per user). */
  prefWeights: Float32Array;
  /** A category the user drifts towards over their history (-1 = none), and how far. */
  driftCat: Int8Array;
  driftAmount: Float32Array;
  /** Up to 3 favourite brands (row of 3, -1 = none). */
  favBrands: Int16Array;
  /** A disliked brand (-1 = none). */
  badBrand: Int16Array;
  /** -0.4 (likes premium) … 1 (very price-sensitive). */
  priceSensitivity: Float32Array;
  ratingBias: Float32Array;
  explore: Float32Array;
}

export interface Interactions {
  users: number;
  /** CSR offsets: user u's reviews are [userStart[u], userStart[u+1]) in chronological order. */
  userStart: Uint32Array;
  /** Catalog index of each review's item. */
  item: Uint32Array;
  /** 1..5. */
  rating: Uint8Array;
  /** Days since the Unix epoch. */
  day: Uint32Array;
  /** "A" + 13 base-36 characters, unique. */
  userIds: string[];
  tastes: Tastes;
}

export interface SimulationSettings {
  seed: number;
  users: number;
  /** Exact total number of reviews. */
  reviews: number;
  /** Catalog indices of the items that receive reviews (each receives at least one). */
  eligible: Uint32Array;
  onProgress?: (usersDone: number) => void;
}

/**
 * Splits `total` into `n` integer counts in [min, max] with heavy-tailed (lognormal) shares, exactly
 * summing to `total`. Requires n·min ≤ total ≤ n·max.
 */
export function allocateCounts(rng: Rng, n: number, total: number, min: number, max: number, sigma: number): Uint32Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = rng.lognormal(0, sigma);
  const capped = new Uint8Array(n);
  const target = new Float64Array(n);
  for (;;) {
    let fixed = 0;
    let free = 0;
    let wFree = 0;
    for (let i = 0; i < n; i++) {
      if (capped[i]) fixed += max;
      else {
        free++;
        wFree += w[i];
      }
    }
    const extra = total - fixed - free * min;
    let changed = false;
    for (let i = 0; i < n; i++) {
      if (capped[i]) {
        target[i] = max;
        continue;
      }
      target[i] = min + (wFree > 0 ? (extra * w[i]) / wFree : 0);
      if (target[i] > max) {
        capped[i] = 1;
        changed = true;
      }
    }
    if (!changed) break;
  }
  const counts = new Uint32Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    counts[i] = Math.min(max, Math.floor(target[i] + 1e-9));
    sum += counts[i];
  }
  let rem = total - sum;
  if (rem > 0) {
    const order = Array.from({ length: n }, (_, i) => i).filter((i) => counts[i] < max);
    order.sort((a, b) => target[b] - Math.floor(target[b]) - (target[a] - Math.floor(target[a])) || a - b);
    for (let k = 0; rem > 0; k = (k + 1) % order.length) {
      const i = order[k];
      if (counts[i] < max) {
        counts[i]++;
        rem--;
      }
    }
  }
  return counts;
}

/** Simulates users, the items they review, ratings and days. */
export function simulateInteractions(cat: Catalog, s: SimulationSettings): Interactions {
  const { seed, users: U, reviews: R, eligible } = s;
  const E = eligible.length;
  const C = TOP_CATEGORIES.length;
  const top = (i: number) => PRODUCT_TYPES[cat.type[i]].top;

  // Per-type mean log price: a product is "expensive" relative to its own kind.
  const lnSum = new Float64Array(PRODUCT_TYPES.length);
  const lnCnt = new Float64Array(PRODUCT_TYPES.length);
  for (let i = 0; i < cat.size; i++) {
    lnSum[cat.type[i]] += Math.log(cat.priceCents[i]);
    lnCnt[cat.type[i]]++;
  }
  const priceRel = (i: number) => Math.log(cat.priceCents[i]) - lnSum[cat.type[i]] / Math.max(1, lnCnt[cat.type[i]]);

  // Popularity order within each top category: better items tend to rank higher.
  const popRng = new Rng(deriveSeed(seed, 'popularity'));
  const byCat: number[][] = Array.from({ length: C }, () => []);
  const key = new Float64Array(cat.size);
  for (let e = 0; e < E; e++) {
    const i = eligible[e];
    byCat[top(i)].push(i);
    key[i] = 0.6 * cat.quality[i] + popRng.gaussian();
  }
  const catItems = byCat.map((list) => Uint32Array.from(list.sort((a, b) => key[b] - key[a] || a - b)));
  const zipf = catItems.map((list) => new CdfSampler(zipfWeights(list.length, POPULARITY_EXPONENT)));
  const catSampler = new CdfSampler(catItems.map((l) => (l.length > 0 ? Math.sqrt(l.length) : 0)));
  const nonEmpty = catItems.filter((l) => l.length > 0).length;

  const counts = allocateCounts(new Rng(deriveSeed(seed, 'counts')), U, R, MIN_REVIEWS_PER_USER, Math.min(E, MAX_REVIEWS_PER_USER), 1.1);
  const userStart = new Uint32Array(U + 1);
  for (let u = 0; u < U; u++) userStart[u + 1] = userStart[u] + counts[u];

  const tastes: Tastes = {
    prefCats: new Int8Array(U * 3).fill(-1),
    prefWeights: new Float32Array(U * 3),
    driftCat: new Int8Array(U).fill(-1),
    driftAmount: new Float32Array(U),
    favBrands: new Int16Array(U * 3).fill(-1),
    badBrand: new Int16Array(U).fill(-1),
    priceSensitivity: new Float32Array(U),
    ratingBias: new Float32Array(U),
    explore: new Float32Array(U),
  };
  const item = new Uint32Array(R);
  const lastUser = new Int32Array(cat.size).fill(-1);
  const rng = new Rng();
  const w3 = new Float64Array(4);
  const c3 = new Int32Array(4);

  for (let u = 0; u < U; u++) {
    rng.reseed(deriveSeed(seed, 'user', u));
    // Tastes.
    const nPref = Math.min(1 + rng.weighted([0.4, 0.4, 0.2]), nonEmpty);
    let wsum = 0;
    for (let k = 0; k < nPref; k++) {
      let c: number;
      do c = catSampler.sample(rng);
      while (includes3(tastes.prefCats, u, c));
      tastes.prefCats[u * 3 + k] = c;
      const w = rng.exponential(1) + 0.15;
      tastes.prefWeights[u * 3 + k] = w;
      wsum += w;
    }
    sortPrefs(tastes, u, nPref, wsum);
    if (rng.chance(0.5) && nPref < nonEmpty) {
      let c: number;
      do c = catSampler.sample(rng);
      while (includes3(tastes.prefCats, u, c));
      tastes.driftCat[u] = c;
      tastes.driftAmount[u] = rng.uniform(0.2, 0.5);
    }
    const nFav = 1 + rng.int(3);
    for (let k = 0; k < nFav; k++) {
      const c = tastes.prefCats[u * 3 + rng.int(nPref)];
      const b = rng.choice(BRANDS_BY_TOP[c]);
      if (!includes3(tastes.favBrands, u, b)) tastes.favBrands[u * 3 + k] = b;
    }
    if (rng.chance(0.4)) {
      const b = rng.int(BRANDS.length);
      if (!includes3(tastes.favBrands, u, b)) tastes.badBrand[u] = b;
    }
    tastes.priceSensitivity[u] = rng.uniform(-0.4, 1);
    tastes.ratingBias[u] = rng.gaussian(0, 0.35);
    tastes.explore[u] = rng.uniform(0.04, 0.2);

    // The items, in the order the user reviews them.
    const k = counts[u];
    const drift = tastes.driftCat[u];
    let nw = 0;
    for (let j = 0; j < 3; j++) {
      const c = tastes.prefCats[u * 3 + j];
      if (c >= 0) {
        c3[nw] = c;
        nw++;
      }
    }
    for (let j = 0; j < k; j++) {
      const t = k > 1 ? j / (k - 1) : 0;
      // Category weights at this point of the history.
      const shrink = drift >= 0 ? 1 - tastes.driftAmount[u] * t : 1;
      for (let q = 0; q < nw; q++) w3[q] = tastes.prefWeights[u * 3 + q] * shrink;
      let nc = nw;
      if (drift >= 0) {
        c3[nc] = drift;
        w3[nc] = tastes.driftAmount[u] * t;
        nc++;
      }
      let chosen = -1;
      for (let attempt = 0; attempt < 8 && chosen < 0; attempt++) {
        const c = rng.next() < tastes.explore[u] ? catSampler.sample(rng) : c3[weightedN(rng, w3, nc)];
        const list = catItems[c];
        if (list.length === 0) continue;
        const it = list[zipf[c].sample(rng)];
        if (lastUser[it] === u) continue;
        const b = cat.brand[it];
        let accept = includes3(tastes.favBrands, u, b) ? 1 : tastes.badBrand[u] === b ? 0.1 : 0.5;
        accept *= Math.min(1, Math.exp(-0.9 * tastes.priceSensitivity[u] * priceRel(it)));
        if (attempt >= 5 || rng.next() < accept) chosen = it;
      }
      if (chosen < 0) {
        // Everything drawn was already reviewed: take the next unreviewed item from a random point.
        let e = rng.int(E);
        while (lastUser[eligible[e]] === u) e = (e + 1) % E;
        chosen = eligible[e];
      }
      lastUser[chosen] = u;
      item[userStart[u] + j] = chosen;
    }
    if (s.onProgress && (u & 0x3fff) === 0x3fff) s.onProgress(u + 1);
  }

  ensureCoverage(item, userStart, eligible, cat, new Rng(deriveSeed(seed, 'coverage')));

  // Ratings and days.
  const rating = new Uint8Array(R);
  const day = new Uint32Array(R);
  const totalDays = LAST_DAY - FIRST_DAY + 1;
  const gaps = new Float64Array(MAX_REVIEWS_PER_USER + 1);
  for (let u = 0; u < U; u++) {
    rng.reseed(deriveSeed(seed, 'rate', u));
    const a = userStart[u];
    const k = userStart[u + 1] - a;
    let span = Math.round(rng.lognormal(Math.log(420), 0.8));
    span = Math.min(totalDays, Math.max(span, 2 * k, k + 30));
    const start = FIRST_DAY + rng.int(totalDays - span + 1);
    const free = span - k;
    let cum = 0;
    for (let j = 0; j <= k; j++) {
      cum += rng.exponential(1);
      gaps[j] = cum;
    }
    for (let j = 0; j < k; j++) day[a + j] = start + Math.floor((free * gaps[j]) / cum) + j;
    for (let j = 0; j < k; j++) {
      const it = item[a + j];
      const t = k > 1 ? j / (k - 1) : 0;
      rating[a + j] = rate(tastes, u, it, top(it), cat, priceRel(it), t, rng);
    }
  }

  const idRng = new Rng(deriveSeed(seed, 'reviewer'));
  const seen = new Set<string>();
  const userIds = new Array<string>(U);
  for (let u = 0; u < U; u++) {
    let id: string;
    do id = 'A' + base36(idRng, 13);
    while (seen.has(id));
    seen.add(id);
    userIds[u] = id;
  }
  return { users: U, userStart, item, rating, day, userIds, tastes };
}

/** How much a user likes a top category at history position t (0..1). */
export function categoryAffinity(tastes: Tastes, u: number, c: number, t: number): number {
  for (let q = 0; q < 3; q++) {
    if (tastes.prefCats[u * 3 + q] === c) return 0.45 + 0.6 * tastes.prefWeights[u * 3 + q];
  }
  if (tastes.driftCat[u] === c) return -0.5 + 2 * tastes.driftAmount[u] * t;
  return -0.5;
}

/** Latent score of an average match; with the thresholds below it sets the star distribution. */
const BASE_SCORE = 3.5;

function rate(tastes: Tastes, u: number, it: number, c: number, cat: Catalog, priceRel: number, t: number, rng: Rng): number {
  // Some units are simply defective (more often for poor products): one star whatever the taste.
  const q = cat.quality[it];
  if (rng.chance(0.025 + 0.04 * (q < 0 ? -q : 0))) return 1;
  const b = cat.brand[it];
  const brandAff = includes3(tastes.favBrands, u, b) ? 0.45 : tastes.badBrand[u] === b ? -0.9 : 0;
  const z =
    BASE_SCORE +
    tastes.ratingBias[u] +
    q +
    categoryAffinity(tastes, u, c, t) +
    brandAff -
    0.5 * tastes.priceSensitivity[u] * priceRel +
    rng.gaussian(0, 0.85);
  return z < 1.7 ? 1 : z < 2.5 ? 2 : z < 3.3 ? 3 : z < 4.05 ? 4 : 5;
}

/**
 * Makes every eligible item receive at least one review: for each item nobody picked, one review of an
 * item with ≥ 2 reviews (preferably in the same top category, from a random user) is moved to it.
 */
function ensureCoverage(item: Uint32Array, userStart: Uint32Array, eligible: Uint32Array, cat: Catalog, rng: Rng): void {
  const U = userStart.length - 1;
  const R = item.length;
  const count = new Uint32Array(cat.size);
  for (let r = 0; r < R; r++) count[item[r]]++;
  const top = (i: number) => PRODUCT_TYPES[cat.type[i]].top;
  for (let e = 0; e < eligible.length; e++) {
    const z = eligible[e];
    if (count[z] > 0) continue;
    const c = top(z);
    let done = false;
    for (let attempt = 0; attempt < 64 && !done; attempt++) {
      const u = rng.int(U);
      const a = userStart[u];
      const k = userStart[u + 1] - a;
      const off = rng.int(k);
      for (let j = 0; j < k; j++) {
        const r = a + ((off + j) % k);
        const it = item[r];
        if (count[it] >= 2 && (attempt >= 48 || top(it) === c)) {
          count[it]--;
          item[r] = z;
          count[z]++;
          done = true;
          break;
        }
      }
    }
    if (!done) {
      const off = rng.int(R);
      for (let j = 0; j < R; j++) {
        const r = (off + j) % R;
        if (count[item[r]] >= 2) {
          count[item[r]]--;
          item[r] = z;
          count[z]++;
          done = true;
          break;
        }
      }
    }
  }
}

function includes3(arr: Int8Array | Int16Array, u: number, v: number): boolean {
  const o = u * 3;
  return arr[o] === v || arr[o + 1] === v || arr[o + 2] === v;
}

function weightedN(rng: Rng, w: Float64Array, n: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += w[i];
  let x = rng.next() * total;
  for (let i = 0; i < n; i++) {
    x -= w[i];
    if (x < 0) return i;
  }
  return n - 1;
}

/** Sorts a user's preferred categories by weight (strongest first) and normalises the weights. */
function sortPrefs(t: Tastes, u: number, n: number, wsum: number): void {
  const o = u * 3;
  const pairs: Array<[number, number]> = [];
  for (let k = 0; k < n; k++) pairs.push([t.prefCats[o + k], t.prefWeights[o + k] / wsum]);
  pairs.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  pairs.forEach(([c, w], k) => {
    t.prefCats[o + k] = c;
    t.prefWeights[o + k] = w;
  });
}
