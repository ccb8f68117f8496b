/**
 * Times the demo catalog generator at the reference system's size (192,403 users, 63,001 reviewed items,
 * 498,196 catalog items, 1,689,188 reviews) without images, in amazon2014 format, into a temp folder, and
 * prints lines/s and seconds. The ingest benchmark calls `benchDemoGen({ keep: true })` to get its input.
 *
 *   node --import tsx bench/demo-gen.ts [--out DIR] [--keep] [--format amazon2014|amazon2018]
 *        [--preset reference|default] [--images] [--seed 42]
 *
 * The last stdout line is the result as JSON.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateDemo, type DemoFormat, type DemoPreset, type DemoSummary } from '../src/data/demo/generate.js';

export interface DemoGenBenchOptions {
  /** Output folder; default a fresh temp folder (removed afterwards unless `keep`). */
  out?: string;
  /** Keep the generated files (always kept when `out` is given). */
  keep?: boolean;
  format?: DemoFormat;
  preset?: DemoPreset;
  images?: boolean;
  seed?: number;
  /** Progress on stderr (default false: timing runs stay quiet). */
  progress?: boolean;
}

export interface DemoGenBenchResult {
  /** Where the files are (already removed when not kept). */
  out: string;
  kept: boolean;
  format: DemoFormat;
  preset: DemoPreset;
  seconds: number;
  /** Meta + review lines written. */
  lines: number;
  linesPerSecond: number;
  /** Compressed bytes of the meta and review files. */
  bytes: number;
  /** CPU seconds of this process (main thread and zlib's thread pool). */
  cpuSeconds: number;
  phases: DemoSummary['phases'];
  files: { meta: string; reviews: string; manifest: string };
  counts: DemoSummary['counts'];
}

export async function benchDemoGen(options: DemoGenBenchOptions = {}): Promise<DemoGenBenchResult> {
  const out = options.out ?? (await mkdtemp(join(tmpdir(), 'plotpointe-demo-bench-')));
  const keep = options.out !== undefined || options.keep === true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const summary = await generateDemo({
    out,
    preset: options.preset ?? 'reference',
    format: options.format ?? 'amazon2014',
    images: options.images ?? false,
    seed: options.seed ?? 42,
    progress: options.progress ?? false,
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const manifest = JSON.parse(await readFile(summary.files.manifest, 'utf8')) as {
    files: Record<string, { bytes: number; lines: number }>;
  };
  const files = Object.values(manifest.files);
  const lines = files.reduce((s, f) => s + f.lines, 0);
  const bytes = files.reduce((s, f) => s + f.bytes, 0);
  if (!keep) await rm(out, { recursive: true, force: true });
  return {
    out,
    kept: keep,
    format: summary.format,
    preset: summary.preset,
    seconds,
    lines,
    linesPerSecond: lines / seconds,
    bytes,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    phases: summary.phases,
    files: { meta: summary.files.meta, reviews: summary.files.reviews, manifest: summary.files.manifest },
    counts: summary.counts,
  };
}

function arg(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : undefined;
}

async function main(): Promise<void> {
  const r = await benchDemoGen({
    out: arg('out'),
    keep: process.argv.includes('--keep'),
    format: arg('format') as DemoFormat | undefined,
    preset: arg('preset') as DemoPreset | undefined,
    images: process.argv.includes('--images'),
    seed: arg('seed') === undefined ? undefined : Number(arg('seed')),
    progress: process.argv.includes('--progress'),
  });
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const phases = Object.entries(r.phases)
    .map(([k, v]) => `${k} ${v.toFixed(2)}s`)
    .join(', ');
  console.log(`demo-gen: ${r.preset} preset, ${r.format}, ${r.counts.images > 0 ? 'with' : 'no'} images`);
  console.log(`  ${n(r.counts.users)} users, ${n(r.counts.items)} reviewed items, ${n(r.counts.catalogItems)} catalog items, ${n(r.counts.reviews)} reviews`);
  console.log(`  ${n(r.lines)} lines (${(r.bytes / 1e6).toFixed(1)} MB gzip) in ${r.seconds.toFixed(2)} s = ${n(r.linesPerSecond)} lines/s (cpu ${r.cpuSeconds.toFixed(1)} s)`);
  console.log(`  phases: ${phases}`);
  console.log(`  ${r.kept ? `kept in ${r.out}` : 'temp folder removed'}`);
  console.log(JSON.stringify(r));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
