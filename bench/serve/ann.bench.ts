/**
 * In-process ANN for serving: usearch HNSW (src/graphs/ann-index.ts) against exact search, with FAISS
 * IndexHNSWFlat (Debian python3-faiss, bench/serve/faiss_hnsw.py) on the same vectors and settings.
 *
 * Data: `rows` base + `queries` held-out rows of 128-d clustered, L2-normalised float32 vectors
 * (src/graphs/synthetic-vectors.ts: ~rows/250 clusters, 16 directions of variation each + 10% isotropic noise,
 * the shape of trained item embeddings). Queries come from the same distribution but are not in the index.
 * Ground truth: blocked-matmul brute force with a top-k heap (bench/serve/exact-search.ts), checked against a
 * float64 loop on 10 queries before use. recall@k: ann-benchmarks style (a hit reaches the exact k-th score).
 *
 * Per build (connectivity M, expansion_add efC, quantisation) one child process builds the index on `threads`
 * threads (clean RSS), saves it, then views (memory-maps) it once per expansion_search ef and reports:
 * build seconds, index file MB, RSS growth of the build, single-query latency p50/p99 (each of the q queries
 * timed alone through AnnIndex.search, after a warm-up), batched throughput (all queries in one call on
 * `threads` threads, repeated ≥ 1 s) and recall@k. FAISS runs per distinct (M, efC) of the f32 builds.
 *
 *   node --import tsx bench/serve/ann.bench.ts [--rows 500000] [--dim 128] [--queries 1000] [--k 10]
 *     [--threads 2] [--builds M:efC:quant[:metric],… (default 16:128:f32:cos,16:128:f32:ip,16:128:f16:cos,
 *     16:128:i8:cos,12:64:f32:cos)] [--ef 16,24,32,48,64]
 *     [--metric cos|ip] [--faiss true|false] [--python /usr/bin/python3] [--seed 1] [--keep DIR]
 *
 * --keep DIR keeps the vectors, exact neighbours and built indexes in DIR and reuses them on the next run with
 * the same sizes (the build figures are then the recorded ones of that build, marked in the output). The FAISS
 * index is kept as DIR/faiss-<M>-<efC>.index (faiss_hnsw.py --index; reused when its sidecar records the same
 * M, efC, rows and dim).
 *
 * Prints one table (usearch and FAISS rows side by side), the settings chosen for the target
 * (p50 ≤ 0.2 ms at recall@k ≥ 0.95) and, as the last line, one JSON object with every figure.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusteredVectors } from '../../src/graphs/synthetic-vectors.js';
import { AnnIndex, type AnnMetric, type AnnQuantization } from '../../src/graphs/ann-index.js';
import { shutdownPool } from '../../src/core/pool.js';
import { compareTopK, exactTopK, naiveTopK, recallAtK, type TopK } from './exact-search.js';
import { annTable, type AnnRow } from './tables.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}


interface WorkerJob {
  dir: string;
  rows: number;
  dim: number;
  queries: number;
  k: number;
  threads: number;
  metric: AnnMetric;
  quantization: AnnQuantization;
  connectivity: number;
  expansionAdd: number;
  efs: number[];
  /** keep built indexes in `dir` and reuse them (with their recorded build figures) on the next run */
  reuse: boolean;
}

/** Figures of a build, kept beside a reused index. */
interface BuildInfo {
  buildSeconds: number;
  rssGrowthMB: number;
  builtAt: string;
  /** 1-minute load average at the start or end of the build, whichever was higher */
  load: number;
}

const MB = 1024 * 1024;
const here = fileURLToPath(new URL('.', import.meta.url));

function quantile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}
function readI32(path: string): Int32Array {
  const b = readFileSync(path);
  return new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}
function writeTyped(path: string, a: Float32Array | Int32Array): void {
  writeFileSync(path, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

/** Child side: build one index, then measure it at every ef. Prints one JSON line per ef. */
async function worker(job: WorkerJob): Promise<void> {
  const { dir, rows, dim: d, queries: q, k } = job;
  const base = readF32(join(dir, 'base.f32'));
  const queries = readF32(join(dir, 'queries.f32'));
  const exact: TopK = { k, ids: readI32(join(dir, 'exact_ids.i32')), scores: readF32(join(dir, 'exact_scores.f32')) };
  const path = join(dir, `usearch-${job.connectivity}-${job.expansionAdd}-${job.quantization}-${job.metric}.usearch`);
  const buildInfoPath = `${path}.build.json`;
  let build: BuildInfo;
  let cached = false;
  if (job.reuse && existsSync(buildInfoPath) && existsSync(path)) {
    build = JSON.parse(readFileSync(buildInfoPath, 'utf8')) as BuildInfo;
    cached = true;
    console.error(`  reusing the index built at ${build.builtAt} in ${build.buildSeconds.toFixed(1)} s (load then ${build.load.toFixed(2)})`);
  } else {
    const rss0 = process.memoryUsage().rss;
    const load = loadavg()[0];
    const t0 = performance.now();
    const index = AnnIndex.build(base, {
      dimensions: d,
      metric: job.metric,
      quantization: job.quantization,
      connectivity: job.connectivity,
      expansionAdd: job.expansionAdd,
      expansionSearch: Math.max(...job.efs),
      threads: job.threads,
    });
    const buildSeconds = (performance.now() - t0) / 1000;
    build = { buildSeconds, rssGrowthMB: (process.memoryUsage().rss - rss0) / MB, builtAt: new Date().toISOString(), load: Math.max(load, loadavg()[0]) };
    await index.save(path);
    writeFileSync(buildInfoPath, JSON.stringify(build));
    console.error(`  built in ${buildSeconds.toFixed(1)} s (load ${loadavg()[0].toFixed(2)})`);
  }
  const { buildSeconds, rssGrowthMB } = build;
  const indexMB = statSync(path).size / MB;
  for (const ef of job.efs) {
    const view = await AnnIndex.view(path, { expansionSearch: ef, threads: job.threads });
    const one = (t: number): Int32Array => view.search(queries.subarray(t * d, (t + 1) * d), k).keys;
    for (let t = 0; t < Math.min(q, 300); t++) one(t); // warm-up: page in the mapped file, JIT
    const lat = new Float64Array(q);
    const found = new Int32Array(q * k);
    for (let t = 0; t < q; t++) {
      const s = process.hrtime.bigint();
      const keys = one(t);
      lat[t] = Number(process.hrtime.bigint() - s) / 1e6;
      found.set(keys, t * k);
    }
    lat.sort();
    const recall = recallAtK(found, exact, base, queries, q, d);
    let batches = 0;
    const b0 = performance.now();
    while (performance.now() - b0 < 1000 || batches < 2) {
      view.search(queries, k);
      batches++;
    }
    const batchQps = (batches * q) / ((performance.now() - b0) / 1000);
    const row: AnnRow = {
      engine: 'usearch',
      metric: job.metric,
      quantization: job.quantization,
      connectivity: job.connectivity,
      expansionAdd: job.expansionAdd,
      expansionSearch: ef,
      buildSeconds,
      buildCached: cached,
      indexMB,
      rssGrowthMB,
      p50Ms: quantile(lat, 0.5),
      p99Ms: quantile(lat, 0.99),
      batchQps,
      recall,
    };
    console.log(JSON.stringify(row));
  }
  if (!job.reuse) for (const f of [path, `${path}.json`, buildInfoPath]) rmSync(f, { force: true });
}

/** Runs a child and returns the AnnRow JSON lines of its stdout (its stderr passes through). */
function runChild(cmd: string, args: string[]): Promise<AnnRow[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const rows: AnnRow[] = [];
    let pending = '';
    const take = (line: string): void => {
      const s = line.trim();
      if (!s) return;
      if (!s.startsWith('{')) return console.log(`  ${s}`);
      const r = JSON.parse(s) as AnnRow;
      rows.push(r);
      console.log(
        `  ${r.engine} ef=${r.expansionSearch}: p50 ${r.p50Ms.toFixed(3)} ms, p99 ${r.p99Ms.toFixed(3)} ms, ${r.batchQps.toFixed(0)} q/s batched, ` +
          `recall ${r.recall.toFixed(4)} (load ${loadavg()[0].toFixed(2)})`,
      );
    };
    child.stdout.on('data', (b: Buffer) => {
      pending += b.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(take);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      take(pending);
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`));
      resolve(rows);
    });
  });
}

async function main(): Promise<void> {
  const workerArg = arg('worker', '');
  if (workerArg) return worker(JSON.parse(readFileSync(workerArg, 'utf8')) as WorkerJob);

  const rows = Number(arg('rows', '500000'));
  const dim = Number(arg('dim', '128'));
  const q = Number(arg('queries', '1000'));
  const k = Number(arg('k', '10'));
  const threads = Number(arg('threads', '2'));
  const metric = arg('metric', 'cos') as AnnMetric;
  const seed = Number(arg('seed', '1'));
  const withFaiss = arg('faiss', 'true') !== 'false';
  const efs = arg('ef', '16,24,32,48,64').split(',').map(Number);
  const builds = arg('builds', '16:128:f32:cos,16:128:f32:ip,16:128:f16:cos,16:128:i8:cos,12:64:f32:cos')
    .split(',')
    .map((s) => {
      const [m, efc, quant, met] = s.split(':');
      return { connectivity: Number(m), expansionAdd: Number(efc), quantization: (quant ?? 'f32') as AnnQuantization, metric: (met ?? metric) as AnnMetric };
    });
  const keep = arg('keep', '');
  // Debian's python3-faiss lives in the system interpreter's dist-packages (a pyenv `python3` on PATH does not see it)
  const python = arg('python', process.env.PLOTPOINTE_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'));
  const dir = keep || mkdtempSync(join(tmpdir(), 'pp-ann-bench-'));
  mkdirSync(dir, { recursive: true });
  console.log(
    `ann bench: ${rows} × ${dim} base, ${q} held-out queries, k=${k}, metric ${metric}, ${threads} threads; ` +
      `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB, node ${process.version}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );
  try {
    const dataInfo = JSON.stringify({ rows, dim, q, k, seed });
    const dataInfoPath = join(dir, 'data.json');
    let exactSeconds = NaN;
    let check = { sameRows: NaN, maxScoreDiff: NaN };
    if (keep && existsSync(dataInfoPath) && readFileSync(dataInfoPath, 'utf8') === dataInfo) {
      const saved = JSON.parse(readFileSync(join(dir, 'exact.json'), 'utf8')) as { exactSeconds: number; check: typeof check };
      ({ exactSeconds, check } = saved);
      console.log(`reusing the vectors and exact neighbours in ${dir} (exact search took ${exactSeconds.toFixed(1)} s; check ${JSON.stringify(check)})`);
    } else {
      let t0 = performance.now();
      const { vectors } = clusteredVectors(rows + q, dim, { seed });
      const base = vectors.subarray(0, rows * dim);
      const queries = vectors.subarray(rows * dim);
      console.log(`generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

      t0 = performance.now();
      const exact = exactTopK(base, rows, dim, queries, q, k);
      exactSeconds = (performance.now() - t0) / 1000;
      const checkQ = Math.min(10, q);
      const naive = naiveTopK(base, rows, dim, queries.subarray(0, checkQ * dim), checkQ, k);
      const sub: TopK = { k, ids: exact.ids.subarray(0, checkQ * k), scores: exact.scores.subarray(0, checkQ * k) };
      check = compareTopK(sub, naive, checkQ);
      console.log(
        `exact top-${k} of ${q} queries (blocked matmul + heap) in ${exactSeconds.toFixed(1)} s; ` +
          `vs float64 loop on ${checkQ} queries: ${(check.sameRows * 100).toFixed(0)}% identical rows, max |Δscore| ${check.maxScoreDiff.toExponential(1)}`,
      );
      if (check.sameRows < 1 || check.maxScoreDiff > 1e-4) throw new Error('exact search disagrees with the float64 brute force');

      writeTyped(join(dir, 'base.f32'), base);
      writeTyped(join(dir, 'queries.f32'), queries);
      writeTyped(join(dir, 'exact_ids.i32'), exact.ids);
      writeTyped(join(dir, 'exact_scores.f32'), exact.scores);
      writeFileSync(join(dir, 'exact.json'), JSON.stringify({ exactSeconds, check }));
      writeFileSync(dataInfoPath, dataInfo);
      await shutdownPool();
    }

    const results: AnnRow[] = [];
    for (const b of builds) {
      const job: WorkerJob = { dir, rows, dim, queries: q, k, threads, ...b, efs, reuse: Boolean(keep) };
      const jobPath = join(dir, `job-${b.connectivity}-${b.expansionAdd}-${b.quantization}-${b.metric}.json`);
      writeFileSync(jobPath, JSON.stringify(job));
      console.log(`usearch M=${b.connectivity} efC=${b.expansionAdd} ${b.quantization} ${b.metric}: building (load ${loadavg()[0].toFixed(2)}) …`);
      results.push(...(await runChild(process.execPath, ['--import', 'tsx', join(here, 'ann.bench.ts'), '--worker', jobPath])));
    }
    if (withFaiss) {
      const seen = new Set<string>();
      for (const b of builds) {
        const key = `${b.connectivity}:${b.expansionAdd}`;
        if (b.quantization !== 'f32' || seen.has(key)) continue;
        seen.add(key);
        console.log(`faiss M=${b.connectivity} efC=${b.expansionAdd}: building (load ${loadavg()[0].toFixed(2)}) …`);
        try {
          results.push(
            ...(await runChild(python, [
              join(here, 'faiss_hnsw.py'),
              '--dir', dir,
              '--rows', String(rows),
              '--dim', String(dim),
              '--queries', String(q),
              '--k', String(k),
              '--threads', String(threads),
              '--M', String(b.connectivity),
              '--efc', String(b.expansionAdd),
              '--ef', efs.join(','),
              ...(keep ? ['--index', join(dir, `faiss-${b.connectivity}-${b.expansionAdd}.index`)] : []),
            ])),
          );
        } catch (err) {
          console.log(`faiss failed: ${(err as Error).message.split('\n')[0]}`);
        }
      }
    }
    results.sort(
      (a, b) =>
        a.connectivity - b.connectivity ||
        a.expansionAdd - b.expansionAdd ||
        a.quantization.localeCompare(b.quantization) ||
        a.metric.localeCompare(b.metric) ||
        a.expansionSearch - b.expansionSearch ||
        a.engine.localeCompare(b.engine),
    );
    console.log('');
    console.log(annTable(results, k));
    const ok = results.filter((r) => r.engine === 'usearch' && r.p50Ms <= 0.2 && r.recall >= 0.95);
    const best = ok.sort((a, b) => a.p50Ms - b.p50Ms)[0];
    console.log(
      best
        ? `\nfastest usearch setting meeting p50 ≤ 0.2 ms at recall@${k} ≥ 0.95: M=${best.connectivity} efC=${best.expansionAdd} ef=${best.expansionSearch} ${best.quantization} ${best.metric} ` +
            `(p50 ${best.p50Ms.toFixed(3)} ms, p99 ${best.p99Ms.toFixed(3)} ms, recall ${best.recall.toFixed(4)})`
        : `\nno usearch setting met p50 ≤ 0.2 ms at recall@${k} ≥ 0.95`,
    );
    console.log(JSON.stringify({ bench: 'ann', rows, dim, queries: q, k, threads, metric, exactSeconds, exactCheck: check, load: loadavg(), results }));
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
