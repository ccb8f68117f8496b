/**
 * `plotpointe embed fuse`: trains the fusion MLP of a split by content-only BPR ({@link trainFusion}: train
 * part, early stopping on valid NDCG@20) and writes the fused vector of every split item — cold items too,
 * content carries them — to `<lake>/artifacts/<name>/splits/<split>/embeddings/fused.{f32,mask,json}` (split
 * iid order, modality 'fused') with a manifest.json (stage, config, inputs with sha256, counts, seconds).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ppError } from '../errors.js';
import { silentProgressFactory, type ProgressFactory } from '../core/progress.js';
import { datasetPaths } from '../lake/paths.js';
import { writeManifest } from '../lake/manifest.js';
import { loadSplit, type PartCsr } from '../graphs/split-data.js';
import { evalUserSample } from '../eval/user-sample.js';
import { evaluateRecommender } from '../eval/evaluate-model.js';
import type { ContentModality, ContentSource } from '../models/model.js';
import { writeEmbeddings } from '../embeddings/store.js';
import { openContentSource } from '../embeddings/split-content.js';
import { fusionWeightsOf, writeFusionWeights } from '../models/fusion/fusion-export.js';
import { FUSION_TRAIN_DEFAULTS, fusionInputs, trainFusion, type FusionTrainOptions } from '../models/fusion/fusion-bpr.js';

export interface FuseOptions {
  lake: string;
  name: string;
  split: string;
  /** default: text and image (those the lake has) */
  modalities?: ContentModality[];
  seed?: number;
  budgetMinutes?: number;
  /** overrides of the training settings (dim, hidden, epochs, lr, …) */
  train?: Partial<FusionTrainOptions>;
  /**
   * Users whose valid (early stopping) and test (reported) NDCG@20 are computed: a fixed seeded sample of this
   * many users with items in the part (default {@link FUSE_EVAL_USERS}; 0 = all), so evaluation costs the same at
   * any number of users.
   */
  evalUsers?: number;
  /** content override (tests); default: the lake's split content */
  content?: ContentSource;
  /** Progress display (the CLI passes its bar); default silent. */
  progress?: ProgressFactory;
}

export interface FuseSummary {
  name: string;
  split: string;
  modalities: string[];
  encoders: Record<string, string>;
  missing_modalities: string[];
  count: number;
  dim: number;
  /** how users were represented in training and evaluation (mean of their train items, or free vectors) */
  user_tower: string;
  epochs: number;
  best_epoch: number;
  stopped_by: string;
  /** validation metrics of the best epoch (the selection criterion) */
  valid: Record<string, number>;
  /** test metrics of the content-only model (information only; nothing is selected on them) */
  test: Record<string, number>;
  /** users behind `valid` / `test` (a seeded sample when the split has more than `evalUsers`) */
  eval_users: { valid: number; test: number; sampled: boolean };
  seconds: number;
  paths: { dir: string; data: string; meta: string };
}

/** Default size of the evaluated user sample. */
export const FUSE_EVAL_USERS = 2000;

export async function fuseSplit(o: FuseOptions): Promise<FuseSummary> {
  const started = performance.now();
  const paths = datasetPaths(o.lake, o.name);
  const split = paths.split(o.split);
  const data = await loadSplit(split);
  if (data.valid.indices.length === 0) throw ppError('PP_SPLIT_INVALID', `fusion training selects epochs on a validation part, and split ${o.split} has none`);
  const content = o.content ?? openContentSource(split);
  const wanted = o.modalities ?? ['text', 'image'];
  for (const m of wanted) if (m !== 'text' && m !== 'image') throw ppError('PP_USAGE', `--modalities takes text and/or image, got ${m}`);
  const { inputs, encoders, missing } = await fusionInputs(content, wanted);
  if (inputs.length === 0) throw ppError('PP_EMBED_INVALID', `no ${wanted.join(' or ')} embeddings for ${o.name}: run plotpointe embed text (or embed image) first`);
  if (o.modalities && missing.length) throw ppError('PP_EMBED_INVALID', `no ${missing.join(', ')} embeddings for ${o.name} (asked for with --modalities)`);
  const seed = o.seed ?? 42;
  const evalUsers = o.evalUsers ?? FUSE_EVAL_USERS;
  const validUsers = evalUserSample(data.valid, data.numUsers, evalUsers, seed);
  const testUsers = evalUserSample(data.test, data.numUsers, evalUsers, seed);
  const options: FusionTrainOptions = { ...FUSION_TRAIN_DEFAULTS, ...o.train };
  const loc = split.embeddingOf('fused');
  const workDir = join(split.work, 'fuse');
  await mkdir(loc.dir, { recursive: true });
  const { model, result } = await trainFusion(
    {
      data,
      content,
      params: {},
      seed,
      budgetSeconds: (o.budgetMinutes ?? Infinity) * 60,
      workDir,
      resume: false,
      validate: async (m) => (await evaluateRecommender(m, data, 'valid', { ks: [20], users: validUsers })).metrics,
      onEpoch: () => {},
      progress: (label, total) => (o.progress ?? silentProgressFactory)(`fuse ${label}`, total, { unit: 'epochs' }),
    },
    inputs,
    options,
  );
  try {
    const testRun = await evaluateRecommender(model, data, 'test', { ks: [20], users: testUsers });
    const test = testRun.metrics;
    const vectors = model.itemVectors();
    const seconds = (performance.now() - started) / 1000;
    const names = inputs.map((m) => m.name);
    const meta = await writeEmbeddings(loc.dir, loc.file, {
      data: vectors,
      dim: options.dim,
      modality: 'fused',
      encoder: `fusion-mlp(${names.join('+')})`,
      encoder_id: `fusion-mlp/1:${names.map((n) => `${n}=${encoders[n]}`).join(',')}:split=${data.manifest.split_hash}:seed=${seed}`,
      normalised: false,
      seconds,
      items_per_s: data.numItems / seconds,
      extra: { split: o.split, split_hash: data.manifest.split_hash, order: 'split', modalities: names, encoders, train: options, seed, best_epoch: result.bestEpoch, valid: result.bestMetrics },
    });
    // The layer's inference weights beside the vectors: serve-time cold start fuses a new item's content with them.
    await writeFusionWeights(loc.dir, loc.file, fusionWeightsOf(model.fusion));
    await writeManifest(loc.dir, {
      stage: 'embed-fuse',
      config: { modalities: names, seed, ...options },
      inputs: [{ name: 'split', origin: split.dir, bytes: 0, sha256: data.manifest.split_hash }],
      counts: { items: data.numItems, cold_items: data.coldItems.reduce((a, b) => a + b, 0), epochs: result.epochs, best_epoch: result.bestEpoch },
      seconds,
    });
    return {
      name: o.name,
      split: o.split,
      modalities: names,
      encoders,
      missing_modalities: missing,
      count: meta.count,
      dim: meta.dim,
      user_tower: options.userTower,
      epochs: result.epochs,
      best_epoch: result.bestEpoch,
      stopped_by: result.stoppedBy,
      valid: result.bestMetrics,
      test,
      eval_users: { valid: validUsers?.length ?? countUsers(data.valid, data.numUsers), test: testRun.usersEvaluated, sampled: validUsers !== null || testUsers !== null },
      seconds,
      paths: { dir: loc.dir, data: join(loc.dir, `${loc.file}.f32`), meta: join(loc.dir, `${loc.file}.json`) },
    };
  } finally {
    model.dispose();
    await rm(workDir, { recursive: true, force: true });
  }
}

function countUsers(part: PartCsr, numUsers: number): number {
  let n = 0;
  for (let u = 0; u < numUsers; u++) if (part.indptr[u + 1] > part.indptr[u]) n++;
  return n;
}
