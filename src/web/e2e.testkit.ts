import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { generateDemo } from '../data/demo/generate.js';
import { repoRoot } from '../test-support/fixtures.js';

/**
 * Shared set-up of the dashboard's browser tests and page-load bench: a small demo lake with two trained runs
 * (mf and lightgcn, a few epochs each), a serving bundle for one of them, the real `plotpointe serve` process
 * on a free loopback port, and Chromium through playwright-core.
 */

export const CHROMIUM = process.env.PLOTPOINTE_TEST_CHROMIUM ?? '/usr/bin/chromium';
/** A skip message when no Chromium is installed, else false. */
export const chromiumSkip: string | false = existsSync(CHROMIUM)
  ? false
  : `needs Chromium at ${CHROMIUM} (set PLOTPOINTE_TEST_CHROMIUM; .ci/run installs Debian chromium)`;

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

export interface DemoServing {
  dir: string;
  lake: string;
  name: string;
  /** Config file passed to every CLI call (small demo sizes). */
  config: string;
  mfRun: string;
  lightgcnRun: string;
  /** The run the server serves (mf). */
  servedRun: string;
  /** The id of a 2×2-seed mf ablation (`plotpointe ablate`), or null. */
  ablationId: string | null;
  /** `--variants` serving mf and lightgcn as two A/B variants of equal weight. */
  variants: string;
}

function cli(cwd: string, args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'plotpointe.mjs'), ...args, '--json', '--quiet'], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, PLOTPOINTE_CORE_THREADS: process.env.PLOTPOINTE_CORE_THREADS ?? '1' },
  });
  const lines = r.stdout.trimEnd().split('\n');
  if (r.status !== 0) throw new Error(`plotpointe ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)} ${lines.at(-1)}`);
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

/**
 * Demo lake of `users` users and `items` items with images, trained mf and lightgcn runs and a serving bundle
 * for each (with text and image indexes unless `content: false`), all under `dir` (≈ 40 s on 2 quiet cores).
 */
export async function prepareDemoServing(dir: string, sizes: { users?: number; items?: number; epochs?: number; content?: boolean; ablation?: boolean } = {}): Promise<DemoServing> {
  const users = sizes.users ?? 250;
  const items = sizes.items ?? 400;
  const epochs = sizes.epochs ?? 8;
  const config = join(dir, 'plotpointe.json');
  const lake = join(dir, 'lake');
  await writeFile(config, JSON.stringify({ lake: { dir: lake }, dataset: { name: 'demo' } }));
  const c = ['--config', config];
  // The demo catalog (with a PNG per product), ingested and split by the plain data commands.
  const sources = join(dir, 'sources');
  await generateDemo({ out: sources, users, items, catalogItems: items, images: true, progress: false });
  cli(dir, ['data', 'ingest', '--format', 'amazon2018', '--input', sources, '--lake', lake, '--name', 'demo', ...c]);
  cli(dir, ['data', 'split', '--lake', lake, '--name', 'demo', '--split', 'default', '--strategy', 'ratio', ...c]);
  // A small ablation first (its runs are tracked too; the two runs below are then the newest).
  const ablation = sizes.ablation === false ? null : cli(dir, ['ablate', '--model', 'mf', '--grid', 'dim=8,16', '--seeds', '2', '--param', 'epochs=2', 'eval_every=1', 'batch=256', '--lake', lake, '--name', 'demo', '--split', 'default', ...c]);
  const mf = cli(dir, ['train', '--model', 'mf', '--param', `epochs=${epochs}`, 'eval_every=2', 'lr=0.01', 'batch=256', ...c]);
  const lg = cli(dir, ['train', '--model', 'lightgcn', '--param', `epochs=${epochs}`, 'eval_every=2', 'lr=0.01', 'batch=256', ...c]);
  const mfRun = String(mf.run_id);
  const lightgcnRun = String(lg.run_id);
  // Content embeddings (text: USE lite; image: the bundled MobileNetV2), so the bundles hold text and image
  // indexes and cold start can encode a new item.
  if (sizes.content !== false) {
    cli(dir, ['embed', 'text', '--lake', lake, '--name', 'demo', ...c]);
    cli(dir, ['embed', 'image', '--lake', lake, '--name', 'demo', '--encoder', 'bundled', ...c]);
  }
  for (const run of [mfRun, lightgcnRun]) cli(dir, ['index', 'build', '--lake', lake, '--name', 'demo', '--run', run, ...c]);
  return { dir, lake, name: 'demo', config, mfRun, lightgcnRun, servedRun: mfRun, ablationId: ablation ? String(ablation.id) : null, variants: `mf=${mfRun}:1,lightgcn=${lightgcnRun}:1` };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RunningServer {
  url: string;
  process: ChildProcess;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** What the server printed, for failure messages. */
  output(): string;
}

/**
 * Starts `plotpointe serve` on a free loopback port and waits until /readyz answers 200 (≤ 120 s). `extra`
 * flags are appended (e.g. `['--variants', d.variants]`).
 */
export async function startServer(d: DemoServing, extra: string[] = []): Promise<RunningServer> {
  const port = await freePort();
  let log = '';
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'bin', 'plotpointe.mjs'), 'serve', '--config', d.config, '--lake', d.lake, '--name', d.name, '--run', d.servedRun, '--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn', ...extra],
    { cwd: d.dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PLOTPOINTE_CORE_THREADS: '1' } },
  );
  child.stdout!.on('data', (b: Buffer) => (log += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`plotpointe serve exited with ${child.exitCode}: ${log.slice(-3000)}`);
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`plotpointe serve was not ready within 120 s: ${log.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, process: child, stop, output: () => log };
}
