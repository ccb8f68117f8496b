/**
 * The demo product image: a product-type silhouette in the product's colour with the brand's accent and
 * logo mark, on a gradient background that depends on the top category, with a little seeded variation
 * (position, scale, mirroring, background tint, a highlight) — enough for an image encoder to tell types,
 * categories and brands apart, while two products of the same kind still look alike.
 * Encoded as an 8-bit RGB PNG with pngjs (fixed filter and deflate settings: deterministic bytes).
 */
import pngjs from 'pngjs';
import { Raster, mix, WHITE, BLACK } from './raster.js';
import { drawLogo, drawSilhouette, makePalette } from './silhouettes.js';
import type { Rng } from './rng.js';
import { BRANDS, NAMED_COLORS, PRODUCT_TYPES, TOP_CATEGORIES, type Rgb } from './taxonomy.js';

const { PNG } = pngjs;

export const IMAGE_SIZE = 128;

export interface ImageSpec {
  /** Index into PRODUCT_TYPES. */
  type: number;
  /** Index into BRANDS. */
  brand: number;
  /** Body colour name (a key of NAMED_COLORS). */
  color: string;
}

function jitter(c: Rgb, rng: Rng, amount: number): Rgb {
  const d = (rng.next() * 2 - 1) * amount;
  return [
    clamp255(c[0] + d + (rng.next() * 2 - 1) * amount * 0.4),
    clamp255(c[1] + d + (rng.next() * 2 - 1) * amount * 0.4),
    clamp255(c[2] + d + (rng.next() * 2 - 1) * amount * 0.4),
  ];
}

function clamp255(x: number): number {
  return x < 0 ? 0 : x > 255 ? 255 : Math.round(x);
}

/** Draws the product image into a new raster; `rng` supplies the per-image variation. */
export function renderProduct(spec: ImageSpec, rng: Rng, size = IMAGE_SIZE): Raster {
  const type = PRODUCT_TYPES[spec.type];
  const brand = BRANDS[spec.brand];
  const top = TOP_CATEGORIES[type.top];
  const r = new Raster(size, size);
  r.gradient(jitter(top.background[0], rng, 10), jitter(top.background[1], rng, 10));

  const scale = 0.8 + 0.16 * rng.next();
  const ox = (size - scale * size) / 2 + (rng.next() * 2 - 1) * 0.05 * size;
  const oy = (size - scale * size) / 2 + (rng.next() * 2 - 1) * 0.04 * size;
  const mirror = rng.chance(0.3);

  // Soft floor shadow, in image space.
  r.setTransform(0, 0, 1, false);
  const shadowY = (oy + 0.9 * scale * size) / size;
  r.ellipse(0.5 + (ox - (size - scale * size) / 2) / size, Math.min(shadowY, 0.95), 0.36 * scale, 0.04, BLACK, 0.16);

  r.setTransform(ox, oy, scale, mirror);
  const body = NAMED_COLORS[spec.color] ?? NAMED_COLORS.Black;
  const palette = makePalette(body, brand.accent);
  const anchor = drawSilhouette(r, type.key, palette, rng.next());
  drawLogo(r, brand.logo, anchor, brand.accent);

  // A highlight: a soft light spot somewhere on the upper left of the product.
  r.setTransform(0, 0, 1, false);
  r.ellipse(0.3 + 0.2 * rng.next(), 0.25 + 0.15 * rng.next(), 0.12, 0.06, mix(WHITE, body, 0.2), 0.12);
  return r;
}

/** Encodes an RGB raster as PNG (deterministic: fixed Sub filter, deflate level 4 — as small as 6 here, faster). */
export function encodePng(r: Raster): Buffer {
  const png = { width: r.width, height: r.height, data: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength) };
  return PNG.sync.write(png as unknown as InstanceType<typeof PNG>, {
    colorType: 2,
    inputColorType: 2,
    inputHasAlpha: false,
    bitDepth: 8,
    filterType: 1,
    deflateLevel: 4,
    deflateStrategy: 0,
  });
}
