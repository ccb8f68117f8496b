/**
 * `plotpointe index build`: turns a trained run into a serving bundle (see serving-bundle.ts for the files).
 *
 * Steps: resolve the run (named, or the blessed run of the dataset) → load its split and model through the
 * registry (with the split's content source) → take the model's user/item embeddings (models without them —
 * pop, itemknn, gfcf, bspm — are refused with PP_INDEX_NO_EMBEDDINGS; mf, lightgcn and gat serve) → id maps and
 * item metadata from the split and staging tables → every known interaction as the users' history (plus the
 * model's attention weights on train edges when it exports `explain`, i.e. gat) → content vectors of the lake
 * (text, image, fused) remapped to split ids → one usearch index per modality → written atomically.
 */
import { ppError } from '../errors.js';
import type { SplitPaths } from '../lake/paths.js';
import { openDataset } from '../lake/dataset.js';
import { openDb, sqlString } from '../lake/duckdb.js';
import type { SplitData } from '../graphs/split-data.js';
import { loadRunSplit } from '../train/run-train-part.js';
import { getModel } from '../models/index.js';
import type { ContentModality, Recommender } from '../models/model.js';
import { openContentSource } from '../embeddings/split-content.js';
import { readEmbeddingMeta } from '../embeddings/store.js';
import { readFusionWeights, type FusionWeights } from '../models/fusion/fusion-export.js';
import { RunStore, type RunRecord } from '../tracking/index.js';
import {
  SERVING_DIR,
  writeServingBundle,
  type ContentVectors,
  type IndexBuildOptions,
  type ItemGraphCsr,
  type ItemMeta,
  type ServingManifest,
} from './serving-bundle.js';

export interface BuildServingOptions extends IndexBuildOptions {
  lake: string;
  name: string;
  /** Run id; default: the dataset's blessed run (newest blessing in scope "default"). */
  runId?: string;
  /**
   * The users' history in the bundle (excluded with exclude_seen, explained against): all known interactions
   * (default) or the train part only — for replaying valid/test as live events (npm run bench:replay).
   */
  historyParts?: 'all' | 'train';
}

export interface BuildServingSummary {
  run_id: string;
  model: string;
  dir: string;
  users: number;
  items: number;
  dim: number;
  history_edges: number;
  attention: boolean;
  item_graph: string | null;
  indexes: Record<string, { size: number; dim: number; metric: string; build_seconds: number }>;
  /** Cold start in fused space: 'exported' (the fusion MLP is in the bundle), or why not. */
  fusion: string;
  seconds: number;
}

/** The named run, or the dataset's currently blessed run (scope "default"). */
export async function resolveServedRun(lake: string, name: string, runId?: string): Promise<RunRecord> {
  const store = await RunStore.open(lake, { create: false });
  try {
    if (runId) {
      const run = await store.require(runId);
      if (run.dataset !== name) throw ppError('PP_RUN_INVALID', `run ${runId} belongs to dataset ${run.dataset}, not ${name}`);
      return run;
    }
    const blessing = (await store.blessings({ dataset: name, scope: 'default' }))[0];
    if (!blessing) throw ppError('PP_RUN_NOT_BLESSED', `dataset ${name} has no blessed run: pass --run ID or bless one (plotpointe runs bless)`);
    return await store.require(blessing.runId);
  } finally {
    store.close();
  }
}

async function readIdsAndMeta(split: SplitPaths, numUsers: number, numItems: number) {
  const db = await openDb();
  try {
    const users = await db.all<{ uid: number; user_id: string }>(`SELECT uid, user_id FROM read_parquet(${sqlString(split.userMap)})`);
    const items = await db.all<{ iid: number; item_id: string; title: string | null; brand: string | null; categories: string[] | null; image_path: string | null; image_url: string | null; price: number | null }>(
      `SELECT m.iid, m.item_id, s.title, s.brand, s.categories, s.image_path, s.image_url, s.price
       FROM read_parquet(${sqlString(split.itemMap)}) m
       LEFT JOIN read_parquet(${sqlString(split.dataset.stagingFiles.items)}) s USING (item_id)`,
    );
    const userIds = new Array<string>(numUsers);
    for (const r of users) userIds[Number(r.uid)] = String(r.user_id);
    const itemIds = new Array<string>(numItems);
    const itemMeta = new Array<ItemMeta>(numItems);
    for (const r of items) {
      const i = Number(r.iid);
      itemIds[i] = String(r.item_id);
      itemMeta[i] = {
        title: r.title ?? null,
        brand: r.brand ?? null,
        categories: r.categories ? [...r.categories].map(String) : [],
        image_path: r.image_path ?? null,
        image_url: r.image_url ?? null,
        price: r.price === null || r.price === undefined ? null : Number(r.price),
      };
    }
    for (let u = 0; u < numUsers; u++) if (userIds[u] === undefined) throw ppError('PP_SERVE_BUNDLE', `user_map of ${split} has no uid ${u}`);
    for (let i = 0; i < numItems; i++) if (itemIds[i] === undefined) throw ppError('PP_SERVE_BUNDLE', `item_map of ${split} has no iid ${i}`);
    return { userIds, itemIds, itemMeta };
  } finally {
    db.close();
  }
}

/** train ∪ valid ∪ test per user (duplicates dropped; train only with `parts` 'train'), with attention on train edges when given. */
export function unionHistory(data: SplitData, trainAttention?: (u: number) => Map<number, number> | null, parts: 'all' | 'train' = 'all') {
  const indptr = new Int32Array(data.numUsers + 1);
  const indices: number[] = [];
  const attention: number[] = [];
  let anyAttention = false;
  for (let u = 0; u < data.numUsers; u++) {
    const seen = new Set<number>();
    const att = trainAttention?.(u) ?? null;
    for (const part of parts === 'train' ? [data.train] : [data.train, data.valid, data.test]) {
      for (let e = part.indptr[u]; e < part.indptr[u + 1]; e++) {
        const i = part.indices[e];
        if (seen.has(i)) continue;
        seen.add(i);
        indices.push(i);
        const a = part === data.train && att ? att.get(i) : undefined;
        if (a !== undefined) anyAttention = true;
        attention.push(a ?? NaN);
      }
    }
    indptr[u + 1] = indices.length;
  }
  return { indptr, indices: Int32Array.from(indices), attention: anyAttention ? Float32Array.from(attention) : undefined };
}

async function encoderSpecOf(split: SplitPaths, modality: ContentModality): Promise<string | null> {
  if (modality === 'fused') return null;
  const loc = split.embeddingOf(modality);
  const meta = await readEmbeddingMeta(loc.dir, loc.file);
  for (const k of ['encoder_spec', 'spec']) if (typeof meta[k] === 'string') return meta[k] as string;
  // Most specs are their own display name (use-lite, bundled); cold start reports an encoder it cannot recreate.
  return meta.encoder || null;
}

/**
 * The fusion MLP saved beside the split's fused vectors, when cold start can use it: its modalities must be
 * content indexes of the bundle made by the encoders the fusion was trained on (same name and dim).
 */
async function fusionFor(split: SplitPaths, content: Partial<Record<ContentModality, ContentVectors>>): Promise<{ weights: FusionWeights | null; status: string }> {
  if (!content.fused) return { weights: null, status: 'no fused vectors' };
  const loc = split.embeddingOf('fused');
  const weights = await readFusionWeights(loc.dir, loc.file);
  if (!weights) return { weights: null, status: 'fused vectors written without the fusion weights (re-run plotpointe embed fuse)' };
  const trainedOn = ((await readEmbeddingMeta(loc.dir, loc.file)) as { encoders?: Record<string, string> }).encoders ?? {};
  for (const m of weights.modalities) {
    const c = content[m.name as ContentModality];
    if (!c || c.dim !== m.dim) return { weights: null, status: `the fusion takes ${m.name} (${m.dim}-d), the bundle has ${c ? `${c.dim}-d` : 'none'}` };
    if (trainedOn[m.name] && trainedOn[m.name] !== c.encoder) return { weights: null, status: `the fusion was trained on ${m.name} from ${trainedOn[m.name]}, the lake's ${m.name} embeddings are now ${c.encoder}` };
  }
  return { weights, status: 'exported' };
}

/** Builds `<lake>/artifacts/<name>/<run>/serving/` for a run (see the module comment). */
export async function buildServingBundle(o: BuildServingOptions): Promise<BuildServingSummary> {
  const started = performance.now();
  const run = await resolveServedRun(o.lake, o.name, o.runId);
  if (run.status !== 'finished') throw ppError('PP_RUN_INVALID', `run ${run.id} is ${run.status}; only finished runs can be served`);
  const modelDir = run.artifacts?.model;
  if (!modelDir) throw ppError('PP_MODEL_LOAD', `run ${run.id} has no saved model`);
  const dataset = await openDataset(o.lake, o.name);
  // The split with the train part the model was fitted on (train --since adds event pairs; graph models
  // propagate over it, so the plain split would serve another model).
  const split = dataset.split(run.split);
  const data = await loadRunSplit(dataset, run);
  const content = openContentSource(split);
  const model = await getModel(run.model).load(modelDir, data, content);
  try {
    const emb = model.embeddings?.() ?? null;
    if (!emb) throw ppError('PP_INDEX_NO_EMBEDDINGS', `run ${run.id} is a ${run.model} model`);
    const { userIds, itemIds, itemMeta } = await readIdsAndMeta(split, data.numUsers, data.numItems);
    const history = unionHistory(data, model.historyAttention?.bind(model), o.historyParts ?? 'all');
    const contentVectors: Partial<Record<ContentModality, ContentVectors>> = {};
    for (const m of ['text', 'image', 'fused'] as const) {
      const c = await content.modality(m);
      if (!c) continue;
      contentVectors[m] = { vectors: c.vectors, dim: c.dim, present: c.present, encoder: c.encoder, encoderSpec: await encoderSpecOf(split, m) };
    }
    let itemGraph: ItemGraphCsr | null = null;
    for (const m of ['fused', 'text', 'image'] as const) {
      const g = await content.itemGraph(m);
      if (g) {
        itemGraph = { indptr: g.indptr, indices: g.indices, weights: g.weights, source: `knn-${m}` };
        break;
      }
    }
    const fusion = await fusionFor(split, contentVectors);
    const dir = dataset.run(run.id).serving;
    const manifest: ServingManifest = await writeServingBundle(
      dir,
      {
        dataset: o.name,
        split: run.split,
        runId: run.id,
        model: run.model,
        dim: emb.dim,
        users: emb.users,
        items: emb.items,
        userIds,
        itemIds,
        itemMeta,
        history,
        content: contentVectors,
        itemGraph,
        fusion: fusion.weights,
      },
      o,
    );
    return {
      run_id: run.id,
      model: run.model,
      dir,
      users: manifest.num_users,
      items: manifest.num_items,
      dim: manifest.dim,
      history_edges: manifest.history_edges,
      attention: manifest.has_attention,
      item_graph: manifest.item_graph?.source ?? null,
      indexes: Object.fromEntries(
        Object.entries(manifest.indexes).map(([k, v]) => [k, { size: v.size, dim: v.dim, metric: v.metric, build_seconds: v.build_seconds }]),
      ),
      fusion: fusion.status,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    model.dispose?.();
  }
}
