import type { Command } from 'commander';
import { ppError } from '../errors.js';
import {
  compareMetricNames,
  RUN_KINDS,
  RUN_STATUSES,
  RunStore,
  type BlessResult,
  type CompareTable,
  type GateResult,
  type MetricDirection,
  type MetricPart,
  type RunDetails,
  type RunKind,
  type RunRecord,
  type RunStatus,
} from '../tracking/index.js';
import { runCommand, type GlobalOptions } from './output.js';

/**
 * `plotpointe runs list|show|compare|bless|gate`: the experiment log in `<lake>/runs.duckdb`. `runs gate`
 * exits 1 (PP_GATE_FAILED) when the candidate run regresses against the blessed run, for CI.
 */

const DEFAULT_LAKE = './lake';

/** Aligned columns; `right[i]` right-aligns column i (numbers). */
export function formatTable(headers: string[], rows: string[][], right: boolean[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 && !right[i] ? c : right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** A metric for tables: 4 decimals, or 3 significant digits when tiny; '-' when missing. */
export function fmtValue(v: number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (v !== 0 && Math.abs(v) < 0.001) return v.toPrecision(3);
  if (Math.abs(v) >= 10000) return v.toFixed(0);
  return v.toFixed(4);
}

function fmtPct(r: number | null): string {
  if (r === null) return '-';
  if (!Number.isFinite(r)) return r > 0 ? '+inf%' : '-inf%';
  return `${r >= 0 ? '+' : ''}${(r * 100).toFixed(2)}%`;
}

/** Up to 6 significant digits: enough to see why a gate failed. */
const fmtExact = (v: number) => (Number.isFinite(v) ? String(Number(v.toPrecision(6))) : String(v));
const fmtSeconds = (s: number | null) => (s === null ? '-' : s < 100 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`);
const fmtTime = (iso: string | null) => (iso === null ? '-' : iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z'));

function positiveInt(v: unknown, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw ppError('PP_USAGE', `${flag} expects a positive integer, got "${String(v)}"`);
  return n;
}

/** "0.01" or "1%". */
export function parseTolerance(v: unknown): number {
  const s = String(v).trim();
  const n = s.endsWith('%') ? Number(s.slice(0, -1)) / 100 : Number(s);
  if (s === '' || !Number.isFinite(n) || n < 0) throw ppError('PP_USAGE', `--tolerance expects a number ≥ 0 such as 0.01 or 1%, got "${s}"`);
  return n;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], flag: string): T | undefined {
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) throw ppError('PP_USAGE', `${flag} must be one of ${allowed.join(', ')}, got "${String(v)}"`);
  return v as T;
}

/** The metric shown by `runs list`: the one asked for, else ndcg@20 when present, else the first test metric. */
function listMetric(runs: RunRecord[], asked?: string): string | undefined {
  if (asked) return asked;
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.metrics.test)))].sort(compareMetricNames);
  return names.includes('ndcg@20') ? 'ndcg@20' : names[0];
}

export function renderList(r: { runs: RunRecord[]; metric?: string }): string {
  if (r.runs.length === 0) return 'no runs';
  const metric = r.metric;
  const headers = ['id', 'status', 'dataset/split', 'model', 'kind', ...(metric ? [metric] : []), 'wall', 'started'];
  const rows = r.runs.map((run) => [
    run.id + (run.blessedIn.length ? ' *' : ''),
    run.status,
    `${run.dataset}/${run.split}`,
    run.model,
    run.kind,
    ...(metric ? [fmtValue(run.metrics.test[metric])] : []),
    fmtSeconds(run.wallSeconds),
    fmtTime(run.startedAt),
  ]);
  const right = headers.map((h) => h === metric || h === 'wall');
  const blessedNote = r.runs.some((x) => x.blessedIn.length) ? '\n* blessed' : '';
  return formatTable(headers, rows, right) + blessedNote;
}

export function renderShow(run: RunDetails, maxEpochs = 20): string {
  const lines = [
    `run ${run.id} (${run.kind}, ${run.status})${run.blessedIn.length ? `, blessed in scope ${run.blessedIn.join(', ')}` : ''}`,
    `  dataset ${run.dataset}, split ${run.split}${run.splitHash ? ` (hash ${run.splitHash.slice(0, 12)})` : ''}`,
    `  model ${run.model}, config hash ${run.configHash.slice(0, 12)}${run.parentRunId ? `, parent ${run.parentRunId}` : ''}`,
    `  code ${run.gitCommit ?? 'unknown commit'}, plotpointe ${run.packageVersion ?? '?'}, node ${run.nodeVersion ?? '?'} on ${run.hostname ?? '?'}${
      run.ownerPid !== null ? ` (pid ${run.ownerPid})` : ''
    }`,
    `  started ${fmtTime(run.startedAt)}, finished ${fmtTime(run.finishedAt)}, wall ${fmtSeconds(run.wallSeconds)}, peak RSS ${
      run.peakRssMb === null ? '-' : `${Math.round(run.peakRssMb)} MB`
    }${run.bestEpoch !== null ? `, best epoch ${run.bestEpoch}` : ''}`,
  ];
  if (run.artifactsDir) lines.push(`  artifacts ${run.artifactsDir}`);
  for (const [k, v] of Object.entries(run.artifacts ?? {})) lines.push(`    ${k}: ${v}`);
  if (run.error) lines.push(`  ${run.status === 'interrupted' ? 'why' : 'error'}: ${run.error.replace(/^interrupted: /, '')}`);
  else if (run.status === 'running' && run.heartbeatAt) lines.push(`  last heartbeat ${fmtTime(run.heartbeatAt)}`);
  lines.push('config:', ...JSON.stringify(run.config, null, 2).split('\n').map((l) => '  ' + l));
  const names = [...new Set([...Object.keys(run.metrics.valid), ...Object.keys(run.metrics.test)])].sort(compareMetricNames);
  if (names.length) {
    lines.push('metrics:');
    const table = formatTable(
      ['metric', 'valid', 'test'],
      names.map((m) => [m, fmtValue(run.metrics.valid[m]), fmtValue(run.metrics.test[m])]),
      [false, true, true],
    );
    lines.push(...table.split('\n').map((l) => '  ' + l));
  }
  if (run.extra) lines.push(`extra: ${JSON.stringify(run.extra)}`);
  if (run.epochs.length) {
    const shown = run.epochs.slice(-maxEpochs);
    const metricNames = [...new Set(shown.flatMap((e) => Object.keys(e.metrics)))].sort(compareMetricNames);
    lines.push(`epochs (${run.epochs.length}${shown.length < run.epochs.length ? `, the last ${shown.length}; --json for all` : ''}):`);
    const table = formatTable(
      ['epoch', 'loss', ...metricNames, 'seconds', 'lr'],
      shown.map((e) => [
        String(e.epoch),
        fmtValue(e.loss),
        ...metricNames.map((m) => fmtValue(e.metrics[m])),
        e.seconds === null ? '-' : e.seconds.toFixed(1),
        e.lr === null ? '-' : String(e.lr),
      ]),
      [true, true, ...metricNames.map(() => true), true, true],
    );
    lines.push(...table.split('\n').map((l) => '  ' + l));
  }
  return lines.join('\n');
}

export function renderCompare(t: CompareTable): string {
  const headers = ['run', 'model', 'status', ...t.columns, 'wall'];
  const rows = t.rows.map((r, i) => [
    r.runId + (i === 0 ? ' (base)' : ''),
    r.model,
    r.status,
    ...t.columns.map((c) => (i === 0 || r.values[c] === null ? fmtValue(r.values[c]) : `${fmtValue(r.values[c])} (${fmtPct(r.relative[c])})`)),
    fmtSeconds(r.wallSeconds),
  ]);
  return formatTable(headers, rows, [false, false, false, ...t.columns.map(() => true), true]);
}

export function renderBless(r: BlessResult): string {
  const b = r.blessing;
  const where = `${b.dataset}/${b.split} (scope ${b.scope})`;
  if (!r.changed) return `${b.runId} already is the blessed run of ${where}`;
  return `blessed ${b.runId} as the reference of ${where}${b.previousRunId ? `; it replaces ${b.previousRunId}` : ''}`;
}

function gateSentence(g: GateResult): string {
  return (
    `${g.part} ${g.metric} of run ${g.candidate} is ${fmtExact(g.value)} vs ${fmtExact(g.blessedValue)} of blessed run ${g.blessed} ` +
    `(${fmtPct(g.relative)}, tolerance ${(g.tolerance * 100).toFixed(2)}%, ${g.direction} is better)`
  );
}

export const renderGate = (g: GateResult) => `gate passed: ${gateSentence(g)}`;

export function registerRunsCommands(program: Command, setExit: (code: number) => void): void {
  const runs = program.command('runs').description('the experiment log: list, show, compare and bless runs; gate a run against the blessed one');
  const globals = (cmd: Command) => cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
  const openStore = (o: Record<string, unknown>) => RunStore.open(String(o.lake ?? DEFAULT_LAKE), { create: false });

  runs
    .command('list')
    .description('recorded runs, newest first (* marks blessed runs)')
    .option('--lake <dir>', 'lake folder', DEFAULT_LAKE)
    .option('--dataset <name>', 'only runs of this dataset')
    .option('--split <name>', 'only runs on this split')
    .option('--model <name>', 'only runs of this model')
    .option('--kind <kind>', `only runs of this kind: ${RUN_KINDS.join(', ')}`)
    .option('--status <status>', `only runs with this status: ${RUN_STATUSES.join(', ')}`)
    .option('--limit <n>', 'at most this many runs', '20')
    .option('--metric <name>', 'the test metric column (default ndcg@20 when present)')
    .action(async (_o, cmd: Command) => {
      const o = globals(cmd);
      setExit(
        await runCommand(
          o,
          async () => {
            const store = await openStore(o);
            const list = await store.list({
              dataset: o.dataset as string | undefined,
              split: o.split as string | undefined,
              model: o.model as string | undefined,
              kind: oneOf<RunKind>(o.kind, RUN_KINDS, '--kind'),
              status: oneOf<RunStatus>(o.status, RUN_STATUSES, '--status'),
              limit: positiveInt(o.limit, '--limit'),
            });
            store.close();
            return { runs: list, metric: listMetric(list, o.metric as string | undefined) };
          },
          renderList,
        ),
      );
    });

  runs
    .command('show')
    .description('one run: provenance, config, final metrics and epochs')
    .argument('<id>', 'run id')
    .option('--lake <dir>', 'lake folder', DEFAULT_LAKE)
    .option('--epochs <n>', 'epochs shown (the last ones; --json has all)', '20')
    .action(async (id: string, _o, cmd: Command) => {
      const o = globals(cmd);
      let maxEpochs = 20;
      setExit(
        await runCommand(
          o,
          async () => {
            maxEpochs = positiveInt(o.epochs, '--epochs');
            const store = await openStore(o);
            const run = await store.require(id);
            store.close();
            return run;
          },
          (run) => renderShow(run, maxEpochs),
        ),
      );
    });

  runs
    .command('compare')
    .description('runs side by side on chosen metrics, with changes against the first run')
    .argument('<ids...>', 'two or more run ids; the first is the baseline')
    .option('--lake <dir>', 'lake folder', DEFAULT_LAKE)
    .option('--metric <names...>', 'metrics: ndcg@20 (test part) or valid:ndcg@20; default every test metric')
    .action(async (ids: string[], _o, cmd: Command) => {
      const o = globals(cmd);
      setExit(
        await runCommand(
          o,
          async () => {
            if (ids.length < 2) throw ppError('PP_USAGE', 'runs compare needs at least two run ids');
            const store = await openStore(o);
            const table = await store.compare(ids, o.metric as string[] | undefined);
            store.close();
            return table;
          },
          renderCompare,
        ),
      );
    });

  runs
    .command('bless')
    .description('make a finished run the reference of its dataset/split that `runs gate` compares against')
    .argument('<id>', 'run id')
    .option('--lake <dir>', 'lake folder', DEFAULT_LAKE)
    .option('--scope <name>', 'a separate line of references within the dataset/split', 'default')
    .option('--note <text>', 'why this run is blessed (kept in the history)')
    .action(async (id: string, _o, cmd: Command) => {
      const o = globals(cmd);
      setExit(
        await runCommand(
          o,
          async () => {
            const store = await openStore(o);
            const r = await store.bless(id, { scope: String(o.scope), note: o.note as string | undefined });
            store.close();
            return r;
          },
          renderBless,
        ),
      );
    });

  runs
    .command('gate')
    .description('exit 1 (PP_GATE_FAILED) when a run regresses on a metric against the blessed run')
    .option('--lake <dir>', 'lake folder', DEFAULT_LAKE)
    .option('--dataset <name>', 'dataset (needed without --run)')
    .option('--split <name>', 'split (needed without --run)')
    .requiredOption('--metric <name>', 'the metric, e.g. ndcg@20')
    .option('--run <id>', 'the candidate run (default: the newest finished run of the dataset/split)')
    .option('--model <name>', 'without --run: the newest finished run of this model')
    .option('--part <part>', 'test or valid', 'test')
    .option('--tolerance <t>', 'allowed relative drop, e.g. 0.01 or 1%', '0')
    .option('--direction <d>', 'higher or lower is better (default: from the metric name)')
    .option('--scope <name>', 'the blessing scope', 'default')
    .option('--allow-split-mismatch', 'gate even when the two runs used different split contents')
    .action(async (_o, cmd: Command) => {
      const o = globals(cmd);
      setExit(
        await runCommand(
          o,
          async () => {
            if (o.run === undefined && (o.dataset === undefined || o.split === undefined)) {
              throw ppError('PP_USAGE', 'runs gate needs --dataset and --split, or --run');
            }
            const part = oneOf<MetricPart>(o.part, ['test', 'valid'], '--part');
            const direction = oneOf<MetricDirection>(o.direction, ['higher', 'lower'], '--direction');
            const tolerance = parseTolerance(o.tolerance);
            const store = await openStore(o);
            const g = await store.gate({
              runId: o.run as string | undefined,
              dataset: o.dataset as string | undefined,
              split: o.split as string | undefined,
              metric: String(o.metric),
              part,
              tolerance,
              direction,
              scope: String(o.scope),
              model: o.model as string | undefined,
              allowSplitMismatch: Boolean(o.allowSplitMismatch),
            });
            store.close();
            if (!g.pass) throw ppError('PP_GATE_FAILED', gateSentence(g));
            return g;
          },
          renderGate,
        ),
      );
    });
}
