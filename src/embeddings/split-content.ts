import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { ppError } from '../errors.js';
import type { SplitPaths } from '../lake/paths.js';
import { openDb, sqlString } from '../lake/duckdb.js';
import { loadCsr } from '../graphs/csr-io.js';
import { csrFromEdges, type KnnGraph } from '../graphs/knn-graph.js';
import type { ContentModality, ContentSource, ItemContent } from '../models/model.js';
import { loadEmbeddings, embeddingFiles, readEmbeddingRows } from './store.js';

/**
 * Item content of one split, as models see it (the {@link ContentSource} contract of src/models/model.ts).
 *
 * Where things live: `split.embeddingOf(m)` and `split.graphOf(m)` (src/lake/paths.ts) — text and image per
 * dataset in staging iid order, fused per split in split iid order.
 *
 * Staging-ordered matrices and graphs are remapped to the split's dense item ids by `item_id` (the split's
 * item_map.parquet joined with the staging item_map.parquet): split row s takes staging row σ(s), and only those
 * rows of a staging matrix are read ({@link readEmbeddingRows}: the catalog may be 8× the split); items of
 * the split unknown to staging (should not happen) are marked absent. Graph edges (σ(s), σ(s')) become
 * (s, s'); edges to staging items outside the split are dropped.
 *
 * Everything is loaded lazily on first request and memoised; a missing file gives null (not embedded yet),
 * a present but corrupt one throws (PP_EMBED_STORE / PP_GRAPH_LOAD).
 */

const exists = (p: string) => access(p).then(() => true, () => false);

/** σ: split iid → staging iid (−1 when the item is unknown to staging), and the staging row count. */
export interface ItemIdRemap {
  splitToStaging: Int32Array;
  stagingToSplit: Int32Array;
}

/** Joins the split's and the staging item maps on item_id. */
export async function loadItemIdRemap(split: SplitPaths): Promise<ItemIdRemap> {
  const splitMap = split.itemMap;
  const stagingMap = split.dataset.stagingFiles.itemMap;
  for (const f of [splitMap, stagingMap]) if (!(await exists(f))) throw ppError('PP_LAKE_NOT_FOUND', `missing ${f}`);
  const db = await openDb();
  try {
    const sizes = await db.one<{ s: number; t: number }>(
      `SELECT (SELECT max(iid) + 1 FROM read_parquet(${sqlString(splitMap)})) AS s, (SELECT max(iid) + 1 FROM read_parquet(${sqlString(stagingMap)})) AS t`,
    );
    const numSplit = Number(sizes?.s ?? 0);
    const numStaging = Number(sizes?.t ?? 0);
    const reader = await db.conn.runAndReadAll(
      `SELECT s.iid AS s, t.iid AS t FROM read_parquet(${sqlString(splitMap)}) s JOIN read_parquet(${sqlString(stagingMap)}) t USING (item_id)`,
    );
    const cols = reader.getColumnsJS();
    const [ss, ts] = (cols.length ? cols : [[], []]) as [number[], number[]];
    const splitToStaging = new Int32Array(numSplit).fill(-1);
    const stagingToSplit = new Int32Array(numStaging).fill(-1);
    for (let e = 0; e < ss.length; e++) {
      splitToStaging[Number(ss[e])] = Number(ts[e]);
      stagingToSplit[Number(ts[e])] = Number(ss[e]);
    }
    return { splitToStaging, stagingToSplit };
  } finally {
    db.close();
  }
}

/** A staging-iid graph re-indexed to split iids (edges leaving the split are dropped; columns re-sorted). */
export function remapGraph(g: KnnGraph, remap: ItemIdRemap): KnnGraph {
  const n = remap.splitToStaging.length;
  let m = 0;
  for (let s = 0; s < n; s++) {
    const t = remap.splitToStaging[s];
    if (t >= 0 && t < g.rows) m += g.indptr[t + 1] - g.indptr[t];
  }
  const src = new Int32Array(m);
  const dst = new Int32Array(m);
  const w = new Float32Array(m);
  let e = 0;
  for (let s = 0; s < n; s++) {
    const t = remap.splitToStaging[s];
    if (t < 0 || t >= g.rows) continue;
    for (let k = g.indptr[t]; k < g.indptr[t + 1]; k++) {
      const c = g.indices[k] < remap.stagingToSplit.length ? remap.stagingToSplit[g.indices[k]] : -1;
      if (c < 0) continue;
      src[e] = s;
      dst[e] = c;
      w[e] = g.weights[k];
      e++;
    }
  }
  return csrFromEdges(n, n, src.subarray(0, e), dst.subarray(0, e), w.subarray(0, e));
}

/**
 * The content source of a split (see the module comment). Cheap to create:
 * nothing is read until a modality or graph is requested.
 */
export function openContentSource(split: SplitPaths): ContentSource {
  let remap: Promise<ItemIdRemap> | null = null;
  const getRemap = () => (remap ??= loadItemIdRemap(split));
  const modalities = new Map<ContentModality, Promise<ItemContent | null>>();
  const graphs = new Map<ContentModality, Promise<KnnGraph | null>>();

  const loadModality = async (modality: ContentModality): Promise<ItemContent | null> => {
    const loc = split.embeddingOf(modality);
    if (!(await exists(embeddingFiles(loc.dir, loc.file).json))) return null;
    const { splitToStaging } = await getRemap();
    if (loc.order === 'split') {
      const m = await loadEmbeddings(loc.dir, loc.file);
      if (m.count !== splitToStaging.length) {
        throw ppError('PP_EMBED_STORE', `${loc.dir}/${loc.file} has ${m.count} rows, split ${split.name} has ${splitToStaging.length} items`);
      }
      return { modality, vectors: m.data, dim: m.dim, present: m.present, encoder: m.meta.encoder };
    }
    // only the split's rows of the staging matrix are read (a split may use a small part of a large catalog)
    const m = await readEmbeddingRows(loc.dir, loc.file, splitToStaging);
    return { modality, vectors: m.data, dim: m.dim, present: m.present, encoder: m.meta.encoder };
  };

  const loadGraph = async (modality: ContentModality): Promise<KnnGraph | null> => {
    const loc = split.graphOf(modality);
    if (!(await exists(join(loc.dir, `${loc.file}.json`)))) return null;
    const { graph } = await loadCsr(loc.dir, loc.file);
    const r = await getRemap();
    if (loc.order === 'split') {
      if (graph.rows !== r.splitToStaging.length) {
        throw ppError('PP_GRAPH_LOAD', `${loc.dir}/${loc.file} has ${graph.rows} rows, split ${split.name} has ${r.splitToStaging.length} items`);
      }
      return graph;
    }
    return remapGraph(graph, r);
  };

  return {
    modality(m) {
      let p = modalities.get(m);
      if (!p) modalities.set(m, (p = loadModality(m)));
      return p;
    },
    itemGraph(m) {
      let p = graphs.get(m);
      if (!p) graphs.set(m, (p = loadGraph(m)));
      return p;
    },
  };
}
