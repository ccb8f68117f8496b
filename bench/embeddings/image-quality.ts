/**
 * Image encoder quality and speed on the demo catalog: for each encoder spec, the same-category nearest-neighbour
 * rate — the share of pictures whose nearest other picture (cosine) has the same leaf category — beside its
 * chance level, and the encoder's own speed (items/s wall and items per CPU-second of this process, decode
 * included, model load excluded). The demo pictures are generated (128-px product silhouettes, seed 7).
 *
 *   node --import tsx bench/embeddings/image-quality.ts [--items 600] [--encoders bundled-ort?size=224,bundled-ort,…]
 *
 * Default encoders: bundled (tfjs, 224), bundled-ort at 224/160/128/96, bundled-ort pooled at block_13_expand_relu,
 * and the ImageNet MobileNetV2 ONNX of ../shared when present. ../shared/datasets/amazon-scientific has no
 * pictures, so the demo is the only image quality check. The last stdout line is one JSON object.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { generateDemo } from '../../src/data/demo/generate.js';
import { createImageEncoder } from '../../src/embeddings/image/encoders.js';
import { MOBILENET } from '../../src/embeddings/image/testkit.js';
import { tempDir } from '../../src/test-support/fixtures.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1]! : fallback;
}

const items = Number(arg('items', '600'));
const defaults = [
  'bundled',
  'bundled-ort?size=224',
  'bundled-ort?size=160',
  'bundled-ort?size=128',
  'bundled-ort?size=96',
  'bundled-ort?layer=block_13_expand_relu',
  ...(MOBILENET.skip ? [] : [`onnx:${MOBILENET.path}`, `onnx:${MOBILENET.path}?size=128`]),
];
const specs = arg('encoders', defaults.join(',')).split(',').filter(Boolean);

const dir = tempDir('image-quality');
const demo = await generateDemo({ out: join(dir, 'demo'), users: items, items, catalogItems: items, meanReviewsPerUser: 5, progress: false, seed: 7 });
const meta = gunzipSync(readFileSync(demo.files.meta))
  .toString('utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { asin: string; category: string[] });
const pics = meta.map((m) => readFileSync(join(demo.files.images!, `${m.asin}.png`)));
const cats = meta.map((m) => m.category[m.category.length - 1]!);
let chance = 0;
for (let i = 0; i < cats.length; i++) chance += cats.filter((c, j) => j !== i && c === cats[i]).length / (cats.length - 1);
chance /= cats.length;

interface Row {
  spec: string;
  dim: number;
  nn_same_category: number;
  load_s: number;
  items_per_s: number;
  items_per_cpu_s: number;
}
const rows: Row[] = [];
const load0 = loadavg();
for (const spec of specs) {
  const t0 = performance.now();
  const enc = await createImageEncoder(spec);
  const loadS = (performance.now() - t0) / 1000;
  try {
    await enc.encode(pics.slice(0, 8)); // warm-up
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    const parts: Float32Array[] = [];
    for (let i = 0; i < pics.length; i += 64) parts.push(await enc.encode(pics.slice(i, i + 64)));
    const wall = (performance.now() - w0) / 1000;
    const cu = process.cpuUsage(c0);
    const cpu = (cu.user + cu.system) / 1e6;
    const d = enc.dim;
    const v = new Float32Array(pics.length * d);
    parts.reduce((at, p) => (v.set(p, at), at + p.length), 0);
    let hits = 0;
    for (let i = 0; i < pics.length; i++) {
      let best = -Infinity;
      let bestJ = -1;
      for (let j = 0; j < pics.length; j++) {
        if (j === i) continue;
        let dot = 0;
        for (let k = 0; k < d; k++) dot += v[i * d + k]! * v[j * d + k]!;
        if (dot > best) [best, bestJ] = [dot, j];
      }
      if (cats[bestJ] === cats[i]) hits++;
    }
    const row: Row = { spec: spec.replace(MOBILENET.path, 'mobilenetv2-int8'), dim: d, nn_same_category: hits / pics.length, load_s: loadS, items_per_s: pics.length / wall, items_per_cpu_s: pics.length / cpu };
    rows.push(row);
    process.stderr.write(`${row.spec.padEnd(48)} ${String(d).padStart(5)}  NN same category ${(100 * row.nn_same_category).toFixed(1)}%  ${row.items_per_s.toFixed(0)} items/s  ${row.items_per_cpu_s.toFixed(0)} items/CPU-s  (load ${loadS.toFixed(1)} s)\n`);
  } finally {
    await enc.dispose();
  }
}
process.stderr.write(`chance ${(100 * chance).toFixed(1)}%, ${pics.length} pictures, ${new Set(cats).size} leaf categories; load average ${load0.map((x) => x.toFixed(1)).join(' ')} → ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} cores (shared)\n`);
console.log(JSON.stringify({ items: pics.length, categories: new Set(cats).size, chance, load_avg_before: load0, load_avg_after: loadavg(), rows }));
