/**
 * Named failpoints for the fault-injection suite (`npm run faults`). `PLOTPOINTE_FAILPOINT=ingest.before-swap`
 * (or a comma-separated list) makes the process SIGKILL itself when it reaches `failpoint('ingest.before-swap')`:
 * a crash at exactly that step, with no cleanup handler run. Unset (the normal case), a failpoint is one
 * comparison against null.
 */
const armed: ReadonlySet<string> | null = (() => {
  const v = process.env.PLOTPOINTE_FAILPOINT;
  return v ? new Set(v.split(',').map((s) => s.trim()).filter(Boolean)) : null;
})();

export function failpoint(name: string): void {
  if (armed === null || !armed.has(name)) return;
  process.kill(process.pid, 'SIGKILL');
}
