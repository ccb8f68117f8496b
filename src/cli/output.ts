import { isPlotPointeError, ERRORS } from '../errors.js';
import { setProgressMode } from './progress.js';

/** Options every command shares. */
export interface GlobalOptions {
  json?: boolean;
  debug?: boolean;
  quiet?: boolean;
}

/** Renders a result for people; the default prints `key: value` lines of the top-level fields. */
export type HumanRenderer<T> = (result: T) => string;

function defaultRender(result: unknown): string {
  if (result === null || typeof result !== 'object') return String(result);
  return Object.entries(result as Record<string, unknown>)
    .map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
    .join('\n');
}

/**
 * Runs a command body and reports its outcome the house way:
 * - success: with --json, one JSON object as the last stdout line; else a human summary;
 * - failure: one line `error PP_CODE: message` on stderr (the stack only with --debug), with --json also
 *   `{"error":{"code","message"}}` on stdout, and the code's exit status.
 * Returns the process exit status.
 */
export async function runCommand<T>(opts: GlobalOptions, body: () => Promise<T>, render: HumanRenderer<T> = defaultRender): Promise<number> {
  if (opts.quiet) setProgressMode('silent');
  try {
    const result = await body();
    if (opts.json) process.stdout.write(JSON.stringify(result) + '\n');
    else process.stdout.write(render(result) + '\n');
    return 0;
  } catch (err) {
    return reportError(err, opts);
  }
}

export function reportError(err: unknown, opts: GlobalOptions): number {
  const code = isPlotPointeError(err) ? err.code : 'PP_INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  const oneLine = message.replace(/\s*\n\s*/g, ' ');
  process.stderr.write(`error ${code}: ${oneLine}\n`);
  if (opts.debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
  if (opts.json) process.stdout.write(JSON.stringify({ error: { code, message: oneLine } }) + '\n');
  return isPlotPointeError(err) ? err.exitCode : ERRORS.PP_INTERNAL.exit;
}
