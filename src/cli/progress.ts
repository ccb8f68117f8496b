import cliProgress from 'cli-progress';
import { silentProgress, type Progress, type ProgressFactory } from '../core/progress.js';

/**
 * The CLI's implementation of core's {@link Progress} (src/core/progress.ts): on a TTY (stderr) it draws a bar;
 * otherwise it prints a plain line at most every `plainEveryMs` and at the end. Progress always goes to stderr so
 * that stdout's last line stays the command's JSON result. Commands pass {@link createProgress} down as the
 * stages' {@link ProgressFactory}.
 */
export type { Progress, ProgressFactory };
export { silentProgress };

export interface ProgressOptions {
  /** Force a mode; by default a bar when stderr is a TTY. */
  mode?: 'bar' | 'plain' | 'silent';
  plainEveryMs?: number;
  unit?: string;
}

let globalMode: ProgressOptions['mode'] | undefined;
/** The CLI sets this once (e.g. `silent` under --quiet). */
export function setProgressMode(mode: ProgressOptions['mode'] | undefined): void {
  globalMode = mode;
}

export function createProgress(label: string, total: number, options: ProgressOptions = {}): Progress {
  const mode = options.mode ?? globalMode ?? (process.stderr.isTTY ? 'bar' : 'plain');
  if (mode === 'silent') return silentProgress;
  let value = 0;
  let extra: Record<string, string | number> = {};
  const fmtExtra = () =>
    Object.entries(extra)
      .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`)
      .join(' ');
  if (mode === 'bar') {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% {value}/{total} ${options.unit ?? ''} eta {eta_formatted} {extra}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { extra: '' });
    return {
      tick(n = 1, e) {
        value += n;
        if (e) extra = e;
        bar.update(value, { extra: fmtExtra() });
      },
      update(v, e) {
        value = v;
        if (e) extra = e;
        bar.update(value, { extra: fmtExtra() });
      },
      setTotal(t) {
        bar.setTotal(t);
      },
      stop() {
        bar.stop();
      },
    };
  }
  const every = options.plainEveryMs ?? 5000;
  let last = Date.now();
  let t = total;
  const print = () => {
    const pct = t > 0 ? ` (${((100 * value) / t).toFixed(1)}%)` : '';
    process.stderr.write(`${label}: ${value}/${t}${options.unit ? ' ' + options.unit : ''}${pct} ${fmtExtra()}\n`);
  };
  return {
    tick(n = 1, e) {
      value += n;
      if (e) extra = e;
      if (Date.now() - last >= every) {
        last = Date.now();
        print();
      }
    },
    update(v, e) {
      value = v;
      if (e) extra = e;
      if (Date.now() - last >= every) {
        last = Date.now();
        print();
      }
    },
    setTotal(nt) {
      t = nt;
    },
    stop() {
      print();
    },
  };
}
