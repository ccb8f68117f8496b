/**
 * bench:scale — the reference workload end to end (issue 12): generates the reference-sized demo catalog with
 * its images (or reuses it, keyed by size and seed), runs `plotpointe pipeline run` on it with
 * pipeline.reference.yaml through every step on a fresh lake, serves the published run and checks a few requests
 * (bench/scale/serve-checks.ts). Prints the per-step table (the runner's own wall / CPU / peak RSS per step, items
 * per second) and the test metrics of every trained model; `--json` ends with one JSON object.
 *
 *   npm run bench:scale -- [--scale 1] [--users N --items N --catalog-items N --reviews N] [--no-images]
 *                          [--executor local|bullmq] [--workers 2] [--shards N] [--redis URL] [--no-baseline]
 *                          [--config pipeline.reference.yaml] [--work DIR] [--budget-min M] [--candidates …] [--keep] [--json]
 *                          [--resume RUN_DIR]
 *
 * With `--executor bullmq --workers N` it starts N `plotpointe worker` processes on Redis (steps with a sharded
 * form run as `--shards` shard jobs, default N), and first runs the same pipeline on the local executor (unless
 * --no-baseline) to report the speed-up: local wall / bullmq wall, the same machine for both.
 *
 * `--resume RUN_DIR` (local executor) continues an interrupted run of the bench on its own lake (`--keep` is then
 * implied): the pipeline resumes, steps finished by the earlier attempt report the figures recorded when they ran,
 * and the total wall time adds the earlier attempts' wall time (so work lost to a failure is counted, not hidden).
 */
import { lakePaths } from '../src/lake/paths.js';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { parse, stringify } from 'yaml';
import { cliAsync, cliBackground } from '../src/pipeline/testkit.js';
import type { PipelineReport } from '../src/pipeline/report.js';
import { datasetPaths } from '../src/lake/paths.js';
import { readCacheRecord } from '../src/pipeline/cache.js';
import { repoRoot } from '../src/test-support/fixtures.js';
import { scaleSize, sourceDir, type ScaleSize } from './scale/options.js';
import { renderSteps, scaleSteps, type ScaleStep } from './scale/report.js';
import { checkServing, type ServeSummary } from './scale/serve-checks.js';

const { values: a } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    users: { type: 'string' },
    items: { type: 'string' },
    'catalog-items': { type: 'string' },
    reviews: { type: 'string' },
    'no-images': { type: 'boolean', default: false },
    seed: { type: 'string', default: '42' },
    executor: { type: 'string', default: 'local' },
    workers: { type: 'string', default: '2' },
    shards: { type: 'string' },
    redis: { type: 'string', default: process.env.PLOTPOINTE_TEST_REDIS ?? 'redis://127.0.0.1:6379' },
    'no-baseline': { type: 'boolean', default: false },
    config: { type: 'string', default: join(repoRoot, 'pipeline.reference.yaml') },
    work: { type: 'string', default: join(tmpdir(), 'plotpointe-bench-scale') },
    'budget-min': { type: 'string' },
    candidates: { type: 'string' },
    'no-serve': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    resume: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

const say = (line: string) => process.stderr.write(`${line}\n`);
const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const size: ScaleSize = scaleSize(Number(a.scale), {
  users: num(a.users),
  items: num(a.items),
  catalogItems: num(a['catalog-items']),
  reviews: num(a.reviews),
  images: !a['no-images'],
  seed: Number(a.seed),
});
const work = resolve(a.work!);
const env = { ...process.env };
const r1 = (x: number) => Math.round(x * 10) / 10;
const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

/** The generated catalog: reused when `<dir>/bench-source.json` says it is complete. */
async function source(): Promise<{ dir: string; meta: string; reviews: string; images: string | null; generated: boolean; wall_s: number; cpu_s: number | null }> {
  const dir = sourceDir(work, size);
  const marker = join(dir, 'bench-source.json');
  if (existsSync(marker)) return { ...(JSON.parse(readFileSync(marker, 'utf8')) as { meta: string; reviews: string; images: string | null }), dir, generated: false, wall_s: 0, cpu_s: null };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  say(`generating the catalog (${size.catalogItems.toLocaleString('en-US')} items, ${size.reviews.toLocaleString('en-US')} reviews${size.images ? ', images' : ''}) into ${dir}`);
  const t0 = performance.now();
  const args = ['data', 'demo', '--out', dir, '--seed', String(size.seed), '--users', String(size.users), '--items', String(size.items), '--catalog-items', String(size.catalogItems), '--reviews', String(size.reviews), ...(size.images ? [] : ['--no-images']), '--json'];
  const r = await cliAsync(args, env);
  if (r.status !== 0) throw new Error(`plotpointe ${args.join(' ')}: ${r.stderr.slice(-2000)}`);
  const files = r.json.files as unknown as { meta: string; reviews: string; images: string | null };
  writeFileSync(marker, JSON.stringify({ meta: files.meta, reviews: files.reviews, images: files.images, size }, null, 1) + '\n');
  return { dir, meta: files.meta, reviews: files.reviews, images: files.images, generated: true, wall_s: r1((performance.now() - t0) / 1000), cpu_s: null };
}

interface PipelineOutcome {
  executor: string;
  lake: string;
  report: PipelineReport;
  wall_s: number;
  steps: ScaleStep[];
}

/** One pipeline run on a fresh lake with the reference file plus the bench's settings. */
async function runPipeline(src: { meta: string; reviews: string }, executor: 'local' | 'bullmq', extra: Record<string, unknown>, resumeDir?: string): Promise<PipelineOutcome> {
  const runDir = resumeDir ?? join(work, 'runs', `${new Date().toISOString().replace(/[:.]/g, '-')}-${executor}`);
  const file = join(runDir, 'pipeline.yaml');
  let cfg: Record<string, Record<string, unknown>>;
  if (resumeDir) {
    cfg = parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
  } else {
    mkdirSync(runDir, { recursive: true });
    cfg = parse(readFileSync(a.config!, 'utf8')) as Record<string, Record<string, unknown>>;
    cfg.lake = { ...cfg.lake, dir: join(runDir, 'lake') };
    cfg.pipeline = { ...cfg.pipeline, inputs: `${src.meta},${src.reviews}`, executor, ...extra };
    if (a['budget-min']) cfg.train = { ...cfg.train, budget_min: Number(a['budget-min']) };
    if (a.candidates) cfg.train = { ...cfg.train, auto_candidates: a.candidates };
    writeFileSync(file, stringify(cfg));
  }
  const earlier = resumeDir ? earlierAttemptsSeconds(String(cfg.lake.dir)) : 0;
  say(`pipeline run (${executor}) on ${String(cfg.lake.dir)}${resumeDir ? `, resumed (earlier attempts: ${r1(earlier)} s)` : ''}, load ${load().join(' ')}`);
  const t0 = performance.now();
  const bg = cliBackground(['pipeline', 'run', '--config', file, '--json'], env);
  bg.child.stderr!.on('data', (b: Buffer) => process.stderr.write(b));
  const status = await bg.exit;
  const wall = (performance.now() - t0) / 1000;
  const lines = bg.stdout().trimEnd().split('\n');
  if (status !== 0) throw new Error(`pipeline run (${executor}) failed (exit ${status}); see ${file} and the logs under ${lakePaths(join(runDir, 'lake')).pipeline.dir}`);
  const report = JSON.parse(lines[lines.length - 1]!) as PipelineReport;
  return { executor, lake: String(cfg.lake.dir), report, wall_s: r1(wall + earlier), steps: scaleSteps(report, size, null) };
}

/** Wall seconds of the pipeline runs already recorded on `lake` (each run's journal ends with its run-end event). */
function earlierAttemptsSeconds(lake: string): number {
  const dir = lakePaths(lake).pipeline.dir;
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const run of readdirSync(dir)) {
    const journal = join(dir, run, 'journal.jsonl');
    if (!existsSync(journal)) continue;
    for (const line of readFileSync(journal, 'utf8').split('\n')) {
      if (!line.includes('"run-end"')) continue;
      total += Number((JSON.parse(line) as { seconds?: number }).seconds ?? 0);
    }
  }
  return total;
}

/** Items of the split's fused matrix (its meta's count). */
function fusedCount(lake: string, name: string, split: string): number | null {
  const loc = datasetPaths(lake, name).split(split).embeddingOf('fused');
  const p = `${loc.dir}/${loc.file}.json`;
  return existsSync(p) ? Number((JSON.parse(readFileSync(p, 'utf8')) as { count: number }).count) : null;
}

type ModelMetrics = { 'recall@20': number | null; 'ndcg@20': number | null; 'valid_ndcg@20': number | null; run_id: string };

/**
 * Test recall@20 / ndcg@20 of every model the train step fitted (auto: each candidate's run), from each run's
 * metrics.json; the train step's JSON result comes from the runner's cache record of the step.
 */
async function testMetrics(o: PipelineOutcome, name: string): Promise<Record<string, ModelMetrics>> {
  const train = o.report.steps.find((s) => s.step === 'train');
  const record = train ? await readCacheRecord(o.lake, 'train', train.key) : null;
  const result = record?.result as { model: string; run_id: string; auto?: { candidates: Array<{ model: string; run_id: string | null }> } } | undefined;
  const runs = result?.auto?.candidates ?? (result ? [{ model: result.model, run_id: result.run_id }] : []);
  const out: Record<string, ModelMetrics> = {};
  for (const r of runs) {
    if (!r.run_id) continue;
    const p = datasetPaths(o.lake, name).run(r.run_id).metrics;
    if (!existsSync(p)) continue;
    const m = JSON.parse(readFileSync(p, 'utf8')) as { valid: { metrics: Record<string, number> } | null; test: { metrics: Record<string, number> } };
    out[r.model] = { 'recall@20': m.test.metrics['recall@20'] ?? null, 'ndcg@20': m.test.metrics['ndcg@20'] ?? null, 'valid_ndcg@20': m.valid?.metrics['ndcg@20'] ?? null, run_id: r.run_id };
  }
  return out;
}

/** `plotpointe worker` processes on Redis under a fresh prefix; stop() ends them (SIGTERM, by pid). */
function startWorkers(n: number): { prefix: string; stop: () => Promise<void> } {
  const prefix = `pp-bench-scale-${randomBytes(4).toString('hex')}`;
  const ws = Array.from({ length: n }, () => cliBackground(['worker', '--redis', a.redis!, '--prefix', prefix, '--concurrency', '1'], env));
  return {
    prefix,
    stop: async () => {
      for (const w of ws) if (w.child.exitCode === null) w.child.kill('SIGTERM');
      await Promise.all(ws.map((w) => w.exit));
    },
  };
}

const started = performance.now();
const cpu0 = process.cpuUsage();
const loadBefore = load();
say(`bench:scale — ${size.users.toLocaleString('en-US')} users, ${size.items.toLocaleString('en-US')} reviewed items, ${size.catalogItems.toLocaleString('en-US')} catalog items, ${size.reviews.toLocaleString('en-US')} reviews${size.images ? ', images' : ''}; ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB, load ${loadBefore.join(' ')} (shared machine)`);
const src = await source();
const name = String(((parse(readFileSync(a.config!, 'utf8')) as Record<string, Record<string, unknown>>).dataset ?? {}).name ?? 'default');
const splitName = String(((parse(readFileSync(a.config!, 'utf8')) as Record<string, Record<string, unknown>>).split ?? {}).name ?? 'default');

let baseline: PipelineOutcome | null = null;
let main: PipelineOutcome;
if (a.executor === 'bullmq') {
  const workers = Number(a.workers);
  if (!a['no-baseline']) baseline = await runPipeline(src, 'local', {});
  const w = startWorkers(workers);
  try {
    main = await runPipeline(src, 'bullmq', { redis: a.redis, queue_prefix: w.prefix, shards: Number(a.shards ?? workers) });
  } finally {
    await w.stop();
  }
} else if (a.executor === 'local') {
  main = await runPipeline(src, 'local', {}, a.resume ? resolve(a.resume) : undefined);
} else {
  throw new Error(`--executor must be local or bullmq, got ${a.executor}`);
}
for (const o of [baseline, main]) {
  if (!o) continue;
  const fuse = o.steps.find((s) => s.id === 'fuse');
  if (fuse) {
    fuse.items = fusedCount(o.lake, name, splitName);
    fuse.items_per_s = fuse.items !== null && fuse.wall_s > 0 ? Math.round(fuse.items / fuse.wall_s) : null;
    fuse.items_per_cpu_s = fuse.items !== null && fuse.cpu_s > 0 ? Math.round(fuse.items / fuse.cpu_s) : null;
  }
}
const test = await testMetrics(main, name);
const serve: ServeSummary | null = a['no-serve'] ? null : await checkServing({ lake: main.lake, name, reviews: src.reviews, meta: src.meta, images: src.images });
const loadAfter = load();
const peak = Math.max(0, ...main.steps.map((s) => s.peak_rss_mb));

const lines = [
  '',
  `source: ${src.dir} (${src.generated ? `generated in ${src.wall_s} s` : 'reused'})`,
  ...(baseline ? [`local baseline: ${baseline.wall_s} s`, renderSteps(baseline.steps), ''] : []),
  `pipeline (${main.executor}${main.executor === 'bullmq' ? `, ${a.workers} workers` : ''}): ${main.wall_s} s wall, ${r1(main.report.parallel.cpu_s)} CPU-s over the steps, peak step RSS ${peak} MB`,
  renderSteps(main.steps),
  ...(baseline ? [`speed-up of bullmq with ${a.workers} workers over local: ${(baseline.wall_s / main.wall_s).toFixed(2)}× (${baseline.wall_s} s → ${main.wall_s} s)`] : []),
  '',
  'test metrics (full ranking, test part):',
  ...Object.entries(test).map(([m, v]) => `  ${m.padEnd(10)} recall@20 ${v['recall@20']?.toFixed(4)}  ndcg@20 ${v['ndcg@20']?.toFixed(4)}  (valid ndcg@20 ${v['valid_ndcg@20']?.toFixed(4)}, run ${v.run_id})`),
  ...(serve
    ? ['', `serving: up in ${serve.startup_s} s; ${serve.ok ? 'all checks passed' : `FAILED${serve.error ? `: ${serve.error}` : ''}`}`, ...serve.checks.map((c) => `  ${c.status} ${String(c.ms).padStart(5)} ms  ${c.results} results  ${c.request}`)]
    : []),
  `load average before ${loadBefore.join(' ')}, after ${loadAfter.join(' ')} (machine shared with other work)`,
];
say(lines.join('\n'));
const summary = {
  bench: 'scale',
  size,
  executor: main.executor,
  workers: main.executor === 'bullmq' ? Number(a.workers) : null,
  total_wall_s: main.wall_s,
  cpu_s: r1(main.report.parallel.cpu_s),
  peak_rss_mb: peak,
  load_avg: { before: loadBefore, after: loadAfter },
  cores: cpus().length,
  steps: main.steps,
  test,
  serve,
  ...(baseline ? { baseline: { executor: 'local', total_wall_s: baseline.wall_s, steps: baseline.steps }, speedup: Math.round((baseline.wall_s / main.wall_s) * 100) / 100 } : {}),
  source: { dir: src.dir, generated: src.generated, wall_s: src.wall_s },
  lake: main.lake,
  bench_wall_s: r1((performance.now() - started) / 1000),
  bench_process_cpu_s: r1((process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e6),
};
if (!a.keep && !a.resume) for (const o of [baseline, main]) if (o) rmSync(join(o.lake, '..'), { recursive: true, force: true });
if (a.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
if (serve && !serve.ok) process.exitCode = 1;
