/**
 * The demo catalog is only useful if its modalities carry signal a recommender can learn: these tests
 * check the latent structure shows up in the observable data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCatalog } from './catalog.js';
import { pickEligible } from './generate.js';
import { renderProduct } from './image.js';
import { Rng, deriveSeed } from './rng.js';
import { BRANDS, BRANDS_BY_TOP, PRODUCT_TYPES } from './taxonomy.js';
import { simulateInteractions } from './users.js';

const SEED = 11;
const cat = buildCatalog(SEED, 2000);
const sim = simulateInteractions(cat, { seed: SEED, users: 1500, reviews: 30_000, eligible: pickEligible(SEED, 2000, 2000) });
const topOf = (item: number) => PRODUCT_TYPES[cat.type[item]].top;
const isPref = (u: number, c: number) => [0, 1, 2].some((q) => sim.tastes.prefCats[u * 3 + q] === c);

test("users rate items in their preferred categories higher than elsewhere", () => {
  let prefSum = 0;
  let prefN = 0;
  let otherSum = 0;
  let otherN = 0;
  let usersHigher = 0;
  let usersBoth = 0;
  for (let u = 0; u < sim.users; u++) {
    let ps = 0;
    let pn = 0;
    let os = 0;
    let on = 0;
    for (let r = sim.userStart[u]; r < sim.userStart[u + 1]; r++) {
      if (isPref(u, topOf(sim.item[r]))) {
        ps += sim.rating[r];
        pn++;
      } else {
        os += sim.rating[r];
        on++;
      }
    }
    prefSum += ps;
    prefN += pn;
    otherSum += os;
    otherN += on;
    if (pn > 0 && on > 0) {
      usersBoth++;
      if (ps / pn > os / on) usersHigher++;
    }
  }
  const prefMean = prefSum / prefN;
  const otherMean = otherSum / otherN;
  assert.ok(prefN / (prefN + otherN) > 0.6, `most reviews fall in preferred categories (${prefN}/${prefN + otherN})`);
  assert.ok(prefMean - otherMean > 0.5, `preferred ${prefMean.toFixed(2)} vs elsewhere ${otherMean.toFixed(2)}`);
  assert.ok(usersHigher / usersBoth > 0.7, `${usersHigher}/${usersBoth} users rate their preferred categories higher`);
});

test('favourite brands are reviewed more often and rated higher', () => {
  let favN = 0;
  let favSum = 0;
  let otherSum = 0;
  for (let u = 0; u < sim.users; u++) {
    for (let r = sim.userStart[u]; r < sim.userStart[u + 1]; r++) {
      const b = cat.brand[sim.item[r]];
      if ([0, 1, 2].some((q) => sim.tastes.favBrands[u * 3 + q] === b)) {
        favN++;
        favSum += sim.rating[r];
      } else otherSum += sim.rating[r];
    }
  }
  const R = sim.item.length;
  // With ~40 brands, 1–3 favourites would get well under 10% of reviews by chance.
  assert.ok(favN / R > 0.12, `favourite-brand share ${(favN / R).toFixed(3)}`);
  assert.ok(favSum / favN > otherSum / (R - favN) + 0.2);
});

test('item popularity is heavy-tailed: the top 10% of items get more than 30% of the reviews', () => {
  const counts = new Uint32Array(cat.size);
  for (const it of sim.item) counts[it]++;
  const sorted = Array.from(counts).filter((c) => c > 0).sort((a, b) => b - a);
  const top = sorted.slice(0, Math.ceil(sorted.length / 10)).reduce((s, c) => s + c, 0);
  assert.ok(top / sim.item.length > 0.3, `top 10% share ${(top / sim.item.length).toFixed(3)}`);
  assert.ok(sorted[0] > 20 * sorted[sorted.length >> 1], 'the most popular item has far more reviews than the median one');
});

test('ratings are skewed positive like Amazon data but use all five stars', () => {
  const hist = [0, 0, 0, 0, 0, 0];
  for (const r of sim.rating) hist[r]++;
  const R = sim.item.length;
  for (let s = 1; s <= 5; s++) assert.ok(hist[s] / R > 0.02, `${s} stars: ${hist[s]}`);
  assert.ok(hist[5] > hist[4] && hist[4] > hist[3], 'five stars most common');
  const mean = hist.reduce((s, n, k) => s + n * k, 0) / R;
  assert.ok(mean > 3.8 && mean < 4.5, `mean rating ${mean.toFixed(2)}`);
});

test('tastes drift: users review their drift category more late in their history than early', () => {
  let early = 0;
  let late = 0;
  for (let u = 0; u < sim.users; u++) {
    const c = sim.tastes.driftCat[u];
    const a = sim.userStart[u];
    const k = sim.userStart[u + 1] - a;
    if (c < 0 || k < 10) continue;
    for (let j = 0; j < k; j++) {
      if (topOf(sim.item[a + j]) !== c) continue;
      if (j < k / 2) early++;
      else late++;
    }
  }
  assert.ok(late > 1.5 * early, `early ${early}, late ${late}`);
});

/** Mean absolute difference per channel between two RGB rasters. */
function distance(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

test('images of different product types differ more than images of the same type', () => {
  const rng = new Rng();
  const variants = 4;
  const images: Uint8Array[][] = PRODUCT_TYPES.map((t, type) => {
    const brands = BRANDS_BY_TOP[t.top];
    return Array.from({ length: variants }, (_, v) => {
      const brand = brands[(v * 5 + type) % brands.length];
      const colors = BRANDS[brand].colors;
      return renderProduct({ type, brand, color: colors[v % colors.length] }, rng.reseed(deriveSeed(SEED, 'image-test', type * 100 + v))).data;
    });
  });
  let within = 0;
  let withinN = 0;
  let between = 0;
  let betweenN = 0;
  let typesCloserToThemselves = 0;
  PRODUCT_TYPES.forEach((t, a) => {
    let w = 0;
    let wn = 0;
    let sameCat = 0;
    let sameCatN = 0;
    for (let i = 0; i < variants; i++) {
      for (let j = i + 1; j < variants; j++) {
        w += distance(images[a][i], images[a][j]);
        wn++;
      }
    }
    PRODUCT_TYPES.forEach((t2, b) => {
      if (b === a) return;
      for (let i = 0; i < variants; i++) {
        const d = distance(images[a][i], images[b][i]);
        if (b > a) {
          between += d;
          betweenN++;
        }
        if (t2.top === t.top) {
          sameCat += d;
          sameCatN++;
        }
      }
    });
    within += w;
    withinN += wn;
    // Against the other types of the same category (same background): the shape must make the difference.
    if (sameCatN > 0 && w / wn < sameCat / sameCatN) typesCloserToThemselves++;
  });
  const withinMean = within / withinN;
  const betweenMean = between / betweenN;
  assert.ok(withinMean < 0.75 * betweenMean, `within ${withinMean.toFixed(1)} vs between ${betweenMean.toFixed(1)}`);
  assert.ok(typesCloserToThemselves >= 0.75 * PRODUCT_TYPES.length, `${typesCloserToThemselves}/${PRODUCT_TYPES.length} types closer to themselves than to their category siblings`);
});
