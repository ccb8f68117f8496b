import { join } from 'node:path';
import { ingest } from '../data/ingest.js';
import { silentProgress } from '../core/progress.js';
import { writeLines } from '../test-support/fixtures.js';
import { ppError } from '../errors.js';
import type { TextEncoderModel } from './encoder.js';

/** Products of the tiny test catalog: asin → metadata (amazon2018 meta fields). */
export const TINY_PRODUCTS: Record<string, Record<string, unknown>> = {
  B01: { title: 'Wireless Bluetooth Headphones', brand: 'Sonic', category: ['Electronics', 'Headphones'], description: ['Over-ear, 30 h battery.'] },
  B02: { title: 'Noise Cancelling Over-Ear Headphones', brand: 'Quietude', category: ['Electronics', 'Headphones'] },
  B03: { title: 'Stainless Steel Kitchen Knife', brand: 'Edge', category: ['Home', 'Kitchen'], description: ['<b>8 inch</b> chef knife'] },
  B04: {},
  B05: { title: 'USB-C Charging Cable', brand: 'Volt', category: ['Electronics', 'Cables'] },
};

/** Writes an amazon2018 pair for `products` and ingests it as `<lake>/staging/<name>`. */
export async function tinyLake(dir: string, name = 'tiny', products = TINY_PRODUCTS): Promise<string> {
  const lake = join(dir, 'lake');
  const asins = Object.keys(products);
  const meta = writeLines(dir, 'meta_Tiny.json.gz', asins.map((asin) => JSON.stringify({ asin, ...products[asin] })));
  const reviews = writeLines(
    dir,
    'Tiny_5.json.gz',
    asins.flatMap((asin, i) => [
      JSON.stringify({ reviewerID: `U${i}`, asin, overall: 5, unixReviewTime: 1_500_000_000 + i }),
      JSON.stringify({ reviewerID: `U${i + 1}`, asin, overall: 4, unixReviewTime: 1_500_000_100 + i }),
    ]),
  );
  await ingest({ format: 'amazon2018', inputs: [meta, reviews], lake, name, progress: () => silentProgress });
  return lake;
}

/**
 * A deterministic fake text encoder that counts what it encodes: the vector of a text is a normalised hash
 * spread over `dim` entries.
 */
export class CountingEncoder implements TextEncoderModel {
  readonly name = 'fake';
  readonly id: string;
  readonly modality = 'text' as const;
  readonly normalised = true;
  calls = 0;
  texts: string[] = [];
  disposed = false;

  constructor(
    readonly dim = 8,
    version = 'v1',
  ) {
    this.id = `fake@${version}`;
  }

  async encode(batch: readonly string[]): Promise<Float32Array> {
    if (this.disposed) throw ppError('PP_INTERNAL', 'disposed');
    this.calls++;
    this.texts.push(...batch);
    const out = new Float32Array(batch.length * this.dim);
    batch.forEach((t, i) => {
      let h = 2166136261;
      for (let k = 0; k < t.length; k++) h = Math.imul(h ^ t.charCodeAt(k), 16777619);
      let s = 0;
      for (let j = 0; j < this.dim; j++) {
        h = Math.imul(h ^ (h >>> 15), 2246822519);
        const v = ((h >>> 0) / 2 ** 32) * 2 - 1;
        out[i * this.dim + j] = v;
        s += v * v;
      }
      for (let j = 0; j < this.dim; j++) out[i * this.dim + j] /= Math.sqrt(s);
    });
    return out;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}
