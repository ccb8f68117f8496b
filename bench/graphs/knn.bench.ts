/**
 * Item–item kNN graph at the reference catalog size: 498,196 clustered, L2-normalised float32 vectors at an
 * encoder's dim (`--dim`: 512 text use-lite-static, 1280 image MobileNetV2, 128 fused; see
 * src/graphs/synthetic-vectors.ts: n/250 clusters, 16 directions of variation each + 10% isotropic noise),
 * k = 20, cosine, on 2 threads, by cluster-probe search (`--method ivf`, the default: src/graphs/ivf-knn.ts)
 * or the HNSW index (`--method hnsw`). Reports the phases, recall@20 on a 1,000-row sample against exact
 * search, graph stats, the CPU seconds the process got (the machine is shared: cpu / wall shows the share of
 * 2 cores we had), peak RSS and the load average. Target (issue 12): build ≤ 2 minutes at recall ≥ 0.95.
 *
 *   npm run bench:knn -- [--rows 498196] [--dim 128] [--k 20] [--threads 2] [--method ivf|hnsw]
 *        ivf:  [--probes 12] [--cluster-size 128] [--pca-dim 32] (defaults: ITEM_GRAPH_IVF, what `graph knn` uses)
 *        hnsw: [--connectivity 12] [--expansion-add 64] [--expansion-search 48] [--quantization f16|f32]
 *        [--symmetrize none|union|mutual] [--sample 1000] [--seed 1] [--intrinsic-dim 16] [--iso 0.1]
 *        [--vectors FILE.f32 --dim D] (a raw float32 matrix instead of synthetic vectors) [--out DIR]
 *        [--from EMBEDDINGS] real embeddings read with the embedding store (src/embeddings/store.ts): a matrix
 *          (`<dir>/<name>.f32` or `.json`) or a lake (`--from LAKE --name reference --modality image|text`);
 *          rows, dim and the mask come from its meta
 *        ivf: [--score-dim R] candidate scoring in an R-dim basis with full-dim verification (0 = full dim;
 *             default: what `graph knn` uses at the vectors' dim)
 *             [--kmeans-iters 8] [--kmeans-sample 32] (training rows per centre)
 *             [--probes-list 6,8,12] one plan searched with each probe count; [--recall brute|bounded|bounded+brute]
 *             how the exact neighbours of the sample are found (bounded: the bound-pruned exact search, same
 *             result; bounded+brute: then brute force too, compared with it)
 *
 * The last line is one JSON object with every figure.
 */
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { clusteredVectors } from '../../src/graphs/synthetic-vectors.js';
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import { loadEmbeddings } from '../../src/embeddings/store.js';
import { datasetPaths } from '../../src/lake/paths.js';
import { configureCore, startPool } from '../../src/core/index.js';
import { buildKnnGraphWithIndex, exactKnn, graphFromNeighbours, graphStats, knnRecall, sampleRows, type Symmetrize } from '../../src/graphs/knn-graph.js';
import { ivfPlan, ivfSearch, withProbes } from '../../src/graphs/ivf-knn.js';
import { exactKnnBounded } from '../../src/graphs/exact-knn-bounded.js';
import { saveCsr } from '../../src/graphs/csr-io.js';
import { ITEM_GRAPH_IVF, RECALL_BASIS_DIM, itemGraphIvf } from '../../src/orchestration/item-graphs.js';
import type { AnnQuantization } from '../../src/graphs/ann-index.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const vectorsFile = arg('vectors', '');
const fromArg = arg('from', '');
const method = arg('method', 'ivf');
// defaults: the settings `graph knn` uses
const probes = Number(arg('probes', String(ITEM_GRAPH_IVF.probes)));
const clusterSize = Number(arg('cluster-size', String(ITEM_GRAPH_IVF.clusterSize)));
const pcaDim = Number(arg('pca-dim', String(ITEM_GRAPH_IVF.pcaDim)));
const scoreDimArg = arg('score-dim', ''); // default: what `graph knn` uses at the vectors' dim (itemGraphIvf)
const kmeansIters = Number(arg('kmeans-iters', String(ITEM_GRAPH_IVF.kmeansIters)));
const kmeansSample = Number(arg('kmeans-sample', String(ITEM_GRAPH_IVF.kmeansSamplePerCentre)));
let rows = Number(arg('rows', '498196'));
let dim = Number(arg('dim', '128'));
let present: Uint8Array | undefined;
const k = Number(arg('k', '20'));
const threads = Number(arg('threads', '2'));
const connectivity = Number(arg('connectivity', '12'));
const expansionAdd = Number(arg('expansion-add', '64'));
const expansionSearch = Number(arg('expansion-search', '48'));
const quantization = arg('quantization', 'f16') as AnnQuantization;
const symmetrize = arg('symmetrize', 'none') as Symmetrize;
const sample = Number(arg('sample', '1000'));
const seed = Number(arg('seed', '1'));
const intrinsicDim = Number(arg('intrinsic-dim', '16'));
const iso = Number(arg('iso', '0.1'));
const out = arg('out', '');

const secs = (t0: number): number => (performance.now() - t0) / 1000;
const cpuSecs = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1e6;
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const load0 = loadavg()[0];
  await configureCore({ threads });
  await startPool();
  let t0 = performance.now();
  let vectors: Float32Array;
  if (fromArg) {
    let dir = fromArg;
    let file = '';
    if (statSync(fromArg).isDirectory()) ({ dir, file } = datasetPaths(fromArg, arg('name', 'reference')).embeddingOf(arg('modality', 'image') as 'text' | 'image'));
    else {
      dir = dirname(fromArg);
      file = basename(fromArg, extname(fromArg));
    }
    const emb = await loadEmbeddings(dir, file);
    dim = emb.dim;
    rows = Math.min(rows, emb.count);
    vectors = emb.data.subarray(0, rows * dim);
    present = emb.present.subarray(0, rows);
  } else if (vectorsFile) {
    const buf = readFileSync(vectorsFile);
    vectors = new Float32Array(buf.length / 4);
    new Uint8Array(vectors.buffer).set(buf);
    rows = Math.min(rows, Math.floor(vectors.length / dim));
    vectors = vectors.subarray(0, rows * dim);
  } else vectors = clusteredVectors(rows, dim, { seed, intrinsicDim, iso }).vectors;
  const genSeconds = secs(t0);
  const settings = method === 'ivf' ? `probes=${probes}, cluster size ${clusterSize}, pca ${pcaDim}, score dim ${scoreDimArg || 'default'}` : `M=${connectivity}, efAdd=${expansionAdd}, efSearch=${expansionSearch}, ${quantization}`;
  console.log(
    `knn bench (${method}): ${rows} × ${dim} ${fromArg || vectorsFile || 'synthetic'}, k=${k}, ${threads} threads, ${settings}, ` +
      `symmetrize=${symmetrize}; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load ${load()}; the machine is shared`,
  );
  console.log(`vectors ready in ${genSeconds.toFixed(1)} s`);
  if (method === 'ivf') {
    await ivfBench(vectors, load0, genSeconds);
    return;
  }

  const cpu0 = process.cpuUsage();
  t0 = performance.now();
  let lastLog = 0;
  const { graph, index, info: times } = buildKnnGraphWithIndex(vectors, rows, dim, {
    k,
    threads,
    connectivity,
    expansionAdd,
    expansionSearch,
    quantization,
    symmetrize,
    batch: 16384,
    onProgress: (phase, done, total) => {
      if (performance.now() - lastLog > 15000 || done === total) {
        lastLog = performance.now();
        console.log(`  ${phase} ${done}/${total} at ${secs(t0).toFixed(0)} s (load ${load()})`);
      }
    },
  });
  const buildSeconds = secs(t0);
  const buildCpuSeconds = cpuSecs(process.cpuUsage(cpu0));
  const loadDuringBuild = loadavg()[0];
  console.log(
    `built in ${buildSeconds.toFixed(1)} s (add ${times.addSeconds.toFixed(1)}, search ${times.searchSeconds.toFixed(1)}, ` +
      `repair of ${times.lostRows} lost rows (${times.exactRepaired} exactly) ${times.repairSeconds.toFixed(1)}, assemble ${times.assembleSeconds.toFixed(1)}); cpu ${buildCpuSeconds.toFixed(0)} s = ${(buildCpuSeconds / buildSeconds).toFixed(2)} cores`,
  );

  t0 = performance.now();
  const rec = knnRecall(graph, vectors, rows, dim, sampleRows(rows, sample, { seed: seed + 1 }), { k });
  console.log(`recall@${k} ${rec.recall.toFixed(4)} on ${rec.rows} rows (exact search ${rec.exactSeconds.toFixed(1)} s)`);
  let minRow = 1;
  let below = 0;
  for (const r of rec.perRow) {
    minRow = Math.min(minRow, r);
    if (r < 0.5) below++;
  }

  t0 = performance.now();
  const stats = graphStats(graph);
  const statsSeconds = secs(t0);
  console.log(`stats (${statsSeconds.toFixed(1)} s): ${JSON.stringify(stats)}`);

  let saveSeconds: number | null = null;
  if (out) {
    t0 = performance.now();
    await saveCsr(out, 'knn', graph, { kind: 'item-item-knn/bench', stats, extra: { k, metric: 'cosine', symmetrize } });
    await index.save(join(out, 'knn.usearch'));
    saveSeconds = secs(t0);
    console.log(`saved graph and index to ${out} in ${saveSeconds.toFixed(1)} s`);
  }

  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  console.log(`peak RSS ${peakRssMb} MB; load ${load()}`);
  console.log(
    JSON.stringify({
      bench: 'knn',
      rows,
      dim,
      k,
      threads,
      connectivity,
      expansion_add: expansionAdd,
      expansion_search: expansionSearch,
      quantization,
      symmetrize,
      gen_seconds: genSeconds,
      build_seconds: buildSeconds,
      add_seconds: times.addSeconds,
      search_seconds: times.searchSeconds,
      repair_seconds: times.repairSeconds,
      lost_rows: times.lostRows,
      exact_repaired: times.exactRepaired,
      assemble_seconds: times.assembleSeconds,
      build_cpu_seconds: buildCpuSeconds,
      recall: rec.recall,
      recall_min_row: minRow,
      recall_rows_below_half: below,
      recall_rows: rec.rows,
      exact_seconds: rec.exactSeconds,
      save_seconds: saveSeconds,
      stats,
      peak_rss_mb: peakRssMb,
      load_avg_start: load0,
      load_avg_after_build: loadDuringBuild,
      load_avg_end: loadavg()[0],
      target_met: buildSeconds < 300 && rec.recall >= 0.95,
    }),
  );
}

/** CPU seconds of the process (all threads) and wall seconds since a mark. */
function mark(): { cpu: NodeJS.CpuUsage; t: number } {
  return { cpu: process.cpuUsage(), t: performance.now() };
}
function since(m: { cpu: NodeJS.CpuUsage; t: number }): { wall: number; cpu: number } {
  return { wall: secs(m.t), cpu: cpuSecs(process.cpuUsage(m.cpu)) };
}

/**
 * The cluster-probe build in its phases (plan: PCA + scoring basis, k-means, probes; search; assembly), each with
 * wall and CPU seconds; with `--probes-list 6,8,12` one plan (routed with the largest count) is searched with
 * each probe count (a row's p nearest clusters: `withProbes`), and every graph is checked against the same exact
 * neighbours (`--recall brute`: brute force, the default; `bounded`: the bound-pruned exact search).
 */
async function ivfBench(vectors: Float32Array, load0: number, genSeconds: number): Promise<void> {
  const probeCounts = arg('probes-list', String(probes)).split(',').map(Number).sort((a, b) => a - b);
  const recallMode = arg('recall', 'brute');
  const maxProbes = probeCounts[probeCounts.length - 1];
  const scoreDim = scoreDimArg === '' ? itemGraphIvf(dim).scoreDim : Number(scoreDimArg);
  const m0 = mark();
  const plan = ivfPlan(vectors, rows, dim, { metric: 'cosine', present, probes: maxProbes, clusterSize, pcaDim, scoreDim, kmeansIters, kmeansSamplePerCentre: kmeansSample });
  const planT = since(m0);
  console.log(
    `plan ${planT.wall.toFixed(1)} s wall / ${planT.cpu.toFixed(1)} CPU-s (pca + scoring basis ${plan.cpuSeconds.pca.toFixed(1)} CPU-s, k-means ${plan.cpuSeconds.kmeans.toFixed(1)}, ` +
      `probes ${plan.cpuSeconds.probes.toFixed(1)}); ${plan.clusters} clusters, score dim ${plan.score?.dim ?? dim} (load ${load()})`,
  );
  const sampleIds = sampleRows(rows, sample, { seed: seed + 1, present });
  const m1 = mark();
  const exact =
    recallMode !== 'brute'
      ? exactKnnBounded(vectors, rows, dim, sampleIds, k, { present, basis: plan.score, dim: RECALL_BASIS_DIM })
      : exactKnn(vectors, rows, dim, sampleIds, k, { present });
  const exactT = since(m1);
  console.log(`exact neighbours of ${sampleIds.length} rows (${recallMode}): ${exactT.wall.toFixed(1)} s wall / ${exactT.cpu.toFixed(1)} CPU-s`);
  const runs: Record<string, unknown>[] = [];
  let lastGraph: ReturnType<typeof graphFromNeighbours> | null = null;
  for (const p of probeCounts) {
    const pl = withProbes(plan, p);
    let lastLog = 0;
    const m2 = mark();
    const nb = ivfSearch(vectors, pl, k, 0, pl.ids.length, (done, total) => {
      if (performance.now() - lastLog > 30000 || done === total) {
        lastLog = performance.now();
        console.log(`  probes ${p}: cluster pass ${done}/${total} at ${secs(m2.t).toFixed(0)} s (load ${load()})`);
      }
    });
    const searchT = since(m2);
    const m3 = mark();
    const graph = graphFromNeighbours(rows, k, pl.ids, nb, { symmetrize });
    const assembleT = since(m3);
    const rec = knnRecall(graph, vectors, rows, dim, sampleIds, { k, present, exact });
    let minRow = 1;
    let below = 0;
    for (const r of rec.perRow) {
      minRow = Math.min(minRow, r);
      if (r < 0.5) below++;
    }
    const m = pl.ids.length;
    const buildCpu = planT.cpu + searchT.cpu + assembleT.cpu;
    const buildWall = planT.wall + searchT.wall + assembleT.wall;
    console.log(
      `probes ${p}: ${(nb.scored / m).toFixed(0)} candidates per row, ${(nb.verified / m).toFixed(1)} scored in full dim; search ${searchT.wall.toFixed(1)} s / ${searchT.cpu.toFixed(1)} CPU-s, ` +
        `assemble ${assembleT.wall.toFixed(1)} / ${assembleT.cpu.toFixed(1)}; build (plan + search + assemble) ${buildWall.toFixed(1)} s / ${buildCpu.toFixed(1)} CPU-s; ` +
        `recall@${k} ${rec.recall.toFixed(4)} on ${rec.rows} rows (min row ${minRow.toFixed(2)}, ${below} below 0.5) (load ${load()})`,
    );
    runs.push({
      probes: p,
      candidates_per_row: nb.scored / m,
      verified_per_row: nb.verified / m,
      search_seconds: searchT.wall,
      search_cpu_seconds: searchT.cpu,
      assemble_seconds: assembleT.wall,
      assemble_cpu_seconds: assembleT.cpu,
      build_seconds: buildWall,
      build_cpu_seconds: buildCpu,
      items_per_cpu_s: rows / buildCpu,
      recall: rec.recall,
      recall_min_row: minRow,
      recall_rows_below_half: below,
      load_avg: loadavg()[0],
    });
    lastGraph = graph;
    if (out && p === maxProbes) await saveCsr(out, 'knn', graph, { kind: 'item-item-knn/bench', stats: graphStats(graph), extra: { k, metric: 'cosine', symmetrize } });
  }
  // --recall bounded+brute: brute force afterwards, to confirm the bound-pruned exact neighbours (and so the recalls above)
  let brute: { seconds: number; cpu_seconds: number; rows_differing: number; max_sim_diff: number; recall_last: number } | null = null;
  if (recallMode === 'bounded+brute' && lastGraph) {
    const m4 = mark();
    const bf = exactKnn(vectors, rows, dim, sampleIds, k, { present });
    const bfT = since(m4);
    let differing = 0;
    let maxDiff = 0;
    for (let t = 0; t < sampleIds.length; t++) {
      const a = [...bf.indices.subarray(t * k, t * k + bf.counts[t])].sort().join();
      const b = [...exact.indices.subarray(t * k, t * k + exact.counts[t])].sort().join();
      if (a !== b) differing++;
      for (let x = 0; x < bf.counts[t]; x++) maxDiff = Math.max(maxDiff, Math.abs(bf.sims[t * k + x] - exact.sims[t * k + x]));
    }
    const rec = knnRecall(lastGraph, vectors, rows, dim, sampleIds, { k, present, exact: bf });
    brute = { seconds: bfT.wall, cpu_seconds: bfT.cpu, rows_differing: differing, max_sim_diff: maxDiff, recall_last: rec.recall };
    console.log(
      `brute force (${bfT.wall.toFixed(1)} s / ${bfT.cpu.toFixed(1)} CPU-s): neighbour sets differ from the bound-pruned search on ${differing} of ${sampleIds.length} rows ` +
        `(max similarity difference ${maxDiff.toExponential(1)}); recall@${k} of the probes-${maxProbes} graph against brute force ${rec.recall.toFixed(4)}`,
    );
  }
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  console.log(`peak RSS ${peakRssMb} MB; load ${load()}`);
  console.log(
    JSON.stringify({
      bench: 'knn',
      method: 'ivf',
      brute,
      vectors: fromArg || vectorsFile || 'synthetic',
      rows,
      dim,
      k,
      threads,
      cluster_size: clusterSize,
      clusters: plan.clusters,
      pca_dim: plan.pcaDim,
      score_dim: plan.score?.dim ?? dim,
      kmeans_iters: kmeansIters,
      kmeans_sample_per_centre: kmeansSample,
      symmetrize,
      gen_seconds: genSeconds,
      plan_seconds: planT.wall,
      plan_cpu_seconds: planT.cpu,
      plan_phase_seconds: plan.seconds,
      plan_phase_cpu_seconds: plan.cpuSeconds,
      recall_mode: recallMode,
      recall_rows: sampleIds.length,
      exact_seconds: exactT.wall,
      exact_cpu_seconds: exactT.cpu,
      runs,
      peak_rss_mb: peakRssMb,
      load_avg_start: load0,
      load_avg_end: loadavg()[0],
    }),
  );
}

await main();
