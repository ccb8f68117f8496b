import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { after } from 'node:test';
import { Redis } from 'ioredis';
import { checkRedis } from './executors/bullmq.js';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../test-support/fixtures.js';
import { isExcluded, listFiles, readCacheRecord } from './cache.js';
import type { PipelineReport } from './report.js';

/** Test helpers for the pipeline: a small, fast demo pipeline file, the real bin, output hashes. */

export const BIN = join(repoRoot, 'bin', 'plotpointe.mjs');

/**
 * Environment of pipeline test processes: the code version is pinned (other people edit the tree while the
 * tests run; an edit between two runs of one test would invalidate the cache for reasons the test is not
 * about) and training uses one thread.
 */
export const TEST_ENV = { ...process.env, PLOTPOINTE_PIPELINE_CODE_VERSION: 'pipeline-test', PLOTPOINTE_CORE_THREADS: '1' };

/** A pipeline file for a tiny demo lake (60 users, 40 items, 50 products; mf for 3 epochs, fusion for 5, 5-NN graphs) plus `extra` YAML lines. */
export function smallPipelineFile(dir: string, lake: string, extra: string[] = [], file = 'pipeline.yaml'): string {
  const path = join(dir, file);
  writeFileSync(
    path,
    [
      `lake: { dir: ${JSON.stringify(lake)} }`,
      'demo: { users: 60, items: 40, catalog_items: 50 }',
      'pipeline: { model: mf, model_params: "epochs=3,eval_every=1" }',
      'graph: { k: 5, recall_sample: 20 }',
      'steps: { fuse: { args: ["--epochs", "5", "--dim", "16", "--hidden", "32"] } }',
      ...extra,
    ].join('\n') + '\n',
  );
  return path;
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  json: Record<string, unknown> & Partial<PipelineReport>;
}

/** Runs the real `plotpointe` bin and parses its last stdout line. */
export function cli(args: string[], env: NodeJS.ProcessEnv = TEST_ENV): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, cwd: repoRoot });
  const lines = r.stdout.trimEnd().split('\n');
  let json: CliResult['json'] = {};
  try {
    json = JSON.parse(lines[lines.length - 1] ?? '{}');
  } catch {
    json = {};
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

/** Like `cli`, without blocking the event loop (output of other child processes keeps flowing meanwhile). */
export async function cliAsync(args: string[], env: NodeJS.ProcessEnv = TEST_ENV): Promise<CliResult> {
  const bg = cliBackground(args, env);
  const status = await bg.exit;
  const lines = bg.stdout().trimEnd().split('\n');
  let json: CliResult['json'] = {};
  try {
    json = JSON.parse(lines[lines.length - 1] ?? '{}');
  } catch {
    json = {};
  }
  return { status, stdout: bg.stdout(), stderr: bg.stderr(), json };
}

/** Starts the bin in the background (stderr collected). */
export function cliBackground(args: string[], env: NodeJS.ProcessEnv = TEST_ENV): { child: ChildProcess; stderr: () => string; stdout: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, stderr: () => err, stdout: () => out, exit };
}

/** Status of each step in a report: { demo: 'cached', split: 'ran', … }. */
export const statuses = (r: Partial<PipelineReport>) => Object.fromEntries((r.steps ?? []).map((s) => [s.step, s.status]));

/** Waits until `pred()` holds, polling every 50 ms; throws after `ms`. */
export async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The journal lines of a run. */
export function journalEvents(path: string): Array<Record<string, unknown>> {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch {
    return [];
  }
}

/**
 * Keys of JSON fields that record when, how fast or by which commit something ran (or how much came from a
 * cache), not what was computed; `artifactHashes` drops them before hashing JSON files. Every other byte counts.
 */
export const VOLATILE_JSON_KEY = /^(created_at|finished_at|started_at|seconds|.*_seconds|duration_ms|.*_per_s|usersPerSecond|cache_hits|encoded|code_version)$/;

/**
 * Files not byte-reproducible by their stage even between two local runs: usearch HNSW indexes are built
 * with one insertion thread per core, and the graph depends on the threads' interleaving (measured: three
 * `index build` runs of one run id gave three different index-graph.usearch files). Their settings sidecars
 * (`.usearch.json`) and every vector they index are compared.
 */
export const NOT_REPRODUCIBLE = /\.usearch$/;

/**
 * Keys that name a file whose bytes are not reproducible: `.usearch` indexes, and JSON files (they hold volatile
 * fields, and are compared without them). The serving manifest records size and sha256 of each bundle file under
 * its name; those entries are dropped with the rest of what varies.
 */
const UNSTABLE_FILE_KEY = /\.(usearch|json)$/;

/** A JSON value without its volatile fields, nor the entries keyed by an unstable file's name. */
function stripVolatile(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripVolatile);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([k]) => !VOLATILE_JSON_KEY.test(k) && !UNSTABLE_FILE_KEY.test(k))
        .map(([k, x]) => [k, stripVolatile(x)]),
    );
  }
  return v;
}

/**
 * sha256 of every file of every step's declared outputs in the report (read from the cache records), keyed by
 * lake-relative path with the train run id (when the report has a train step) replaced by RUN (run ids carry the
 * start time). JSON files are hashed without their volatile fields; everything else byte for byte.
 */
export async function artifactHashes(report: Partial<PipelineReport>): Promise<Record<string, string>> {
  const lake = report.lake!;
  const out: Record<string, string> = {};
  const train = report.steps!.find((s) => s.step === 'train');
  // Without a train step (a run of some steps only) there is no run id to replace.
  const runId = train ? String((await readCacheRecord(lake, 'train', train.key))?.result.run_id ?? 'none') : null;
  const unRun = (x: string) => (runId === null ? x : x.split(runId).join('RUN'));
  for (const s of report.steps ?? []) {
    const rec = await readCacheRecord(lake, s.step, s.key);
    if (!rec) throw new Error(`no cache record for ${s.step}`);
    for (const o of rec.outputs) {
      const abs = join(lake, o.path);
      const files = statSync(abs).isDirectory() ? (await listFiles(abs)).filter((rel) => !isExcluded(rel, o.exclude)).map((f) => join(o.path, f)) : [o.path];
      for (const f of files) {
        if (NOT_REPRODUCIBLE.test(f)) continue;
        const bytes = readFileSync(join(lake, f));
        // JSON: without volatile fields, and with the train run id (which carries its start time) as RUN.
        const body = f.endsWith('.json') ? unRun(JSON.stringify(stripVolatile(JSON.parse(bytes.toString('utf8'))))) : bytes;
        out[`${s.step}:${unRun(f)}`] = createHash('sha256').update(body).digest('hex');
      }
    }
  }
  return out;
}

/**
 * The setting of the distributed tests: the Redis of PLOTPOINTE_TEST_REDIS (or why they skip: unset or
 * unreachable), a key prefix of their own, a temp folder with a lake path, and `plotpointe worker` processes
 * started through the bin. Registers an `after` hook that stops the workers (their logs are kept as
 * worker-<i>.log in the folder) and deletes the prefix's keys.
 */
export async function redisTestbed(name: string) {
  const url = process.env.PLOTPOINTE_TEST_REDIS;
  let skip: string | false = url ? false : 'set PLOTPOINTE_TEST_REDIS=redis://127.0.0.1:6379 to run the distributed tests';
  if (url) {
    try {
      await checkRedis(url);
    } catch (err) {
      skip = `Redis at ${url} is unreachable (${(err as Error).message})`;
    }
  }
  const prefix = `pptest-${name}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const dir = tempDir(`pipeline-${name}`);
  const workers: ReturnType<typeof cliBackground>[] = [];
  after(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exit));
    workers.forEach((w, i) => writeFileSync(join(dir, `worker-${i}.log`), w.stderr()));
    if (!url || skip) return;
    const r = new Redis(url);
    const keys = await r.keys(`${prefix}:*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
  });
  return {
    url: url ?? '',
    skip,
    prefix,
    dir,
    lake: join(dir, 'lake'),
    workers,
    /** Starts `plotpointe worker --redis URL --prefix PREFIX …extra`. */
    startWorker(extra: string[] = []) {
      const w = cliBackground(['worker', '--redis', url!, '--prefix', prefix, ...extra]);
      workers.push(w);
      return w;
    },
  };
}
