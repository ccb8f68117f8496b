import { mkdir, writeFile } from 'node:fs/promises';
import { ppError } from '../errors.js';
import { silentProgressFactory, type ProgressFactory } from '../core/progress.js';
import { datasetPaths } from '../lake/paths.js';
import { openDataset } from '../lake/dataset.js';
import { loadSplit, type SplitData } from '../graphs/split-data.js';
import { foldLiveEvents, type AddedPair, type LiveEventsSummary } from '../train/live-events.js';
import { loadRunSplit, trainPartRecord, writeTrainAdded } from '../train/run-train-part.js';
import { evaluateRecommender, evaluateRecommenderParts, evaluateRecommenderSampled } from '../eval/evaluate-model.js';
import { evalUserSample } from '../eval/user-sample.js';
import type { FullRankingResult } from '../eval/full-ranking.js';
import { getModel, resolveParams } from '../models/index.js';
import type { Recommender } from '../models/model.js';
import { RunStore } from '../tracking/index.js';
import { ThreadedRunStore } from '../tracking/run-store-thread.js';
import { openContentSource } from '../embeddings/split-content.js';

export interface TrainOptions {
  lake: string;
  /** Dataset name in the lake. */
  name: string;
  /** Split folder name under staging/<name>/splits/. */
  split: string;
  model: string;
  /** Hyperparameter overrides (checked against the model's documented params). */
  params?: Record<string, unknown>;
  seed?: number;
  /** Wall-clock budget for fitting, minutes (default: none). */
  budgetMinutes?: number;
  /** Cut-offs of the final evaluation (default 10, 20, 50). */
  ks?: number[];
  /**
   * Users sampled (seeded) from the valid part for the per-epoch validation that selects the best epoch and
   * stops early (default 0 = every valid user). The final valid and test metrics always rank every user.
   */
  validUsers?: number;
  /**
   * Continue an interrupted run from its last checkpoint: a new run (parent = that run) with the same model,
   * params and seed, whose trainer restores the checkpoint and goes on from the next epoch.
   */
  resumeRunId?: string;
  /** The run this one belongs to (e.g. the `ablate` run of a grid); ignored with resumeRunId. */
  parentRunId?: string;
  /** Fold the serving events stored since this time into train (live-events.ts; valid/test stay held out). */
  eventsSince?: { since: Date; types: string[] };
  /** Progress display (the CLI passes its bar); default silent. */
  progress?: ProgressFactory;
  /**
   * Asked after each validation with the epoch and its valid metrics: true stops the fit there, keeping the
   * best epoch (`tune`'s pruner). The run records `pruned_at_epoch`.
   */
  prune?: (epoch: number, metrics: Record<string, number>) => boolean;
}

export interface TrainSummary {
  run_id: string;
  dataset: string;
  split: string;
  model: string;
  params: Record<string, unknown>;
  seed: number;
  /** Full-ranking metrics on valid (train masked) and test (train and valid masked), keyed "recall@20". */
  valid: Record<string, number>;
  test: Record<string, number>;
  epochs: number;
  best_epoch: number | null;
  fit_seconds: number;
  eval_seconds: number;
  peak_rss_mb: number;
  artifacts: { dir: string; model: string; metrics: string };
  /** With eventsSince: what was added to train. */
  live_events?: LiveEventsSummary;
  /** With prune: the epoch at which the pruner stopped the fit. */
  pruned_at_epoch?: number;
}

const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

/** What a run writes next to its model: the full evaluation reports (with buckets, coverage, popularity). */
export interface RunMetricsFile {
  valid: FullRankingResult | null;
  test: FullRankingResult;
}

/**
 * `plotpointe train`: loads a split, fits a registered model on train (selecting on valid, never on test),
 * evaluates it by full ranking on valid and test, saves it under `<lake>/artifacts/<name>/<run>/` and records
 * the run (config, per-epoch loss and validation metrics, final metrics, times, peak RSS) in the run store.
 */
export async function runTraining(options: TrainOptions): Promise<TrainSummary> {
  // the store lives in a worker thread, so synchronous epochs never hold its file (run-store-thread.ts)
  const store = await ThreadedRunStore.open(options.lake);
  try {
    return await trainRecorded(options, store);
  } finally {
    await store.close();
  }
}

async function trainRecorded(options: TrainOptions, store: ThreadedRunStore): Promise<TrainSummary> {
  let o = options;
  let resumeFrom: string | null = null;
  if (options.resumeRunId) {
    const prev = await store.require(options.resumeRunId);
    const cfg = prev.config as { params?: Record<string, unknown>; seed?: number; ks?: number[]; budget_minutes?: number | null; valid_users?: number };
    o = {
      ...options,
      name: prev.dataset,
      split: prev.split,
      model: prev.model,
      params: cfg.params,
      seed: cfg.seed,
      ks: cfg.ks,
      budgetMinutes: options.budgetMinutes ?? cfg.budget_minutes ?? undefined,
      validUsers: options.validUsers ?? cfg.valid_users,
    };
    resumeFrom = datasetPaths(options.lake, prev.dataset).run(prev.id).work;
  }
  // Opened once: the run reads the dataset version current now (and leftovers of killed commands are cleaned).
  const paths = await openDataset(o.lake, o.name);
  const split = paths.split(o.split);
  let data = await loadSplit(split);
  let liveEvents: LiveEventsSummary | undefined;
  let added: AddedPair[] = [];
  if (o.eventsSince) ({ data, summary: liveEvents, added } = await foldLiveEvents(o.lake, data, o.eventsSince.since, o.eventsSince.types));
  // A derived train part is recorded with the run (run-train-part.ts): index build and eval rebuild exactly it.
  const trainPart = added.length > 0 ? trainPartRecord(data, added) : null;
  const spec = getModel(o.model);
  const params = resolveParams(spec, o.params);
  const seed = o.seed ?? 42;
  const ks = o.ks ?? [10, 20, 50];
  const hasValid = data.valid.indices.length > 0;
  if (spec.kind === 'trained' && !hasValid) {
    throw ppError('PP_SPLIT_INVALID', `${o.model} selects epochs on a validation part, and split ${o.split} has none (split with --valid-share)`);
  }
  const run = await store.startRun({
    dataset: o.name,
    split: o.split,
    splitHash: data.manifest.split_hash,
    model: o.model,
    kind: 'train',
    config: { model: o.model, params, seed, budget_minutes: o.budgetMinutes ?? null, ks, ...(o.validUsers ? { valid_users: o.validUsers } : {}), ...(liveEvents ? { live_events: liveEvents } : {}), ...(trainPart ? { train_part: trainPart } : {}) },
    artifactsDir: null,
    parentRunId: o.resumeRunId ?? o.parentRunId,
  });
  const runPaths = paths.run(run.id);
  const dir = runPaths.dir;
  const started = performance.now();
  const pending: Promise<unknown>[] = [];
  let epochs = 0;
  let prunedAt: number | undefined;
  const best = { epoch: 0, value: -Infinity };
  try {
    await mkdir(dir, { recursive: true });
    if (trainPart) await writeTrainAdded(runPaths, data, added);
    const validUsers = hasValid ? evalUserSample(data.valid, data.numUsers, o.validUsers ?? 0, seed) : null;
    const model = await spec.fit({
      data,
      content: openContentSource(split),
      params,
      seed,
      budgetSeconds: (o.budgetMinutes ?? Infinity) * 60,
      workDir: resumeFrom ?? runPaths.work,
      resume: resumeFrom !== null,
      validate: async (m) => (hasValid ? (await evaluateRecommender(m, data, 'valid', { ks: [20], users: validUsers })).metrics : {}),
      onEpoch: (e) => {
        epochs = e.epoch;
        const v = e.metrics['ndcg@20'];
        if (v !== undefined && v > best.value) Object.assign(best, { epoch: e.epoch, value: v });
        pending.push(store.logEpoch(run.id, e));
        if (o.prune && Object.keys(e.metrics).length > 0 && o.prune(e.epoch, e.metrics)) prunedAt = e.epoch;
      },
      stop: () => prunedAt !== undefined,
      progress: (label, total) => (options.progress ?? silentProgressFactory)(label, total, { unit: 'epochs' }),
    });
    const fitSeconds = (performance.now() - started) / 1000;
    await Promise.all(pending);
    const e0 = performance.now();
    const reports = await evaluateBoth(model, data, ks, hasValid, options.progress);
    const evalSeconds = (performance.now() - e0) / 1000;
    const modelDir = runPaths.model;
    await mkdir(modelDir, { recursive: true });
    await model.save(modelDir);
    const metricsPath = runPaths.metrics;
    await writeFile(metricsPath, JSON.stringify(reports, null, 1) + '\n');
    const details = await store.finishRun(run.id, {
      valid: reports.valid?.metrics ?? {},
      test: reports.test.metrics,
      extra: { coverage: reports.test.coverage, avg_popularity: reports.test.avgPopularity, fit_seconds: fitSeconds, eval_seconds: evalSeconds, ...(prunedAt ? { pruned_at_epoch: prunedAt } : {}) },
      artifacts: { dir, model: modelDir, metrics: metricsPath },
      wallSeconds: (performance.now() - started) / 1000,
      peakRssMb: peakRssMb(),
      bestEpoch: best.epoch > 0 ? best.epoch : undefined,
    });
    model.dispose?.();
    return {
      run_id: run.id,
      dataset: o.name,
      split: o.split,
      model: o.model,
      params: { ...params },
      seed,
      valid: reports.valid?.metrics ?? {},
      test: reports.test.metrics,
      epochs,
      best_epoch: details.bestEpoch,
      fit_seconds: fitSeconds,
      eval_seconds: evalSeconds,
      peak_rss_mb: peakRssMb(),
      artifacts: { dir, model: modelDir, metrics: metricsPath },
      ...(liveEvents ? { live_events: liveEvents } : {}),
      ...(prunedAt ? { pruned_at_epoch: prunedAt } : {}),
    };
  } catch (err) {
    await Promise.allSettled(pending);
    await store.failRun(run.id, err instanceof Error ? err.message : String(err), {
      wallSeconds: (performance.now() - started) / 1000,
      peakRssMb: peakRssMb(),
    });
    throw err;
  }
}

/** Valid and test by full ranking in one pass over the model's scores (each user scored once). */
async function evaluateBoth(model: Recommender, data: SplitData, ks: number[], hasValid: boolean, progress: ProgressFactory = silentProgressFactory): Promise<RunMetricsFile> {
  const parts: ('valid' | 'test')[] = hasValid ? ['valid', 'test'] : ['test'];
  const bar = progress('evaluate', data.numUsers, { unit: 'users' });
  try {
    const results = await evaluateRecommenderParts(model, data, parts, { ks, onProgress: (d) => bar.update(d) });
    return { valid: hasValid ? results[0] : null, test: results[results.length - 1] };
  } finally {
    bar.stop();
  }
}

export interface EvalOptions {
  lake: string;
  runId: string;
  part?: 'valid' | 'test';
  ks?: number[];
  /** 'full' ranking over all items (default), or the 'sampled' 1 + N protocol (clearly labelled; not comparable). */
  protocol?: 'full' | 'sampled';
  /** N of the sampled protocol (default 99). */
  negatives?: number;
}

/** A trained run's saved model on the train part it was trained on (its split must not have changed). */
export async function loadTrainedRun(lake: string, runId: string) {
  const store = await RunStore.open(lake);
  const train = await store.require(runId);
  const modelDir = train.artifacts?.model;
  if (!modelDir) throw ppError('PP_MODEL_LOAD', `run ${runId} has no saved model`);
  const dataset = await openDataset(lake, train.dataset);
  const data = await loadRunSplit(dataset, train);
  const model = await getModel(train.model).load(modelDir, data, openContentSource(dataset.split(train.split)));
  return { store, train, data, model };
}

type TrainedRun = Awaited<ReturnType<typeof loadTrainedRun>>;

/** Starts the eval run record of `runId` (what `eval` and the merge of a sharded evaluation record). */
async function startEvalRun(t: Pick<TrainedRun, 'store' | 'train'>, runId: string, part: 'valid' | 'test', ks: number[], protocol: string) {
  return t.store.startRun({
    dataset: t.train.dataset,
    split: t.train.split,
    splitHash: t.train.splitHash,
    model: t.train.model,
    kind: 'eval',
    config: { part, ks, protocol },
    artifactsDir: null,
    parentRunId: runId,
  });
}

/**
 * Records a full-ranking result as an eval run of `runId` and returns the `eval` command's summary; shared by
 * `eval` and the merge of the sharded evaluate step, so both write the same record.
 */
export async function recordFullRankingEval(
  t: Pick<TrainedRun, 'store' | 'train'>,
  runId: string,
  part: 'valid' | 'test',
  ks: number[],
  report: FullRankingResult,
  started: number,
) {
  const run = await startEvalRun(t, runId, part, ks, 'full-ranking');
  await t.store.finishRun(run.id, {
    valid: part === 'valid' ? report.metrics : {},
    test: part === 'test' ? report.metrics : {},
    extra: { protocol: report.protocol, coverage: report.coverage, avg_popularity: report.avgPopularity, by_degree: report.byDegree },
    wallSeconds: (performance.now() - started) / 1000,
    peakRssMb: peakRssMb(),
  });
  return { run_id: run.id, parent_run_id: runId, model: t.train.model, part, protocol: report.protocol, [part]: report.metrics, by_degree: report.byDegree, coverage: report.coverage };
}

/** `plotpointe eval --run ID`: reloads a trained run's model and evaluates it again (recorded as an eval run). */
export async function runEvaluation(o: EvalOptions) {
  const started = performance.now();
  const t = await loadTrainedRun(o.lake, o.runId);
  const { data, model } = t;
  const part = o.part ?? 'test';
  const ks = o.ks ?? [10, 20, 50];
  const protocol = o.protocol ?? 'full';
  if (protocol !== 'full' && protocol !== 'sampled') throw ppError('PP_USAGE', `--protocol must be full or sampled, got ${protocol}`);
  try {
    if (protocol === 'sampled') {
      const run = await startEvalRun(t, o.runId, part, ks, `sampled-1+${o.negatives ?? 99}`);
      const r = await evaluateRecommenderSampled(model, data, part, { ks, numNegatives: o.negatives });
      await t.store.finishRun(run.id, {
        valid: part === 'valid' ? r.metrics : {},
        test: part === 'test' ? r.metrics : {},
        extra: { protocol: r.protocol, num_negatives: r.numNegatives, pairs: r.pairsEvaluated, note: r.note },
        wallSeconds: (performance.now() - started) / 1000,
        peakRssMb: peakRssMb(),
      });
      return { run_id: run.id, parent_run_id: o.runId, model: t.train.model, part, protocol: r.protocol, note: r.note, [part]: r.metrics };
    }
    const report = await evaluateRecommender(model, data, part, { ks });
    return await recordFullRankingEval(t, o.runId, part, ks, report, started);
  } finally {
    model.dispose?.();
  }
}
