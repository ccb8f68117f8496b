/**
 * bench:replay's guard against a silent exit. Node ends a process when its event loop is empty, even while the
 * main module still awaits a promise that nothing can settle any more (no timer, socket or child process left
 * to settle it); the exit status is then 13, or whatever `process.exitCode` already held (0 when something set
 * it), and nothing is printed — a bench that stops half-way looks like one that finished.
 *
 * `guardMain(name)` returns `step(s)` (what the bench is doing now) and `settled()` (call when main has ended,
 * either way). If the loop empties before `settled()`, 'beforeExit' prints one line on stderr —
 * `error <name>: the event loop emptied while main had not settled (step: <s>)` — and sets exit status 1.
 */
export interface MainGuard {
  step(s: string): void;
  settled(): void;
}

export function guardMain(name: string): MainGuard {
  let current = 'starting';
  let done = false;
  const onBeforeExit = () => {
    if (done) return;
    done = true;
    console.error(`error ${name}: the event loop emptied while main had not settled — an awaited promise can never settle (step: ${current})`);
    process.exitCode = 1;
  };
  process.on('beforeExit', onBeforeExit);
  return {
    step(s: string) {
      current = s;
    },
    settled() {
      done = true;
      process.off('beforeExit', onBeforeExit);
    },
  };
}
