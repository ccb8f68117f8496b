import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { request } from 'node:http';
import type { ResolvedPipeline } from '../cli/pipeline.js';
import { commandChecker } from '../cli/pipeline.js';
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
  note?: string;
}

/** Polls `url` until the server answers (any status) or `timeoutMs` passes. */
function waitForHttp(url: string, timeoutMs: number, alive: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolveWait) => {
    const attempt = () => {
      if (!alive() || Date.now() > deadline) return resolveWait(false);
      const req = request(url, { method: 'GET', timeout: 1000 }, (res) => {
        res.resume();
        resolveWait(true);
      });
      req.on('error', () => setTimeout(attempt, 300));
      req.on('timeout', () => req.destroy());
      req.end();
    };
    attempt();
  });
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const c = o.resolved.config;
  const lake = String(c['lake.dir']);
  const name = String(c['dataset.name']);
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
      log: o.log ? (l) => o.log!(`pipeline: ${l}`) : undefined,
    });
  } finally {
    await executor.close();
  }
  const train = report.steps.find((s) => s.step === 'train');
  const run = train ? await trainRunOf(report) : null;
  if (!o.serve) return { pipeline: report, run, url: null, served: false };
  if (!commandChecker(o.root)(['serve'])) {
    return { pipeline: report, run, url: null, served: false, note: '`plotpointe serve` is not in this checkout yet: the pipeline ran, nothing is served' };
  }
  const port = o.port ?? (c['serve.port'] !== undefined ? String(c['serve.port']) : '8080');
  const host = o.host ?? (c['serve.host'] !== undefined ? String(c['serve.host']) : '127.0.0.1');
  const args = ['serve', '--lake', lake, '--name', name, '--port', port, '--host', host, ...(run ? ['--run', run] : []), ...(o.globals.config ? ['--config', o.globals.config] : [])];
  const child = spawn(process.execPath, [PLOTPOINTE_BIN, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  let exited = false;
  const exitedP = new Promise<number>((r) => child.on('exit', (code) => ((exited = true), r(code ?? 1))));
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/`;
  const up = await waitForHttp(url, 120_000, () => !exited);
  if (up) {
    process.stderr.write(`${renderReport(report)}\n\nPlotPointe is up: ${url} (API docs ${url}docs) — Ctrl-C stops it\n`);
    if (o.globals.json) process.stdout.write(JSON.stringify({ url, run, pipeline_run: report.run }) + '\n');
  }
  const code = await exitedP;
  process.off('SIGINT', onInt);
  process.off('SIGTERM', onTerm);
  return { pipeline: report, run, url: up ? url : null, served: up, note: up ? `server exited with status ${code}` : `the server did not come up (exit ${code})` };
}

/** The train step's run id, from its cache record or this run's result (the report keeps keys, so re-read the record). */
async function trainRunOf(report: PipelineReport): Promise<string | null> {
  const { readCacheRecord } = await import('./cache.js');
  const t = report.steps.find((s) => s.step === 'train');
  if (!t || !t.key) return null;
  const rec = await readCacheRecord(report.lake, 'train', t.key);
  return rec ? String(rec.result.run_id) : null;
}

export function renderDemo(r: DemoResult): string {
  return [renderReport(r.pipeline), r.run ? `trained run: ${r.run}` : '', r.url ? `served at ${r.url}` : '', r.note ?? ''].filter(Boolean).join('\n');
}
