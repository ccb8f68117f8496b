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
  note?: string;
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
  const run = await trainRunOf(report);
  if (!o.serve) return { pipeline: report, run, url: null, served: false };
  if (!commandChecker(o.root)(['serve'])) {
    return { pipeline: report, run, url: null, served: false, note: '`plotpointe serve` is not in this checkout yet: the pipeline ran, nothing is served' };
  }
  const configFile = join(dirname(report.journal), 'config.json');
  const args = [
    'serve', '--lake', lake, '--name', name, '--config', configFile, '--log-level', 'warn', '--json',
    ...(run ? ['--run', run] : []),
    ...(o.port !== undefined ? ['--port', o.port] : []),
    ...(o.host !== undefined ? ['--host', o.host] : []),
  ];
  const child = spawn(process.execPath, [PLOTPOINTE_BIN, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
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
        process.stderr.write(`${renderReport(report)}\n\n`);
        process.stdout.write(`PlotPointe is up: ${url} (dashboard), API docs ${url}docs — Ctrl-C stops it\n`);
      } else if (line.trim()) {
        process.stderr.write(`serve: ${line}\n`);
      }
    }
  });
  const code = await new Promise<number>((r) => child.on('exit', (c) => r(c ?? 1)));
  process.off('SIGINT', onInt);
  process.off('SIGTERM', onTerm);
  return { pipeline: report, run, url, served: url !== null, note: url ? `server stopped (exit ${code})` : `the server did not come up (exit ${code})` };
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
