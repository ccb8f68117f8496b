// `npm run faults [-- --json] [--only <substring>] [--keep]`: the fault-injection suite (src/lake/faults.ts).
// SIGKILLs ingest, split, index build and pipeline run at each failpoint (and the runner at set delays), reruns,
// then SIGKILLs `serve --workers 2` workers during a reload to a newly published bundle under load
// (src/serving/reload-faults.testkit.ts), and prints one line per case and the tally; with --json the tally and the
// cases as the last stdout line.
// Exit 1 when a case fails. The scratch lakes go to a temp folder, kept only for failed cases.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { allCases, runFaults } from '../src/lake/faults.js';
import { runServeFaults, serveCases } from '../src/serving/reload-faults.testkit.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const cases = allCases().filter((c) => !only || c.id.includes(only));
const served = serveCases().filter((c) => !only || c.id.includes(only));
const work = mkdtempSync(join(tmpdir(), 'pp-faults-'));
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const { results, tally } = await runFaults(cases, work, (r) => {
  const line = `${r.ok ? 'ok  ' : 'FAIL'} ${r.id.padEnd(36)} killed=${r.killed} after-kill=${r.after_kill} orphans=${r.orphans} rerun=${r.rerun_ok ? 'ok' : 'failed'} after-rerun=${r.after_rerun} stranded=${r.stranded.length}${r.detail ? ` (${r.detail})` : ''}`;
  process.stderr.write(line + '\n');
});
const serveResults = await runServeFaults(served, work, (r) => {
  const line = `${r.ok ? 'ok  ' : 'FAIL'} ${r.id.padEnd(36)} killed=${r.killed} reload=${r.reload_status} after-kill=${r.after_kill} acknowledged=${r.acknowledged.recommendations}+${r.acknowledged.events}ev logged=${r.logged.recommendations}+${r.logged.events}ev lost=${r.lost_rows}+${r.lost_events}ev restart=${r.rerun_ok ? 'ok' : 'failed'} after-restart=${r.after_rerun} stranded=${r.stranded.length}${r.detail ? ` (${r.detail})` : ''}`;
  process.stderr.write(line + '\n');
});
tally.cases += serveResults.length;
tally.passed += serveResults.filter((r) => r.ok).length;
tally.failed += serveResults.filter((r) => !r.ok).length;
tally.killed += serveResults.filter((r) => r.killed).length;
tally.mixed_states += serveResults.filter((r) => r.after_kill === 'mixed' || r.after_rerun === 'mixed').length;
tally.missing_states += serveResults.filter((r) => r.after_kill === 'missing' || r.after_rerun === 'missing').length;
tally.stranded_entries += serveResults.reduce((n, r) => n + r.stranded.length, 0);
const lost = { rows: serveResults.reduce((n, r) => n + r.lost_rows, 0), events: serveResults.reduce((n, r) => n + r.lost_events, 0) };
const wall_s = Math.round(performance.now() - t0) / 1000;
const summary = { ...tally, lost_log_rows: lost.rows, lost_events: lost.events, wall_s, load_average: loadavg().map((x) => Math.round(x * 100) / 100), harness_cpu_s: Math.round((process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e4) / 100 };
process.stderr.write(`faults: ${tally.passed}/${tally.cases} passed, ${tally.killed} killed, ${tally.mixed_states} mixed, ${tally.missing_states} missing, ${tally.stranded_entries} stranded, ${tally.orphan_processes} orphan processes, ${lost.rows} lost log rows, ${lost.events} lost events in ${wall_s} s (load ${summary.load_average.join(' ')})\n`);
if (tally.failed === 0) rmSync(work, { recursive: true, force: true });
else process.stderr.write(`failed cases' lakes kept in ${work}\n`);
if (json) process.stdout.write(JSON.stringify({ tally: summary, cases: [...results, ...serveResults] }) + '\n');
process.exitCode = tally.failed === 0 ? 0 : 1;
