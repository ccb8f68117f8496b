/**
 * The item–item graph stage (`plotpointe graph knn`): a cosine kNN graph over the items that have a modality,
 * built with the ANN library ({@link buildKnnGraphWithIndex}), checked against exact search on a sample
 * ({@link knnRecall}), summarised ({@link graphStats}) and saved as CSR (src/graphs/csr-io.ts) at the contract
 * paths (`graphOf` in src/lake/paths.ts):
 *   text, image → `<lake>/artifacts/<name>/graphs/knn-<modality>.*` (rows = staging iids)
 *   fused       → `<lake>/artifacts/<name>/splits/<split>/graphs/knn-fused.*` (rows = split iids)
 * The CSR header (`knn-<modality>.json`) is the graph's manifest: k, metric, symmetrisation, the source
 * embeddings (encoder, sha256), recall against exact search, stats (degree, symmetry, mean similarity), times.
 *
 * Rows without the modality (mask 0) get no edges and receive none. Edge weight = cos(x_i, x_j).
 */
import { mkdir } from 'node:fs/promises';
import { ppError } from '../errors.js';
import { loadEmbeddings } from '../embeddings/store.js';
import { datasetPaths } from '../lake/paths.js';
import type { ContentModality } from '../models/model.js';
import { saveCsr } from '../graphs/csr-io.js';
import { buildKnnGraphWithIndex, graphStats, knnRecall, sampleRows, type GraphStats, type Symmetrize } from '../graphs/knn-graph.js';
import { existsSync } from 'node:fs';

export interface ItemGraphOptions {
  lake: string;
  name: string;
  modality: ContentModality;
  /** Required for 'fused' (the fused embeddings are per split). */
  split?: string;
  /** Neighbours per item (default 20). */
  k?: number;
  /** 'none' (directed kNN, default), 'union' (A ∪ Aᵀ) or 'mutual' (A ∩ Aᵀ). */
  symmetrize?: Symmetrize;
  /** Rows checked against exact search (default 1,000; 0 = skip). */
  recallSample?: number;
  /** Threads of the ANN build and search (default: all hardware threads). */
  threads?: number;
  seed?: number;
  onProgress?: (phase: 'add' | 'search', done: number, total: number) => void;
}

export interface ItemGraphSummary {
  dataset: string;
  modality: ContentModality;
  split: string | null;
  /** 'staging' (text, image) or 'split' (fused) item ids */
  id_order: 'staging' | 'split';
  items: number;
  /** items with the modality (the graph's nodes with edges) */
  items_with_modality: number;
  dim: number;
  encoder: string;
  k: number;
  metric: 'cosine';
  symmetrize: Symmetrize;
  /** recall@k against exact kNN on a sample of rows (null when skipped) */
  recall: { k: number; value: number; sample_rows: number; exact_seconds: number } | null;
  stats: GraphStats;
  seconds: { build: number; add: number; search: number; repair: number; assemble: number; total: number };
  lost_rows: number;
  exact_repaired: number;
  /** set when fewer than two items have the modality (the graph then has no edges) */
  warning: string | null;
  paths: { dir: string; header: string };
}

/** Builds, checks and saves the item–item kNN graph of one modality (see the module comment). */
export async function buildItemGraph(o: ItemGraphOptions): Promise<ItemGraphSummary> {
  const started = performance.now();
  const modality = o.modality;
  if (!['text', 'image', 'fused'].includes(modality)) throw ppError('PP_USAGE', `--modality must be text, image or fused, got ${String(modality)}`);
  if (modality === 'fused' && !o.split) throw ppError('PP_USAGE', 'the fused graph is per split: pass --split');
  const dataset = datasetPaths(o.lake, o.name);
  const loc = (kind: 'embeddingOf' | 'graphOf') => (modality === 'fused' ? dataset.split(o.split!)[kind]('fused') : dataset[kind](modality));
  const k = o.k ?? 20;
  if (!Number.isInteger(k) || k < 1) throw ppError('PP_GRAPH_INVALID', `k must be a positive integer, got ${k}`);
  const symmetrize = o.symmetrize ?? 'none';
  const src = loc('embeddingOf');
  if (!existsSync(`${src.dir}/${src.file}.json`)) {
    const hint = modality === 'fused' ? 'train a fusion model on the split first' : `run plotpointe embed ${modality} first`;
    throw ppError('PP_EMBED_STORE', `no ${modality} embeddings at ${src.dir}/${src.file}.json (${hint})`);
  }
  const emb = await loadEmbeddings(src.dir, src.file);
  const n = emb.count;
  const d = emb.dim;
  const present = emb.present;
  let withModality = 0;
  for (let i = 0; i < n; i++) withModality += present[i];
  // Fewer than two items with the modality (e.g. a catalog without pictures): a graph without edges, with a
  // warning, so that a pipeline goes on and models see an empty relation rather than a failed stage.
  const warning = withModality < 2 ? `only ${withModality} of ${n} items have ${modality} vectors: the graph has no edges` : null;

  const t0 = performance.now();
  const built = warning
    ? { graph: { rows: n, cols: n, indptr: new Int32Array(n + 1), indices: new Int32Array(0), weights: new Float32Array(0) }, info: null }
    : buildKnnGraphWithIndex(emb.data, n, d, { k, metric: 'cosine', present, symmetrize, threads: o.threads, onProgress: o.onProgress });
  const { graph } = built;
  const info = built.info ?? { addSeconds: 0, searchSeconds: 0, repairSeconds: 0, assembleSeconds: 0, lostRows: 0, exactRepaired: 0 };
  const buildSeconds = (performance.now() - t0) / 1000;

  let recall: ItemGraphSummary['recall'] = null;
  const sampleSize = o.recallSample ?? 1000;
  if (sampleSize > 0 && !warning) {
    const sample = sampleRows(n, sampleSize, { seed: o.seed ?? 7, present });
    const kk = Math.min(k, withModality - 1);
    const r = knnRecall(graph, emb.data, n, d, sample, { k: kk, metric: 'cosine', present });
    recall = { k: kk, value: r.recall, sample_rows: r.rows, exact_seconds: r.exactSeconds };
  }
  const stats = graphStats(graph);
  const out = loc('graphOf');
  await mkdir(out.dir, { recursive: true });
  const seconds = {
    build: buildSeconds,
    add: info.addSeconds,
    search: info.searchSeconds,
    repair: info.repairSeconds,
    assemble: info.assembleSeconds,
    total: (performance.now() - started) / 1000,
  };
  await saveCsr(out.dir, out.file, graph, {
    kind: `item-item-knn/${modality}`,
    stats,
    extra: {
      dataset: o.name,
      modality,
      split: modality === 'fused' ? o.split : null,
      id_order: out.order,
      k,
      metric: 'cosine',
      symmetrize,
      items_with_modality: withModality,
      source: { file: `${src.dir}/${src.file}.f32`, encoder: emb.meta.encoder, dim: d, sha256: emb.meta.sha256 },
      recall,
      seconds,
      lost_rows: info.lostRows,
      exact_repaired: info.exactRepaired,
      warning,
      created_at: new Date().toISOString(),
    },
  });
  return {
    dataset: o.name,
    modality,
    split: modality === 'fused' ? o.split! : null,
    id_order: out.order,
    items: n,
    items_with_modality: withModality,
    dim: d,
    encoder: emb.meta.encoder,
    k,
    metric: 'cosine',
    symmetrize,
    recall,
    stats,
    seconds,
    lost_rows: info.lostRows,
    exact_repaired: info.exactRepaired,
    warning,
    paths: { dir: out.dir, header: `${out.dir}/${out.file}.json` },
  };
}
