import { join } from 'node:path';
import sharp from 'sharp';
import { generateDemo } from '../../data/demo/generate.js';
import { ingest } from '../../data/ingest.js';
import { silentProgress } from '../../core/progress.js';
import { sharedPath } from '../../test-support/fixtures.js';

/** The real ImageNet MobileNetV2 (int8 ONNX, `features` 1280-d + `output` 1000 logits) in ../shared. */
export const MOBILENET = sharedPath('models', 'mobilenetv2', 'mobilenetv2-12-int8-features.onnx');

/** Generates a small demo catalog with one PNG per product and ingests it as `<dir>/lake`, dataset `name`. */
export async function demoImageLake(dir: string, items = 60, name = 'demo'): Promise<{ lake: string; name: string; imagesDir: string }> {
  const demo = await generateDemo({ out: join(dir, 'demo'), users: Math.max(20, items), items, catalogItems: items, meanReviewsPerUser: 5, progress: false, seed: 7 });
  const lake = join(dir, 'lake');
  await ingest({ format: 'amazon2018', inputs: [demo.files.meta, demo.files.reviews], lake, name, progress: () => silentProgress });
  return { lake, name, imagesDir: demo.files.images! };
}

/** A solid-colour PNG (w × h). */
export function solidPng(rgb: [number, number, number], w = 64, h = 64): Promise<Buffer> {
  return sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toBuffer();
}

/** An RGB image drawn pixel by pixel: `f(x, y)` → [r, g, b] in 0..255, encoded as PNG or JPEG. */
export function drawnImage(w: number, h: number, f: (x: number, y: number) => [number, number, number], format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = f(x, y);
      const o = 3 * (y * w + x);
      raw[o] = r;
      raw[o + 1] = g;
      raw[o + 2] = b;
    }
  }
  const img = sharp(raw, { raw: { width: w, height: h, channels: 3 } });
  return (format === 'png' ? img.png() : img.jpeg({ quality: 92 })).toBuffer();
}
