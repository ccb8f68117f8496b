import { test } from 'node:test';
import assert from 'node:assert/strict';
import pngjs from 'pngjs';
import { encodePng, renderProduct, IMAGE_SIZE } from './image.js';
import { Raster } from './raster.js';
import { Rng } from './rng.js';
import { BRANDS, BRANDS_BY_TOP, PRODUCT_TYPES, TOP_CATEGORIES } from './taxonomy.js';

test('every product type draws a product that covers a good part of the image', () => {
  for (let type = 0; type < PRODUCT_TYPES.length; type++) {
    const t = PRODUCT_TYPES[type];
    const brand = BRANDS_BY_TOP[t.top][0];
    const img = renderProduct({ type, brand, color: BRANDS[brand].colors[0] }, new Rng(type));
    const bg = new Raster(IMAGE_SIZE, IMAGE_SIZE);
    bg.gradient(...TOP_CATEGORIES[t.top].background);
    let changed = 0;
    for (let p = 0; p < img.data.length; p += 3) {
      const d = Math.abs(img.data[p] - bg.data[p]) + Math.abs(img.data[p + 1] - bg.data[p + 1]) + Math.abs(img.data[p + 2] - bg.data[p + 2]);
      if (d > 60) changed++;
    }
    const share = changed / (IMAGE_SIZE * IMAGE_SIZE);
    assert.ok(share > 0.05 && share < 0.8, `${t.key}: ${(100 * share).toFixed(1)}% of pixels belong to the product`);
  }
});

test('the same spec and variation seed give the same PNG bytes; another seed varies the picture', () => {
  const spec = { type: 0, brand: BRANDS_BY_TOP[0][0], color: 'Silver' };
  const a = encodePng(renderProduct(spec, new Rng(5)));
  const b = encodePng(renderProduct(spec, new Rng(5)));
  const c = encodePng(renderProduct(spec, new Rng(6)));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const png = pngjs.PNG.sync.read(a);
  assert.equal(png.width, IMAGE_SIZE);
  assert.equal(png.height, IMAGE_SIZE);
});

test('brands change the picture of the same product type (colours, accent and logo)', () => {
  const type = PRODUCT_TYPES.findIndex((t) => t.key === 'overear');
  const brands = BRANDS_BY_TOP[PRODUCT_TYPES[type].top];
  const pics = brands.slice(0, 3).map((b) => renderProduct({ type, brand: b, color: BRANDS[b].colors[0] }, new Rng(1)).data);
  for (let i = 0; i < pics.length; i++) for (let j = i + 1; j < pics.length; j++) assert.notDeepEqual(pics[i], pics[j]);
});
