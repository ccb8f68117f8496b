import { AssertionError } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './fixtures.js';

/** The real `plotpointe` bin, as a user runs it. */
export const plotpointeBin = join(repoRoot, 'bin', 'plotpointe.mjs');

export interface CliOptions {
  /** The working directory (relative paths in `args` and the config resolve against it); default the test's. */
  cwd?: string;
  /** Variables set over the inherited environment (`''` clears one for the CLI, e.g. PLOTPOINTE_SERVER). */
  env?: NodeJS.ProcessEnv;
  /**
   * Machine-read run: append `--json --quiet` (one JSON object as the last stdout line, no progress) and fail
   * at once, showing stderr, when the last stdout line is not JSON.
   */
  json?: boolean;
  /** The bin script run with node; default the checkout's (a test of the packed tarball passes the installed one). */
  bin?: string;
}

export interface CliRun {
  /** The arguments after the bin, as run (with `--json --quiet` when `json` was asked for). */
  args: string[];
  /** The exit status (null when a signal ended the process). */
  status: number | null;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON, or null when it is not JSON (human-readable output, a crash). */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- what the command printed, read by the test
}

/** Parses the last line of `stdout` (trailing blank lines aside) as JSON; null when it is not JSON. */
function parseLastLine(stdout: string): unknown {
  const lines = stdout.trimEnd().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1]!);
  } catch {
    return null;
  }
}

/**
 * Runs `node bin/plotpointe.mjs ...args` to completion (no shell, stdin closed) and returns its exit status,
 * output and the last stdout line parsed as JSON. With `json: true` it appends `--json --quiet` and throws a
 * failed assertion (see {@link cliJson}) when that last line is not JSON.
 */
export function runCli(args: readonly string[], opts: CliOptions = {}): CliRun {
  const fullArgs = opts.json ? [...args, '--json', '--quiet'] : [...args];
  const r = spawnSync(process.execPath, [opts.bin ?? plotpointeBin, ...fullArgs], {
    cwd: opts.cwd,
    encoding: 'utf8',
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
  });
  if (r.error) throw r.error;
  const run: CliRun = { args: fullArgs, status: r.status, stdout: r.stdout, stderr: r.stderr, json: parseLastLine(r.stdout) };
  if (opts.json) cliJson(run);
  return run;
}

/**
 * The run's last stdout line as parsed JSON; a failed assertion that shows the command, its exit status, that
 * line and stderr when it is not JSON.
 */
export function cliJson(run: CliRun): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  if (run.json !== null) return run.json;
  const last = run.stdout.trimEnd().split('\n').pop() ?? '';
  throw new AssertionError({
    message:
      `plotpointe ${run.args.join(' ')} (exit status ${run.status}): the last stdout line is not JSON: ${JSON.stringify(last.slice(0, 500))}\n` +
      `--- stderr ---\n${run.stderr.slice(-4000)}`,
  });
}
