/**
 * Ablations (`plotpointe ablate`): a grid of a model's hyperparameters (param = list of values, cartesian
 * product), each cell trained with several seeds through {@link runTraining} (so every cell × seed is an
 * ordinary tracked train run, child of one `ablate` run), summarised as a table of full-ranking test metrics
 * (mean ± sample sd over the seeds that finished), validation metrics and fit times.
 *
 *   mean = Σ_s x_s / n      sd = √(Σ_s (x_s − mean)² / (n − 1))   (sd = 0 for n = 1; over finished seeds)
 *
 * A cell that cannot run (its first seed fails, e.g. image features on a lake without image embeddings:
 * PP_EMBED_STORE / PP_GRAPH_LOAD) is marked `unavailable` with the error, and its other seeds are skipped;
 * any other failure marks the cell (or the seed) `failed`. The grid goes on either way. Parameter values
 * are checked against the model's documented params before anything is trained.
 *
 * On a split with cold items (items without a train interaction, e.g. the cold-item strategy) every run is
 * also scored on the cold items alone (cold-start.ts: ranking among the cold items, train+valid masked,
 * relevant = test ∩ cold), with the analytic expectation of a random ranking beside the table
 * (cold-start-report.ts) — where content shows whether it carries signal.
 *
 * Written to `<lake>/artifacts/<name>/ablations/<ablation run id>/ablation.{json,md}`.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ppError, isPlotPointeError } from '../errors.js';
import type { ProgressFactory } from '../core/progress.js';
import { writeFileAtomically } from '../lake/atomic.js';
import { datasetPaths } from '../lake/paths.js';
import { loadSplit } from '../graphs/split-data.js';
import { getModel, resolveParams } from '../models/index.js';
import { RunStore, peakRssMb } from '../tracking/index.js';
import { runTraining, type TrainSummary } from './run-training.js';
import { openContentSource } from '../embeddings/split-content.js';
import { coldItemMetricsOfModel, coldSetup, expectedRandomMetrics } from './cold-start-report.js';

export type GridValue = string | number | boolean;
export type Grid = Record<string, GridValue[]>;

/** Parses `key=v1,v2,…` items into a grid (values stay strings; the model's param specs coerce them). */
export function parseGrid(items: readonly string[]): Grid {
  const grid: Grid = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) throw ppError('PP_USAGE', `--grid expects key=v1,v2,…, got "${item}"`);
    const key = item.slice(0, eq);
    if (grid[key]) throw ppError('PP_USAGE', `--grid names ${key} twice`);
    const values = item.slice(eq + 1).split(',').map((v) => v.trim());
    if (values.some((v) => v === '')) throw ppError('PP_USAGE', `--grid ${key} has an empty value`);
    if (new Set(values).size !== values.length) throw ppError('PP_USAGE', `--grid ${key} repeats a value`);
    grid[key] = values;
  }
  return grid;
}

/** The cartesian product of the grid, first key slowest (row order of the table). */
export function gridCells(grid: Grid): Record<string, GridValue>[] {
  let cells: Record<string, GridValue>[] = [{}];
  for (const [key, values] of Object.entries(grid)) cells = cells.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  return cells;
}

export interface AblateOptions {
  lake: string;
  name: string;
  split: string;
  model: string;
  grid: Grid;
  /** Params shared by every cell (the grid overrides them). */
  params?: Record<string, unknown>;
  /** Number of seeds per cell (seeds firstSeed, firstSeed + 1, …); default 3. */
  seeds?: number;
  firstSeed?: number;
  /** Fit budget per run, minutes. */
  budgetMinutes?: number;
  ks?: number[];
  /** Each run's progress display (the CLI passes its bar); default silent. */
  progress?: ProgressFactory;
  /** Called after every run (progress). */
  onRun?: (done: number, total: number, cell: Record<string, GridValue>, seed: number, result: TrainSummary | Error) => void;
}

export interface Stat {
  mean: number;
  sd: number;
  n: number;
}

export interface AblationCell {
  params: Record<string, GridValue>;
  status: 'ok' | 'partial' | 'unavailable' | 'failed';
  /** one per seed that was run: the tracked run id, or the error */
  runs: { seed: number; run_id: string | null; test: Record<string, number>; valid: Record<string, number>; cold?: Record<string, number>; fit_seconds: number; epochs: number; error?: { code: string; message: string } }[];
  test: Record<string, Stat>;
  valid: Record<string, Stat>;
  /** cold-item metrics (only on splits with cold items) */
  cold?: Record<string, Stat>;
  fit_seconds: Stat;
  epochs: Stat;
  error?: { code: string; message: string };
}

export interface AblationReport {
  id: string;
  dataset: string;
  split: string;
  split_hash: string;
  model: string;
  protocol: 'full ranking over all items; test part, train+valid masked; mean ± sample sd over seeds';
  grid: Grid;
  base_params: Record<string, unknown>;
  seeds: number[];
  budget_minutes: number | null;
  metrics: string[];
  /** cold-item evaluation: the cold set size, users, and the analytic random expectation (null without cold items) */
  cold: { items: number; users: number; random: Record<string, number> } | null;
  cells: AblationCell[];
  seconds: number;
  paths: { json: string; md: string };
}

/** mean ± sample sd (n − 1) of the finite values. */
export function stat(values: readonly number[]): Stat {
  const xs = values.filter((x) => Number.isFinite(x));
  const n = xs.length;
  if (n === 0) return { mean: NaN, sd: NaN, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

const UNAVAILABLE = new Set(['PP_EMBED_STORE', 'PP_GRAPH_LOAD', 'PP_CONTENT_MISSING']);

/** Runs the grid (see the module comment) and writes ablation.json / ablation.md. */
export async function runAblation(o: AblateOptions): Promise<AblationReport> {
  const started = performance.now();
  const spec = getModel(o.model);
  const cellsParams = gridCells(o.grid);
  if (cellsParams.length === 0 || Object.keys(o.grid).length === 0) throw ppError('PP_USAGE', 'the grid is empty: pass --grid key=v1,v2 …');
  // Check every cell's params up front: a typo must not cost a half-trained grid.
  for (const c of cellsParams) resolveParams(spec, { ...o.params, ...c });
  const nSeeds = o.seeds ?? 3;
  if (!Number.isInteger(nSeeds) || nSeeds < 1) throw ppError('PP_USAGE', `--seeds must be a positive integer, got ${nSeeds}`);
  const firstSeed = o.firstSeed ?? 1;
  const seeds = Array.from({ length: nSeeds }, (_, s) => firstSeed + s);
  const ks = o.ks ?? [10, 20, 50];
  const paths = datasetPaths(o.lake, o.name);
  const split = paths.split(o.split);
  const data = await loadSplit(split);
  const store = await RunStore.open(o.lake);
  const ablation = await store.startRun({
    dataset: o.name,
    split: o.split,
    splitHash: data.manifest.split_hash,
    model: o.model,
    kind: 'ablate',
    config: { model: o.model, grid: o.grid, params: o.params ?? {}, seeds, budget_minutes: o.budgetMinutes ?? null, ks },
    artifactsDir: null,
  });
  const dir = paths.ablation(ablation.id);
  const metricKeys = ks.flatMap((k) => [`recall@${k}`, `ndcg@${k}`]);
  const setup = coldSetup(data);
  const { cold: coldSet, seen } = setup;
  let coldTest = 0;
  for (let e = 0; e < data.test.indices.length && coldSet.length; e++) if (data.coldItems[data.test.indices[e]]) coldTest++;
  const coldInfo = coldSet.length > 0 && coldTest > 0 ? (() => {
    const r = expectedRandomMetrics({ seen, test: data.test, candidates: coldSet, numItems: data.numItems, ks });
    return { items: coldSet.length, users: r.users, random: r.metrics };
  })() : null;
  const content = openContentSource(split);
  const cells: AblationCell[] = [];
  const total = cellsParams.length * seeds.length;
  let done = 0;
  try {
    for (const params of cellsParams) {
      const runs: AblationCell['runs'] = [];
      let cellError: AblationCell['error'];
      let unavailable = false;
      for (const seed of seeds) {
        try {
          const r = await runTraining({
            lake: o.lake,
            name: o.name,
            split: o.split,
            model: o.model,
            params: { ...o.params, ...params },
            seed,
            budgetMinutes: o.budgetMinutes,
            ks,
            parentRunId: ablation.id,
            progress: o.progress,
          });
          const cold = coldInfo ? (await coldItemMetricsOfModel({ data, content, model: o.model, modelDir: r.artifacts.model, ks, setup })).metrics : undefined;
          runs.push({ seed, run_id: r.run_id, test: r.test, valid: r.valid, ...(cold ? { cold } : {}), fit_seconds: r.fit_seconds, epochs: r.epochs });
          o.onRun?.(++done, total, params, seed, r);
        } catch (err) {
          const error = { code: isPlotPointeError(err) ? err.code : 'PP_INTERNAL', message: err instanceof Error ? err.message : String(err) };
          runs.push({ seed, run_id: null, test: {}, valid: {}, fit_seconds: NaN, epochs: 0, error });
          o.onRun?.(++done, total, params, seed, err instanceof Error ? err : new Error(String(err)));
          if (runs.length === 1) {
            // The first seed failed: the cell cannot run (its other seeds would fail the same way).
            cellError = error;
            unavailable = UNAVAILABLE.has(error.code);
            done += seeds.length - 1;
            break;
          }
        }
      }
      const ok = runs.filter((r) => r.run_id !== null);
      const statOf = (part: 'test' | 'valid' | 'cold') => Object.fromEntries(metricKeys.map((k) => [k, stat(ok.map((r) => r[part]?.[k] ?? NaN))]));
      cells.push({
        params,
        status: ok.length === seeds.length ? 'ok' : ok.length > 0 ? 'partial' : unavailable ? 'unavailable' : 'failed',
        runs,
        test: statOf('test'),
        valid: statOf('valid'),
        ...(coldInfo ? { cold: statOf('cold') } : {}),
        fit_seconds: stat(ok.map((r) => r.fit_seconds)),
        epochs: stat(ok.map((r) => r.epochs)),
        ...(cellError ? { error: cellError } : {}),
      });
    }
    await mkdir(dir, { recursive: true });
    const report: AblationReport = {
      id: ablation.id,
      dataset: o.name,
      split: o.split,
      split_hash: data.manifest.split_hash,
      model: o.model,
      protocol: 'full ranking over all items; test part, train+valid masked; mean ± sample sd over seeds',
      grid: o.grid,
      base_params: o.params ?? {},
      seeds,
      budget_minutes: o.budgetMinutes ?? null,
      metrics: metricKeys,
      cold: coldInfo,
      cells,
      seconds: (performance.now() - started) / 1000,
      paths: { json: join(dir, 'ablation.json'), md: join(dir, 'ablation.md') },
    };
    await writeFileAtomically(report.paths.json, JSON.stringify(report, null, 1) + '\n');
    await writeFileAtomically(report.paths.md, ablationMarkdown(report));
    const best = [...cells].filter((c) => c.test['ndcg@20']?.n).sort((a, b) => b.test['ndcg@20'].mean - a.test['ndcg@20'].mean)[0];
    await store.finishRun(ablation.id, {
      valid: {},
      test: best ? Object.fromEntries(Object.entries(best.test).map(([k, s]) => [k, s.mean])) : {},
      extra: { cells: cells.length, runs: cells.reduce((a, c) => a + c.runs.length, 0), best_cell: best?.params ?? null, report: report.paths.json },
      artifacts: { dir, json: report.paths.json, md: report.paths.md },
      wallSeconds: report.seconds,
      peakRssMb: peakRssMb(),
    });
    return report;
  } catch (err) {
    await store.failRun(ablation.id, err instanceof Error ? err.message : String(err), { wallSeconds: (performance.now() - started) / 1000, peakRssMb: peakRssMb() });
    throw err;
  }
}

const pm = (s: Stat | undefined, digits = 4) => (!s || s.n === 0 ? '–' : s.n > 1 ? `${s.mean.toFixed(digits)} ± ${s.sd.toFixed(digits)}` : s.mean.toFixed(digits));

/** The Markdown table of a report: one row per cell, the grid's params as the first columns. */
export function ablationMarkdown(r: AblationReport): string {
  const keys = Object.keys(r.grid);
  const shown = r.metrics.filter((m) => m.endsWith('@20'));
  const metrics = shown.length ? shown : r.metrics.slice(0, 2);
  const coldCols = r.cold ? metrics : [];
  const head = [...keys, ...metrics.map((m) => `test ${m}`), ...coldCols.map((m) => `cold ${m}`), 'valid ndcg@20', 'fit s', 'epochs', 'seeds', 'status'];
  const rows = r.cells.map((c) => [
    ...keys.map((k) => String(c.params[k])),
    ...metrics.map((m) => pm(c.test[m])),
    ...coldCols.map((m) => pm(c.cold?.[m])),
    pm(c.valid['ndcg@20']),
    pm(c.fit_seconds, 1),
    pm(c.epochs, 1),
    `${c.fit_seconds.n}/${r.seeds.length}`,
    c.status === 'ok' ? 'ok' : `${c.status}${c.error ? `: ${c.error.code} ${c.error.message.replace(/\|/g, '/').slice(0, 120)}` : ''}`,
  ]);
  const line = (cols: string[]) => `| ${cols.join(' | ')} |`;
  return [
    `# Ablation ${r.id}: ${r.model} on ${r.dataset}/${r.split}`,
    '',
    `${r.protocol}. Seeds ${r.seeds.join(', ')}${r.budget_minutes ? `, fit budget ${r.budget_minutes} min per run` : ''}. Base params: ${JSON.stringify(r.base_params)}. Total ${r.seconds.toFixed(0)} s.`,
    '',
    line(head),
    line(head.map(() => '---')),
    ...rows.map(line),
    ...(r.cold
      ? [
          '',
          `cold = ranking among the ${r.cold.items} cold items (no train interaction; train+valid masked; ${r.cold.users} users with a cold test item). ` +
            `Random ranking (analytic expectation): ${coldCols.map((m) => `${m} ${r.cold!.random[m].toFixed(4)}`).join(', ')}.`,
        ]
      : []),
    '',
    'Run ids per cell are in ablation.json (`cells[].runs[].run_id`); each is a tracked train run (`plotpointe runs show <id>`).',
    '',
  ].join('\n');
}
