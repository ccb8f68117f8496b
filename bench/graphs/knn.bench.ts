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
 *        ivf: [--score-dim 128] candidate scoring in an r-dim basis with full-dim verification (0 = full dim)
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
import { buildKnnGraphIvf, buildKnnGraphWithIndex, graphStats, knnRecall, sampleRows, type Symmetrize } from '../../src/graphs/knn-graph.js';
import { saveCsr } from '../../src/graphs/csr-io.js';
import { ITEM_GRAPH_IVF } from '../../src/orchestration/item-graphs.js';
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
const scoreDim = Number(arg('score-dim', String(ITEM_GRAPH_IVF.scoreDim)));
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
  const settings = method === 'ivf' ? `probes=${probes}, cluster size ${clusterSize}, pca ${pcaDim}, score dim ${scoreDim}` : `M=${connectivity}, efAdd=${expansionAdd}, efSearch=${expansionSearch}, ${quantization}`;
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

/** The cluster-probe build: phases with CPU seconds, recall, stats. */
async function ivfBench(vectors: Float32Array, load0: number, genSeconds: number): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let lastLog = 0;
  const { graph, info } = buildKnnGraphIvf(vectors, rows, dim, {
    k,
    symmetrize,
    present,
    probes,
    clusterSize,
    pcaDim,
    scoreDim,
    onProgress: (done, total) => {
      if (performance.now() - lastLog > 15000 || done === total) {
        lastLog = performance.now();
        console.log(`  search: cluster ${done}/${total} at ${secs(t0).toFixed(0)} s (load ${load()})`);
      }
    },
  });
  const buildSeconds = secs(t0);
  const buildCpuSeconds = cpuSecs(process.cpuUsage(cpu0));
  const loadDuringBuild = loadavg()[0];
  console.log(
    `built in ${buildSeconds.toFixed(1)} s wall, ${buildCpuSeconds.toFixed(1)} CPU-s (${(buildCpuSeconds / buildSeconds).toFixed(2)} cores): ` +
      `plan ${info.planSeconds.toFixed(1)} s / ${info.planCpuSeconds.toFixed(1)} CPU-s, search ${info.searchSeconds.toFixed(1)} / ${info.searchCpuSeconds.toFixed(1)}, ` +
      `assemble ${info.assembleSeconds.toFixed(1)} / ${info.assembleCpuSeconds.toFixed(1)}; ${info.clusters} clusters, ${info.probes} probes, ` +
      `${info.candidatesPerRow.toFixed(0)} candidates per row, ${info.verifiedPerRow.toFixed(1)} of them scored in full dim; ${(rows / buildCpuSeconds).toFixed(0)} items per CPU-s`,
  );
  const rec = knnRecall(graph, vectors, rows, dim, sampleRows(rows, sample, { seed: seed + 1, present }), { k, present });
  let minRow = 1;
  let below = 0;
  for (const r of rec.perRow) {
    minRow = Math.min(minRow, r);
    if (r < 0.5) below++;
  }
  console.log(`recall@${k} ${rec.recall.toFixed(4)} on ${rec.rows} rows (min row ${minRow.toFixed(2)}, ${below} below 0.5; exact search ${rec.exactSeconds.toFixed(1)} s)`);
  const stats = graphStats(graph);
  console.log(`stats: ${JSON.stringify(stats)}`);
  if (out) await saveCsr(out, 'knn', graph, { kind: 'item-item-knn/bench', stats, extra: { k, metric: 'cosine', symmetrize } });
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  console.log(`peak RSS ${peakRssMb} MB; load ${load()}`);
  console.log(
    JSON.stringify({
      bench: 'knn',
      method: 'ivf',
      vectors: fromArg || vectorsFile || 'synthetic',
      rows,
      dim,
      k,
      threads,
      probes: info.probes,
      cluster_size: clusterSize,
      clusters: info.clusters,
      pca_dim: info.pcaDim,
      score_dim: info.scoreDim,
      candidates_per_row: info.candidatesPerRow,
      verified_per_row: info.verifiedPerRow,
      symmetrize,
      gen_seconds: genSeconds,
      build_seconds: buildSeconds,
      build_cpu_seconds: buildCpuSeconds,
      items_per_cpu_s: rows / buildCpuSeconds,
      plan_seconds: info.planSeconds,
      plan_cpu_seconds: info.planCpuSeconds,
      search_seconds: info.searchSeconds,
      search_cpu_seconds: info.searchCpuSeconds,
      assemble_seconds: info.assembleSeconds,
      assemble_cpu_seconds: info.assembleCpuSeconds,
      recall: rec.recall,
      recall_min_row: minRow,
      recall_rows_below_half: below,
      recall_rows: rec.rows,
      exact_seconds: rec.exactSeconds,
      stats,
      peak_rss_mb: peakRssMb,
      load_avg_start: load0,
      load_avg_after_build: loadDuringBuild,
      load_avg_end: loadavg()[0],
      target_met: buildSeconds <= 120 && rec.recall >= 0.95,
    }),
  );
}

await main();
