/**
 * Cold-start reports (`plotpointe cold-start items` and `plotpointe cold-start fold-in`).
 *
 * Cold items (`coldItemsReport`). On a cold-item split (items held out of training entirely), the cold set
 * C = items with no train interaction. Every method ranks, for each user, the cold items only ('candidates'
 * pool of cold-start.ts), with the user's train and valid items masked; relevant = test(u) ∩ C; users with
 * no cold test item are skipped. Compared:
 *   - a trained run's model (loaded with the split's ContentSource, so content-aware models place cold items);
 *   - random ranking — the EXACT expectation, computed analytically (no draws): with E_u = |C \ seen(u)|
 *     eligible items, R_u = test(u) ∩ C, a_u = |R_u \ seen(u)| retrievable, K' = min(K, E_u), each position
 *     of a uniformly random ranking holds a given retrievable item with probability 1/E_u, so
 *       E[Recall@K(u)] = a_u · K' / (E_u · |R_u|)
 *       E[NDCG@K(u)]   = (a_u / E_u) · Σ_{i=1..K'} 1/log2(i+1)  /  Σ_{i=1..min(|R_u|,K)} 1/log2(i+1)
 *     (IDCG does not depend on the ranking, so E[DCG/IDCG] = E[DCG]/IDCG), averaged over the evaluated users;
 *   - plain content similarity per available modality (content-similarity.ts: cosine between the mean of the
 *     user's train-history embeddings and each cold item).
 *
 * Fold-in (`foldInReport`). For a trained embedding model: full-ranking test metrics (train and valid masked)
 * of the learned user vectors vs. user vectors folded in from each user's train history over the model's item
 * embeddings (fold-in.ts), plain and rating-weighted.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { ppError } from '../errors.js';
import { datasetPaths } from '../lake/paths.js';
import { loadSplit, type SplitData } from '../graphs/split-data.js';
import { openContentSource } from '../embeddings/split-content.js';
import { getModel } from '../models/index.js';
import type { ContentModality, ContentSource } from '../models/model.js';
import { foldInRecommender } from '../models/fold-in.js';
import { loadRunSplit } from '../train/run-train-part.js';
import { RunStore } from '../tracking/index.js';
import type { CsrPattern } from '../core/csr-pattern.js';
import { silentProgressFactory, type ProgressFactory } from '../core/progress.js';
import { evaluateColdStart, itemTrainCounts, coldItems as coldItemSet, itemMask } from '../eval/cold-start.js';
import { evaluateRecommender, unionRows } from '../eval/evaluate-model.js';
import { contentSimilarityRecommender } from '../eval/content-similarity.js';
import type { Recommender } from '../models/model.js';

/** E[metric@K] of a uniformly random ranking of the candidates (see the module comment). */
export function expectedRandomMetrics(o: {
  seen: CsrPattern;
  test: CsrPattern;
  candidates: ArrayLike<number>;
  numItems: number;
  ks: readonly number[];
}): { metrics: Record<string, number>; users: number } {
  const cand = itemMask(o.candidates, o.numItems);
  let numCand = 0;
  for (let i = 0; i < o.numItems; i++) numCand += cand[i];
  const maxK = Math.max(...o.ks);
  const prefix = new Float64Array(maxK + 1); // Σ_{i<n} 1/log2(i+2)
  for (let i = 0; i < maxK; i++) prefix[i + 1] = prefix[i] + 1 / Math.log2(i + 2);
  const numUsers = o.test.indptr.length - 1;
  const sums = Object.fromEntries(o.ks.flatMap((k) => [[`recall@${k}`, 0], [`ndcg@${k}`, 0]])) as Record<string, number>;
  let users = 0;
  const seenMark = new Int32Array(o.numItems).fill(-1);
  const relMark = new Int32Array(o.numItems).fill(-1);
  for (let u = 0; u < numUsers; u++) {
    let seenCand = 0;
    for (let e = o.seen.indptr[u]; e < o.seen.indptr[u + 1]; e++) {
      const i = o.seen.indices[e];
      if (seenMark[i] !== u) {
        seenMark[i] = u;
        if (cand[i]) seenCand++;
      }
    }
    let rel = 0;
    let avail = 0;
    for (let e = o.test.indptr[u]; e < o.test.indptr[u + 1]; e++) {
      const i = o.test.indices[e];
      if (!cand[i] || relMark[i] === u) continue;
      relMark[i] = u;
      rel++;
      if (seenMark[i] !== u) avail++;
    }
    if (rel === 0) continue;
    users++;
    const eligible = numCand - seenCand;
    if (eligible <= 0) continue;
    for (const k of o.ks) {
      const kk = Math.min(k, eligible);
      sums[`recall@${k}`] += (avail * kk) / (eligible * rel);
      sums[`ndcg@${k}`] += ((avail / eligible) * prefix[kk]) / prefix[Math.min(rel, k)];
    }
  }
  const metrics: Record<string, number> = {};
  for (const [key, s] of Object.entries(sums)) metrics[key] = users ? s / users : NaN;
  return { metrics, users };
}

/** The cold set of a split (items without a train interaction) and the seen items to mask (train ∪ valid). */
export interface ColdSetup {
  cold: Int32Array;
  seen: CsrPattern;
}

/** {@link ColdSetup} of a split. */
export function coldSetup(data: SplitData): ColdSetup {
  return { cold: coldItemSet(itemTrainCounts(data.train, data.numItems), 0), seen: unionRows(data.train, data.valid) };
}

/**
 * Cold-item metrics of one recommender: ranking among `setup.cold`, `setup.seen` masked, relevant = test ∩
 * cold. Only users with a cold test item are scored, but each over all items (scoreUsers' contract), so the
 * cost is (users with a cold test item) × (all items) × the model's per-score cost; `label` names the progress
 * line (the shared reporter; users done / to do).
 */
async function evaluateAmongCold(data: SplitData, setup: ColdSetup, model: Recommender, ks: number[], label?: string, progress: ProgressFactory = silentProgressFactory) {
  const bar = label ? progress(`cold-start ${label}`, 0, { unit: 'users' }) : null;
  try {
    return await evaluateColdStart({
      numUsers: data.numUsers,
      numItems: data.numItems,
      scoreBatch: (users, out) => model.scoreUsers(users, out),
      train: setup.seen,
      test: data.test,
      ks,
      coldItems: setup.cold,
      batchSize: 256,
      onProgress: bar
        ? (done, total) => {
            bar.setTotal(total);
            bar.update(done);
          }
        : undefined,
    });
  } finally {
    bar?.stop();
  }
}

/**
 * Cold-item metrics (ranking among cold items, train+valid masked) of a saved model. Pass `setup` when
 * evaluating several models of one split (default: {@link coldSetup} of `data`).
 */
export async function coldItemMetricsOfModel(o: {
  data: SplitData;
  content: ContentSource;
  model: string;
  modelDir: string;
  ks: number[];
  setup?: ColdSetup;
}): Promise<{ metrics: Record<string, number>; users: number }> {
  const setup = o.setup ?? coldSetup(o.data);
  if (setup.cold.length === 0) throw ppError('PP_EVAL_INVALID', 'the split has no cold items');
  const model = await getModel(o.model).load(o.modelDir, o.data, o.content);
  try {
    const r = await evaluateAmongCold(o.data, setup, model, o.ks);
    return { metrics: r.metrics, users: r.usersEvaluated };
  } finally {
    model.dispose?.();
  }
}

export interface ColdItemsOptions {
  lake: string;
  /** A trained run to evaluate (its dataset and split are used); optional: without it only the baselines. */
  runId?: string;
  name?: string;
  split?: string;
  ks?: number[];
  /** Content-similarity baselines (default: every modality the lake has for the split). */
  modalities?: ContentModality[];
  /** Pass a content source (tests); default openContentSource(datasetPaths(lake, name).split(split)). */
  content?: ContentSource;
  /** Progress display per method (the CLI passes its bar); default silent. */
  progress?: ProgressFactory;
}

export interface ColdMethodResult {
  method: string;
  metrics: Record<string, number>;
  users: number;
  /** Wall seconds and CPU-seconds of this method's ranking (scoring + top K; the analytic random line: none). */
  seconds?: number;
  cpu_seconds?: number;
  note?: string;
}

/** CPU-seconds of this process so far (main thread and the kernel pool's worker threads). */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export interface ColdItemsReport {
  dataset: string;
  split: string;
  protocol: 'cold-items: rank among cold items (no train interaction), train+valid masked, relevant = test ∩ cold';
  cold_items: number;
  items: number;
  users_evaluated: number;
  random_method: 'analytic expectation';
  run_id: string | null;
  model: string | null;
  results: ColdMethodResult[];
  /** model Recall@20 / random Recall@20, and model − best content similarity (when a run is given) */
  summary: { model_over_random?: number; best_content?: string; model_minus_best_content?: number; key: string };
  path: string | null;
}

const MODALITIES: ContentModality[] = ['text', 'image', 'fused'];

/** Cold-item Recall/NDCG of a run vs. random vs. content similarity (see the module comment). */
export async function coldItemsReport(o: ColdItemsOptions): Promise<ColdItemsReport> {
  const ks = o.ks ?? [10, 20, 50];
  const key = ks.includes(20) ? 'recall@20' : `recall@${ks[ks.length - 1]}`;
  let name = o.name;
  let split = o.split;
  let modelName: string | null = null;
  let modelDir: string | null = null;
  let store: RunStore | null = null;
  let splitHash: string | null = null;
  if (o.runId) {
    store = await RunStore.open(o.lake);
    const run = await store.require(o.runId);
    if (run.kind !== 'train') throw ppError('PP_EVAL_INVALID', `run ${o.runId} is a ${run.kind} run; pass a train run`);
    name = run.dataset;
    split = run.split;
    modelName = run.model;
    modelDir = run.artifacts?.model ?? null;
    splitHash = run.splitHash;
    if (!modelDir) throw ppError('PP_MODEL_LOAD', `run ${o.runId} has no saved model`);
  }
  if (!name || !split) throw ppError('PP_USAGE', 'cold-start items needs --run, or --name and --split');
  const splitPaths = datasetPaths(o.lake, name).split(split);
  const data = await loadSplit(splitPaths);
  if (splitHash && data.manifest.split_hash !== splitHash) {
    throw ppError('PP_MODEL_LOAD', `split ${split} changed since run ${o.runId} (hash ${data.manifest.split_hash} ≠ ${splitHash})`);
  }
  const setup = coldSetup(data);
  const { cold, seen } = setup;
  if (cold.length === 0) throw ppError('PP_EVAL_INVALID', `split ${split} has no cold items (every item has a train interaction); make a cold-item split`);
  const content = o.content ?? openContentSource(splitPaths);
  const evalCold = async (model: Recommender, label: string) => {
    const c0 = cpuSeconds();
    const r = await evaluateAmongCold(data, setup, model, ks, label, o.progress);
    return { ...r, cpuSeconds: cpuSeconds() - c0 };
  };
  const results: ColdMethodResult[] = [];
  let modelRecall: number | undefined;
  if (modelName && modelDir) {
    const model = await getModel(modelName).load(modelDir, data, content);
    try {
      const r = await evalCold(model, modelName);
      results.push({ method: `model:${modelName}`, metrics: r.metrics, users: r.usersEvaluated, seconds: r.seconds, cpu_seconds: r.cpuSeconds });
      modelRecall = r.metrics[key];
    } finally {
      model.dispose?.();
    }
  }
  const random = expectedRandomMetrics({ seen, test: data.test, candidates: cold, numItems: data.numItems, ks });
  results.push({ method: 'random', metrics: random.metrics, users: random.users, note: 'exact expectation of a uniformly random ranking (analytic)' });
  let best: { method: string; value: number } | null = null;
  for (const m of o.modalities ?? MODALITIES) {
    const c = await content.modality(m);
    if (!c) {
      if (o.modalities) throw ppError('PP_EMBED_STORE', `no ${m} embeddings for ${name}/${split}`);
      continue;
    }
    const rec = contentSimilarityRecommender(c, data.train);
    let r: Awaited<ReturnType<typeof evalCold>>;
    try {
      r = await evalCold(rec, `content-similarity:${m}`);
    } finally {
      rec.dispose();
    }
    let coldWith = 0;
    for (const i of cold) coldWith += c.present[i];
    results.push({
      method: `content-similarity:${m}`,
      metrics: r.metrics,
      users: r.usersEvaluated,
      seconds: r.seconds,
      cpu_seconds: r.cpuSeconds,
      note: `${c.encoder}; ${coldWith}/${cold.length} cold items have ${m}; cosine(mean of train-history embeddings, item)`,
    });
    if (!best || r.metrics[key] > best.value) best = { method: `content-similarity:${m}`, value: r.metrics[key] };
  }
  const summary: ColdItemsReport['summary'] = { key };
  if (modelRecall !== undefined) {
    summary.model_over_random = modelRecall / random.metrics[key];
    if (best) {
      summary.best_content = best.method;
      summary.model_minus_best_content = modelRecall - best.value;
    }
  }
  const report: ColdItemsReport = {
    dataset: name,
    split,
    protocol: 'cold-items: rank among cold items (no train interaction), train+valid masked, relevant = test ∩ cold',
    cold_items: cold.length,
    items: data.numItems,
    users_evaluated: random.users,
    random_method: 'analytic expectation',
    run_id: o.runId ?? null,
    model: modelName,
    results,
    summary,
    path: null,
  };
  if (o.runId && store) {
    const run = datasetPaths(o.lake, name).run(o.runId);
    await mkdir(run.dir, { recursive: true });
    report.path = run.coldStart;
    await writeFile(report.path, JSON.stringify(report, null, 1) + '\n');
  }
  return report;
}

export interface FoldInReport {
  dataset: string;
  split: string;
  run_id: string;
  model: string;
  protocol: 'full ranking on test, train+valid masked';
  history: 'train part';
  learned: Record<string, number>;
  fold_in: Record<string, number>;
  fold_in_rating_weighted: Record<string, number>;
  users_evaluated: number;
}

/** Test metrics of a run's learned user vectors vs. fold-in users built from their train history. */
export async function foldInReport(o: { lake: string; runId: string; ks?: number[] }): Promise<FoldInReport> {
  const ks = o.ks ?? [10, 20, 50];
  const store = await RunStore.open(o.lake);
  const run = await store.require(o.runId);
  const modelDir = run.artifacts?.model;
  if (!modelDir) throw ppError('PP_MODEL_LOAD', `run ${o.runId} has no saved model`);
  const dataset = datasetPaths(o.lake, run.dataset);
  const split = dataset.split(run.split);
  const data: SplitData = await loadRunSplit(dataset, run); // the train part it was fitted on
  const model = await getModel(run.model).load(modelDir, data, openContentSource(split));
  try {
    const emb = model.embeddings?.() ?? null;
    if (!emb) throw ppError('PP_EVAL_INVALID', `${run.model} has no user/item embeddings to fold users into`);
    const base = { items: emb.items, dim: emb.dim, numItems: data.numItems, modelName: run.model };
    const learned = await evaluateRecommender(model, data, 'test', { ks });
    const folded = await evaluateRecommender(foldInRecommender(base, data.train), data, 'test', { ks });
    const weighted = await evaluateRecommender(foldInRecommender(base, data.train, { useRatings: true }), data, 'test', { ks });
    return {
      dataset: run.dataset,
      split: run.split,
      run_id: o.runId,
      model: run.model,
      protocol: 'full ranking on test, train+valid masked',
      history: 'train part',
      learned: learned.metrics,
      fold_in: folded.metrics,
      fold_in_rating_weighted: weighted.metrics,
      users_evaluated: learned.usersEvaluated,
    };
  } finally {
    model.dispose?.();
  }
}
