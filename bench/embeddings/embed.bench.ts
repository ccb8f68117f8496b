/**
 * Embedding throughput on demo items: text (USE lite over title + brand + categories + description) and
 * images (the bundled npm-shipped MobileNetV2 on tfjs-wasm, and the ImageNet MobileNetV2 int8 ONNX of
 * ../shared/models when present), each through the real `embed text` / `embed image` pipelines with the
 * cache off, so every item is encoded.
 *
 * Each encoder runs in its own process (own peak RSS). Per encoder: model load seconds, pipeline seconds and
 * items/s (reading items, reading + decoding pictures, encoding, writing), encoder-only items/s (for images
 * this includes the sharp decode + resize of the batch), the CPU seconds the process got (cpu / wall shows
 * its share of the 2 shared cores) and peak RSS. The load average is printed before and after.
 *
 *   npm run bench:embed -- [--items 300] [--encoders text,bundled,onnx] [--text-batch 32] [--image-batch 16]
 *
 * The last stdout line is one JSON object with every figure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentProgress } from '../../src/cli/progress.js';
import { embedItemsText } from '../../src/embeddings/embed-items.js';
import { embedItemsImage } from '../../src/embeddings/image/embed-images.js';
import { createImageEncoder } from '../../src/embeddings/image/encoders.js';
import { demoImageLake, MOBILENET } from '../../src/embeddings/image/testkit.js';
import { createTextEncoder } from '../../src/embeddings/text/encoders.js';
import { tempDir } from '../../src/test-support/fixtures.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1]! : fallback;
}

const ENCODERS: Record<string, { modality: 'text' | 'image'; spec: string; skip?: string | false }> = {
  text: { modality: 'text', spec: 'use-lite' },
  bundled: { modality: 'image', spec: 'bundled' },
  onnx: { modality: 'image', spec: `onnx:${MOBILENET.path}`, skip: MOBILENET.skip },
};

interface Figures {
  encoder: string;
  spec: string;
  items: number;
  dim: number;
  load_s: number;
  seconds: number;
  items_per_s: number;
  encode_items_per_s: number;
  cpu_s: number;
  cpu_share: number;
  peak_rss_mb: number;
}

/** Child: one encoder on the given lake. */
async function one(name: string, lake: string, dataset: string): Promise<Figures> {
  const e = ENCODERS[name]!;
  const textBatch = Number(arg('text-batch', '32'));
  const imageBatch = Number(arg('image-batch', '16'));
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  let t0 = performance.now();
  if (e.modality === 'text') {
    const enc = await createTextEncoder(e.spec);
    const load = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const s = await embedItemsText({ lake, name: dataset, encoder: enc, batch: textBatch, cache: false, progress: () => silentProgress });
    await enc.dispose();
    return finish(name, e.spec, s.present, s.dim, load, (performance.now() - t0) / 1000, s.encode_items_per_s, cpu0, wall0);
  }
  const enc = await createImageEncoder(e.spec);
  const load = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const s = await embedItemsImage({ lake, name: dataset, encoder: enc, batch: imageBatch, cache: false, progress: () => silentProgress });
  await enc.dispose();
  if (s.failed > 0) throw new Error(`${s.failed} pictures failed: ${JSON.stringify(s.failure_counts)}`);
  return finish(name, e.spec, s.present, s.dim, load, (performance.now() - t0) / 1000, s.encode_items_per_s, cpu0, wall0);
}

function finish(encoder: string, spec: string, items: number, dim: number, load: number, seconds: number, encodeRate: number, cpu0: NodeJS.CpuUsage, wall0: number): Figures {
  const c = process.cpuUsage(cpu0);
  const cpu = (c.user + c.system) / 1e6;
  const wall = (performance.now() - wall0) / 1000;
  return {
    encoder,
    spec,
    items,
    dim,
    load_s: load,
    seconds,
    items_per_s: items / seconds,
    encode_items_per_s: encodeRate,
    cpu_s: cpu,
    cpu_share: cpu / wall,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

async function main(): Promise<void> {
  const child = arg('one', '');
  if (child) {
    const f = await one(child, arg('lake', ''), arg('dataset', 'demo'));
    console.log(JSON.stringify(f));
    return;
  }
  const items = Number(arg('items', '300'));
  const wanted = arg('encoders', 'text,bundled,onnx').split(',');
  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  const loadBefore = load();
  console.log(`embed bench: ${items} demo items, encoders ${wanted.join(', ')}; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load ${loadBefore}`);
  const t0 = performance.now();
  const { lake, name } = await demoImageLake(tempDir('bench-embed'), items);
  console.log(`demo lake with ${items} items and pictures in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${lake}`);

  const self = fileURLToPath(import.meta.url);
  const results: Figures[] = [];
  for (const name_ of wanted) {
    const e = ENCODERS[name_];
    if (!e) throw new Error(`unknown encoder ${name_} (known: ${Object.keys(ENCODERS).join(', ')})`);
    if (e.skip) {
      console.log(`${name_}: skipped, ${e.skip}`);
      continue;
    }
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--one', name_, '--lake', lake, '--dataset', name, ...process.argv.slice(2)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`${name_} failed (${r.status}): ${r.stdout}`);
    const f = JSON.parse(r.stdout.trim().split('\n').pop()!) as Figures;
    results.push(f);
    console.log(
      `${f.encoder.padEnd(8)} ${f.spec.length > 40 ? `…${f.spec.slice(-39)}` : f.spec.padEnd(40)} ${f.items} items, ${f.dim}-d: load ${f.load_s.toFixed(2)} s, ` +
        `pipeline ${f.seconds.toFixed(1)} s = ${f.items_per_s.toFixed(1)} items/s, encoder ${f.encode_items_per_s.toFixed(1)} items/s, ` +
        `cpu ${f.cpu_s.toFixed(1)} s (${(f.cpu_share * 100).toFixed(0)}% of a core), peak RSS ${f.peak_rss_mb} MB`,
    );
  }
  const loadAfter = load();
  console.log(`load average before ${loadBefore}, after ${loadAfter}`);
  console.log(JSON.stringify({ bench: 'embed', items, cores: cpus().length, load_before: loadBefore, load_after: loadAfter, shared_present: existsSync(join(MOBILENET.path)), results }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
