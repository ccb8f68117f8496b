import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { StepUsage } from '../cache.js';

/**
 * Runs one step as a real `plotpointe` process (so CPU parallelism across steps is real) and measures it:
 * wall time here, CPU time and peak RSS from the child's own process.resourceUsage() (child-preload.mjs).
 */

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const PLOTPOINTE_BIN = join(repoRoot, 'bin', 'plotpointe.mjs');
const PRELOAD = pathToFileURL(join(repoRoot, 'src', 'pipeline', 'child-preload.mjs')).href;

/** One step (or shard) command to run. */
export interface StepTask {
  step: string;
  /** plotpointe arguments; the runner has added --json --quiet. */
  argv: string[];
  /** Extra environment (e.g. PLOTPOINTE_CORE_THREADS). */
  env?: Record<string, string>;
  /** stdout and stderr of the process go here. */
  logPath: string;
  /** The lake and the lake-relative paths the step reads (a distributed worker checks it can see them). */
  lake?: string;
  inputs?: string[];
  /** Shard command lines (distributed executor): all run before `argv`, the merge that assembles their parts. */
  shards?: string[][];
}

export interface StepOutcome {
  exitCode: number | null;
  signal: string | null;
  /** The last stdout line parsed as JSON (the house CLI contract), or null. */
  result: Record<string, unknown> | null;
  usage: StepUsage;
  /** The `error PP_CODE: …` line of a failed command, or the last stderr lines. */
  error: string | null;
}

/** Something that runs step tasks: here (child processes) or elsewhere (BullMQ workers). */
export interface Executor {
  readonly kind: 'local' | 'bullmq';
  run(task: StepTask): Promise<StepOutcome>;
  /** Stops running tasks (SIGINT of the runner). */
  abort(): Promise<void>;
  close(): Promise<void>;
}

const running = new Set<ChildProcess>();

/**
 * Spawns `node --import child-preload <args>` with stdout/stderr piped and fd 3 a pipe the child's watchdog
 * thread reads: when this process dies the pipe ends and the child SIGKILLs itself (child-preload.mjs).
 */
export function spawnWatched(args: string[], env: Record<string, string | undefined>): ChildProcess {
  return spawn(process.execPath, ['--import', PRELOAD, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env, PLOTPOINTE_PARENT_FD: '3' },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
}

/** Spawns `node --import child-preload bin/plotpointe.mjs …argv` and waits for it. */
export function runStepProcess(task: StepTask, onSpawn?: (child: ChildProcess) => void): Promise<StepOutcome> {
  mkdirSync(dirname(task.logPath), { recursive: true });
  const usagePath = join(tmpdir(), `pp-step-usage-${process.pid}-${randomBytes(6).toString('hex')}.json`);
  const log = createWriteStream(task.logPath, { flags: 'a' });
  log.write(`$ plotpointe ${task.argv.join(' ')}\n`);
  const started = performance.now();
  const child = spawnWatched([PLOTPOINTE_BIN, ...task.argv], { ...task.env, PLOTPOINTE_STEP_USAGE: usagePath });
  running.add(child);
  onSpawn?.(child);
  let stdout = '';
  let stderrTail = '';
  child.stdout!.on('data', (b: Buffer) => {
    stdout += b.toString('utf8');
    log.write(b);
  });
  child.stderr!.on('data', (b: Buffer) => {
    stderrTail = (stderrTail + b.toString('utf8')).slice(-4000);
    log.write(b);
  });
  return new Promise((resolveOutcome) => {
    const finish = (exitCode: number | null, signal: string | null) => {
      running.delete(child);
      const wall = (performance.now() - started) / 1000;
      let cpu = 0;
      let rss = 0;
      try {
        const u = JSON.parse(readFileSync(usagePath, 'utf8')) as NodeJS.ResourceUsage;
        cpu = (u.userCPUTime + u.systemCPUTime) / 1e6;
        rss = u.maxRSS / 1024;
      } catch {
        // killed before its exit hook ran: no CPU figures
      }
      rmSync(usagePath, { force: true });
      const lines = stdout.trimEnd().split('\n');
      let result: Record<string, unknown> | null = null;
      try {
        const parsed = JSON.parse(lines[lines.length - 1] ?? '') as unknown;
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) result = parsed as Record<string, unknown>;
      } catch {
        result = null;
      }
      const errLine = stderrTail.split('\n').find((l) => l.startsWith('error PP_'));
      const ok = exitCode === 0;
      log.end(`\n[exit ${exitCode ?? signal} after ${wall.toFixed(2)} s]\n`);
      resolveOutcome({
        exitCode,
        signal,
        result,
        usage: { wall_s: round(wall), cpu_s: round(cpu), peak_rss_mb: Math.round(rss) },
        error: ok ? null : errLine ?? (stderrTail.trim().split('\n').slice(-3).join(' | ') || `exit ${exitCode ?? signal}`),
      });
    };
    child.on('error', (err) => {
      stderrTail += String(err);
      finish(null, 'spawn-error');
    });
    child.on('close', (code, signal) => finish(code, signal));
  });
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** The local executor: every task is a child process of the runner. */
export class LocalExecutor implements Executor {
  readonly kind = 'local' as const;

  run(task: StepTask): Promise<StepOutcome> {
    return runStepProcess(task);
  }

  async abort(): Promise<void> {
    for (const c of running) c.kill('SIGTERM');
  }

  async close(): Promise<void> {}
}

/** Kills every step process this process started (used by the worker on shutdown). */
export function killRunningSteps(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const c of running) c.kill(signal);
}
