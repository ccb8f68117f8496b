/**
 * The serving bundle: everything `plotpointe serve` needs for one run, in one folder
 * `<lake>/artifacts/<name>/<run>/serving/`. Written atomically (a temporary
 * sibling folder renamed into place), read by {@link openServingBundle}.
 *
 * Files (little-endian; row r = split id r everywhere):
 *   manifest.json              ServingManifest: counts, dims, files (size + sha256 of every other file),
 *                              index parameters, provenance
 *   users.f32 / items.f32      model-space embeddings [numUsers × dim] / [numItems × dim]; score(u, i) = ⟨u, i⟩
 *   user_ids.json / item_ids.json  string ids, index = split id
 *   items.json                 item metadata [{title, brand, categories, image_path, image_url, price}] per split id
 *   history.indptr.i32 / history.indices.i32  every known interaction (train ∪ valid ∪ test) per user, item ids
 *                              ascending within a row (binary-searchable)
 *   history.attention.f32      optional: per history entry, the model's attention weight of the user on that
 *                              item (GAT: softmax weight averaged over heads and layers); NaN for entries that are
 *                              not train edges
 *   fusion.mlp.json / .f32     optional: the fusion MLP of the fused vectors (fusion-export.ts), for cold start
 *   content-<m>.f32 / .present optional per content modality m ∈ {text, image, fused}: L2-normalised vectors
 *                              [numItems × d_m] (zero rows where absent) and one byte per item
 *   itemgraph.{indptr,indices}.i32 / itemgraph.weights.f32  optional item–item kNN graph (split ids, cosine
 *                              weights) used to name kNN edges in explanations
 *   index-<m>.usearch (+ .json)  one usearch HNSW index per modality: `graph` over items.f32 (metric ip, all
 *                              items), `text` / `image` / `fused` over content-<m>.f32 (metric cos, present items)
 *   similar.json + similar-<m>.i32 / .f32  optional: each item's top-K cosine neighbours per modality
 *                              (similar-table.ts; read by the server, not by openServingBundle)
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ppError } from '../errors.js';
import { writeDirAtomically } from '../lake/atomic.js';
import { bytes, readTyped } from './bundle-files.js';
import { fileChecksums, type FileChecksums } from './bundle-checksums.js';
import { l2NormaliseRows } from '../embeddings/encoder.js';
import { computeSimilarTable, exactSimilarFits, exactSimilarTable, graphSimilarTable, writeSimilarTables } from './similar-table.js';
import { AnnIndex, type AnnIndexMeta, type AnnQuantization } from '../graphs/ann-index.js';
import { readFusionWeights, writeFusionWeights, type FusionWeights } from '../models/fusion/fusion-export.js';

/** Base name of the fusion MLP weights in a bundle: `fusion.mlp.json` / `fusion.mlp.f32`. */
export const FUSION_FILE = 'fusion';
export const SERVING_FORMAT = 'plotpointe-serving/1';
export { SERVING_DIR } from '../lake/paths.js';

/** An index modality: the model's item embeddings (`graph`) or an item-content modality. */
export type ServingModality = 'graph' | 'text' | 'image' | 'fused';
export const SERVING_MODALITIES: readonly ServingModality[] = ['graph', 'text', 'image', 'fused'];
export type ContentModalityName = Exclude<ServingModality, 'graph'>;

export interface ItemMeta {
  title: string | null;
  brand: string | null;
  categories: string[];
  image_path: string | null;
  image_url: string | null;
  price: number | null;
}

export interface ServingIndexEntry {
  file: string;
  metric: 'ip' | 'cos';
  dim: number;
  size: number;
  /** HNSW settings of the index (usearch). */
  params: Pick<AnnIndexMeta, 'connectivity' | 'expansionAdd' | 'expansionSearch' | 'quantization'>;
  build_seconds: number;
  /** Content modalities: the encoder display name and the spec that recreates it (cold start), when known. */
  encoder?: string;
  encoder_spec?: string | null;
}

export interface ServingManifest {
  format: typeof SERVING_FORMAT;
  dataset: string;
  split: string;
  run_id: string;
  model: string;
  /** What responses report as model_version (the run id). */
  model_version: string;
  dim: number;
  num_users: number;
  num_items: number;
  history_edges: number;
  has_attention: boolean;
  item_graph: { source: string; edges: number } | null;
  indexes: Partial<Record<ServingModality, ServingIndexEntry>>;
  /**
   * The fusion MLP of the split's fused vectors (`fusion.mlp.{json,f32}`, src/models/fusion/fusion-export.ts),
   * so cold start can fuse a new item's content; absent when the split has no fused vectors or they were written
   * without weights.
   */
  fusion?: { modalities: string[]; hidden: number; out: number; activation: string } | null;
  created_at: string;
  build_seconds: number;
  /** Size and sha256 of every other file of the bundle (bundle-checksums.ts); absent in bundles built before it. */
  files?: FileChecksums;
}

export interface ContentVectors {
  vectors: Float32Array;
  dim: number;
  present: Uint8Array;
  encoder: string;
  /** The text/image encoder spec (e.g. `use-lite`) to encode new items for cold start; null when unknown. */
  encoderSpec: string | null;
}

export interface ItemGraphCsr {
  indptr: Int32Array;
  indices: Int32Array;
  weights: Float32Array;
  source: string;
}

/** Everything a bundle holds, in memory. */
export interface ServingBundleInput {
  dataset: string;
  split: string;
  runId: string;
  model: string;
  dim: number;
  users: Float32Array;
  items: Float32Array;
  userIds: readonly string[];
  itemIds: readonly string[];
  itemMeta: readonly ItemMeta[];
  history: { indptr: Int32Array; indices: Int32Array; attention?: Float32Array };
  content?: Partial<Record<ContentModalityName, ContentVectors>>;
  itemGraph?: ItemGraphCsr | null;
  /** The fusion MLP's weights (with `content.fused`). */
  fusion?: FusionWeights | null;
}

export interface IndexBuildOptions {
  connectivity?: number;
  expansionAdd?: number;
  expansionSearch?: number;
  quantization?: AnnQuantization;
  threads?: number;
  /**
   * Precomputed similar items per modality (src/index/similar-table.ts): K neighbours per item, so that
   * GET /v1/items/{id}/similar with k ≤ K is a table lookup (default 50; 0 = none, every request searches).
   */
  similarK?: number;
  onProgress?: (stage: string, done: number, total: number) => void;
}

function check(cond: boolean, what: string): void {
  if (!cond) throw ppError('PP_SERVE_BUNDLE', what);
}

/** Sorts each history row by item id (carrying attention along), in place. */
function sortHistoryRows(h: ServingBundleInput['history']): void {
  const { indptr, indices, attention } = h;
  for (let u = 0; u + 1 < indptr.length; u++) {
    const s = indptr[u];
    const e = indptr[u + 1];
    if (e - s < 2) continue;
    const order = Array.from({ length: e - s }, (_, i) => s + i).sort((a, b) => indices[a] - indices[b]);
    const idx = order.map((p) => indices[p]);
    const att = attention ? order.map((p) => attention[p]) : null;
    for (let i = 0; i < order.length; i++) {
      indices[s + i] = idx[i];
      if (att) attention![s + i] = att[i];
    }
  }
}

/**
 * Writes a bundle into `dir` (replacing a previous one atomically) and builds its ANN indexes. Returns the
 * manifest. The graph index is built over the raw item embeddings with the inner product (the model's score),
 * content indexes over normalised vectors of present items with cosine.
 */
export async function writeServingBundle(dir: string, input: ServingBundleInput, opts: IndexBuildOptions = {}): Promise<ServingManifest> {
  const started = performance.now();
  const { dim } = input;
  const nU = input.userIds.length;
  const nI = input.itemIds.length;
  check(Number.isInteger(dim) && dim > 0, `dim ${dim}`);
  check(input.users.length === nU * dim, `users.f32 has ${input.users.length} values, expected ${nU} × ${dim}`);
  check(input.items.length === nI * dim, `items.f32 has ${input.items.length} values, expected ${nI} × ${dim}`);
  check(input.itemMeta.length === nI, `item metadata has ${input.itemMeta.length} rows for ${nI} items`);
  check(input.history.indptr.length === nU + 1, `history has ${input.history.indptr.length - 1} rows for ${nU} users`);
  const nE = input.history.indices.length;
  check(input.history.indptr[nU] === nE, 'history indptr does not end at the edge count');
  if (input.history.attention) check(input.history.attention.length === nE, 'history attention is not aligned to its edges');
  for (let e = 0; e < nE; e++) check(input.history.indices[e] >= 0 && input.history.indices[e] < nI, `history item ${input.history.indices[e]} out of range`);
  const history = {
    indptr: input.history.indptr,
    indices: input.history.indices.slice(),
    attention: input.history.attention?.slice(),
  };
  sortHistoryRows(history);
  const annOpts = {
    connectivity: opts.connectivity ?? 16,
    expansionAdd: opts.expansionAdd ?? 128,
    expansionSearch: opts.expansionSearch ?? 32,
    quantization: opts.quantization ?? 'f16',
    threads: opts.threads,
  };

  return writeDirAtomically(dir, async (tmp) => {
    await writeFile(join(tmp, 'users.f32'), bytes(input.users));
    await writeFile(join(tmp, 'items.f32'), bytes(input.items));
    await writeFile(join(tmp, 'user_ids.json'), JSON.stringify(input.userIds));
    await writeFile(join(tmp, 'item_ids.json'), JSON.stringify(input.itemIds));
    await writeFile(join(tmp, 'items.json'), JSON.stringify(input.itemMeta));
    await writeFile(join(tmp, 'history.indptr.i32'), bytes(history.indptr));
    await writeFile(join(tmp, 'history.indices.i32'), bytes(history.indices));
    if (history.attention) await writeFile(join(tmp, 'history.attention.f32'), bytes(history.attention));
    const indexes: ServingManifest['indexes'] = {};
    const built: Partial<Record<ServingModality, { index: AnnIndex; vectors: Float32Array; dim: number; present?: Uint8Array }>> = {};

    const buildIndex = async (m: ServingModality, vectors: Float32Array, d: number, metric: 'ip' | 'cos', present?: Uint8Array) => {
      const t0 = performance.now();
      const index = new AnnIndex({ dimensions: d, metric, ...annOpts });
      let keys: Int32Array | undefined;
      let rows = vectors;
      if (present) {
        const ids: number[] = [];
        for (let i = 0; i < present.length; i++) if (present[i]) ids.push(i);
        keys = Int32Array.from(ids);
        rows = new Float32Array(ids.length * d);
        ids.forEach((id, r) => rows.set(vectors.subarray(id * d, id * d + d), r * d));
      }
      if (rows.length > 0) index.add(rows, { keys, onProgress: (done, total) => opts.onProgress?.(`index ${m}`, done, total) });
      const file = `index-${m}.usearch`;
      await index.save(join(tmp, file));
      built[m] = { index, vectors, dim: d, present };
      const meta = index.meta();
      indexes[m] = {
        file,
        metric,
        dim: d,
        size: meta.size,
        params: { connectivity: meta.connectivity, expansionAdd: meta.expansionAdd, expansionSearch: meta.expansionSearch, quantization: meta.quantization },
        build_seconds: (performance.now() - t0) / 1000,
      };
    };

    await buildIndex('graph', input.items, dim, 'ip');
    for (const m of ['text', 'image', 'fused'] as const) {
      const c = input.content?.[m];
      if (!c) continue;
      check(c.vectors.length === nI * c.dim && c.present.length === nI, `${m} content is not aligned to ${nI} items`);
      const normalised = l2NormaliseRows(c.vectors.slice(), c.dim);
      await writeFile(join(tmp, `content-${m}.f32`), bytes(normalised));
      await writeFile(join(tmp, `content-${m}.present`), c.present);
      await buildIndex(m, normalised, c.dim, 'cos', c.present);
      indexes[m]!.encoder = c.encoder;
      indexes[m]!.encoder_spec = c.encoderSpec;
    }
    const similarK = Math.min(opts.similarK ?? 50, Math.max(0, nI - 1));
    if (similarK > 0) {
      const tables: Parameters<typeof writeSimilarTables>[1] = {};
      for (const [m, b] of Object.entries(built)) {
        const t0 = performance.now();
        const onProgress = (stage: string, done: number, total: number) => opts.onProgress?.(stage, done, total);
        const t = exactSimilarFits(nI, b.dim)
          ? exactSimilarTable(b.vectors, b.dim, similarK, b.present)
          : m === 'graph'
            ? graphSimilarTable(b.index, b.vectors, b.dim, { k: similarK, threads: opts.threads, onProgress })
            : computeSimilarTable(b.index, b.vectors, b.dim, { k: similarK, present: b.present, onProgress: (done, total) => onProgress(`similar ${m}`, done, total) });
        tables[m] = { ...t, seconds: (performance.now() - t0) / 1000 };
      }
      await writeSimilarTables(tmp, tables);
    }
    let itemGraph: ServingManifest['item_graph'] = null;
    if (input.itemGraph) {
      const g = input.itemGraph;
      check(g.indptr.length === nI + 1, `item graph has ${g.indptr.length - 1} rows for ${nI} items`);
      await writeFile(join(tmp, 'itemgraph.indptr.i32'), bytes(g.indptr));
      await writeFile(join(tmp, 'itemgraph.indices.i32'), bytes(g.indices));
      await writeFile(join(tmp, 'itemgraph.weights.f32'), bytes(g.weights));
      itemGraph = { source: g.source, edges: g.indices.length };
    }
    let fusion: ServingManifest['fusion'] = null;
    if (input.fusion && input.content?.fused) {
      const w = input.fusion;
      check(w.out === input.content.fused.dim, `fusion MLP output ${w.out} ≠ fused dim ${input.content.fused.dim}`);
      await writeFusionWeights(tmp, FUSION_FILE, w);
      fusion = { modalities: w.modalities.map((m) => m.name), hidden: w.hidden, out: w.out, activation: w.activation };
    }
    const manifest: ServingManifest = {
      format: SERVING_FORMAT,
      dataset: input.dataset,
      split: input.split,
      run_id: input.runId,
      model: input.model,
      model_version: input.runId,
      dim,
      num_users: nU,
      num_items: nI,
      history_edges: nE,
      has_attention: Boolean(history.attention),
      item_graph: itemGraph,
      indexes,
      fusion,
      created_at: new Date().toISOString(),
      build_seconds: (performance.now() - started) / 1000,
      files: await fileChecksums(tmp),
    };
    await writeFile(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    return manifest;
  });
}

/** A bundle opened for serving: arrays in memory, ANN indexes memory-mapped (usearch `view`). */
export interface ServingBundle {
  dir: string;
  manifest: ServingManifest;
  users: Float32Array;
  items: Float32Array;
  userIds: string[];
  itemIds: string[];
  itemMeta: ItemMeta[];
  history: { indptr: Int32Array; indices: Int32Array; attention: Float32Array | null };
  content: Partial<Record<ContentModalityName, { vectors: Float32Array; present: Uint8Array; dim: number }>>;
  itemGraph: { indptr: Int32Array; indices: Int32Array; weights: Float32Array } | null;
  indexes: Partial<Record<ServingModality, AnnIndex>>;
  /** The fusion MLP's weights when the bundle has them (cold start in fused space). */
  fusion: FusionWeights | null;
}

async function readJson<T>(path: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    throw ppError('PP_SERVE_BUNDLE', `missing or unreadable ${path}`, err);
  }
}

/** Opens the bundle in `dir`, checking every file against the manifest. */
export async function openServingBundle(dir: string, opts: { threads?: number } = {}): Promise<ServingBundle> {
  const manifest = await readJson<ServingManifest>(join(dir, 'manifest.json'));
  check(manifest.format === SERVING_FORMAT, `${dir}/manifest.json: unknown format ${String(manifest.format)}`);
  const { dim, num_users: nU, num_items: nI, history_edges: nE } = manifest;
  const users = await readTyped(join(dir, 'users.f32'), Float32Array, nU * dim);
  const items = await readTyped(join(dir, 'items.f32'), Float32Array, nI * dim);
  const userIds = await readJson<string[]>(join(dir, 'user_ids.json'));
  const itemIds = await readJson<string[]>(join(dir, 'item_ids.json'));
  const itemMeta = await readJson<ItemMeta[]>(join(dir, 'items.json'));
  check(userIds.length === nU && itemIds.length === nI && itemMeta.length === nI, 'id maps or item metadata disagree with the manifest counts');
  const history = {
    indptr: await readTyped(join(dir, 'history.indptr.i32'), Int32Array, nU + 1),
    indices: await readTyped(join(dir, 'history.indices.i32'), Int32Array, nE),
    attention: manifest.has_attention ? await readTyped(join(dir, 'history.attention.f32'), Float32Array, nE) : null,
  };
  const content: ServingBundle['content'] = {};
  const indexes: ServingBundle['indexes'] = {};
  for (const m of SERVING_MODALITIES) {
    const entry = manifest.indexes[m];
    if (!entry) continue;
    if (m !== 'graph') {
      const vectors = await readTyped(join(dir, `content-${m}.f32`), Float32Array, nI * entry.dim);
      const present = new Uint8Array(await readFile(join(dir, `content-${m}.present`)));
      check(present.length === nI, `content-${m}.present has ${present.length} rows`);
      content[m] = { vectors, present, dim: entry.dim };
    }
    const index = await AnnIndex.view(join(dir, entry.file), { threads: opts.threads ?? 1 });
    check(index.size === entry.size && index.dimensions === entry.dim, `${entry.file} does not match the manifest`);
    indexes[m] = index;
  }
  let itemGraph: ServingBundle['itemGraph'] = null;
  if (manifest.item_graph) {
    const indptr = await readTyped(join(dir, 'itemgraph.indptr.i32'), Int32Array, nI + 1);
    itemGraph = {
      indptr,
      indices: await readTyped(join(dir, 'itemgraph.indices.i32'), Int32Array, manifest.item_graph.edges),
      weights: await readTyped(join(dir, 'itemgraph.weights.f32'), Float32Array, manifest.item_graph.edges),
    };
  }
  const fusion = manifest.fusion ? await readFusionWeights(dir, FUSION_FILE) : null;
  check(!manifest.fusion || fusion !== null, `${dir}: the manifest names fusion weights, ${FUSION_FILE}.mlp.json is missing`);
  return { dir, manifest, users, items, userIds, itemIds, itemMeta, history, content, itemGraph, indexes, fusion };
}
