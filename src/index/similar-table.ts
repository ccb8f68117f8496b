/**
 * Precomputed similar-item tables of a serving bundle: for every item i and modality m, its top-K neighbours
 * (i itself excluded) with their similarities, computed once at `index build` with one batched ANN search, so
 * that `GET /v1/items/{id}/similar?k` with k ≤ K is a table lookup instead of an HNSW search per request.
 *
 * Files in the bundle directory (written next to manifest.json; a bundle without them is served by ANN search):
 *   similar.json             {format: 1, modalities: {<m>: {k, candidates, seconds}}}
 *   similar-<m>.i32          [numItems × K] neighbour item ids, best first, −1 after the last neighbour
 *   similar-<m>.f32          [numItems × K] their similarities (same layout)
 *
 * Similarities are those the similar route answers:
 * - graph (model item embeddings e): cos(e_i, e_j), searched in a cos index over ê = e/‖e‖ ({@link
 *   graphSimilarTable}: the graph index itself when it is a cos index, else a temporary one built for the
 *   table). Over the ip graph index, re-ranking over-fetched candidates by ⟨ê_i, e_j⟩ / ‖e_j‖ (what the route
 *   does per request beyond K) misses most true neighbours when norms vary (recall@10 0.3 on clustered test
 *   vectors with norms 0.8–1.25): ip favours long vectors before the re-rank sees them;
 *   scores are exact cosines of the f32 vectors (not the index's quantized distances);
 * - text / image / fused (normalised content vectors, cos index): 1 − distance = cos(c_i, c_j); items without
 *   the modality get an empty row.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ppError } from '../errors.js';
import { AnnIndex } from '../graphs/ann-index.js';
import { bytes, readTyped } from './bundle-files.js';
import { l2NormaliseRows } from '../embeddings/encoder.js';
import { exactKnn } from '../graphs/knn-graph.js';

export const SIMILAR_TABLE_FORMAT = 1;

/** One modality's table: row i = ids[i·k … i·k+k) (−1 = no more neighbours) and their similarities. */
export interface SimilarTable {
  k: number;
  ids: Int32Array;
  scores: Float32Array;
}

export type SimilarTables = Partial<Record<string, SimilarTable>>;

interface SimilarManifest {
  format: number;
  modalities: Record<string, { k: number; candidates: number; seconds: number }>;
}

export interface ComputeSimilarOptions {
  /** Neighbours kept per item (K). */
  k: number;
  /** Results fetched per item before dropping the item itself and re-ranking (default K + 1 over a cos index, 2K + 1 over ip). */
  candidates?: number;
  /** Items whose row stays empty (no vector in this modality). */
  present?: Uint8Array;
  /** Queries per batched search call. */
  batch?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * The table of one modality: vectors [n × d] (row = item id, the vectors the index holds), searched in batches
 * on the index's threads (over an ip index with the normalised row, so 1 − distance = ⟨ê_i, e_j⟩). Candidates are
 * scored by their exact cosine cos(v_i, v_j) = ⟨v_i, v_j⟩ / (‖v_i‖ ‖v_j‖) from the f32 vectors (an f16 / i8
 * index's distances are only as exact as its quantization) and sorted by it. Cost: n ANN searches of
 * `candidates` results, once per build.
 */
export function computeSimilarTable(index: AnnIndex, vectors: Float32Array, dim: number, opts: ComputeSimilarOptions): SimilarTable & { candidates: number } {
  const n = vectors.length / dim;
  const K = opts.k;
  const ip = index.metric === 'ip';
  const candidates = Math.min(index.size, Math.max(K + 1, opts.candidates ?? (ip ? 2 * K + 1 : K + 1)));
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * dim; j < (i + 1) * dim; j++) s += vectors[j] * vectors[j];
    norms[i] = Math.sqrt(s);
  }
  const ids = new Int32Array(n * K).fill(-1);
  const scores = new Float32Array(n * K);
  const batch = opts.batch ?? 4096;
  const q = new Float32Array(batch * dim);
  const rows = new Int32Array(batch);
  const candId = new Int32Array(candidates);
  const candScore = new Float64Array(candidates);
  for (let s = 0; s < n; ) {
    let b = 0;
    for (; s < n && b < batch; s++) {
      if (opts.present && !opts.present[s]) continue;
      const src = vectors.subarray(s * dim, (s + 1) * dim);
      const dst = q.subarray(b * dim, (b + 1) * dim);
      const inv = ip && norms[s] > 0 ? 1 / norms[s] : 1;
      for (let j = 0; j < dim; j++) dst[j] = src[j] * inv;
      rows[b++] = s;
    }
    if (b === 0) continue;
    const m = index.search(q.subarray(0, b * dim), candidates);
    for (let r = 0; r < b; r++) {
      const item = rows[r];
      const off = r * candidates;
      const found = m.counts[r];
      let c = 0;
      for (let j = 0; j < found; j++) {
        const key = m.keys[off + j];
        if (key === item || key < 0) continue;
        let dot = 0;
        for (let t = 0, a = item * dim, o = key * dim; t < dim; t++) dot += vectors[a + t] * vectors[o + t];
        const den = norms[item] * norms[key];
        candId[c] = key;
        candScore[c] = den > 0 ? dot / den : 0;
        c++;
      }
      const ord = Array.from({ length: c }, (_, j) => j).sort((x, y) => candScore[y] - candScore[x] || candId[x] - candId[y]);
      const keep = Math.min(K, c);
      for (let j = 0; j < keep; j++) {
        ids[item * K + j] = candId[ord[j]];
        scores[item * K + j] = candScore[ord[j]];
      }
    }
    opts.onProgress?.(s, n);
  }
  return { k: K, ids, scores, candidates };
}

/**
 * Catalogs whose brute-force cost n² · dim stays under this many multiply-adds get an exact table (about a
 * second of blocked matmul at 2,000 × 512) instead of HNSW search: recall 1 and deterministic, whereas an
 * HNSW index built on several threads differs from build to build, and so would its approximate neighbours.
 */
export const EXACT_SIMILAR_MAX_WORK = 2e10;

/** Whether {@link exactSimilarTable} is used for n items of `dim` dimensions. */
export function exactSimilarFits(n: number, dim: number): boolean {
  return n * n * dim <= EXACT_SIMILAR_MAX_WORK;
}

/**
 * The exact table: each present item's K most cosine-similar other present items, by brute force
 * ({@link exactKnn}: blocked wasm matmul, ties broken by the lower id), rows of absent items empty.
 */
export function exactSimilarTable(vectors: Float32Array, dim: number, k: number, present?: Uint8Array): SimilarTable & { candidates: number } {
  const n = vectors.length / dim;
  const queries: number[] = [];
  for (let i = 0; i < n; i++) if (!present || present[i]) queries.push(i);
  const knn = exactKnn(vectors, n, dim, Int32Array.from(queries), k, { metric: 'cosine', present });
  const ids = new Int32Array(n * k).fill(-1);
  const scores = new Float32Array(n * k);
  for (let t = 0; t < queries.length; t++) {
    const item = queries[t];
    for (let j = 0; j < knn.counts[t]; j++) {
      ids[item * k + j] = knn.indices[t * k + j];
      scores[item * k + j] = knn.sims[t * k + j];
    }
  }
  return { k, ids, scores, candidates: n };
}

/**
 * The graph modality's table: cosine neighbours of the model item embeddings [n × dim]. Uses `graphIndex` when
 * its metric is cos, else builds a cos index over the normalised rows with the same HNSW settings (one extra
 * index build at `index build`), searched at ef ≥ `expansionSearch`.
 */
export function graphSimilarTable(
  graphIndex: AnnIndex,
  items: Float32Array,
  dim: number,
  opts: { k: number; threads?: number; expansionSearch?: number; onProgress?: (stage: string, done: number, total: number) => void },
): SimilarTable & { candidates: number } {
  const progress = (stage: string) => (done: number, total: number) => opts.onProgress?.(stage, done, total);
  let index = graphIndex;
  let vectors = items;
  if (graphIndex.metric !== 'cos') {
    vectors = l2NormaliseRows(items.slice(), dim);
    index = AnnIndex.build(vectors, {
      dimensions: dim,
      metric: 'cos',
      quantization: graphIndex.quantization,
      connectivity: graphIndex.connectivity,
      expansionAdd: graphIndex.expansionAdd,
      expansionSearch: Math.max(opts.expansionSearch ?? 0, graphIndex.expansionSearch),
      threads: opts.threads ?? graphIndex.threads,
      onProgress: progress('similar-graph index'),
    });
  }
  return computeSimilarTable(index, vectors, dim, { k: opts.k, onProgress: progress('similar graph') });
}

/** Writes the tables (and similar.json) into the bundle directory `dir`, replacing earlier ones. */
export async function writeSimilarTables(dir: string, tables: Record<string, SimilarTable & { candidates: number; seconds: number }>): Promise<void> {
  const manifest: SimilarManifest = { format: SIMILAR_TABLE_FORMAT, modalities: {} };
  for (const [m, t] of Object.entries(tables)) {
    await writeFile(join(dir, `similar-${m}.i32`), bytes(t.ids));
    await writeFile(join(dir, `similar-${m}.f32`), bytes(t.scores));
    manifest.modalities[m] = { k: t.k, candidates: t.candidates, seconds: Number(t.seconds.toFixed(2)) };
  }
  await writeFile(join(dir, 'similar.json'), JSON.stringify(manifest, null, 2) + '\n');
}

/** The tables of the bundle in `dir` ({} when it has none), checked against the item count. */
export async function readSimilarTables(dir: string, numItems: number): Promise<SimilarTables> {
  const path = join(dir, 'similar.json');
  if (!existsSync(path)) return {};
  let manifest: SimilarManifest;
  try {
    manifest = JSON.parse(await readFile(path, 'utf8')) as SimilarManifest;
  } catch (err) {
    throw ppError('PP_SERVE_BUNDLE', `unreadable ${path}`, err);
  }
  if (manifest.format !== SIMILAR_TABLE_FORMAT) throw ppError('PP_SERVE_BUNDLE', `${path}: unknown format ${String(manifest.format)}`);
  const out: SimilarTables = {};
  for (const [m, info] of Object.entries(manifest.modalities)) {
    const ids = await readTyped(join(dir, `similar-${m}.i32`), Int32Array, numItems * info.k);
    const scores = await readTyped(join(dir, `similar-${m}.f32`), Float32Array, numItems * info.k);
    out[m] = { k: info.k, ids, scores };
  }
  return out;
}

