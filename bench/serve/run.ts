/**
 * `npm run bench:serve`: the serving benchmarks of issue 5, one after the other, each in its own process.
 *
 *   1. bench/serve/ann.bench.ts  — in-process ANN (usearch sweep) vs exact search, FAISS HNSW side by side
 *   2. bench/serve/http.bench.ts — the real server (one API process per core) under wrk, or autocannon without
 *      wrk, on loopback (similar, recommendations)
 *
 * Prints `uptime` and the machine (cores, CPU model, RAM, node) first, every benchmark's own output as it runs,
 * then a summary: the ANN table, the HTTP table, and each target as met / missed.
 *
 *   npm run bench:serve -- [--only ann|http] [--ann "<args for ann.bench.ts>"] [--http "<args for http.bench.ts>"]
 *
 * The last line is one JSON object with the machine, the load before and after, and both benchmarks' figures.
 */
import { spawn, execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { annTable, httpTable, type AnnRow, type HttpRow } from './tables.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const here = fileURLToPath(new URL('.', import.meta.url));

/** Runs one bench script, passing its output through; resolves with its last JSON line. */
function runBench(script: string, args: string[]): Promise<Record<string, unknown> | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, script), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, PLOTPOINTE_CORE_THREADS: process.env.PLOTPOINTE_CORE_THREADS ?? '2' },
    });
    let last: Record<string, unknown> | null = null;
    let pending = '';
    child.stdout.on('data', (b: Buffer) => {
      pending += b.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('{"bench"')) last = JSON.parse(line) as Record<string, unknown>;
        else console.log(line);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (pending.startsWith('{"bench"')) last = JSON.parse(pending) as Record<string, unknown>;
      if (code !== 0) console.log(`${script} exited with ${code}`);
      resolve(last);
    });
  });
}

function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`;
  }
}

async function main(): Promise<void> {
  const only = arg('only', '');
  const machine = {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    ramGiB: Number((totalmem() / 1024 ** 3).toFixed(1)),
    node: process.version,
  };
  const uptimeBefore = uptime();
  console.log(`uptime: ${uptimeBefore}`);
  console.log(`machine: ${machine.cores} cores (${machine.cpu}), ${machine.ramGiB} GiB RAM, node ${machine.node}`);
  console.log('');
  const split = (s: string): string[] => s.split(/\s+/).filter(Boolean);
  const ann = only && only !== 'ann' ? null : await runBench('ann.bench.ts', split(arg('ann', '')));
  console.log('');
  const http = only && only !== 'http' ? null : await runBench('http.bench.ts', split(arg('http', '')));
  const uptimeAfter = uptime();

  console.log('\n=== bench:serve summary ===');
  console.log(`uptime before: ${uptimeBefore}`);
  console.log(`uptime after:  ${uptimeAfter}`);
  console.log(`machine: ${machine.cores} cores (${machine.cpu}), ${machine.ramGiB} GiB RAM, node ${machine.node}`);
  if (ann) {
    const results = ann.results as AnnRow[];
    console.log(`\nin-process ANN: ${String(ann.rows)} × ${String(ann.dim)}, ${String(ann.queries)} held-out queries, recall@${String(ann.k)} vs exact`);
    console.log(annTable(results, ann.k as number));
    const met = results.filter((r) => r.engine === 'usearch' && r.p50Ms <= 0.2 && r.recall >= 0.95);
    console.log(`target p50 ≤ 0.2 ms at recall@10 ≥ 0.95 (usearch): ${met.length ? `met by ${met.length} of ${results.filter((r) => r.engine === 'usearch').length} settings` : 'missed'}`);
  } else if (!only || only === 'ann') console.log('\nin-process ANN: no result');
  if (http) {
    console.log(`\nHTTP: ${String(http.items)} items, ${String(http.users)} users, ${String(http.connections)} connections, ${String(http.duration)} s per scenario`);
    console.log(httpTable(http.rows as HttpRow[]));
  } else if (!only || only === 'http') console.log('\nHTTP: no result');
  console.log(JSON.stringify({ bench: 'serve', machine, uptimeBefore, uptimeAfter, ann, http }));
}

await main();
