/**
 * Product generation. Every product is a pure function of (seed, index): its "core" (type, brand, colour,
 * specs, price, latent quality) and then its texts are drawn from a per-item stream, so the catalog can
 * be held as compact typed arrays and the texts regenerated when the meta file is written — no big
 * per-item objects for the half-million-item reference preset.
 */
import { CdfSampler, Rng, base36, deriveSeed } from './rng.js';
import { fnv1a32 } from '../../core/hash.js';
import { fill } from './template.js';
import {
  BRANDS,
  BRANDS_BY_TOP,
  PRODUCT_TYPES,
  TOP_CATEGORIES,
  TYPES_BY_TOP,
  type ProductType,
} from './taxonomy.js';

export interface ItemCore {
  /** Index into PRODUCT_TYPES. */
  type: number;
  /** Index into BRANDS. */
  brand: number;
  /** Index into the brand's colours. */
  color: number;
  /** Index into the brand's series. */
  series: number;
  /** Chosen value position for each of the type's attributes. */
  attrs: number[];
  /** Price in cents (charm-priced: 12.99, 349.99). */
  priceCents: number;
  /** Latent quality (higher = better rated), brand tier included. */
  quality: number;
}

export interface ItemText {
  title: string;
  description: string;
  features: string[];
}

/** Price multiplier and quality offset by brand tier (budget, mid-range, premium). */
const TIER_PRICE = [0.72, 1, 1.55];
const TIER_QUALITY = [-0.2, 0, 0.2];
/** Attribute skew by tier: budget brands pick cheap specs, premium brands expensive ones. */
const TIER_SPEC_POWER = [1.7, 1, 0.55];
const TIER_BRAND_WEIGHT = [1.3, 1, 0.75];

const typeSampler = new CdfSampler(
  PRODUCT_TYPES.map((t) => {
    const within = TYPES_BY_TOP[t.top].reduce((s, i) => s + PRODUCT_TYPES[i].weight, 0);
    return (TOP_CATEGORIES[t.top].weight * t.weight) / within;
  }),
);

const brandSamplers = BRANDS_BY_TOP.map(
  (ids) => new CdfSampler(ids.map((b) => TIER_BRAND_WEIGHT[BRANDS[b].tier] * (0.6 + (fnv1a32(BRANDS[b].name) % 100) / 100))),
);

/** Rounds a raw price to a retail price in cents: 7.49, 12.99, 149.99, 1299.99. */
export function charmPrice(p: number): number {
  let dollars: number;
  if (p < 10) return Math.max(199, Math.round(p * 2) * 50 - 1);
  if (p < 100) dollars = Math.round(p);
  else if (p < 1000) dollars = Math.round(p / 10) * 10;
  else dollars = Math.round(p / 50) * 50;
  return dollars * 100 - 1;
}

/** Draws the core of an item from its stream. */
export function sampleItemCore(rng: Rng): ItemCore {
  const type = typeSampler.sample(rng);
  const t = PRODUCT_TYPES[type];
  const brandIds = BRANDS_BY_TOP[t.top];
  const brand = brandIds[brandSamplers[t.top].sample(rng)];
  const b = BRANDS[brand];
  const color = rng.chance(0.6) ? 0 : rng.int(b.colors.length);
  const series = rng.int(b.series.length);
  const power = TIER_SPEC_POWER[b.tier];
  let mult = TIER_PRICE[b.tier];
  const attrs: number[] = [];
  for (const a of t.attrs) {
    const idx = Math.min(a.values.length - 1, Math.floor(Math.pow(rng.next(), power) * a.values.length));
    attrs.push(idx);
    if (a.step) mult *= Math.pow(1 + a.step, idx);
  }
  const raw = t.price.median * mult * rng.lognormal(0, t.price.sigma);
  const quality = TIER_QUALITY[b.tier] + rng.gaussian(0, 0.45);
  return { type, brand, color, series, attrs, priceCents: charmPrice(raw), quality };
}

const LETTERS = 'ABCDEFGHJKLMNPRSTUVWXYZ';

function modelCode(pattern: string, rng: Rng): string {
  let s = '';
  for (const ch of pattern) {
    if (ch === 'L') s += LETTERS[rng.int(LETTERS.length)];
    else if (ch === 'D') s += String(rng.int(10));
    else s += ch;
  }
  return s;
}

const PLURAL_NOUNS = new Set(['headphones', 'earbuds', 'speakers']);

const OPENERS = [
  'The {brand} {series} {noun} deliver{s} {b1} and {b2}.',
  'With {b1} and {b2}, the {brand} {series} {is} made for everyday use.',
  'Meet the {brand} {series} {noun}: {b1}, {b2} and a design that fits right in.',
  'Upgrade to the {brand} {series} and enjoy {b1} and {b2}.',
  'Designed by {brand}, the {series} {noun} combine{s} {b1} with {b2}.',
];
const SECONDS = [
  'Highlights include {b3}.',
  'You also get {b3}, so there is nothing to compromise on.',
  'On top of that, you get {b3}.',
  '{Model} adds {b3} to the mix.',
];
const TIER_LINES = [
  ['A great value that does not cut corners.', 'Everything you need at a price that makes sense.', 'An affordable upgrade for any setup.'],
  ['A balanced design that gets the basics right.', '{brand} pairs thoughtful design with reliable performance.', 'Built to last with quality materials.'],
  ['Crafted from premium materials with meticulous attention to detail.', 'Flagship performance from {brand}, refined in every detail.', 'A premium design that stands out in any room.'],
];
const USES = [
  'work, school and gaming',
  'travel, portraits and vlogging',
  'commuting, travel and the gym',
  'movie nights and live sports',
  'everyday life on the go',
  'a smarter, more connected home',
  'daily commutes and road trips',
  'workouts and everyday health tracking',
  'parties, movies and music at home',
  'long gaming sessions',
];

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Draws the item's texts from its stream (call right after `sampleItemCore` on the same stream). */
export function describeItem(core: ItemCore, rng: Rng): ItemText {
  const t: ProductType = PRODUCT_TYPES[core.type];
  const b = BRANDS[core.brand];
  const plural = PLURAL_NOUNS.has(t.noun);
  const model = modelCode(b.model, rng);
  const bi = rng.sampleDistinct(t.benefits.length, 3);
  const vars: Record<string, string> = {
    brand: b.name,
    series: b.series[core.series],
    model,
    Model: `The ${b.series[core.series]} ${model}`,
    color: b.colors[core.color],
    noun: t.noun,
    nouns: t.nouns,
    s: plural ? '' : 's',
    is: plural ? 'are' : 'is',
    b1: t.benefits[bi[0]],
    b2: t.benefits[bi[1]],
    b3: t.benefits[bi[2]],
  };
  t.attrs.forEach((a, i) => {
    vars[a.key] = a.values[core.attrs[i]];
  });
  const title = fill(rng.choice(t.titles), vars);

  const sentences = [fill(rng.choice(OPENERS), vars), fill(rng.choice(SECONDS), vars)];
  const featureIdx = rng.sampleDistinct(t.features.length, 3 + rng.int(3)).sort((x, y) => x - y);
  const features = featureIdx.map((i) => fill(t.features[i], vars));
  sentences.push(capitalize(features[0]) + '.');
  sentences.push(fill(rng.choice(TIER_LINES[b.tier]), vars));
  sentences.push(`Perfect for ${USES[t.top]}.`);
  if (rng.chance(0.7)) {
    const box = [`the ${t.noun}`, ...t.box, 'a user manual'];
    const last = box.pop() as string;
    sentences.push(`In the box: ${box.join(', ')} and ${last}.`);
  }
  const years = b.tier === 2 ? 2 + rng.int(2) : b.tier === 1 ? 1 + rng.int(2) : 1;
  if (rng.chance(0.5)) sentences.push(`Backed by a ${years}-year limited warranty from ${b.name}.`);
  if (rng.chance(0.35)) features.push(`${years}-year warranty and friendly customer support`);
  return { title, description: sentences.join(' '), features };
}

/** The catalog as compact arrays; item i's texts come from `itemStream(seed, i)`. */
export interface Catalog {
  size: number;
  type: Uint8Array;
  brand: Uint8Array;
  color: Uint8Array;
  priceCents: Uint32Array;
  quality: Float32Array;
  asin: string[];
}

/** The per-item stream: reseeds `rng` for item i. */
export function itemStream(rng: Rng, seed: number, i: number): Rng {
  return rng.reseed(deriveSeed(seed, 'item', i));
}

/** Draws `size` items (cores only) and their unique ASINs ("B0" + 8 base-36 characters). */
export function buildCatalog(seed: number, size: number, onProgress?: (done: number) => void): Catalog {
  const cat: Catalog = {
    size,
    type: new Uint8Array(size),
    brand: new Uint8Array(size),
    color: new Uint8Array(size),
    priceCents: new Uint32Array(size),
    quality: new Float32Array(size),
    asin: new Array<string>(size),
  };
  const rng = new Rng();
  for (let i = 0; i < size; i++) {
    const core = sampleItemCore(itemStream(rng, seed, i));
    cat.type[i] = core.type;
    cat.brand[i] = core.brand;
    cat.color[i] = core.color;
    cat.priceCents[i] = core.priceCents;
    cat.quality[i] = core.quality;
    if (onProgress && (i & 0xffff) === 0xffff) onProgress(i + 1);
  }
  const ids = new Rng(deriveSeed(seed, 'asin'));
  const seen = new Set<string>();
  for (let i = 0; i < size; i++) {
    let a: string;
    do a = 'B0' + base36(ids, 8);
    while (seen.has(a));
    seen.add(a);
    cat.asin[i] = a;
  }
  return cat;
}

