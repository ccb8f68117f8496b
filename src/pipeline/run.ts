import { existsSync, readFileSync, rmSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ppError } from '../errors.js';
import { CONFIG_SCHEMA, type KeySpec } from '../config/schema.js';
import { sha256Of, stableStringify } from '../lake/hash.js';
import { writeFileAtomically } from '../lake/atomic.js';
import { lakePaths } from '../lake/paths.js';
import { criticalPath, topoOrder, type ArtifactRef, type StepContext, type StepSpec } from './dag.js';
import {
  FileHasher,
  Journal,
  outputsIntact,
  pipelineCodeVersion,
  readCacheRecord,
  stepKey,
  unfinishedRun,
  writeCacheRecord,
  type PathHash,
  type StepUsage,
} from './cache.js';
import type { Executor, StepTask } from './executors/local.js';
import type { LeftOut } from './steps.js';
import { buildReport, type PipelineReport, type StepReport } from './report.js';

/**
 * The pipeline runner: walks the DAG, runs every ready step whose cache key has no intact record, within a
 * CPU budget (at most `jobs` cpu-class steps at once, `ioJobs` io-class steps beside them), and journals
 * each transition to `<lake>/pipeline/<run>/journal.jsonl`. A run that did not end (crash, SIGKILL,
 * Ctrl-C) is resumed by the next invocation under the same run id; steps it finished are cache hits.
 */
export interface PipelineRunOptions {
  lake: string;
  name: string;
  /** The effective config, flat dotted keys (what steps' configKeys index). */
  config: Readonly<Record<string, unknown>>;
  steps: StepSpec[];
  leftOut?: LeftOut[];
  /** Extra command-line arguments per step (pipeline file `steps.<id>.args`), part of its cache key. */
  stepArgs?: Readonly<Record<string, readonly string[]>>;
  /** cpu-class steps at once (default: cores). */
  jobs?: number;
  ioJobs?: number;
  executor: Executor;
  /** Ignore cache hits (every step runs; records are rewritten). */
  force?: boolean;
  /** Extra environment of every step process. */
  env?: Record<string, string>;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
  /**
   * Steps that go first among the ready ones, with everything they need (e.g. what `plotpointe demo`'s server
   * waits for); the others run in the cores these leave free. Default: the longest remaining chain first only.
   */
  urgent?: readonly string[];
  /** Called when a step ends — ran, cached, resumed or failed — with its JSON result and the run's config file (must not throw). */
  onStep?: (e: StepEnd) => void;
}

/** A step that ended, as {@link PipelineRunOptions.onStep} sees it. */
export interface StepEnd {
  step: string;
  status: 'done' | 'cached' | 'resumed' | 'failed';
  result: Record<string, unknown> | null;
  /** The config file every step command reads (`--config`). */
  config: string;
}

interface LockInfo {
  pid: number;
  host: string;
  run: string;
  started_at: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `<lake>/pipeline/lock`: one runner per lake; a lock whose process is gone (SIGKILL, crash) is taken over. */
async function acquireLock(lake: string, run: string): Promise<() => void> {
  const path = lakePaths(lake).pipeline.lock;
  if (existsSync(path)) {
    try {
      const held = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
      if (held.host === hostname() && held.pid !== process.pid && isAlive(held.pid)) {
        throw ppError('PP_PIPELINE_LOCKED', `pid ${held.pid} runs ${held.run} on ${lake} since ${held.started_at}`);
      }
    } catch (err) {
      if ((err as { code?: string }).code === 'PP_PIPELINE_LOCKED') throw err;
    }
  }
  const info: LockInfo = { pid: process.pid, host: hostname(), run, started_at: new Date().toISOString() };
  await writeFileAtomically(path, JSON.stringify(info));
  return () => {
    try {
      const held = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
      if (held.pid === process.pid) rmSync(path, { force: true });
    } catch {
      // already gone
    }
  };
}

function newRunId(): string {
  const d = new Date();
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}-${randomBytes(2).toString('hex')}`;
}

type Status = 'pending' | 'running' | 'done' | 'cached' | 'resumed' | 'failed' | 'blocked';

export async function runPipeline(o: PipelineRunOptions): Promise<PipelineReport> {
  const lake = resolve(o.lake);
  const steps = topoOrder(o.steps);
  const jobs = Math.max(1, o.jobs && o.jobs > 0 ? o.jobs : cpus().length);
  const ioJobs = Math.max(1, o.ioJobs ?? 2);
  const log = o.log ?? (() => {});
  const resumed = unfinishedRun(lake);
  const runId = resumed ?? newRunId();
  const runPaths = lakePaths(lake).pipeline.run(runId);
  const runDir = runPaths.dir;
  const release = await acquireLock(lake, runId);
  const journal = new Journal(runPaths.journal);
  // Steps finished by an earlier attempt of this run (before its crash), by key.
  const finishedBefore = new Set(
    Journal.read(journal.path)
      .filter((e) => e.event === 'step-done')
      .map((e) => `${(e as { step: string }).step}:${(e as { key: string }).key}`),
  );
  journal.append({ event: 'run-start', run: runId, resumed: resumed !== null, steps: steps.map((s) => s.id), executor: o.executor.kind, jobs, pid: process.pid });
  if (resumed) log(`resuming pipeline run ${runId} (it did not finish)`);
  // The config every step command reads: only plotpointe config keys (the file is passed as --config).
  const configFile = runPaths.config;
  await writeFileAtomically(configFile, JSON.stringify(plotpointeKeys(o.config), null, 1) + '\n');
  const hasher = new FileHasher(lakePaths(lake).pipeline.hashCache);
  const code = pipelineCodeVersion();

  const status = new Map<string, Status>(steps.map((s) => [s.id, 'pending']));
  const results: Record<string, Record<string, unknown>> = {};
  const outputsOf: Record<string, ArtifactRef[]> = {};
  const reports = new Map<string, StepReport>();
  const started = performance.now();
  let failure: Error | null = null;
  let interrupted: string | null = null;
  const running = new Map<string, Promise<void>>();
  // Kernel threads of a step: the cores shared by the CPU steps running when it starts (a step alone on the
  // machine — train at the end of a run — gets them all; later steps beside it share what is left by the OS).
  const threadsFor = (step: string) => {
    const beside = [...running.keys()].filter((id) => id !== step && steps.find((x) => x.id === id)!.resource === 'cpu').length;
    return Math.max(1, Math.floor(cpus().length / (beside + 1)));
  };
  let wake: () => void = () => {};

  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = sig;
    journal.append({ event: 'run-interrupted', signal: sig });
    log(`${sig}: stopping the running steps; run again to resume`);
    void o.executor.abort();
    wake();
  };
  const sigint = () => onSignal('SIGINT');
  const sigterm = () => onSignal('SIGTERM');
  process.on('SIGINT', sigint);
  process.on('SIGTERM', sigterm);

  const ctxOf = (s: StepSpec): StepContext => ({
    lake,
    name: o.name,
    config: o.config,
    results,
    args: o.stepArgs?.[s.id] ?? [],
  });

  /** Inputs = declared inputs + every dependency's outputs; the key covers them, the config slice, args and code. */
  async function keyOf(s: StepSpec, ctx: StepContext): Promise<{ key: string; inputs: PathHash[]; configHash: string }> {
    const refs = [...s.inputs(ctx), ...s.needs.flatMap((d) => outputsOf[d] ?? [])];
    const inputs: PathHash[] = [];
    for (const r of refs) inputs.push(await hasher.ref(lake, r));
    const unused = new Set(s.unusedKeys?.(o.config) ?? []);
    const slice: Record<string, unknown> = Object.fromEntries(s.configKeys.filter((k) => !unused.has(k)).map((k) => [k, o.config[k] ?? null]));
    if (ctx.args.length) slice['@args'] = ctx.args;
    return { key: stepKey(s.id, slice, inputs, code), inputs, configHash: sha256Of(slice).slice(0, 16) };
  }

  async function start(s: StepSpec): Promise<void> {
    const ctx = ctxOf(s);
    const { key, inputs, configHash } = await keyOf(s, ctx);
    const record = o.force ? null : await readCacheRecord(lake, s.id, key);
    if (record) {
      const refs = s.outputs({ ...ctx, results: { ...results, [s.id]: record.result } });
      if (await outputsIntact(lake, record, hasher, refs)) {
        results[s.id] = record.result;
        outputsOf[s.id] = refs;
        const from = finishedBefore.has(`${s.id}:${key}`) ? 'journal' : 'cache';
        status.set(s.id, from === 'journal' ? 'resumed' : 'cached');
        journal.append({ event: 'step-cached', step: s.id, key, from });
        reports.set(s.id, { step: s.id, resource: s.resource, status: from === 'journal' ? 'resumed' : 'cached', key, config_hash: configHash, wall_s: 0, cpu_s: 0, peak_rss_mb: 0, recorded: record.usage, start_s: 0, end_s: 0 });
        log(`${s.id}: ${from === 'journal' ? 'done before the interruption' : 'cached'} (${key})`);
        o.onStep?.({ step: s.id, status: from === 'journal' ? 'resumed' : 'cached', result: record.result, config: configFile });
        return;
      }
    }
    status.set(s.id, 'running');
    const startS = (performance.now() - started) / 1000;
    // A distributed executor runs a step that has a sharded form as `shards` shard jobs and a merge (which
    // writes the outputs `command` would, so the key is the same); the local executor always runs it whole.
    const shards = o.executor.kind === 'bullmq' && s.sharded ? Math.max(0, Math.floor(Number(o.config['pipeline.shards']) || 0)) : 0;
    const threads = process.env.PLOTPOINTE_CORE_THREADS ?? String(threadsFor(s.id));
    journal.append({ event: 'step-start', step: s.id, key, threads: Number(threads), ...(shards ? { shards } : {}) });
    log(`${s.id}: running (${s.resource}, ${threads} thread${threads === '1' ? '' : 's'}${shards ? `, ${shards} shards` : ''}) ${key}`);
    const tail = [...ctx.args, '--config', configFile, '--json', '--quiet'];
    const task: StepTask = {
      step: s.id,
      argv: [...(shards ? s.sharded!.merge(ctx, shards) : s.command(ctx)), ...tail],
      env: { PLOTPOINTE_CORE_THREADS: threads, ...o.env },
      logPath: runPaths.log(s.id),
      lake,
      inputs: inputs.filter((i) => i.sha256 !== 'absent').map((i) => i.path),
      shards: shards ? s.sharded!.shards(ctx, shards).map((argv) => [...argv, ...tail]) : undefined,
    };
    const outcome = await o.executor.run(task);
    const endS = (performance.now() - started) / 1000;
    const base = { step: s.id, resource: s.resource, key, config_hash: configHash, wall_s: outcome.usage.wall_s, cpu_s: outcome.usage.cpu_s, peak_rss_mb: outcome.usage.peak_rss_mb, start_s: startS, end_s: endS, ...(shards ? { shards } : {}) };
    if (outcome.exitCode !== 0 || !outcome.result) {
      const why = interrupted ? `interrupted (${interrupted})` : outcome.error ?? `exit ${outcome.exitCode ?? outcome.signal}`;
      status.set(s.id, 'failed');
      journal.append({ event: 'step-failed', step: s.id, key, error: why });
      reports.set(s.id, { ...base, status: 'failed', error: why });
      if (!interrupted) failure ??= ppError('PP_PIPELINE_STEP_FAILED', `${s.id}: ${why} (log: ${task.logPath})`);
      log(`${s.id}: failed: ${why}`);
      o.onStep?.({ step: s.id, status: 'failed', result: null, config: configFile });
      return;
    }
    results[s.id] = outcome.result;
    const refs = s.outputs(ctxOf(s));
    const outputs: PathHash[] = [];
    for (const r of refs) outputs.push(await hasher.ref(lake, r));
    const absent = outputs.filter((x) => x.sha256 === 'absent').map((x) => x.path);
    if (absent.length) {
      status.set(s.id, 'failed');
      const why = `declared outputs missing: ${absent.join(', ')}`;
      journal.append({ event: 'step-failed', step: s.id, key, error: why });
      reports.set(s.id, { ...base, status: 'failed', error: why });
      failure ??= ppError('PP_PIPELINE_OUTPUT_MISSING', `${s.id}: ${why}`);
      o.onStep?.({ step: s.id, status: 'failed', result: null, config: configFile });
      return;
    }
    const usage: StepUsage = outcome.usage;
    await writeCacheRecord(lake, { step: s.id, key, outputs, result: outcome.result, usage, finished_at: new Date().toISOString() });
    outputsOf[s.id] = refs;
    status.set(s.id, 'done');
    journal.append({ event: 'step-done', step: s.id, key, usage });
    reports.set(s.id, { ...base, status: 'ran' });
    log(`${s.id}: done in ${usage.wall_s.toFixed(1)} s (cpu ${usage.cpu_s.toFixed(1)} s, peak ${usage.peak_rss_mb} MB)`);
    o.onStep?.({ step: s.id, status: 'done', result: outcome.result, config: configFile });
  }

  // Priority among ready steps: the urgent ones (and what they need) first, then the longest remaining chain of steps below it.
  const priority = new Map<string, number>();
  {
    const rev = [...steps].reverse();
    for (const s of rev) {
      const below = steps.filter((x) => x.needs.includes(s.id)).map((x) => priority.get(x.id) ?? 0);
      priority.set(s.id, 1 + Math.max(0, ...below));
    }
    const urgent = new Set<string>();
    const mark = (id: string) => {
      const s = steps.find((x) => x.id === id);
      if (!s || urgent.has(id)) return;
      urgent.add(id);
      s.needs.forEach(mark);
    };
    (o.urgent ?? []).forEach(mark);
    for (const id of urgent) priority.set(id, priority.get(id)! + steps.length);
  }

  try {
    for (;;) {
      if (!failure && !interrupted) {
        const ready = steps
          .filter((s) => status.get(s.id) === 'pending' && s.needs.every((d) => ['done', 'cached', 'resumed'].includes(status.get(d)!)))
          .sort((a, b) => priority.get(b.id)! - priority.get(a.id)!);
        for (const s of ready) {
          const inClass = [...running.keys()].filter((id) => steps.find((x) => x.id === id)!.resource === s.resource).length;
          if (inClass >= (s.resource === 'cpu' ? jobs : ioJobs)) continue;
          status.set(s.id, 'running');
          const p = start(s)
            .catch((err: Error) => {
              status.set(s.id, 'failed');
              failure ??= err;
              o.onStep?.({ step: s.id, status: 'failed', result: null, config: configFile });
            })
            .finally(() => {
              running.delete(s.id);
              wake();
            });
          running.set(s.id, p);
        }
      }
      if (running.size === 0) break;
      await new Promise<void>((r) => {
        wake = r;
        // A step may finish between the check above and here: re-check soon regardless.
        setTimeout(r, 200).unref();
      });
    }
    for (const s of steps) if (status.get(s.id) === 'pending') status.set(s.id, 'blocked');
    const seconds = (performance.now() - started) / 1000;
    const ok = !failure && !interrupted && steps.every((s) => ['done', 'cached', 'resumed'].includes(status.get(s.id)!));
    if (!interrupted) journal.append({ event: 'run-end', status: ok ? 'ok' : 'failed', seconds });
    await hasher.save();
    const report = buildReport({
      run: runId,
      resumed: resumed !== null,
      lake,
      name: o.name,
      executor: o.executor.kind,
      jobs,
      ioJobs,
      steps,
      reports: steps.map((s) => reports.get(s.id) ?? { step: s.id, resource: s.resource, status: 'blocked', key: '', wall_s: 0, cpu_s: 0, peak_rss_mb: 0, start_s: 0, end_s: 0 }),
      leftOut: o.leftOut ?? [],
      seconds,
      journal: journal.path,
      criticalPath,
    });
    if (interrupted) throw ppError('PP_PIPELINE_STEP_FAILED', `interrupted by ${interrupted}; run again to resume ${runId}`);
    if (failure) throw failure;
    return report;
  } finally {
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
    release();
  }
}

/** The config keys that differ from their defaults (what a step's `--config` file must carry). */
function plotpointeKeys(config: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const schema = CONFIG_SCHEMA as Record<string, KeySpec>;
  return Object.fromEntries(
    Object.entries(config).filter(([k, v]) => schema[k] !== undefined && stableStringify(v) !== stableStringify(schema[k].default)),
  );
}
