/**
 * `plotpointe tune`: a hyperparameter search of one model on a split. One `search` run in the run store is
 * the search (config: model, space, sampler, trials, budget); each trial is an ordinary train run whose
 * parent it is (runTraining), so every trial has its params, curve and metrics tracked. Trials are chosen
 * by a sampler (random or TPE, sampler.ts), stopped early by the median rule on their validation curve
 * (pruner.ts), and the best trial is the one with the highest valid NDCG@20 (test is recorded, never used).
 *
 * Budget: `budgetMinutes` covers the whole search; each trial gets what is left divided by the trials left,
 * and no trial starts once the budget is spent. The search run finishes with the best trial's valid/test
 * metrics and `extra.search` (see {@link SearchRecord}): what the dashboard and `train --params-from` read.
 */
import { ppError, isPlotPointeError } from '../../errors.js';
import { loadSplit } from '../../graphs/split-data.js';
import { openDataset } from '../../lake/dataset.js';
import { getModel, resolveParams } from '../../models/index.js';
import type { SearchSpace } from '../../models/search-spaces.js';
import { RunStore, peakRssMb, type RunDetails } from '../../tracking/index.js';
import { SEARCH_METRIC, type SearchRecord, type TrialRecord } from '../../tracking/search-record.js';
import { runTraining, type TrainSummary } from '../run-training.js';
import { MedianPruner, type CurvePoint } from './pruner.js';
import { makeSampler, type Observation } from './sampler.js';
import type { Point } from './space.js';

export { SEARCH_METRIC, type SearchRecord, type TrialRecord } from '../../tracking/search-record.js';

export interface SearchOptions {
  lake: string;
  name: string;
  split: string;
  model: string;
  space: SearchSpace;
  trials: number;
  sampler?: 'random' | 'tpe';
  /** Fixed params of every trial (the searched ones override them). */
  params?: Record<string, unknown>;
  /** Budget of the whole search, minutes (default: none). */
  budgetMinutes?: number;
  /** Seed of the sampler; each trial trains with `seed` too (so trials differ only by their params). */
  seed?: number;
  ks?: number[];
  /** Median stopping of bad trials (default on). */
  prune?: boolean;
  /** Called after each trial (progress). */
  onTrial?: (done: number, total: number, t: TrialRecord) => void;
}

export interface SearchSummary {
  search_id: string;
  model: string;
  dataset: string;
  split: string;
  sampler: string;
  selected_by: string;
  trials: TrialRecord[];
  best: TrialRecord | null;
  best_params: Record<string, unknown> | null;
  /** The command that trains the best configuration again. */
  train_command: string | null;
  seconds: number;
}

export async function runSearch(o: SearchOptions): Promise<SearchSummary> {
  const started = performance.now();
  const spec = getModel(o.model);
  if (!Number.isInteger(o.trials) || o.trials < 1) throw ppError('PP_USAGE', `--trials must be a positive integer, got ${o.trials}`);
  resolveParams(spec, o.params); // bad base params fail before anything runs
  const seed = o.seed ?? 42;
  const samplerName = o.sampler ?? 'tpe';
  const sampler = makeSampler(samplerName, seed);
  const pruner = o.prune === false ? null : new MedianPruner();
  const data = await loadSplit((await openDataset(o.lake, o.name)).split(o.split));
  // No heartbeat: the trials' run stores (runTraining's worker thread) are other DuckDB instances of the same
  // file in this process, which the OS file lock does not exclude — a timer's write during a trial loses rows
  // ("run not found"). This store writes only between trials; on this host the live pid keeps the run alive.
  const store = await RunStore.open(o.lake, { heartbeatMs: 0 });
  const search = await store.startRun({
    dataset: o.name,
    split: o.split,
    splitHash: data.manifest.split_hash,
    model: o.model,
    kind: 'search',
    config: { kind: 'tune', model: o.model, space: o.space, sampler: samplerName, trials: o.trials, params: o.params ?? {}, seed, budget_minutes: o.budgetMinutes ?? null, prune: pruner !== null, selected_by: `valid ${SEARCH_METRIC}` },
    artifactsDir: null,
  });
  const trials: TrialRecord[] = [];
  const history: Observation[] = [];
  const summaries = new Map<string, TrainSummary>();
  try {
    for (let t = 1; t <= o.trials; t++) {
      let budgetMinutes: number | undefined;
      if (o.budgetMinutes !== undefined) {
        const left = o.budgetMinutes - (performance.now() - started) / 60000;
        if (left <= 0) break;
        budgetMinutes = left / (o.trials - t + 1);
      }
      const point: Point = sampler.next(o.space, history);
      const curve: CurvePoint[] = [];
      const rec: TrialRecord = { trial: t, run_id: null, model: o.model, params: point, status: 'failed', valid_ndcg20: null, valid_recall20: null, test_ndcg20: null, epochs: null, fit_seconds: null };
      try {
        const s = await runTraining({
          lake: o.lake,
          name: o.name,
          split: o.split,
          model: o.model,
          params: { ...o.params, ...point },
          seed,
          budgetMinutes,
          ks: o.ks,
          parentRunId: search.id,
          prune: (epoch, metrics) => {
            const v = metrics[SEARCH_METRIC];
            if (v === undefined) return false;
            curve.push({ epoch, value: v });
            return pruner?.shouldPrune(curve) ?? false;
          },
        });
        summaries.set(s.run_id, s);
        Object.assign(rec, {
          run_id: s.run_id,
          status: s.pruned_at_epoch ? 'pruned' : 'finished',
          valid_ndcg20: s.valid[SEARCH_METRIC] ?? null,
          valid_recall20: s.valid['recall@20'] ?? null,
          test_ndcg20: s.test[SEARCH_METRIC] ?? null,
          epochs: s.epochs,
          fit_seconds: s.fit_seconds,
        });
      } catch (err) {
        if (isPlotPointeError(err) && err.code === 'PP_MODEL_PARAM') throw err; // the space itself is wrong
        rec.error = err instanceof Error ? err.message : String(err);
      }
      pruner?.addTrial(curve);
      history.push({ params: point, value: rec.valid_ndcg20 });
      trials.push(rec);
      o.onTrial?.(t, o.trials, rec);
    }
    const record = searchRecord('tune', trials, (r) => (r.run_id ? summaries.get(r.run_id)!.params : null));
    const best = trials.find((r) => r.trial === record.best_trial) ?? null;
    const bestSummary = best?.run_id ? summaries.get(best.run_id)! : null;
    await store.finishRun(search.id, {
      valid: bestSummary?.valid ?? {},
      test: bestSummary?.test ?? {},
      extra: { search: record },
      wallSeconds: (performance.now() - started) / 1000,
      peakRssMb: peakRssMb(),
    });
    if (!best) throw ppError('PP_EVAL_INVALID', `no trial of search ${search.id} finished with valid metrics: ${trials.map((r) => r.error ?? r.status).join('; ')}`);
    return {
      search_id: search.id,
      model: o.model,
      dataset: o.name,
      split: o.split,
      sampler: samplerName,
      selected_by: record.selected_by,
      trials,
      best,
      best_params: record.best_params,
      train_command: `plotpointe train --model ${o.model} --params-from ${search.id}`,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (err) {
    const run = await store.get(search.id);
    if (run?.status === 'running') await store.failRun(search.id, err instanceof Error ? err.message : String(err), { wallSeconds: (performance.now() - started) / 1000, peakRssMb: peakRssMb() });
    throw err;
  } finally {
    store.close();
  }
}

/** The search record of finished trials: the best is the highest valid NDCG@20 among those that can win. */
export function searchRecord(kind: SearchRecord['kind'], trials: TrialRecord[], fullParams: (t: TrialRecord) => Record<string, unknown> | null, canWin: (t: TrialRecord) => boolean = () => true): SearchRecord {
  let best: TrialRecord | null = null;
  for (const t of trials) if (t.run_id && t.valid_ndcg20 !== null && canWin(t) && (!best || t.valid_ndcg20 > best.valid_ndcg20!)) best = t;
  return { kind, selected_by: `valid ${SEARCH_METRIC}`, best_run_id: best?.run_id ?? null, best_trial: best?.trial ?? null, best_params: best ? fullParams(best) : null, trials };
}

/** The model and params of a search's best trial (`train --params-from <search id>`). */
export async function paramsFromSearch(lake: string, searchId: string): Promise<{ model: string; params: Record<string, unknown> }> {
  const store = await RunStore.open(lake, { create: false });
  let run: RunDetails;
  try {
    run = await store.require(searchId);
  } finally {
    store.close();
  }
  const rec = (run.extra as { search?: SearchRecord } | null)?.search;
  if (run.kind !== 'search' || !rec) throw ppError('PP_RUN_INVALID', `run ${searchId} is a ${run.kind} run, not a search (plotpointe tune)`);
  const best = rec.trials.find((t) => t.trial === rec.best_trial);
  if (!best || !rec.best_params) throw ppError('PP_RUN_INVALID', `search ${searchId} has no best trial (status ${run.status})`);
  return { model: best.model, params: rec.best_params };
}
