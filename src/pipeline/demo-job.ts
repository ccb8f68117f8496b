import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { dirname, join } from 'node:path';
import { commandChecker, type ResolvedPipeline } from './resolve.js';
import { readCacheRecord } from './cache.js';
import { runPipeline } from './run.js';
import { LocalExecutor, PLOTPOINTE_BIN } from './executors/local.js';
import { renderReport, type PipelineReport } from './report.js';

/**
 * `npm start` → `plotpointe demo`: the demo catalog through the whole pipeline (local executor, cached and
 * resumable like `pipeline run`), then the server with the dashboard at `/`, printing the URL. `--no-serve`
 * stops after the pipeline (CI and tests). Works on a fresh clone: nothing outside the repository is read.
 */
export interface DemoOptions {
  root: Command;
  resolved: ResolvedPipeline;
  serve: boolean;
  port?: string;
  host?: string;
  globals: { json: boolean; quiet: boolean; config?: string };
  log?: (line: string) => void;
}

export interface DemoResult {
  pipeline: PipelineReport;
  /** The trained run the server serves (the pipeline's train step). */
  run: string | null;
  url: string | null;
  served: boolean;
  /** Seconds from the start of the pipeline until the server printed its URL (null when nothing was served). */
  url_s: number | null;
  note?: string;
}

/** The steps whose outputs the server reads: the trained run and its serving bundle. It starts once they are done. */
const SERVE_NEEDS = ['train', 'index'];

/**
 * A started `plotpointe serve`: `up` resolves with its URL once it listens (null if it exited first), `exit`
 * with its exit code; SIGINT/SIGTERM of this process are forwarded to it.
 */
interface ServerProcess {
  up: Promise<string | null>;
  exit: Promise<number>;
  stop(): void;
}

function startServer(args: string[]): ServerProcess {
  const child = spawn(process.execPath, [PLOTPOINTE_BIN, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  let resolveUp: (url: string | null) => void = () => {};
  const up = new Promise<string | null>((r) => (resolveUp = r));
  let url: string | null = null;
  let buffered = '';
  child.stdout!.on('data', (b: Buffer) => {
    buffered += b.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let listening: string | undefined;
      try {
        listening = (JSON.parse(line) as { listening?: string }).listening;
      } catch {
        listening = undefined;
      }
      if (listening && !url) {
        url = listening.endsWith('/') ? listening : `${listening}/`;
        resolveUp(url);
      } else if (line.trim()) {
        process.stderr.write(`serve: ${line}\n`);
      }
    }
  });
  const exit = new Promise<number>((r) =>
    child.on('exit', (c) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolveUp(null);
      r(c ?? 1);
    }),
  );
  return { up, exit, stop: () => child.kill('SIGTERM') };
}

/**
 * Runs the pipeline; with `serve`, starts the server as soon as the trained run and its bundle exist (the train
 * and index steps: the steps nothing served reads — item graphs, the test evaluation, publish — finish beside it)
 * and prints the URL when it listens. A pipeline that fails after that stops the server and fails the demo.
 */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const c = o.resolved.config;
  const lake = String(c['lake.dir']);
  const name = String(c['dataset.name']);
  const started = performance.now();
  const serveCommand = o.serve && commandChecker(o.root)(['serve']);
  const waitsFor = SERVE_NEEDS.filter((id) => o.resolved.steps.some((s) => s.id === id));
  const finished = new Set<string>();
  let run: string | null = null;
  let server: ServerProcess | null = null;
  let url: string | null = null;
  let urlS: number | null = null;
  const serve = (configFile: string) => {
    const args = [
      'serve', '--lake', lake, '--name', name, '--config', configFile, '--log-level', 'warn', '--json',
      ...(run ? ['--run', run] : []),
      ...(o.port !== undefined ? ['--port', o.port] : []),
      ...(o.host !== undefined ? ['--host', o.host] : []),
    ];
    o.log?.(`serve: starting on run ${run ?? '(published)'} while the pipeline finishes`);
    server = startServer(args);
    void server.up.then((u) => {
      if (!u) return;
      url = u;
      urlS = (performance.now() - started) / 1000;
      process.stdout.write(`PlotPointe is up: ${u} (dashboard), API docs ${u}docs — Ctrl-C stops it\n`);
    });
  };
  const executor = new LocalExecutor();
  let report: PipelineReport;
  try {
    report = await runPipeline({
      lake,
      name,
      config: c,
      steps: o.resolved.steps,
      leftOut: o.resolved.leftOut,
      stepArgs: o.resolved.args,
      jobs: Number(c['pipeline.jobs']) || undefined,
      ioJobs: Number(c['pipeline.io_jobs']) || undefined,
      executor,
      urgent: waitsFor,
      onStep: (e) => {
        if (e.status === 'failed') return;
        if (e.step === 'train' && e.result) run = String(e.result.run_id);
        finished.add(e.step);
        if (serveCommand && !server && waitsFor.length > 0 && waitsFor.every((id) => finished.has(id))) serve(e.config);
      },
      log: o.log ? (l) => o.log!(`pipeline: ${l}`) : undefined,
    });
  } catch (err) {
    const s = server as ServerProcess | null;
    if (s) {
      s.stop();
      await s.exit;
    }
    throw err;
  } finally {
    await executor.close();
  }
  const announced = url !== null;
  run ??= await trainRunOf(report);
  if (!o.serve) return { pipeline: report, run, url: null, served: false, url_s: null };
  if (!serveCommand) {
    return { pipeline: report, run, url: null, served: false, url_s: null, note: '`plotpointe serve` is not in this checkout yet: the pipeline ran, nothing is served' };
  }
  // No train/index step in the DAG (skipped in the pipeline file): serve what the lake has, after the pipeline.
  if (!server) serve(join(dirname(report.journal), 'config.json'));
  const s = server as unknown as ServerProcess;
  const up = await s.up;
  process.stderr.write(`${renderReport(report)}\n\n`);
  if (up && announced) process.stdout.write(`the pipeline finished; PlotPointe is up: ${up} — Ctrl-C stops it\n`);
  const code = await s.exit;
  return { pipeline: report, run, url, served: url !== null, url_s: urlS, note: url ? `server stopped (exit ${code})` : `the server did not come up (exit ${code})` };
}

/** The train step's run id, from its cache record (the report keeps keys, not results, so re-read the record); null without a train step. */
async function trainRunOf(report: PipelineReport): Promise<string | null> {
  const t = report.steps.find((s) => s.step === 'train');
  if (!t || !t.key) return null;
  const rec = await readCacheRecord(report.lake, 'train', t.key);
  return rec ? String(rec.result.run_id) : null;
}

export function renderDemo(r: DemoResult): string {
  return [renderReport(r.pipeline), r.run ? `trained run: ${r.run}` : '', r.url ? `served at ${r.url}` : '', r.note ?? ''].filter(Boolean).join('\n');
}
