/**
 * A synthetic serving bundle at catalogue scale for the HTTP benchmark (bench/serve/http.bench.ts), in the
 * serving helper's format (src/index/serving-bundle.ts, written by `writeServingBundle`).
 *
 * Shape (defaults): 500,000 items and 100,000 users in one 128-d model space.
 *   - items: clustered unit vectors (src/graphs/synthetic-vectors.ts, ~2,000 clusters, 16 directions of
 *     variation + 10 % isotropic noise) scaled by a log-normal norm exp(0.25 z) (trained MF/LightGCN item
 *     vectors carry popularity in their norm; score(u, i) = ⟨u, i⟩);
 *   - users: drawn from the same clusters (generated together with the items), unit length;
 *   - history: 5–40 items per user, ¾ from the user's own cluster and ¼ anywhere, with per-edge attention
 *     weights (a softmax over the row, as a GAT run exports) so explanations take their full path;
 *   - item metadata: title, brand, 1–3 categories, price; image fields null;
 *   - item–item graph: 10 neighbours per item from its own cluster, ids ascending, cosine weights (names kNN edges in
 *     explanations);
 *   - one ANN index, `graph` (inner product over items.f32), built by writeServingBundle with its defaults.
 */
import { clusteredVectors, SplitMix } from '../../src/graphs/synthetic-vectors.js';
import type { ItemMeta, ServingBundleInput } from '../../src/index/serving-bundle.js';

export interface SyntheticBundleOptions {
  items?: number;
  users?: number;
  dim?: number;
  seed?: number;
  /** neighbours per item in the item–item graph (0 = no graph) */
  graphK?: number;
  /**
   * Use exactly the base vectors of bench/serve/ann.bench.ts (`clusteredVectors(items + annQueries, dim, {seed})`,
   * first `items` rows, unit length, no norm scaling), so the ANN bench's saved index over them can serve as the
   * bundle's graph index (cos = ip on unit vectors). Users are then normalise(x_a + x_b) of two random items of a
   * random cluster.
   */
  annBenchQueries?: number;
}

/** The in-memory input of a synthetic bundle (see the module comment). */
export function syntheticBundleInput(opts: SyntheticBundleOptions = {}): ServingBundleInput {
  const nI = opts.items ?? 500_000;
  const nU = opts.users ?? 100_000;
  const d = opts.dim ?? 128;
  const graphK = opts.graphK ?? 10;
  const rng = new SplitMix((opts.seed ?? 1) * 7919 + 13);
  const same = opts.annBenchQueries !== undefined;
  const generated = same
    ? clusteredVectors(nI + opts.annBenchQueries!, d, { seed: opts.seed ?? 1 })
    : clusteredVectors(nI + nU, d, { seed: opts.seed ?? 1, clusters: Math.max(1, Math.round(nI / 250)) });
  const clusters = same ? Math.max(1, Math.round((nI + opts.annBenchQueries!) / 250)) : Math.max(1, Math.round(nI / 250));
  const items = generated.vectors.slice(0, nI * d);
  const cluster = new Int32Array(nI + nU);
  cluster.set(generated.cluster.subarray(0, same ? nI : nI + nU));
  // items of each cluster (for users, histories and the item graph)
  const byCluster: number[][] = Array.from({ length: clusters }, () => []);
  for (let i = 0; i < nI; i++) byCluster[cluster[i] % clusters].push(i);
  let users: Float32Array;
  if (same) {
    users = new Float32Array(nU * d);
    for (let u = 0; u < nU; u++) {
      let c = rng.int(clusters);
      while (byCluster[c].length === 0) c = rng.int(clusters);
      cluster[nI + u] = c;
      const a = byCluster[c][rng.int(byCluster[c].length)];
      const b = byCluster[c][rng.int(byCluster[c].length)];
      let norm = 0;
      for (let j = 0; j < d; j++) {
        const x = items[a * d + j] + items[b * d + j];
        users[u * d + j] = x;
        norm += x * x;
      }
      norm = Math.sqrt(norm) || 1;
      for (let j = 0; j < d; j++) users[u * d + j] /= norm;
    }
  } else {
    for (let i = 0; i < nI; i++) {
      const s = Math.exp(0.25 * rng.normal());
      for (let j = 0; j < d; j++) items[i * d + j] *= s;
    }
    users = generated.vectors.slice(nI * d);
  }

  const indptr = new Int32Array(nU + 1);
  const indices: number[] = [];
  const attention: number[] = [];
  for (let u = 0; u < nU; u++) {
    const own = byCluster[cluster[nI + u] % clusters];
    const len = 5 + rng.int(36);
    const seen = new Set<number>();
    while (seen.size < len) seen.add(own.length > 0 && rng.next() < 0.75 ? own[rng.int(own.length)] : rng.int(nI));
    const logits = [...seen].map(() => rng.normal());
    const max = Math.max(...logits);
    const ex = logits.map((l) => Math.exp(l - max));
    const sum = ex.reduce((a, b) => a + b, 0);
    for (const [x, i] of [...seen].entries()) {
      indices.push(i);
      attention.push(ex[x] / sum);
    }
    indptr[u + 1] = indices.length;
  }

  const brands = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark', 'Wayne', 'Tyrell'];
  const cats = ['Lab', 'Optics', 'Chemistry', 'Electronics', 'Safety', 'Measurement', 'Glassware', 'Biology'];
  const itemMeta: ItemMeta[] = new Array(nI);
  for (let i = 0; i < nI; i++) {
    const c = cluster[i];
    itemMeta[i] = {
      title: `Synthetic product ${i} of line ${c}`,
      brand: brands[c % brands.length],
      categories: [cats[c % cats.length], cats[(c >> 3) % cats.length]].slice(0, 1 + (i % 2)),
      image_path: null,
      image_url: null,
      price: Math.round(100 * (5 + 95 * rng.next())) / 100,
    };
  }

  let itemGraph: ServingBundleInput['itemGraph'] = null;
  if (graphK > 0) {
    const gptr = new Int32Array(nI + 1);
    const gidx = new Int32Array(nI * graphK);
    const gw = new Float32Array(nI * graphK);
    let e = 0;
    for (let i = 0; i < nI; i++) {
      const own = byCluster[cluster[i] % clusters];
      const picked = new Set<number>();
      for (let t = 0; t < 4 * graphK && picked.size < Math.min(graphK, own.length - 1); t++) {
        const j = own[rng.int(own.length)];
        if (j !== i) picked.add(j);
      }
      const row: { j: number; w: number }[] = [];
      for (const j of picked) {
        let dot = 0;
        let ni = 0;
        let nj = 0;
        for (let x = 0; x < d; x++) {
          dot += items[i * d + x] * items[j * d + x];
          ni += items[i * d + x] ** 2;
          nj += items[j * d + x] ** 2;
        }
        row.push({ j, w: dot / Math.sqrt(ni * nj) });
      }
      row.sort((a, b) => a.j - b.j); // CSR rows by neighbour id (the server binary-searches them)
      for (const { j, w } of row) {
        gidx[e] = j;
        gw[e] = w;
        e++;
      }
      gptr[i + 1] = e;
    }
    itemGraph = { indptr: gptr, indices: gidx.slice(0, e), weights: gw.slice(0, e), source: 'knn-synthetic' };
  }

  return {
    dataset: 'bench',
    split: 'synthetic',
    runId: 'bench-synthetic',
    model: 'synthetic',
    dim: d,
    users,
    items,
    userIds: Array.from({ length: nU }, (_, u) => `U${u}`),
    itemIds: Array.from({ length: nI }, (_, i) => `I${i}`),
    itemMeta,
    history: { indptr, indices: Int32Array.from(indices), attention: Float32Array.from(attention) },
    itemGraph,
  };
}
