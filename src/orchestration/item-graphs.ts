/**
 * The item–item graph stage (`plotpointe graph knn`): a cosine kNN graph over the items that have a modality,
 * built by cluster-probe search ({@link buildKnnGraphIvf}: exact similarities within each item's probed
 * clusters, deterministic, so the sharded form in src/pipeline/shards/graph-knn.ts writes the same bytes), checked against exact search on a sample
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
import { datasetPaths, type ContentLocation } from '../lake/paths.js';
import type { ContentModality } from '../models/model.js';
import { saveCsr } from '../graphs/csr-io.js';
import { buildKnnGraphIvf, graphStats, knnRecall, sampleRows, type GraphStats, type KnnGraph, type Symmetrize } from '../graphs/knn-graph.js';
import type { IvfOptions, IvfScoreBasis } from '../graphs/ivf-knn.js';
import { existsSync } from 'node:fs';
import type { EmbeddingMeta } from '../embeddings/store.js';

/**
 * Cluster-probe settings of the item graphs (docs/decisions/140-ivf-knn-graphs.md, 230-knn-at-reference-size.md):
 * clusters of ~128 items (k-means: 5 iterations on 16 rows per centre), each item scored against the members of
 * its 8 nearest clusters (recall@20 0.981 text, 0.959 image on the reference embeddings), routing in 32 PCA dims. `scoreDim` is the dimension of the bounded candidate scoring, used for vectors wider than 4 × scoreDim
 * only (the 1,280-d image vectors; narrower ones are scored in full): see {@link itemGraphIvf}.
 */
export const ITEM_GRAPH_IVF: Readonly<Required<Pick<IvfOptions, 'clusterSize' | 'probes' | 'pcaDim' | 'scoreDim' | 'kmeansIters' | 'kmeansSamplePerCentre' | 'seed'>>> = {
  clusterSize: 128,
  probes: 8,
  pcaDim: 32,
  scoreDim: 192,
  kmeansIters: 5,
  kmeansSamplePerCentre: 16,
  seed: 11,
};

/** Rows of the recall sample's exact search are found in a basis of this many dims (src/graphs/exact-knn-bounded.ts). */
export const RECALL_BASIS_DIM = 128;

/** The settings {@link ITEM_GRAPH_IVF} for vectors of dimension d (the bounded scoring only where it pays). */
export function itemGraphIvf(d: number): typeof ITEM_GRAPH_IVF {
  return { ...ITEM_GRAPH_IVF, scoreDim: d > 4 * ITEM_GRAPH_IVF.scoreDim ? ITEM_GRAPH_IVF.scoreDim : 0 };
}

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
  /** Unused since the cluster-probe build (it runs on the core pool: PLOTPOINTE_CORE_THREADS); kept for callers. */
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
  seconds: { build: number; plan: number; search: number; assemble: number; total: number };
  /** cluster-probe settings and the candidates scored per row (null for a graph without edges) */
  ivf: { clusters: number; probes: number; cluster_size: number; pca_dim: number; score_dim: number; candidates_per_row: number; verified_per_row: number } | null;
  /** set when the graph was built in shards (src/pipeline/shards/graph-knn.ts) */
  shards?: number;
  /** set when fewer than two items have the modality (the graph then has no edges) */
  warning: string | null;
  paths: { dir: string; header: string };
}

/** The embeddings a graph is built from, and the settings (shared by the whole build and its shards). */
export interface GraphInput {
  o: ItemGraphOptions;
  modality: ContentModality;
  split: string;
  k: number;
  symmetrize: Symmetrize;
  src: { dir: string; file: string };
  /** Where the graph is written. */
  out: ContentLocation;
  data: Float32Array;
  n: number;
  d: number;
  present: Uint8Array;
  meta: EmbeddingMeta;
  withModality: number;
  warning: string | null;
  started: number;
}

/** Checks the options and loads the modality's embeddings. */
export async function loadGraphInput(o: ItemGraphOptions): Promise<GraphInput> {
  const started = performance.now();
  const modality = o.modality;
  if (!['text', 'image', 'fused'].includes(modality)) throw ppError('PP_USAGE', `--modality must be text, image or fused, got ${String(modality)}`);
  if (modality === 'fused' && !o.split) throw ppError('PP_USAGE', 'the fused graph is per split: pass --split');
  const dataset = datasetPaths(o.lake, o.name);
  const loc = (kind: 'embeddingOf' | 'graphOf') => (modality === 'fused' ? dataset.split(o.split!)[kind]('fused') : dataset[kind](modality));
  const k = o.k ?? 20;
  if (!Number.isInteger(k) || k < 1) throw ppError('PP_GRAPH_INVALID', `k must be a positive integer, got ${k}`);
  const symmetrize = o.symmetrize ?? 'none';
  const split = o.split ?? '_';
  const src = loc('embeddingOf');
  if (!existsSync(`${src.dir}/${src.file}.json`)) {
    const hint = modality === 'fused' ? 'train a fusion model on the split first' : `run plotpointe embed ${modality} first`;
    throw ppError('PP_EMBED_STORE', `no ${modality} embeddings at ${src.dir}/${src.file}.json (${hint})`);
  }
  const emb = await loadEmbeddings(src.dir, src.file);
  const n = emb.count;
  let withModality = 0;
  for (let i = 0; i < n; i++) withModality += emb.present[i];
  // Fewer than two items with the modality (e.g. a catalog without pictures): a graph without edges, with a
  // warning, so that a pipeline goes on and models see an empty relation rather than a failed stage.
  const warning = withModality < 2 ? `only ${withModality} of ${n} items have ${modality} vectors: the graph has no edges` : null;
  return { o, modality, split, k, symmetrize, src, out: loc('graphOf'), data: emb.data, n, d: emb.dim, present: emb.present, meta: emb.meta, withModality, warning, started };
}

/** How the neighbours were found (the header's `ivf` block and timings). */
export interface GraphBuildInfo {
  clusters: number;
  probes: number;
  cluster_size: number;
  pca_dim: number;
  /** dimension of the candidate scoring (src/graphs/ivf-knn.ts scoreDim; d when scored in full) */
  score_dim: number;
  candidates_per_row: number;
  /** candidates scored in the full dimension per row */
  verified_per_row: number;
  /** when sharded: the number of shards */
  shards?: number;
  seconds: { build: number; plan: number; search: number; assemble: number };
}

/** Builds, checks and saves the item–item kNN graph of one modality (see the module comment). */
export async function buildItemGraph(o: ItemGraphOptions): Promise<ItemGraphSummary> {
  const input = await loadGraphInput(o);
  const t0 = performance.now();
  if (input.warning) {
    const n = input.n;
    const empty: KnnGraph = { rows: n, cols: n, indptr: new Int32Array(n + 1), indices: new Int32Array(0), weights: new Float32Array(0) };
    return finishItemGraph(input, empty, null);
  }
  const { graph, info, basis } = buildKnnGraphIvf(input.data, input.n, input.d, {
    k: input.k,
    metric: 'cosine',
    present: input.present,
    symmetrize: input.symmetrize,
    ...itemGraphIvf(input.d),
    onProgress: o.onProgress ? (done, total) => o.onProgress!('search', done, total) : undefined,
  });
  const build: GraphBuildInfo = {
    clusters: info.clusters,
    probes: info.probes,
    cluster_size: ITEM_GRAPH_IVF.clusterSize,
    pca_dim: info.pcaDim,
    score_dim: info.scoreDim,
    candidates_per_row: info.candidatesPerRow,
    verified_per_row: info.verifiedPerRow,
    seconds: { build: (performance.now() - t0) / 1000, plan: info.planSeconds, search: info.searchSeconds, assemble: info.assembleSeconds },
  };
  return finishItemGraph(input, graph, build, basis);
}

/** Recall against exact search on a sample, stats, and the CSR files with their header (the graph's manifest). */
export async function finishItemGraph(input: GraphInput, graph: KnnGraph, build: GraphBuildInfo | null, basis: IvfScoreBasis | null = null): Promise<ItemGraphSummary> {
  const { o, modality, split, k, symmetrize, src, n, d, present, withModality, warning } = input;
  let recall: ItemGraphSummary['recall'] = null;
  const sampleSize = o.recallSample ?? 1000;
  if (sampleSize > 0 && !warning) {
    const sample = sampleRows(n, sampleSize, { seed: o.seed ?? 7, present });
    const kk = Math.min(k, withModality - 1);
    // exact neighbours by the bound-pruned search (same result as brute force: src/graphs/exact-knn-bounded.ts), in the build's basis when it has one
    const r = knnRecall(graph, input.data, n, d, sample, { k: kk, metric: 'cosine', present, bounded: { basis, dim: RECALL_BASIS_DIM } });
    recall = { k: kk, value: r.recall, sample_rows: r.rows, exact_seconds: r.exactSeconds };
  }
  const stats = graphStats(graph);
  const out = input.out;
  await mkdir(out.dir, { recursive: true });
  const seconds = {
    build: build?.seconds.build ?? 0,
    plan: build?.seconds.plan ?? 0,
    search: build?.seconds.search ?? 0,
    assemble: build?.seconds.assemble ?? 0,
    total: (performance.now() - input.started) / 1000,
  };
  const ivf = build
    ? { clusters: build.clusters, probes: build.probes, cluster_size: build.cluster_size, pca_dim: build.pca_dim, score_dim: build.score_dim, candidates_per_row: build.candidates_per_row, verified_per_row: build.verified_per_row }
    : null;
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
      method: 'ivf',
      ivf,
      items_with_modality: withModality,
      source: { file: `${src.dir}/${src.file}.f32`, encoder: input.meta.encoder, dim: d, sha256: input.meta.sha256 },
      recall,
      seconds,
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
    encoder: input.meta.encoder,
    k,
    metric: 'cosine',
    symmetrize,
    recall,
    stats,
    seconds,
    ivf,
    ...(build?.shards ? { shards: build.shards } : {}),
    warning,
    paths: { dir: out.dir, header: `${out.dir}/${out.file}.json` },
  };
}
