/**
 * The demo catalog generator: PlotPointe's embedded default data set. A generated electronics catalog in
 * the Amazon review-dump formats where text, images and the user–item graph all carry signal:
 * products from a fixed taxonomy (catalog.ts), rendered product images (image.ts), users with latent
 * tastes and their reviews (users.ts, reviewtext.ts), written as gzip JSON lines (writers.ts).
 *
 *   <out>/meta_Demo.json.gz            items (amazon2018 JSON, or amazon2014 Python literals)
 *   <out>/reviews_Demo.json.gz         reviews (amazon2014: reviews_Demo_5.json.gz)
 *   <out>/images/<asin>.png            128×128 product images (unless images: false)
 *   <out>/demo-manifest.json           options, seed, counts and the sha256 of every file
 *
 * The same options give the same bytes; nothing depends on time, the output folder or the machine.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { silentProgress, silentProgressFactory, type Progress, type ProgressFactory } from '../../core/progress.js';
import { ppError } from '../../errors.js';
import { buildCatalog, describeItem, itemStream, sampleItemCore, type Catalog } from './catalog.js';
import { encodePng, renderProduct, IMAGE_SIZE } from './image.js';
import { resolveDemoOptions, type DemoFormat, type DemoOptions, type DemoPreset, type ResolvedDemoOptions } from './options.js';
import { Rng, deriveSeed } from './rng.js';
import { helpfulVotes, reviewerName, reviewSummary, reviewText } from './reviewtext.js';
import { BRANDS, PRODUCT_TYPES, categoryPath } from './taxonomy.js';
import { simulateInteractions, FIRST_DAY, type Interactions } from './users.js';
import {
  FILE_NAMES,
  GzipLineWriter,
  metaLine2014,
  metaLine2018,
  reviewLine2014,
  reviewLine2018,
  reviewTimeText,
  type MetaFields,
  type ReviewFields,
  type WrittenFile,
} from './writers.js';

export type { DemoOptions, DemoFormat, DemoPreset, ResolvedDemoOptions } from './options.js';
export { DEMO_DEFAULTS, DEMO_PRESETS, DEMO_LIMITS, resolveDemoOptions } from './options.js';

export const MANIFEST_NAME = 'demo-manifest.json';
export const IMAGES_DIR = 'images';
const MAX_ALSO_BOUGHT = 6;

export interface DemoSummary {
  /** Absolute output folder. */
  out: string;
  format: DemoFormat;
  preset: DemoPreset;
  seed: number;
  counts: {
    users: number;
    /** Items with at least one review. */
    items: number;
    catalogItems: number;
    reviews: number;
    images: number;
  };
  /** Absolute paths of what was written (`images` is null when images are off). */
  files: { meta: string; reviews: string; manifest: string; images: string | null };
  /** sha256 of each output file (images: one digest over all "<asin> <sha256>" lines in catalog order). */
  sha256: { meta: string; reviews: string; images: string | null };
  /** Wall-clock seconds, total and by phase. */
  seconds: number;
  phases: Record<'catalog' | 'users' | 'meta' | 'reviews' | 'images', number>;
}

/** The demo manifest written next to the data (no paths, no times: byte-identical for the same options). */
export interface DemoManifest {
  generator: 'plotpointe-demo';
  version: 1;
  format: DemoFormat;
  seed: number;
  options: Omit<ResolvedDemoOptions, 'out' | 'progress'>;
  counts: DemoSummary['counts'];
  files: Record<string, { bytes: number; lines: number; sha256: string }>;
  images: { folder: string; count: number; width: number; height: number; sha256: string } | null;
}

/** Generates the demo catalog into `options.out`. Invalid options raise PP_DEMO_INVALID. */
export async function generateDemo(options: DemoOptions, makeProgress: ProgressFactory = silentProgressFactory): Promise<DemoSummary> {
  const o = resolveDemoOptions(options);
  const t0 = performance.now();
  const out = resolve(o.out);
  try {
    await mkdir(out, { recursive: true });
    if (o.images) await mkdir(join(out, IMAGES_DIR), { recursive: true });
  } catch (err) {
    throw ppError('PP_DEMO_INVALID', `cannot create output folder ${out}: ${(err as Error).message}`, err);
  }
  const progress = (label: string, total: number, unit: string): Progress =>
    o.progress ? makeProgress(label, total, { unit }) : silentProgress;
  const phases = { catalog: 0, users: 0, meta: 0, reviews: 0, images: 0 };
  let mark = performance.now();
  const lap = (k: keyof typeof phases) => {
    const now = performance.now();
    phases[k] = (now - mark) / 1000;
    mark = now;
  };

  // 1. Catalog cores and the items that receive reviews (a seeded random subset).
  let bar = progress('demo: catalog', o.catalogItems, 'items');
  const cat = buildCatalog(o.seed, o.catalogItems, (n) => bar.update(n));
  bar.update(o.catalogItems);
  bar.stop();
  const eligible = pickEligible(o.seed, o.catalogItems, o.items);
  lap('catalog');

  // 2. Users, the items they review, ratings and days.
  bar = progress('demo: users', o.users, 'users');
  const sim = simulateInteractions(cat, {
    seed: o.seed,
    users: o.users,
    reviews: o.reviews,
    eligible,
    onProgress: (n) => bar.update(n),
  });
  bar.update(o.users);
  bar.stop();
  const byItem = indexByItem(sim, cat.size);
  lap('users');

  // 3. Meta.
  const names = FILE_NAMES[o.format];
  const metaPath = join(out, names.meta);
  const reviewsPath = join(out, names.reviews);
  bar = progress('demo: meta', o.catalogItems, 'items');
  const meta = await writeMeta(metaPath, o, cat, sim, byItem, bar);
  bar.stop();
  lap('meta');

  // 4. Reviews, grouped by item as in the Amazon dumps, each user's history in time order.
  bar = progress('demo: reviews', o.reviews, 'reviews');
  const reviews = await writeReviews(reviewsPath, o, cat, sim, byItem, bar);
  bar.stop();
  lap('reviews');

  // 5. Images.
  let images: { count: number; sha256: string } | null = null;
  if (o.images) {
    bar = progress('demo: images', o.catalogItems, 'images');
    images = await writeImages(join(out, IMAGES_DIR), o.seed, cat, bar);
    bar.stop();
  }
  lap('images');

  const counts = { users: o.users, items: o.items, catalogItems: o.catalogItems, reviews: o.reviews, images: images?.count ?? 0 };
  const manifest: DemoManifest = {
    generator: 'plotpointe-demo',
    version: 1,
    format: o.format,
    seed: o.seed,
    options: {
      seed: o.seed,
      preset: o.preset,
      users: o.users,
      items: o.items,
      catalogItems: o.catalogItems,
      reviews: o.reviews,
      images: o.images,
      format: o.format,
    },
    counts,
    files: {
      [names.meta]: { bytes: meta.bytes, lines: meta.lines, sha256: meta.sha256 },
      [names.reviews]: { bytes: reviews.bytes, lines: reviews.lines, sha256: reviews.sha256 },
    },
    images: images ? { folder: IMAGES_DIR, count: images.count, width: IMAGE_SIZE, height: IMAGE_SIZE, sha256: images.sha256 } : null,
  };
  const manifestPath = join(out, MANIFEST_NAME);
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2) + '\n');

  return {
    out,
    format: o.format,
    preset: o.preset,
    seed: o.seed,
    counts,
    files: { meta: metaPath, reviews: reviewsPath, manifest: manifestPath, images: o.images ? join(out, IMAGES_DIR) : null },
    sha256: { meta: meta.sha256, reviews: reviews.sha256, images: images?.sha256 ?? null },
    seconds: (performance.now() - t0) / 1000,
    phases,
  };
}

/** A seeded random subset of `k` catalog indices, ascending. */
export function pickEligible(seed: number, n: number, k: number): Uint32Array {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const rng = new Rng(deriveSeed(seed, 'eligible'));
  // Partial Fisher–Yates: the first k positions are a uniform random subset.
  for (let i = 0; i < k && i < n - 1; i++) {
    const j = i + rng.int(n - i);
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return idx.slice(0, k).sort();
}

interface ItemIndex {
  /** CSR over catalog items: item i's reviews are order[start[i] .. start[i+1]). */
  start: Uint32Array;
  order: Uint32Array;
  /** The user of each review. */
  userOf: Uint32Array;
}

function indexByItem(sim: Interactions, nItems: number): ItemIndex {
  const R = sim.item.length;
  const userOf = new Uint32Array(R);
  for (let u = 0; u < sim.users; u++) userOf.fill(u, sim.userStart[u], sim.userStart[u + 1]);
  const start = new Uint32Array(nItems + 1);
  for (let r = 0; r < R; r++) start[sim.item[r] + 1]++;
  for (let i = 0; i < nItems; i++) start[i + 1] += start[i];
  const fillAt = start.slice(0, nItems);
  const order = new Uint32Array(R);
  for (let r = 0; r < R; r++) order[fillAt[sim.item[r]]++] = r;
  return { start, order, userOf };
}

/** Items bought next to this one: the neighbours in the histories of (up to 8) of its reviewers. */
function alsoBought(i: number, cat: Catalog, sim: Interactions, idx: ItemIndex): string[] {
  const a = idx.start[i];
  const n = idx.start[i + 1] - a;
  if (n === 0) return [];
  const out: string[] = [];
  const seen: number[] = [];
  const probes = Math.min(n, 8);
  for (let p = 0; p < probes && out.length < MAX_ALSO_BOUGHT; p++) {
    const r = idx.order[a + Math.floor((p * n) / probes)];
    const u = idx.userOf[r];
    for (const q of [r + 1, r - 1]) {
      if (q < sim.userStart[u] || q >= sim.userStart[u + 1]) continue;
      const other = sim.item[q];
      if (other === i || seen.includes(other)) continue;
      seen.push(other);
      out.push(cat.asin[other]);
      if (out.length >= MAX_ALSO_BOUGHT) break;
    }
  }
  return out;
}

/** Sales rank in "Electronics": by number of reviews, most reviewed first (ties by catalog order). */
function salesRanks(cat: Catalog, idx: ItemIndex): Uint32Array {
  const n = cat.size;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const cnt = (i: number) => idx.start[i + 1] - idx.start[i];
  const sorted = Array.from(order).sort((x, y) => cnt(y) - cnt(x) || x - y);
  const rank = new Uint32Array(n);
  sorted.forEach((item, r) => {
    rank[item] = r + 1;
  });
  return rank;
}

async function writeMeta(
  path: string,
  o: ResolvedDemoOptions,
  cat: Catalog,
  sim: Interactions,
  idx: ItemIndex,
  bar: Progress,
): Promise<WrittenFile> {
  const w = new GzipLineWriter(path);
  try {
    const rank = salesRanks(cat, idx);
    const rng = new Rng();
    const line = o.format === 'amazon2018' ? metaLine2018 : metaLine2014;
    const paths = PRODUCT_TYPES.map(categoryPath);
    for (let i = 0; i < cat.size; i++) {
      itemStream(rng, o.seed, i);
      const core = sampleItemCore(rng);
      const text = describeItem(core, rng);
      const m: MetaFields = {
        asin: cat.asin[i],
        title: text.title,
        description: text.description,
        category: paths[core.type],
        brand: BRANDS[core.brand].name,
        priceCents: core.priceCents,
        features: text.features,
        image: o.images ? `${IMAGES_DIR}/${cat.asin[i]}.png` : null,
        alsoBought: alsoBought(i, cat, sim, idx),
        salesRank: rank[i],
      };
      w.write(line(m));
      if ((i & 1023) === 1023) {
        await w.ready();
        bar.update(i + 1);
      }
    }
    bar.update(cat.size);
    return await w.close();
  } catch (err) {
    w.abort();
    throw err;
  }
}

async function writeReviews(
  path: string,
  o: ResolvedDemoOptions,
  cat: Catalog,
  sim: Interactions,
  idx: ItemIndex,
  bar: Progress,
): Promise<WrittenFile> {
  const w = new GzipLineWriter(path);
  try {
    const text = new Rng(deriveSeed(o.seed, 'text'));
    const nameRng = new Rng();
    const line = o.format === 'amazon2018' ? reviewLine2018 : reviewLine2014;
    const dayText: string[] = [];
    // Per-type mean log price, for the price remarks in the texts.
    const lnSum = new Float64Array(PRODUCT_TYPES.length);
    const lnCnt = new Float64Array(PRODUCT_TYPES.length);
    for (let i = 0; i < cat.size; i++) {
      lnSum[cat.type[i]] += Math.log(cat.priceCents[i]);
      lnCnt[cat.type[i]]++;
    }
    // One mutable context and record, reused for every review (no per-review garbage beyond strings).
    const ctx = { rating: 0, type: 0, brand: 0, priceRel: 0 };
    const helpful: [number, number] = [0, 0];
    const rec: ReviewFields = { reviewerID: '', reviewerName: '', asin: '', rating: 0, unixTime: 0, reviewTime: '', text: '', summary: '', helpful };
    let written = 0;
    for (let i = 0; i < cat.size; i++) {
      const a = idx.start[i];
      const b = idx.start[i + 1];
      if (a === b) continue;
      ctx.type = cat.type[i];
      ctx.brand = cat.brand[i];
      ctx.priceRel = Math.log(cat.priceCents[i]) - lnSum[ctx.type] / lnCnt[ctx.type];
      rec.asin = cat.asin[i];
      for (let p = a; p < b; p++) {
        const r = idx.order[p];
        const u = idx.userOf[r];
        const day = sim.day[r];
        ctx.rating = sim.rating[r];
        rec.reviewerID = sim.userIds[u];
        rec.reviewerName = reviewerName(nameRng.reseed(deriveSeed(o.seed, 'name', u)));
        rec.rating = ctx.rating;
        rec.unixTime = day * 86_400;
        rec.reviewTime = dayText[day - FIRST_DAY] ??= reviewTimeText(day);
        rec.text = reviewText(ctx, text);
        rec.summary = reviewSummary(ctx, text);
        helpfulVotes(ctx.rating, text, helpful);
        w.write(line(rec));
        written++;
        if ((written & 4095) === 0) {
          await w.ready();
          bar.update(written);
        }
      }
    }
    bar.update(written);
    return await w.close();
  } catch (err) {
    w.abort();
    throw err;
  }
}

async function writeImages(dir: string, seed: number, cat: Catalog, bar: Progress): Promise<{ count: number; sha256: string }> {
  const all = createHash('sha256');
  const rng = new Rng();
  let batch: Promise<void>[] = [];
  for (let i = 0; i < cat.size; i++) {
    const b = BRANDS[cat.brand[i]];
    const raster = renderProduct({ type: cat.type[i], brand: cat.brand[i], color: b.colors[cat.color[i]] }, rng.reseed(deriveSeed(seed, 'image', i)));
    const png = encodePng(raster);
    all.update(`${cat.asin[i]} ${createHash('sha256').update(png).digest('hex')}\n`);
    batch.push(writeFile(join(dir, `${cat.asin[i]}.png`), png));
    if (batch.length >= 64) {
      await Promise.all(batch);
      batch = [];
      bar.update(i + 1);
    }
  }
  await Promise.all(batch);
  bar.update(cat.size);
  return { count: cat.size, sha256: all.digest('hex') };
}
