/**
 * Embedding throughput on demo items: text (use-lite-static, the default, and USE lite itself, over title +
 * brand + categories + description) and
 * images (the default bundled-ort — the npm-shipped MobileNetV2 on onnxruntime in a thread pool, 128 px —, the same
 * weights on tfjs-wasm (`bundled`), and the ImageNet MobileNetV2 int8 ONNX of
 * ../shared/models when present), each through the real `embed text` / `embed image` pipelines with the
 * cache off, so every item is encoded.
 *
 * Each encoder runs in its own process (own peak RSS). Per encoder: model load seconds, pipeline seconds and
 * items/s (reading items, reading + decoding pictures, encoding, writing), encoder-only items/s (for images
 * this includes the sharp decode + resize of the batch), the CPU seconds the process got (cpu / wall shows
 * its share of the 2 shared cores) and peak RSS. The load average is printed before and after.
 *
 * Items per CPU-second (items / CPU time of the process, load included) is the figure that carries over
 * between a loaded and a quiet machine.
 *
 * Text quality (`--quality N`, default 1000; 0 = off): the first N item texts of ../shared/datasets/
 * amazon-scientific through use-lite-static and USE lite, and the agreement of their cosine kNN graphs
 * (recall@20 of static against USE lite, exact kNN, 1,000 sampled queries); skipped when the dataset is absent.
 *
 *   npm run bench:embed -- [--items 300] [--encoders static,use-lite,bundled-ort,bundled,onnx] [--text-batch 32] [--image-batch 64] [--quality 1000]
 *
 * The last stdout line is one JSON object with every figure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentProgress } from '../../src/core/progress.js';
import { embedItemsText } from '../../src/embeddings/embed-items.js';
import { embedItemsImage } from '../../src/embeddings/image/embed-images.js';
import { createImageEncoder } from '../../src/embeddings/image/encoders.js';
import { demoImageLake, MOBILENET } from '../../src/embeddings/image/testkit.js';
import { createTextEncoder } from '../../src/embeddings/text/encoders.js';
import { tempDir } from '../../src/test-support/fixtures.js';
import { knnAgreement } from './text-agreement.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1]! : fallback;
}

const ENCODERS: Record<string, { modality: 'text' | 'image'; spec: string; skip?: string | false }> = {
  static: { modality: 'text', spec: 'use-lite-static' },
  'use-lite': { modality: 'text', spec: 'use-lite' },
  'bundled-ort': { modality: 'image', spec: 'bundled-ort' },
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
  /** CPU-seconds of the pipeline after the model is loaded (read, decode, encode, write) */
  pipeline_cpu_s: number;
  /** items / pipeline_cpu_s */
  items_per_cpu_s: number;
  peak_rss_mb: number;
}

const SCIENTIFIC = fileURLToPath(new URL('../../../shared/datasets/amazon-scientific/Scientific.text', import.meta.url));

interface Quality {
  texts: number;
  k: number;
  queries: number;
  recall_at_20: number;
  static_items_per_cpu_s: number;
  use_lite_items_per_cpu_s: number;
}

/** Child: static vs USE lite on the first `n` Scientific texts (see the header). */
async function quality(n: number): Promise<Quality> {
  const texts = readFileSync(SCIENTIFIC, 'utf8').split('\n').slice(1).filter(Boolean).slice(0, n).map((l) => (l.split('\t')[1] ?? '').trim());
  const run = async (spec: string) => {
    const enc = await createTextEncoder(spec);
    const c0 = process.cpuUsage();
    const out = new Float32Array(texts.length * enc.dim);
    // by length, as embed text batches them
    const order = texts.map((_, i) => i).sort((a, b) => texts[a].length - texts[b].length);
    for (let s = 0; s < order.length; s += 32) {
      const idx = order.slice(s, s + 32);
      const v = await enc.encode(idx.map((i) => texts[i]));
      idx.forEach((i, r) => out.set(v.subarray(r * enc.dim, (r + 1) * enc.dim), i * enc.dim));
    }
    const c = process.cpuUsage(c0);
    const dim = enc.dim;
    await enc.dispose();
    return { out, dim, perCpu: texts.length / ((c.user + c.system) / 1e6) };
  };
  const st = await run('use-lite-static');
  const use = await run('use-lite');
  const a = knnAgreement(st.out, st.dim, use.out, use.dim, texts.length, 20, 1000);
  return { texts: texts.length, k: a.k, queries: a.queries, recall_at_20: a.recall, static_items_per_cpu_s: st.perCpu, use_lite_items_per_cpu_s: use.perCpu };
}

/** Child: one encoder on the given lake. */
async function one(name: string, lake: string, dataset: string): Promise<Figures> {
  const e = ENCODERS[name]!;
  const textBatch = Number(arg('text-batch', '32'));
  const imageBatch = Number(arg('image-batch', '64'));
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  let t0 = performance.now();
  let cpuRun = process.cpuUsage();
  if (e.modality === 'text') {
    const enc = await createTextEncoder(e.spec);
    const load = (performance.now() - t0) / 1000;
    t0 = performance.now();
    cpuRun = process.cpuUsage();
    const s = await embedItemsText({ lake, name: dataset, encoder: enc, batch: textBatch, cache: false, progress: () => silentProgress });
    await enc.dispose();
    return finish(name, e.spec, s.present, s.dim, load, (performance.now() - t0) / 1000, s.encode_items_per_s, cpu0, wall0, cpuRun);
  }
  const enc = await createImageEncoder(e.spec);
  const load = (performance.now() - t0) / 1000;
  t0 = performance.now();
  cpuRun = process.cpuUsage();
  const s = await embedItemsImage({ lake, name: dataset, encoder: enc, batch: imageBatch, cache: false, progress: () => silentProgress });
  await enc.dispose();
  if (s.failed > 0) throw new Error(`${s.failed} pictures failed: ${JSON.stringify(s.failure_counts)}`);
  return finish(name, e.spec, s.present, s.dim, load, (performance.now() - t0) / 1000, s.encode_items_per_s, cpu0, wall0, cpuRun);
}

function finish(encoder: string, spec: string, items: number, dim: number, load: number, seconds: number, encodeRate: number, cpu0: NodeJS.CpuUsage, wall0: number, cpuRun: NodeJS.CpuUsage): Figures {
  const r = process.cpuUsage(cpuRun);
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
    pipeline_cpu_s: (r.user + r.system) / 1e6,
    items_per_cpu_s: items / ((r.user + r.system) / 1e6),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

async function main(): Promise<void> {
  const child = arg('one', '');
  if (child === 'quality') {
    console.log(JSON.stringify(await quality(Number(arg('quality', '1000')))));
    return;
  }
  if (child) {
    const f = await one(child, arg('lake', ''), arg('dataset', 'demo'));
    console.log(JSON.stringify(f));
    return;
  }
  const items = Number(arg('items', '300'));
  const wanted = arg('encoders', 'static,use-lite,bundled,onnx').split(',');
  const qualityTexts = Number(arg('quality', '1000'));
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
        `cpu ${f.cpu_s.toFixed(1)} s (${(f.cpu_share * 100).toFixed(0)}% of a core) ; pipeline ${f.items_per_cpu_s.toFixed(1)} items/CPU-s, peak RSS ${f.peak_rss_mb} MB`,
    );
  }
  let q: Quality | null = null;
  if (qualityTexts > 0 && existsSync(SCIENTIFIC)) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, ...process.argv.slice(2), '--one', 'quality', '--quality', String(qualityTexts)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`quality failed (${r.status}): ${r.stdout}`);
    q = JSON.parse(r.stdout.trim().split('\n').pop()!) as Quality;
    console.log(
      `text quality on ${q.texts} Scientific items: kNN recall@${q.k} of use-lite-static against USE lite ${q.recall_at_20.toFixed(3)} (${q.queries} queries); ` +
        `encode alone ${q.static_items_per_cpu_s.toFixed(0)} vs ${q.use_lite_items_per_cpu_s.toFixed(1)} items/CPU-s`,
    );
  } else if (qualityTexts > 0) {
    console.log(`text quality: skipped, ${SCIENTIFIC} is absent`);
  }
  const loadAfter = load();
  console.log(`load average before ${loadBefore}, after ${loadAfter}`);
  console.log(JSON.stringify({ bench: 'embed', items, cores: cpus().length, load_before: loadBefore, load_after: loadAfter, shared_present: existsSync(join(MOBILENET.path)), results, text_quality: q }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
