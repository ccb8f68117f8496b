import type { StepSpec } from './dag.js';
import type { StepUsage } from './cache.js';
import type { LeftOut } from './steps.js';

/**
 * The end-of-run report: one row per step (wall time, CPU time, peak RSS, cached or not) and the measured
 * saving of the parallel schedule.
 *
 *   sequential_s = Σ wall(step) over the steps that ran (one after another: what --jobs 1 would take if the
 *                  steps did not slow each other down; on a busy machine parallel steps share cores, so this
 *                  overstates the real sequential time — `bench:pipeline` measures --jobs 1 directly)
 *   critical_s   = longest dependency chain by wall time (no schedule can beat it)
 *   saving       = 1 − makespan / sequential_s
 */

export interface StepReport {
  step: string;
  resource: 'cpu' | 'io';
  /** ran: executed now; cached: an intact cache record from an earlier run; resumed: finished by the interrupted attempt of this run. */
  status: 'ran' | 'cached' | 'resumed' | 'failed' | 'blocked';
  key: string;
  /** sha256 of the step's config slice and args (part of the key; equal slices ⇒ the step was configured alike). */
  config_hash?: string;
  wall_s: number;
  cpu_s: number;
  peak_rss_mb: number;
  /** Offsets from the run's start (ran steps only). */
  start_s: number;
  end_s: number;
  /** Shard jobs the step ran as (distributed executor, `pipeline.shards`); usage then covers shards and merge. */
  shards?: number;
  /** For cache hits: what the step cost when it ran. */
  recorded?: StepUsage;
  error?: string;
}

export interface PipelineReport {
  run: string;
  resumed: boolean;
  lake: string;
  name: string;
  executor: string;
  jobs: number;
  io_jobs: number;
  steps: StepReport[];
  left_out: LeftOut[];
  ran: number;
  cached: number;
  /** Wall time of the whole run. */
  seconds: number;
  parallel: {
    makespan_s: number;
    sequential_s: number;
    critical_path_s: number;
    critical_path: string[];
    saving: number | null;
    cpu_s: number;
  };
  journal: string;
}

export function buildReport(a: {
  run: string;
  resumed: boolean;
  lake: string;
  name: string;
  executor: string;
  jobs: number;
  ioJobs: number;
  steps: StepSpec[];
  reports: StepReport[];
  leftOut: LeftOut[];
  seconds: number;
  journal: string;
  criticalPath: (steps: readonly StepSpec[], seconds: (id: string) => number) => { seconds: number; path: string[] };
}): PipelineReport {
  const ran = a.reports.filter((r) => r.status === 'ran' || r.status === 'failed');
  const byId = new Map(a.reports.map((r) => [r.step, r]));
  const sequential = ran.reduce((t, r) => t + r.wall_s, 0);
  const makespan = ran.length ? Math.max(...ran.map((r) => r.end_s)) - Math.min(...ran.map((r) => r.start_s)) : 0;
  const cp = a.criticalPath(a.steps, (id) => {
    const r = byId.get(id);
    return r && (r.status === 'ran' || r.status === 'failed') ? r.wall_s : 0;
  });
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return {
    run: a.run,
    resumed: a.resumed,
    lake: a.lake,
    name: a.name,
    executor: a.executor,
    jobs: a.jobs,
    io_jobs: a.ioJobs,
    steps: a.reports,
    left_out: a.leftOut,
    ran: a.reports.filter((r) => r.status === 'ran').length,
    cached: a.reports.filter((r) => r.status === 'cached' || r.status === 'resumed').length,
    seconds: r3(a.seconds),
    parallel: {
      makespan_s: r3(makespan),
      sequential_s: r3(sequential),
      critical_path_s: r3(cp.seconds),
      critical_path: cp.path.filter((id) => (byId.get(id)?.wall_s ?? 0) > 0),
      saving: sequential > 0 ? r3(1 - makespan / sequential) : null,
      cpu_s: r3(ran.reduce((t, r) => t + r.cpu_s, 0)),
    },
    journal: a.journal,
  };
}

/** The report as a table for people. */
export function renderReport(r: PipelineReport): string {
  const rows = r.steps.map((s) => [
    s.step,
    s.resource,
    s.status === 'ran' ? 'no' : s.status === 'cached' ? 'yes' : s.status === 'resumed' ? 'yes (resumed)' : s.status,
    s.status === 'ran' || s.status === 'failed' ? s.wall_s.toFixed(2) : s.recorded ? `(${s.recorded.wall_s.toFixed(2)})` : '-',
    s.status === 'ran' || s.status === 'failed' ? s.cpu_s.toFixed(2) : '-',
    s.status === 'ran' || s.status === 'failed' ? String(s.peak_rss_mb) : '-',
  ]);
  const head = ['step', 'class', 'cached', 'wall s', 'cpu s', 'peak RSS MB'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  const p = r.parallel;
  const out = [
    `pipeline run ${r.run}${r.resumed ? ' (resumed)' : ''} on ${r.lake} (${r.name}), executor ${r.executor}, cpu budget ${r.jobs} + ${r.io_jobs} io`,
    line(head),
    ...rows.map(line),
    `${r.ran} ran, ${r.cached} cached, ${r.seconds.toFixed(1)} s in all` + (r.cached ? ' (cached rows show their recorded wall time in parentheses)' : ''),
  ];
  if (p.saving !== null) {
    out.push(
      `parallel: makespan ${p.makespan_s.toFixed(1)} s vs ${p.sequential_s.toFixed(1)} s of step time one after another (saving ${(100 * p.saving).toFixed(0)} %); critical path ${p.critical_path_s.toFixed(1)} s (${p.critical_path.join(' → ')}); cpu ${p.cpu_s.toFixed(1)} s`,
    );
  }
  for (const l of r.left_out) out.push(`left out: ${l.step}: ${l.reason}`);
  out.push(`journal: ${r.journal}`);
  return out.join('\n');
}
