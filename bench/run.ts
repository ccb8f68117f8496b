/**
 * `npm run bench`: every benchmark, one after the other (they share 2 cores, so never in parallel), each in
 * its own process so one's memory does not weigh on the next. Each prints its figures; this script prints a
 * closing line per benchmark with its exit status and wall time. `npm run bench -- ingest core` runs a subset.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';

const BENCHES: Record<string, string> = {
  ingest: 'bench/ingest.bench.ts',
  'demo-gen': 'bench/demo-gen.ts',
  core: 'bench/core/spmm.bench.ts',
  eval: 'bench/eval/full-ranking.bench.ts',
  embed: 'bench/embeddings/embed.bench.ts',
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : Object.keys(BENCHES);
console.log(`benchmarks on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const results: string[] = [];
let failed = 0;
for (const name of names) {
  const file = BENCHES[name];
  if (!file) {
    console.error(`unknown benchmark ${name} (known: ${Object.keys(BENCHES).join(', ')})`);
    process.exit(2);
  }
  console.log(`\n== ${name} (${file})`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit' });
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  if (r.status !== 0) failed++;
  results.push(`${name}: ${r.status === 0 ? 'ok' : `failed (${r.status})`} in ${s} s`);
}
console.log('\n' + results.join('\n'));
process.exit(failed ? 1 : 0);
