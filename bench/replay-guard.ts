/**
 * bench:replay's guard against a silent exit. Node ends a process when its event loop is empty, even while the
 * main module still awaits a promise that nothing can settle any more (no timer, socket or child process left
 * to settle it); the exit status is then 13, or whatever `process.exitCode` already held (0 when something set
 * it), and nothing is printed — a bench that stops half-way looks like one that finished.
 *
 * `guardMain(name)` returns `step(s)` (what the bench is doing now), `onAbort(f)` (synchronous clean-up before
 * an abnormal exit, e.g. killing the server child) and `settled()` (call when main has ended, either way).
 * Until `settled()`, each way out prints one line on stderr, `error <name>: <what> (step: <s>)`:
 *
 *   the event loop empties ('beforeExit')      → exit status 1
 *   something calls process.exit ('exit')      → the status it asked for, or 1 when it asked for 0
 *   SIGTERM, SIGINT or SIGHUP                  → 128 + the signal's number, after the clean-ups
 *
 * SIGKILL cannot be caught: a process killed by it (or by the kernel's OOM killer) still ends silently.
 */
import { constants } from 'node:os';

export interface MainGuard {
  step(s: string): void;
  onAbort(f: () => void): void;
  settled(): void;
}

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

export function guardMain(name: string): MainGuard {
  let current = 'starting';
  let done = false;
  const aborts: (() => void)[] = [];
  const fail = (what: string) => {
    done = true;
    console.error(`error ${name}: ${what} (step: ${current})`);
    for (const f of aborts.splice(0)) {
      try {
        f();
      } catch {
        // a clean-up that fails must not hide the error line
      }
    }
  };
  const onBeforeExit = () => {
    if (done) return;
    fail('the event loop emptied while main had not settled — an awaited promise can never settle');
    process.exitCode = 1;
  };
  const onExit = (code: number) => {
    if (done) return;
    fail(`process.exit(${code}) was called while main had not settled`);
    if (code === 0) process.exitCode = 1;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (done) return;
    fail(`${signal} received while main had not settled`);
    process.exit(128 + constants.signals[signal]);
  };
  process.on('beforeExit', onBeforeExit);
  process.on('exit', onExit);
  for (const s of SIGNALS) process.on(s, onSignal);
  return {
    step(s: string) {
      current = s;
    },
    onAbort(f: () => void) {
      aborts.push(f);
    },
    settled() {
      done = true;
      process.off('beforeExit', onBeforeExit);
      process.off('exit', onExit);
      for (const s of SIGNALS) process.off(s, onSignal);
    },
  };
}
