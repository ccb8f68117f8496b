/**
 * HTTP serving at catalogue scale: a synthetic bundle of 500,000 items × 128-d and 100,000 users
 * (bench/serve/synthetic-bundle.ts, written with the serving helper's `writeServingBundle` into a lake folder as
 * the bundle of run `bench-synthetic` of dataset `bench`), served by the real `plotpointe serve --run
 * bench-synthetic --port 0` in a child process (default config: request log to DuckDB, explanations), loaded
 * on loopback — server and load share the machine's cores. The load generator (`--client`, default auto) is wrk
 * (C, one thread, a Lua script written to a temp dir for the run) when `wrk` is on PATH, else autocannon in this
 * Node process, which costs ~0.1 ms of CPU per request that the server then lacks (`apt-get install wrk`).
 *
 * Scenarios (each: `--warmup` seconds unmeasured, then `--duration` seconds measured, `--connections`
 * keep-alive connections, a fresh random id per request):
 *   similar          GET /v1/items/{id}/similar?k=20            target ≥ 5,000 req/s, p99 ≤ 10 ms
 *   recommendations  GET /v1/users/{id}/recommendations?k=20    target ≥ 3,000 req/s, p99 ≤ 15 ms
 * Latency is per request on its connection, from writing the request to reading the whole response: with
 * autocannon from its `response` event (float ms; its own histogram rounds to whole ms), with wrk from its
 * per-request histogram (µs resolution), which wrk times the same way (request write to response read, per
 * connection). Also reported: errors (connection errors and timeouts; wrk: connect + read + write + timeout),
 * timeouts, non-2xx responses (wrk counts status ≥ 400), the CPU seconds the server used per second of the run
 * (its share of the 2 cores; the server process and all its descendants, so cluster workers count) and per
 * request (CPU ms/req: what a request costs the server, less sensitive to other load on a shared machine than
 * req/s; 1000 / it bounds the req/s of one fully available core). req/s is over the run's wall time (wrk's own
 * measured duration; around the autocannon call). Before the load, the routes' ServedModel calls are timed in
 * this process without HTTP (handler µs per call), which separates the search from the framework's cost.
 *
 *   node --import tsx bench/serve/http.bench.ts [--items 500000] [--users 100000] [--dim 128] [--duration 15]
 *     [--warmup 3] [--connections 16] [--client wrk|autocannon|auto] [--lake DIR] [--rebuild]
 *     [--only similar|recommendations]
 *     [--server-log-level info|warn|…] [--workers 0] [--server-args "<extra serve args>"] [--cpu-prof DIR] [--handler-calls 2000]
 *     [--graph-index <ann.bench --keep dir>/usearch-16-128-f32-cos.usearch [--ann-queries 1000] [--ef 32]]
 *     [--similar-k 50] [--request-log on|off|both]
 *
 * The bundle carries precomputed similar tables (index.similar_k, K = --similar-k; 0 = the bundle's as they
 * are): similar?k=20 is a table lookup, as it is after `plotpointe index build`.
 *
 * The lake with the bundle is cached under $TMPDIR/pp-serve-bench/ (pass --rebuild to write it again). The server
 * logs at `--server-log-level` (default info, the CLI default: one pino line per request on its stderr, discarded
 * here). The server runs `--workers N` API processes (default 0: one per CPU core — a cluster sharing the port, as
 * `plotpointe serve --workers 0` on a multi-core machine; 1 = one process). `--server-args "…"` is split on whitespace
 * and appended to the serve command line.
 * `--request-log both` runs every scenario twice, on a server with the request log and on one started with
 * `serve.request_log: false` (e.g. `--workers 2 --request-log both`: what a worker's rows to the primary cost per request).
 * The last line is one JSON object with every figure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { treeCpuSeconds } from '../proc-cpu.js';
import { writeServingBundle, type ServingManifest } from '../../src/index/serving-bundle.js';
import { openServingBundle } from '../../src/index/serving-bundle.js';
import type { AnnIndexMeta } from '../../src/graphs/ann-index.js';
import { ServedModel } from '../../src/serving/served-model.js';
import { graphSimilarTable, readSimilarTables, writeSimilarTables } from '../../src/index/similar-table.js';
import { withTitles } from '../../src/serving/routes/shared.js';
import { syntheticBundleInput } from './synthetic-bundle.js';
import { httpTable, type HttpRow } from './tables.js';
import { datasetPaths } from '../../src/lake/paths.js';
import { fileChecksums, verifyChecksums } from '../../src/index/bundle-checksums.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);


const here = fileURLToPath(new URL('.', import.meta.url));
/** The bundle sits in the lake as run RUN of dataset DATASET (no run store needed when --run is given). */
const DATASET = 'bench';
const RUN = 'bench-synthetic';


/**
 * Writes (or reuses) the synthetic bundle. With `prebuiltGraphIndex` (an index saved by ann.bench.ts --keep over
 * the same vectors), the bundle is written by writeServingBundle with a throw-away graph index (M 2, efC 1: the
 * writer always builds one) which is then replaced by the prebuilt one (same AnnIndex wrapper, default
 * settings; metric cos, equal to ip on these unit vectors), its query-time ef set to `ef`, and the manifest
 * updated — so a shared, overloaded machine does not have to build the same 500K index twice.
 */
async function ensureBundle(
  dir: string,
  items: number,
  users: number,
  dim: number,
  rebuild: boolean,
  prebuilt: { path: string; annQueries: number; ef: number } | null,
  similarK: number,
): Promise<ServingManifest> {
  if (!rebuild && existsSync(join(dir, 'manifest.json'))) {
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ServingManifest;
    if (m.num_items === items && m.num_users === users && m.dim === dim) {
      console.log(`reusing the bundle in ${dir} (built ${m.created_at}, ${m.build_seconds.toFixed(0)} s)`);
      await ensureSimilarTables(dir, m, similarK);
      return m;
    }
  }
  let t0 = performance.now();
  const input = syntheticBundleInput({ items, users, dim, annBenchQueries: prebuilt?.annQueries });
  console.log(`generated ${items} items × ${users} users × ${dim}-d in ${((performance.now() - t0) / 1000).toFixed(1)} s; writing the bundle …`);
  t0 = performance.now();
  let last = 0;
  let manifest = await writeServingBundle(dir, input, {
    threads: 2,
    // with a prebuilt graph index the similar tables are computed from it below, not from the throw-away one
    ...(prebuilt ? { connectivity: 2, expansionAdd: 1, similarK: 0 } : { similarK }),
    onProgress: (stage, done, total) => {
      if (performance.now() - last > 15000 || done === total) {
        last = performance.now();
        console.log(`  ${stage} ${done}/${total} at ${((performance.now() - t0) / 1000).toFixed(0)} s (load ${loadavg()[0].toFixed(2)})`);
      }
    },
  });
  if (prebuilt) {
    const entry = manifest.indexes.graph!;
    const target = join(dir, entry.file);
    copyFileSync(prebuilt.path, target);
    const meta = JSON.parse(readFileSync(`${prebuilt.path}.json`, 'utf8')) as AnnIndexMeta;
    if (meta.size !== items || meta.dimensions !== dim) throw new Error(`${prebuilt.path} holds ${meta.size} × ${meta.dimensions}, not ${items} × ${dim}`);
    meta.expansionSearch = prebuilt.ef;
    writeFileSync(`${target}.json`, JSON.stringify(meta, null, 2) + '\n');
    const build = JSON.parse(readFileSync(`${prebuilt.path}.build.json`, 'utf8')) as { buildSeconds: number };
    entry.params = { connectivity: meta.connectivity, expansionAdd: meta.expansionAdd, expansionSearch: meta.expansionSearch, quantization: meta.quantization };
    entry.build_seconds = build.buildSeconds;
    manifest = { ...manifest, build_seconds: manifest.build_seconds + build.buildSeconds };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    await resealManifest(dir);
    console.log(`graph index: the ann bench's ${prebuilt.path} (M ${meta.connectivity}, efC ${meta.expansionAdd}, ef ${meta.expansionSearch}, ${meta.quantization}, ${meta.metric})`);
    await ensureSimilarTables(dir, manifest, similarK);
  }
  console.log(`bundle written in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${dir}`);
  return manifest;
}

/**
 * Adds the precomputed similar tables (K = similarK, src/index/similar-table.ts) to a bundle that lacks them
 * (a cached bundle, or one whose graph index was swapped in), from its graph index in one batched search.
 */
async function ensureSimilarTables(dir: string, manifest: ServingManifest, similarK: number): Promise<void> {
  if (similarK <= 0) return;
  const existing = await readSimilarTables(dir, manifest.num_items);
  if (existing.graph && existing.graph.k >= similarK) {
    console.log(`similar tables: reusing graph K ${existing.graph.k}`);
    // A cache whose tables an older version of this script wrote after the manifest: its checksums are stale.
    if (manifest.files) await verifyChecksums(dir, manifest.files).catch(() => resealManifest(dir));
    return;
  }
  const bundle = await openServingBundle(dir, { threads: 2 });
  const t0 = performance.now();
  let last = 0;
  const t = graphSimilarTable(bundle.indexes.graph!, bundle.items, manifest.dim, {
    k: similarK,
    threads: 2,
    onProgress: (stage, done, total) => {
      if (performance.now() - last > 15000) {
        last = performance.now();
        console.log(`  ${stage} ${done}/${total} at ${((performance.now() - t0) / 1000).toFixed(0)} s (load ${loadavg()[0].toFixed(2)})`);
      }
    },
  });
  await writeSimilarTables(dir, { graph: { ...t, seconds: (performance.now() - t0) / 1000 } });
  await resealManifest(dir);
  console.log(`similar tables: graph K ${similarK} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

/**
 * Records the sizes and sha256 of the bundle's files again after this script changed some (similar tables, a
 * swapped-in graph index): the server checks them before it serves a bundle (src/serving/bundle-check.ts).
 */
async function resealManifest(dir: string): Promise<void> {
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ServingManifest;
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...m, files: await fileChecksums(dir) }, null, 2) + '\n');
}

/**
 * The handlers' work without HTTP: the same ServedModel calls the two routes make (similar in model space with
 * titles; recommendations with exclude_seen and explanations, with titles), `calls` random ids each, one at a
 * time in this process. Returns µs per call (p50 and mean) — what the search and the response objects cost
 * before Fastify, serialisation, logging and the socket.
 */
async function handlerCosts(bundleDir: string, calls: number): Promise<Record<string, { p50Us: number; meanUs: number }>> {
  const bundle = await openServingBundle(bundleDir, { threads: 1 });
  const model = new ServedModel(bundle, { explainHistory: 200, similarTables: await readSimilarTables(bundleDir, bundle.manifest.num_items) });
  const nI = model.numItems;
  const nU = model.numUsers;
  const work: Record<string, () => unknown> = {
    similar: () => withTitles(model, model.similar(model.requireItem(`I${Math.floor(Math.random() * nI)}`), 'graph', 20)),
    recommendations: () => {
      const uid = model.requireUser(`U${Math.floor(Math.random() * nU)}`);
      const history = model.history(uid);
      return withTitles(model, model.recommend(model.userVector(uid), 20, history, { history, attentionFrom: bundle.history.indptr[uid] }));
    },
  };
  const out: Record<string, { p50Us: number; meanUs: number }> = {};
  for (const [name, fn] of Object.entries(work)) {
    for (let i = 0; i < 200; i++) fn(); // warm-up
    const t = new Float64Array(calls);
    for (let i = 0; i < calls; i++) {
      const s = process.hrtime.bigint();
      fn();
      t[i] = Number(process.hrtime.bigint() - s) / 1000;
    }
    const mean = t.reduce((a, b) => a + b, 0) / calls;
    t.sort();
    out[name] = { p50Us: q(t, 0.5), meanUs: mean };
  }
  return out;
}

/**
 * Starts `plotpointe serve` on a free port, with `extraArgs` (--workers N and --server-args) appended to its
 * command line, and resolves with its base URL once it answers /readyz.
 */
async function startServer(lake: string, logLevel: string, cpuProfDir: string, extraArgs: string[]): Promise<{ child: ChildProcess; url: string }> {
  const nodeArgs = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
  const bin = join(here, '..', '..', 'bin', 'plotpointe.mjs');
  const args = ['serve', '--lake', lake, '--name', DATASET, '--run', RUN, '--port', '0', '--log-level', logLevel, ...extraArgs];
  const child = spawn(process.execPath, [...nodeArgs, bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PLOTPOINTE_CORE_THREADS: '1' },
  });
  // keep the tail of the server's log (pino lines on stderr) to show when it fails
  let tail = '';
  child.stderr!.on('data', (b: Buffer) => {
    tail = (tail + b.toString()).slice(-4000);
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') console.log(`server exited with ${code ?? signal}; its last log lines:\n${tail}`);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const onData = (b: Buffer): void => {
      buf += b.toString();
      const m = /listening on (http:\/\/[^\s,)]+)/.exec(buf);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.resume(); // keep draining
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited with ${code} before listening:\n${buf}`)));
  });
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${url}/readyz`).catch(() => null);
    if (r?.ok) return { child, url };
    await new Promise((r2) => setTimeout(r2, 200));
  }
  child.kill('SIGKILL');
  throw new Error('server never became ready');
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(timer);
}

/** The load generators the bench can drive. */
type Client = 'wrk' | 'autocannon';

/** What one load run measured (latencies in ms; errors include timeouts, as autocannon counts them). */
interface Load {
  requests: number;
  seconds: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}

/** Request paths of a scenario: `pattern` with `{id}` replaced by a uniformly random integer in [0, n). */
interface PathPattern {
  pattern: string;
  n: number;
}

const randomPath = (p: PathPattern): string => p.pattern.replace('{id}', String(Math.floor(Math.random() * p.n)));

/** One autocannon run with a random path per request; latencies from the response events. */
function runAutocannon(url: string, paths: PathPattern, seconds: number, connections: number): Promise<Load> {
  return new Promise((resolve, reject) => {
    const lat: number[] = [];
    const t0 = performance.now();
    const instance = autocannon(
      {
        url,
        connections,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
        requests: [
          {
            method: 'GET',
            setupRequest: (req: Record<string, unknown>) => ({ ...req, path: randomPath(paths) }),
          },
        ],
      },
      (err: Error | null, result: autocannon.Result) => {
        if (err) return reject(err);
        const sorted = Float64Array.from(lat).sort();
        resolve({
          requests: lat.length,
          seconds: (performance.now() - t0) / 1000,
          p50Ms: q(sorted, 0.5),
          p90Ms: q(sorted, 0.9),
          p99Ms: q(sorted, 0.99),
          maxMs: sorted.length ? sorted[sorted.length - 1] : NaN,
          errors: result.errors,
          timeouts: result.timeouts,
          non2xx: result.non2xx,
        });
      },
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      lat.push(responseTime);
    });
  });
}

/**
 * The wrk script: each request GETs `prefix .. id .. suffix` with id uniform in [0, n) (init's args: prefix, n,
 * suffix, seed; math.random seeded per run), and done() writes one JSON line with the run's figures
 * (latency:percentile and latency.max are µs, summary.duration µs; errors.status counts responses ≥ 400).
 */
const WRK_SCRIPT = `-- written by bench/serve/http.bench.ts for one run, removed afterwards
local prefix, n, suffix
function init(args)
  prefix, n, suffix = args[1], tonumber(args[2]), args[3]
  math.randomseed(tonumber(args[4]))
  for _ = 1, 10 do math.random() end -- the first draws after seeding are poorly mixed
end
function request()
  return wrk.format("GET", prefix .. string.format("%d", math.random(0, n - 1)) .. suffix)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"seconds":%.6f,"p50Ms":%.4f,"p90Ms":%.4f,"p99Ms":%.4f,"maxMs":%.4f,"errors":%d,"timeouts":%d,"non2xx":%d}\\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.timeout, e.timeout, e.status))
end
`;

/**
 * One wrk run (`wrk -t1 -c<connections> -d<seconds>s --timeout 10s -s <script> <url> -- <args>`): one thread,
 * random paths from the script, figures from the JSON line its done() writes last.
 */
function runWrk(url: string, paths: PathPattern, seconds: number, connections: number, script: string): Promise<Load> {
  const [prefix, suffix] = paths.pattern.split('{id}');
  const seed = String(1 + Math.floor(Math.random() * 2 ** 31));
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', script, url, '--', prefix, String(paths.n), suffix, seed];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').filter((l) => l.startsWith('{"requests"')).pop();
      if (code !== 0 || !line) return reject(new Error(`wrk ${args.join(' ')} exited with ${code}: ${(err || out).trim().slice(-500)}`));
      const r = JSON.parse(line) as Load;
      const none = r.requests === 0; // wrk reports 0 percentiles for an empty histogram
      resolve({ ...r, ...(none ? { p50Ms: NaN, p90Ms: NaN, p99Ms: NaN, maxMs: NaN } : {}) });
    });
  });
}

/** Whether `cmd` is an executable file in a directory of PATH. */
function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => {
    try {
      accessSync(join(d || '.', cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const q = (sorted: Float64Array, p: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN);

async function main(): Promise<void> {
  const items = Number(arg('items', '500000'));
  const users = Number(arg('users', '100000'));
  const dim = Number(arg('dim', '128'));
  const duration = Number(arg('duration', '15'));
  const warmup = Number(arg('warmup', '3'));
  const connections = Number(arg('connections', '16'));
  const only = arg('only', '');
  const cpuProf = arg('cpu-prof', '');
  // one cached lake per prebuilt index (f32 and f16 builds of the ann bench give different bundles)
  const prebuiltName = arg('graph-index', '') ? `-${basename(arg('graph-index', ''), '.usearch')}` : '';
  const lake = arg('lake', join(tmpdir(), 'pp-serve-bench', `lake-${items}x${dim}-u${users}${prebuiltName}`));
  const bundleDir = datasetPaths(lake, DATASET).run(RUN).serving;
  const serverLogLevel = arg('server-log-level', 'info');
  // --workers (default 0 = one API process per core, `serve --workers 0`): one Node process answers on one core
  const workers = arg('workers', '0');
  const serverArgs = ['--workers', workers, ...arg('server-args', '').split(/\s+/).filter(Boolean)];
  const clientArg = arg('client', 'auto');
  if (!['wrk', 'autocannon', 'auto'].includes(clientArg)) throw new Error(`--client ${clientArg}: expected wrk, autocannon or auto`);
  const hasWrk = onPath('wrk');
  if (clientArg === 'wrk' && !hasWrk) throw new Error('--client wrk: wrk is not on PATH (Debian: apt-get install wrk)');
  const client: Client = clientArg === 'auto' ? (hasWrk ? 'wrk' : 'autocannon') : (clientArg as Client);
  console.log(
    `http bench: ${items} items × ${dim}-d, ${users} users; ${connections} connections, ${warmup} s warm-up + ${duration} s per scenario; ` +
      `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB, node ${process.version}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );
  const graphIndex = arg('graph-index', '');
  const prebuilt = graphIndex ? { path: graphIndex, annQueries: Number(arg('ann-queries', '1000')), ef: Number(arg('ef', '32')) } : null;
  const manifest = await ensureBundle(bundleDir, items, users, dim, flag('rebuild'), prebuilt, Number(arg('similar-k', '50')));
  const nI = manifest.num_items;
  const nU = manifest.num_users;
  const scenarios = [
    { scenario: 'similar', path: '/v1/items/{id}/similar?k=20', paths: { pattern: '/v1/items/I{id}/similar?k=20', n: nI }, targetReqPerSec: 5000, targetP99Ms: 10 },
    {
      scenario: 'recommendations',
      path: '/v1/users/{id}/recommendations?k=20',
      paths: { pattern: '/v1/users/U{id}/recommendations?k=20', n: nU },
      targetReqPerSec: 3000,
      targetP99Ms: 15,
    },
  ].filter((s) => !only || s.scenario === only);
  console.log(
    client === 'wrk'
      ? `load generator: wrk (one thread, ${connections} connections)`
      : `load generator: autocannon in this process${clientArg === 'auto' ? ' (wrk is not on PATH: apt-get install wrk would give the server more of the CPU)' : ''}`,
  );

  const handlers = await handlerCosts(bundleDir, Number(arg('handler-calls', '2000')));
  console.log(
    `handler work without HTTP (µs per call, p50 / mean): ` +
      Object.entries(handlers).map(([n, h]) => `${n} ${h.p50Us.toFixed(0)} / ${h.meanUs.toFixed(0)}`).join(', ') +
      ` (load ${loadavg()[0].toFixed(2)})`,
  );
  const rows: HttpRow[] = [];
  // --request-log on|off|both: the server with the request log (default) and/or without it (serve.request_log
  // false): the difference in server CPU per request is what the log costs (in a cluster: rows shipped to the primary).
  const logModes = (arg('request-log', 'on') === 'both' ? ['on', 'off'] : [arg('request-log', 'on')]) as ('on' | 'off')[];
  if (logModes.some((m) => m !== 'on' && m !== 'off')) throw new Error(`--request-log ${arg('request-log', '')}: expected on, off or both`);
  const configDir = mkdtempSync(join(tmpdir(), 'pp-http-config-'));
  for (const logMode of logModes) {
    let modeArgs = serverArgs;
    if (logMode === 'off') {
      writeFileSync(join(configDir, 'no-request-log.json'), JSON.stringify({ 'serve.request_log': false }));
      modeArgs = [...serverArgs, '--config', join(configDir, 'no-request-log.json')];
    }
    const t0 = performance.now();
    const { child, url } = await startServer(lake, serverLogLevel, cpuProf, modeArgs);
    console.log(`plotpointe serve (log level ${serverLogLevel}, request log ${logMode}${modeArgs.length ? `, extra args ${modeArgs.join(' ')}` : ''}) ready at ${url} in ${((performance.now() - t0) / 1000).toFixed(1)} s (pid ${child.pid})`);
    const scriptDir = client === 'wrk' ? mkdtempSync(join(tmpdir(), 'pp-http-wrk-')) : '';
    const script = join(scriptDir, 'random-path.lua');
    if (scriptDir) writeFileSync(script, WRK_SCRIPT);
    const runLoad = (paths: PathPattern, seconds: number): Promise<Load> =>
      client === 'wrk' ? runWrk(url, paths, seconds, connections, script) : runAutocannon(url, paths, seconds, connections);
    try {
      for (const s of scenarios) {
        // sanity: one request must succeed before we measure
        const probe = await fetch(url + randomPath(s.paths));
        if (!probe.ok) throw new Error(`${s.scenario}: probe answered ${probe.status}: ${(await probe.text()).slice(0, 300)}`);
        await probe.arrayBuffer();
        if (warmup > 0) await runLoad(s.paths, warmup);
        const cpu0 = treeCpuSeconds(child.pid!);
        const load = await runLoad(s.paths, duration);
        const serverCpu = treeCpuSeconds(child.pid!) - cpu0;
        const serverCpuShare = serverCpu / load.seconds;
        const reqPerSec = load.requests / load.seconds;
        const p99 = load.p99Ms;
        const row: HttpRow = {
          scenario: logModes.length > 1 ? `${s.scenario} (log ${logMode})` : s.scenario,
          requestLog: logMode,
          path: s.path,
          client,
          connections,
          seconds: load.seconds,
          requests: load.requests,
          reqPerSec,
          p50Ms: load.p50Ms,
          p90Ms: load.p90Ms,
          p99Ms: p99,
          maxMs: load.maxMs,
          errors: load.errors,
          timeouts: load.timeouts,
          non2xx: load.non2xx,
          serverCpuShare,
          serverCpuMsPerRequest: (serverCpu * 1000) / Math.max(1, load.requests),
          targetReqPerSec: s.targetReqPerSec,
          targetP99Ms: s.targetP99Ms,
          met: reqPerSec >= s.targetReqPerSec && p99 <= s.targetP99Ms && load.errors + load.timeouts + load.non2xx === 0,
        };
        rows.push(row);
        console.log(
          `${s.scenario} (request log ${logMode}): ${reqPerSec.toFixed(0)} req/s, p50 ${row.p50Ms.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${row.maxMs.toFixed(1)} ms, ` +
            `errors ${row.errors} (${row.timeouts} timeouts), non-2xx ${row.non2xx}, server CPU ${(serverCpuShare * 100).toFixed(0)}% = ${row.serverCpuMsPerRequest.toFixed(3)} ms per request (load ${loadavg()[0].toFixed(2)})`,
        );
      }
    } finally {
      await stopServer(child);
      if (scriptDir) rmSync(scriptDir, { recursive: true, force: true });
    }
  }
  rmSync(configDir, { recursive: true, force: true });
  if (logModes.length > 1) {
    for (const sc of scenarios) {
      const on = rows.find((r) => r.requestLog === 'on' && r.path === sc.path);
      const off = rows.find((r) => r.requestLog === 'off' && r.path === sc.path);
      if (on && off) console.log(`${sc.scenario}: the request log costs ${(on.serverCpuMsPerRequest - off.serverCpuMsPerRequest).toFixed(3)} server CPU ms per request (${on.serverCpuMsPerRequest.toFixed(3)} on, ${off.serverCpuMsPerRequest.toFixed(3)} off; load ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
    }
  }
  console.log('');
  console.log(httpTable(rows));
  console.log(JSON.stringify({ bench: 'http', items: nI, users: nU, dim, connections, duration, warmup, client, serverLogLevel, workers: Number(workers), serverArgs: serverArgs.join(' '), handlers, index: manifest.indexes.graph?.params, load: loadavg(), rows }));
}

await main().catch((err: unknown) => {
  console.error(`http bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
