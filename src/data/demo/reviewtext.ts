/**
 * Review texts, summaries, reviewer names and helpfulness votes from templates. The wording follows the
 * rating (and talks about the product type's own aspects, the brand and the price), so that text carries
 * the same signal as the stars.
 */
import type { Rng } from './rng.js';
import { fill } from './template.js';
import { BRANDS, PRODUCT_TYPES } from './taxonomy.js';

const SUMMARIES: readonly (readonly string[])[] = [
  [],
  ['One Star', 'Stopped working after a week', 'Do not buy', 'Waste of money', 'Returned it', 'Very disappointed', 'Junk'],
  ['Two Stars', 'Disappointed', 'Not as good as expected', 'Meh', 'Would not buy again', 'Cheaply made'],
  ['Three Stars', "It's okay", 'Decent but not great', 'Mixed feelings', 'Average {noun}', 'Does the job, barely'],
  ['Four Stars', 'Very good {noun}', 'Solid {noun}', 'Good value', 'Happy with it overall', 'Almost perfect'],
  ['Five Stars', 'Great {noun}!', 'Love it!', 'Excellent {noun} for the price', 'Highly recommend', 'Exactly what I needed', 'Best {noun} I have owned', 'Works perfectly'],
];

const OPENERS: readonly (readonly string[])[] = [
  [],
  ['I really wanted to like this {noun}, but it was a letdown.', 'Save your money.', 'This {noun} stopped working after a few days.', 'Terrible experience with this one.'],
  ['Not impressed.', 'This {noun} has too many problems for the price.', 'I expected more from {brand}.', 'It works, but not well.'],
  ['It is an okay {noun}.', 'Decent, but there are better options.', 'Some good, some bad.', 'It does what it says, nothing more.'],
  ['Really nice {noun}.', 'Very happy with this purchase.', 'Good {noun}, with a couple of small quirks.', 'Works well and looks great.'],
  ['Absolutely love this {noun}!', 'This is the best {noun} I have owned.', 'Fantastic purchase, no regrets.', 'Exceeded my expectations.', 'Perfect.'],
];

const GOOD = ['great', 'excellent', 'impressive', 'solid', 'fantastic', 'really good'];
const BAD = ['poor', 'disappointing', 'terrible', 'weak', 'mediocre', 'awful'];
const MEH = ['fine', 'acceptable', 'average', 'okay', 'not bad'];

type AspectLine = (aspect: string, Aspect: string, adj: string) => string;
const ASPECT_GOOD: readonly AspectLine[] = [
  (_, A, adj) => `${A} is ${adj}.`,
  (a, _, adj) => `I was surprised by how ${adj} ${a} is.`,
  (_, A, adj) => `${A} is ${adj} and exactly as described.`,
];
const ASPECT_BAD: readonly AspectLine[] = [
  (_, A, adj) => `${A} is ${adj}.`,
  (a, _, adj) => `My main complaint is ${a}, which is ${adj}.`,
  (a, _, adj) => `Unfortunately ${a} is ${adj}.`,
];
const ASPECT_MEH: readonly AspectLine[] = [(_, A, adj) => `${A} is ${adj}.`, (_, A, adj) => `${A} is ${adj} for the money.`];

const PRICE_HIGH_GOOD = ['A bit pricey, but worth every penny.', 'Not cheap, but you get what you pay for.'];
const PRICE_HIGH_BAD = ['Way too expensive for what you get.', 'Overpriced.'];
const PRICE_LOW_GOOD = ["For the price you can't beat it.", 'Great value for the money.'];
const PRICE_LOW_BAD = ['I guess you get what you pay for.', 'Cheap, and it shows.'];
const BRAND_GOOD = ['{brand} did a great job with this one.', 'I have several {brand} products and this lives up to them.'];
const BRAND_BAD = ['Not up to the usual {brand} standard.', 'I will think twice before buying {brand} again.'];
const CLOSERS: readonly (readonly string[])[] = [
  [],
  ['Returning it.', 'Avoid.', 'Would give zero stars if I could.'],
  ['Would not recommend.', 'I am going to look for something else.'],
  ['Might work for some people.', 'Three stars.', 'It is fine for occasional use.'],
  ['Would recommend.', 'I use it every day.', 'Four stars because of the small issues.'],
  ['Highly recommended!', 'Would buy again.', 'Five stars!', 'I already ordered a second one as a gift.'],
];

const FIRST_NAMES = [
  'James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth', 'William', 'Barbara',
  'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Chris', 'Karen', 'Daniel', 'Lisa', 'Matt', 'Nancy', 'Anthony',
  'Betty', 'Mark', 'Sandra', 'Steven', 'Ashley', 'Paul', 'Kim', 'Andrew', 'Emily', 'Josh', 'Donna', 'Kevin', 'Michelle',
  'Brian', 'Amanda', 'Jose', 'Maria', 'Wei', 'Priya', 'Ahmed', 'Yuki', 'Olga', 'Lars', 'Chloé', 'Zoë',
];
const NICKNAMES = ['Amazon Customer', 'Kindle Customer', 'TechGuy', 'gadget fan', 'audiophile', 'Happy Shopper', 'Dad of 3', 'gamer_mom'];

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export interface ReviewContext {
  rating: number;
  /** Index into PRODUCT_TYPES. */
  type: number;
  /** Index into BRANDS. */
  brand: number;
  /** log(price) relative to the type's mean log price. */
  priceRel: number;
}

/** Texts with {noun}/{brand} filled, cached by (template list, type, brand). */
const filled = new Map<string, string>();

function fillCached(tpl: string, type: number, brand: number): string {
  if (!tpl.includes('{')) return tpl;
  const key = `${type}\u0000${brand}\u0000${tpl}`;
  let v = filled.get(key);
  if (v === undefined) {
    v = fill(tpl, { noun: PRODUCT_TYPES[type].noun, brand: BRANDS[brand].name });
    filled.set(key, v);
  }
  return v;
}

export function reviewSummary(ctx: ReviewContext, rng: Rng): string {
  return fillCached(rng.choice(SUMMARIES[ctx.rating]), ctx.type, ctx.brand);
}

export function reviewText(ctx: ReviewContext, rng: Rng): string {
  const t = PRODUCT_TYPES[ctx.type];
  const r = ctx.rating;
  let out = fillCached(rng.choice(OPENERS[r]), ctx.type, ctx.brand);
  const nAspects = 1 + rng.int(2) + (rng.chance(0.25) ? 1 : 0);
  let used = 0; // bit set of aspect indices
  for (let k = 0; k < nAspects; k++) {
    const ai = rng.int(t.aspects.length);
    if (used & (1 << ai)) continue;
    used |= 1 << ai;
    const aspect = t.aspects[ai];
    // Mostly consistent with the stars, sometimes a contrasting remark.
    const mood = r >= 4 ? (rng.chance(0.85) ? 1 : 0) : r <= 2 ? (rng.chance(0.85) ? -1 : 0) : rng.chance(0.5) ? 0 : rng.chance(0.5) ? 1 : -1;
    const adj = rng.choice(mood > 0 ? GOOD : mood < 0 ? BAD : MEH);
    const line = rng.choice(mood > 0 ? ASPECT_GOOD : mood < 0 ? ASPECT_BAD : ASPECT_MEH);
    out += ' ' + line(aspect, cap(aspect), adj);
  }
  if (rng.chance(0.3)) {
    const good = r >= 4;
    if (ctx.priceRel > 0.15) out += ' ' + rng.choice(good ? PRICE_HIGH_GOOD : PRICE_HIGH_BAD);
    else if (ctx.priceRel < -0.15) out += ' ' + rng.choice(good ? PRICE_LOW_GOOD : PRICE_LOW_BAD);
  }
  if (r !== 3 && rng.chance(0.2)) out += ' ' + fillCached(rng.choice(r >= 4 ? BRAND_GOOD : BRAND_BAD), ctx.type, ctx.brand);
  if (rng.chance(0.6)) out += ' ' + rng.choice(CLOSERS[r]);
  return out;
}

/** A reviewer display name ("Linda K.", "Amazon Customer", "Chris"). */
export function reviewerName(rng: Rng): string {
  const x = rng.next();
  if (x < 0.12) return rng.choice(NICKNAMES);
  const first = rng.choice(FIRST_NAMES);
  if (x < 0.45) return first;
  return `${first} ${String.fromCharCode(65 + rng.int(26))}.`;
}

/** Helpful votes [helpful, total] into `out`: most reviews get none; extreme ratings attract more. */
export function helpfulVotes(rating: number, rng: Rng, out: [number, number]): [number, number] {
  out[0] = 0;
  out[1] = 0;
  const p = rating === 1 || rating === 5 ? 0.35 : 0.25;
  if (!rng.chance(p)) return out;
  const total = Math.max(1, Math.floor(rng.lognormal(0.3, 1.1)));
  let helpful = 0;
  const share = rating >= 4 ? 0.8 : rating <= 2 ? 0.6 : 0.5;
  for (let i = 0; i < total && i < 200; i++) if (rng.chance(share)) helpful++;
  if (total > 200) helpful = Math.round(total * share);
  out[0] = helpful;
  out[1] = total;
  return out;
}
