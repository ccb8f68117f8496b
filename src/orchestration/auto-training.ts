/**
 * `plotpointe train --model auto`: fits every model of a candidate set on the split, each as its own
 * recorded train run, children of one `search` run (model `auto`) that records the selection — every
 * candidate's valid metrics and the winner (`extra.search`, as `plotpointe tune` writes it; the dashboard
 * shows it beside the served model) — and picks the one with the best valid NDCG@20 (test is never used). Candidates are
 * `name` or `name:key=value:key=value` (model params). The budget is shared: closed-form and heuristic
 * candidates run first with no budget, then the trained ones split what is left equally.
 * With `servable`, only candidates whose fitted model exports user/item embeddings (what the serving
 * bundle's ANN index needs) can win; the others are still fitted and recorded for comparison.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ppError } from '../errors.js';
import { getModel } from '../models/index.js';
import { openDataset } from '../lake/dataset.js';
import { RunStore, peakRssMb } from '../tracking/index.js';
import { runTraining, type TrainOptions, type TrainSummary } from './run-training.js';
import { searchRecord, type TrialRecord } from './search/run-search.js';

export interface Candidate {
  model: string;
  params: Record<string, string>;
}

/** Parses "pop,ease:variant=lowrank:rank=128,lightgcn" into candidates (models checked against the registry). */
export function parseCandidates(text: string): Candidate[] {
  const out: Candidate[] = [];
  for (const part of text.split(',').map((t) => t.trim()).filter(Boolean)) {
    const [model, ...kvs] = part.split(':');
    getModel(model); // PP_MODEL_UNKNOWN
    const params: Record<string, string> = {};
    for (const kv of kvs) {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw ppError('PP_USAGE', `candidate "${part}": expected name:key=value, got "${kv}"`);
      params[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    out.push({ model, params });
  }
  if (out.length === 0) throw ppError('PP_USAGE', 'train --model auto needs at least one candidate');
  return out;
}

export interface AutoOptions extends Omit<TrainOptions, 'model' | 'params' | 'resumeRunId'> {
  candidates: Candidate[];
  /** Only models that export embeddings can win (the pipeline's index step needs them). */
  servable?: boolean;
}

export interface CandidateResult {
  model: string;
  params: Record<string, string>;
  run_id: string | null;
  valid_ndcg20: number | null;
  valid_recall20: number | null;
  test_ndcg20: number | null;
  fit_seconds: number | null;
  servable: boolean;
  error?: string;
}

/** The winner's train summary (so `run_id` is the served run) plus every candidate's result. */
export type AutoSummary = TrainSummary & { auto: { search_id: string; selected_by: 'valid ndcg@20'; servable_only: boolean; candidates: CandidateResult[] } };

/** Whether a model's fitted form exports embeddings (decided from a saved run: the ANN index needs them). */
function exportsEmbeddings(c: Candidate): boolean {
  const spec = getModel(c.model);
  if (spec.name === 'ease') return c.params.variant === 'lowrank';
  return spec.kind === 'trained';
}

export async function runAutoTraining(o: AutoOptions): Promise<AutoSummary> {
  const started = performance.now();
  const order = [...o.candidates].sort((a, b) => Number(getModel(a.model).kind === 'trained') - Number(getModel(b.model).kind === 'trained'));
  const paths = await openDataset(o.lake, o.name);
  const manifest = JSON.parse(await readFile(paths.split(o.split).manifest, 'utf8').catch(() => '{}')) as { split_hash?: string };
  // No heartbeat: the trials' run stores (runTraining's worker thread) are other DuckDB instances of the same
  // file in this process, which the OS file lock does not exclude — a timer's write during a trial loses rows
  // ("run not found"). This store writes only between trials; on this host the live pid keeps the run alive.
  const store = await RunStore.open(o.lake, { heartbeatMs: 0 });
  const search = await store.startRun({
    dataset: o.name,
    split: o.split,
    splitHash: manifest.split_hash ?? null,
    model: 'auto',
    kind: 'search',
    config: { kind: 'auto', candidates: o.candidates, servable_only: Boolean(o.servable), seed: o.seed ?? 42, budget_minutes: o.budgetMinutes ?? null, selected_by: 'valid ndcg@20' },
    artifactsDir: null,
  });
  try {
    const results: CandidateResult[] = [];
    const summaries = new Map<string, TrainSummary>();
    let trainedLeft = order.filter((c) => getModel(c.model).kind === 'trained').length;
    for (const c of order) {
      const trained = getModel(c.model).kind === 'trained';
      let budgetMinutes: number | undefined;
      if (trained && o.budgetMinutes !== undefined) {
        const left = o.budgetMinutes - (performance.now() - started) / 60000;
        budgetMinutes = Math.max(0.05, left / Math.max(1, trainedLeft));
      }
      if (trained) trainedLeft--;
      const servable = exportsEmbeddings(c);
      try {
        const s = await runTraining({ ...o, model: c.model, params: c.params, budgetMinutes, parentRunId: search.id });
        summaries.set(s.run_id, s);
        results.push({
          model: c.model,
          params: c.params,
          run_id: s.run_id,
          valid_ndcg20: s.valid['ndcg@20'] ?? null,
          valid_recall20: s.valid['recall@20'] ?? null,
          test_ndcg20: s.test['ndcg@20'] ?? null,
          fit_seconds: s.fit_seconds,
          servable,
        });
      } catch (err) {
        // a failed candidate is recorded (its run is marked failed) and the others go on
        results.push({ model: c.model, params: c.params, run_id: null, valid_ndcg20: null, valid_recall20: null, test_ndcg20: null, fit_seconds: null, servable, error: (err as Error).message });
      }
    }
    const trials: TrialRecord[] = results.map((r, i) => ({
      trial: i + 1,
      run_id: r.run_id,
      model: r.model,
      params: r.params,
      status: r.run_id ? 'finished' : 'failed',
      valid_ndcg20: r.valid_ndcg20,
      valid_recall20: r.valid_recall20,
      test_ndcg20: r.test_ndcg20,
      epochs: r.run_id ? summaries.get(r.run_id)!.epochs : null,
      fit_seconds: r.fit_seconds,
      servable: r.servable,
      ...(r.error ? { error: r.error } : {}),
    }));
    const record = searchRecord('auto', trials, (t) => summaries.get(t.run_id!)!.params, (t) => !o.servable || Boolean(t.servable));
    const winner = record.best_run_id ? summaries.get(record.best_run_id)! : null;
    await store.finishRun(search.id, {
      valid: winner?.valid ?? {},
      test: winner?.test ?? {},
      extra: { search: record },
      wallSeconds: (performance.now() - started) / 1000,
      peakRssMb: peakRssMb(),
    });
    if (!winner) {
      throw ppError('PP_EVAL_INVALID', `no candidate could be selected (${o.servable ? 'servable, ' : ''}with valid metrics): ${results.map((r) => `${r.model}${r.error ? ` (${r.error})` : ''}`).join(', ')}`);
    }
    return { ...winner, auto: { search_id: search.id, selected_by: 'valid ndcg@20', servable_only: Boolean(o.servable), candidates: results } };
  } catch (err) {
    if ((await store.get(search.id))?.status === 'running') await store.failRun(search.id, err instanceof Error ? err.message : String(err), { wallSeconds: (performance.now() - started) / 1000, peakRssMb: peakRssMb() });
    throw err;
  } finally {
    store.close();
  }
}
