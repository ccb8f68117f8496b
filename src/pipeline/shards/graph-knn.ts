import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ppError } from '../../errors.js';
import { writeFileAtomically } from '../../lake/atomic.js';
import { ivfPlan, ivfSearch, type IvfPlan } from '../../graphs/ivf-knn.js';
import { graphFromNeighbours, type KnnGraph } from '../../graphs/knn-graph.js';
import { ITEM_GRAPH_IVF, itemGraphIvf, finishItemGraph, loadGraphInput, type GraphInput, type ItemGraphOptions, type ItemGraphSummary } from '../../orchestration/item-graphs.js';
import { lakePaths } from '../../lake/paths.js';

/**
 * The sharded form of the graph steps (`plotpointe pipeline shard graph-knn --modality M --part i --of n` /
 * `pipeline merge graph-knn --modality M --of n`), for the distributed executor.
 *
 * `graph knn` routes every item (PCA, k-means, probes: src/graphs/ivf-knn.ts) and then searches all rows. The
 * routing is deterministic and cheap beside the search, so every shard computes it again from the same
 * embeddings and searches its own contiguous slice of rows: shard i of n takes the row positions
 * [⌊i·m/n⌋, ⌊(i+1)·m/n⌋) of the m items with the modality. A row's neighbours depend only on its vector, the
 * routing and the cluster order, so the parts hold exactly the rows of the unsharded search; the merge
 * concatenates them and runs the same assembly, recall check and writer as `graph knn`: byte-identical CSR
 * files, a header equal apart from its timings.
 *
 * Part files, under `<lake>/pipeline/shards/graph-<modality>/` (removed by the merge):
 *   part-<i>-of-<n>.bin   int32 indices [rows × k], float32 similarities [rows × k], int32 counts [rows]
 *   part-<i>-of-<n>.json  PartHeader, written last
 */
export const GRAPH_SHARD_FORMAT = 'plotpointe-graph-knn-part/1';

interface PartHeader {
  format: typeof GRAPH_SHARD_FORMAT;
  part: number;
  of: number;
  modality: string;
  /** sha256 of the embeddings the part was searched in (their meta's sha256) */
  source_sha256: string;
  /** sha256 of the routing (cluster members and probers): every part must share it */
  plan_sha256: string;
  k: number;
  rows: number;
  from: number;
  to: number;
  scored: number;
  /** candidates scored in the full dimension */
  verified: number;
  plan_seconds: number;
  search_seconds: number;
  seconds: number;
}

export interface GraphShardSummary {
  step: string;
  part: number;
  of: number;
  rows: number;
  from: number;
  to: number;
  scored: number;
  seconds: number;
  path: string;
}

export const graphShardDir = (lake: string, modality: string) => lakePaths(lake).pipeline.shards(`graph-${modality}`);
const partBase = (lake: string, modality: string, part: number, of: number) => join(graphShardDir(lake, modality), `part-${part}-of-${of}`);

/** Row positions [from, to) of shard `part` of `of` over m rows. */
export function graphShardRange(m: number, part: number, of: number): { from: number; to: number } {
  if (!Number.isInteger(of) || of < 1) throw ppError('PP_USAGE', `--of must be a positive integer, got ${of}`);
  if (!Number.isInteger(part) || part < 0 || part >= of) throw ppError('PP_USAGE', `--part must be an integer in [0, ${of - 1}], got ${part}`);
  return { from: Math.floor((part * m) / of), to: Math.floor(((part + 1) * m) / of) };
}

const bytesOf = (a: Int32Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function planOf(input: GraphInput): { plan: IvfPlan; sha: string; seconds: number } {
  const t0 = performance.now();
  const plan = ivfPlan(input.data, input.n, input.d, { metric: 'cosine', present: input.present, ...itemGraphIvf(input.d) });
  const sha = createHash('sha256').update(bytesOf(plan.members)).update(bytesOf(plan.memberStart)).update(bytesOf(plan.probers)).update(bytesOf(plan.proberStart)).digest('hex');
  return { plan, sha, seconds: (performance.now() - t0) / 1000 };
}

/** Shard `part` of `of`: routes every item, searches its slice of rows and writes its part file. */
export async function runGraphShard(o: ItemGraphOptions & { part: number; of: number }): Promise<GraphShardSummary> {
  const started = performance.now();
  const input = await loadGraphInput(o);
  const m = input.warning ? 0 : input.withModality;
  const { from, to } = graphShardRange(m, o.part, o.of);
  let plan: IvfPlan | null = null;
  let planSha = 'none';
  let planSeconds = 0;
  if (!input.warning) ({ plan, sha: planSha, seconds: planSeconds } = planOf(input));
  const t0 = performance.now();
  const nb = plan ? ivfSearch(input.data, plan, input.k, from, to) : { indices: new Int32Array(0), sims: new Float32Array(0), counts: new Int32Array(0), scored: 0, verified: 0 };
  const searchSeconds = (performance.now() - t0) / 1000;
  const base = partBase(o.lake, o.modality, o.part, o.of);
  const body = new Uint8Array(nb.indices.byteLength + nb.sims.byteLength + nb.counts.byteLength);
  body.set(bytesOf(nb.indices), 0);
  body.set(bytesOf(nb.sims), nb.indices.byteLength);
  body.set(bytesOf(nb.counts), nb.indices.byteLength + nb.sims.byteLength);
  await writeFileAtomically(`${base}.bin`, body);
  const seconds = (performance.now() - started) / 1000;
  const header: PartHeader = {
    format: GRAPH_SHARD_FORMAT,
    part: o.part,
    of: o.of,
    modality: o.modality,
    source_sha256: input.meta.sha256,
    plan_sha256: planSha,
    k: input.k,
    rows: m,
    from,
    to,
    scored: nb.scored,
    verified: nb.verified,
    plan_seconds: planSeconds,
    search_seconds: searchSeconds,
    seconds,
  };
  await writeFileAtomically(`${base}.json`, JSON.stringify(header, null, 1) + '\n');
  return { step: `graph-${o.modality}`, part: o.part, of: o.of, rows: m, from, to, scored: nb.scored, seconds, path: `${base}.bin` };
}

async function readPart(lake: string, modality: string, part: number, of: number): Promise<{ header: PartHeader; indices: Int32Array; sims: Float32Array; counts: Int32Array }> {
  const base = partBase(lake, modality, part, of);
  let header: PartHeader;
  try {
    header = JSON.parse(await readFile(`${base}.json`, 'utf8')) as PartHeader;
  } catch (err) {
    throw ppError('PP_PIPELINE_STEP_FAILED', `graph-${modality}: shard ${part} of ${of} left no part file (${base}.json)`, err);
  }
  if (header.format !== GRAPH_SHARD_FORMAT || header.part !== part || header.of !== of || header.modality !== modality) {
    throw ppError('PP_PIPELINE_STEP_FAILED', `${base}.json is not part ${part} of ${of} of graph-${modality}`);
  }
  const buf = await readFile(`${base}.bin`);
  const rows = header.to - header.from;
  const want = rows * header.k * 8 + rows * 4;
  if (buf.length !== want) throw ppError('PP_PIPELINE_STEP_FAILED', `${base}.bin has ${buf.length} bytes, its header says ${want}`);
  // aligned copies (a Buffer from readFile may sit at an unaligned offset)
  const copy = new Uint8Array(buf.length);
  copy.set(buf);
  const kk = rows * header.k;
  return { header, indices: new Int32Array(copy.buffer, 0, kk), sims: new Float32Array(copy.buffer, kk * 4, kk), counts: new Int32Array(copy.buffer, kk * 8, rows) };
}

/**
 * The merge: checks that the parts were searched in these embeddings with one routing and tile the rows,
 * assembles the graph as `graph knn` does, checks recall, writes the CSR files and removes the part folder.
 */
export async function mergeGraphShards(o: ItemGraphOptions & { of: number }): Promise<ItemGraphSummary> {
  const input = await loadGraphInput(o);
  const parts = [];
  for (let i = 0; i < o.of; i++) parts.push(await readPart(o.lake, o.modality, i, o.of));
  const m = input.warning ? 0 : input.withModality;
  let next = 0;
  for (const { header: h } of parts) {
    const why =
      h.source_sha256 !== input.meta.sha256
        ? 'was searched in other embeddings'
        : h.plan_sha256 !== parts[0]!.header.plan_sha256
          ? 'used another routing than part 0'
          : h.k !== input.k
            ? `used k = ${h.k}, the merge ${input.k}`
            : h.rows !== m || h.from !== next
              ? `covers rows [${h.from}, ${h.to}) of ${h.rows}, expected to start at ${next} of ${m}`
              : null;
    if (why) throw ppError('PP_PIPELINE_STEP_FAILED', `graph-${o.modality}: part ${h.part} of ${o.of} ${why}`);
    next = h.to;
  }
  if (next !== m) throw ppError('PP_PIPELINE_STEP_FAILED', `graph-${o.modality}: the parts cover rows [0, ${next}) of ${m}`);
  const t0 = performance.now();
  let graph: KnnGraph;
  const k = input.k;
  if (input.warning) {
    graph = { rows: input.n, cols: input.n, indptr: new Int32Array(input.n + 1), indices: new Int32Array(0), weights: new Float32Array(0) };
  } else {
    const indices = new Int32Array(m * k);
    const sims = new Float32Array(m * k);
    const counts = new Int32Array(m);
    for (const p of parts) {
      indices.set(p.indices, p.header.from * k);
      sims.set(p.sims, p.header.from * k);
      counts.set(p.counts, p.header.from);
    }
    const ids = new Int32Array(m);
    for (let i = 0, t = 0; i < input.n; i++) if (input.present[i]) ids[t++] = i;
    graph = graphFromNeighbours(input.n, k, ids, { indices, sims, counts }, { symmetrize: input.symmetrize });
  }
  const assemble = (performance.now() - t0) / 1000;
  const scored = parts.reduce((s, p) => s + p.header.scored, 0);
  const verified = parts.reduce((s, p) => s + p.header.verified, 0);
  const plan = Math.max(...parts.map((p) => p.header.plan_seconds));
  const search = Math.max(...parts.map((p) => p.header.search_seconds));
  // wall time of the sharded build: its slowest shard, then the assembly
  const build = Math.max(...parts.map((p) => p.header.seconds)) + assemble;
  const C = Math.max(1, Math.min(m, Math.ceil(m / ITEM_GRAPH_IVF.clusterSize)));
  const summary = await finishItemGraph(
    input,
    graph,
    input.warning
      ? null
      : {
          clusters: C,
          probes: Math.max(1, Math.min(C, ITEM_GRAPH_IVF.probes)),
          cluster_size: ITEM_GRAPH_IVF.clusterSize,
          pca_dim: Math.min(input.d, ITEM_GRAPH_IVF.pcaDim),
          score_dim: itemGraphIvf(input.d).scoreDim || input.d,
          candidates_per_row: m ? scored / m : 0,
          verified_per_row: m ? verified / m : 0,
          shards: o.of,
          seconds: { build, plan, search, assemble },
        },
  );
  await rm(graphShardDir(o.lake, o.modality), { recursive: true, force: true });
  return summary;
}
