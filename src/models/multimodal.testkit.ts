/**
 * Small synthetic splits whose item content is informative, for the tests of the fusion and of mmgat:
 * items belong to C clusters; a user likes one cluster; the text vector is a noisy one-hot of the item's
 * cluster (strong signal), the image vector a noisier one (weak signal); some items miss one modality or
 * both; the last `cold` items never occur in train (only in valid/test), so only content can rank them.
 */
import { Rng } from '../core/index.js';
import { csrFromLists } from '../core/csr-pattern.js';
import type { PartCsr, SplitData } from '../graphs/split-data.js';
import type { KnnGraph } from '../graphs/knn-graph.js';
import type { ContentModality, ContentSource, ItemContent } from './model.js';

export interface SyntheticMultimodal {
  data: SplitData;
  content: ContentSource;
  text: ItemContent;
  image: ItemContent;
  cluster: Int32Array;
  /** first cold item id (items ≥ coldFrom have no train interaction) */
  coldFrom: number;
}

function part(lists: number[][], ratings?: number[][]): PartCsr {
  const csr = csrFromLists(lists);
  const r = new Float32Array(csr.indices.length).fill(NaN);
  if (ratings) r.set(ratings.flat());
  return { ...csr, ratings: r, ts: new Float64Array(csr.indices.length).fill(NaN) };
}

/** An in-memory {@link ContentSource} over the given modalities and graphs. */
export function memoryContent(mods: Partial<Record<ContentModality, ItemContent>>, graphs: Partial<Record<ContentModality, KnnGraph>> = {}): ContentSource {
  return {
    modality: async (name) => mods[name] ?? null,
    itemGraph: async (name) => graphs[name] ?? null,
  };
}

export function syntheticMultimodal(opts: { seed?: number; users?: number; items?: number; clusters?: number; cold?: number; trainPerUser?: number; ratings?: boolean } = {}): SyntheticMultimodal {
  const rng = new Rng(opts.seed ?? 1);
  const U = opts.users ?? 60;
  const I = opts.items ?? 80;
  const C = opts.clusters ?? 4;
  const cold = opts.cold ?? 16;
  const perUser = opts.trainPerUser ?? 5;
  const coldFrom = I - cold;
  const cluster = Int32Array.from({ length: I }, (_, i) => i % C);
  const byCluster = (c: number, warm: boolean) => [...Array(I).keys()].filter((i) => cluster[i] === c && (warm ? i < coldFrom : i >= coldFrom));
  const train: number[][] = [];
  const valid: number[][] = [];
  const test: number[][] = [];
  const ratings: number[][] = [];
  for (let u = 0; u < U; u++) {
    const c = u % C;
    const warm = byCluster(c, true);
    const coldItems = byCluster(c, false);
    const pick = (pool: number[], taken: Set<number>) => {
      const free = pool.filter((i) => !taken.has(i));
      const i = free[rng.int(free.length)];
      taken.add(i);
      return i;
    };
    const taken = new Set<number>();
    const t: number[] = [];
    for (let k = 0; k < perUser; k++) t.push(rng.next() < 0.1 ? pick(byCluster((c + 1) % C, true), taken) : pick(warm, taken));
    train.push(t);
    ratings.push(t.map((i) => (cluster[i] === c ? 5 : 2)));
    valid.push([pick(warm, taken), pick(coldItems, taken)]);
    test.push([pick(warm, taken), pick(coldItems, taken)]);
  }
  const coldItems = new Uint8Array(I).fill(1);
  for (const l of train) for (const i of l) coldItems[i] = 0;
  const data: SplitData = {
    dir: '(memory)',
    numUsers: U,
    numItems: I,
    train: part(train, opts.ratings ? ratings : undefined),
    valid: part(valid),
    test: part(test),
    coldItems,
    manifest: { split_hash: `synthetic-${opts.seed ?? 1}` },
  };
  const make = (modality: ContentModality, dim: number, noise: number, missing: (i: number) => boolean): ItemContent => {
    const vectors = new Float32Array(I * dim);
    const present = new Uint8Array(I);
    for (let i = 0; i < I; i++) {
      if (missing(i)) continue;
      present[i] = 1;
      for (let k = 0; k < dim; k++) vectors[i * dim + k] = rng.normal() * noise + (k % C === cluster[i] ? 1 : 0);
    }
    return { modality, vectors, dim, present, encoder: `synthetic-${modality}` };
  };
  const text = make('text', 12, 0.35, (i) => i % 7 === 3);
  const image = make('image', 8, 0.9, (i) => i % 5 === 1);
  return { data, content: memoryContent({ text, image }), text, image, cluster, coldFrom };
}

/** Mean NDCG@k of the test items ≥ coldFrom (cold items), ranking all items with the user's train items masked. */
export async function coldItemNdcg(model: { scoreUsers(users: Int32Array, out: Float32Array): void | Promise<void> }, data: SplitData, coldFrom: number, k = 10): Promise<number> {
  const users = Int32Array.from({ length: data.numUsers }, (_, u) => u);
  const scores = new Float32Array(users.length * data.numItems);
  await model.scoreUsers(users, scores);
  let total = 0;
  let n = 0;
  for (let u = 0; u < data.numUsers; u++) {
    const row = scores.subarray(u * data.numItems, (u + 1) * data.numItems);
    for (let e = data.train.indptr[u]; e < data.train.indptr[u + 1]; e++) row[data.train.indices[e]] = -Infinity;
    for (let e = data.test.indptr[u]; e < data.test.indptr[u + 1]; e++) {
      const i = data.test.indices[e];
      if (i < coldFrom) continue;
      let rank = 0;
      for (let j = 0; j < data.numItems; j++) if (row[j] > row[i]) rank++;
      total += rank < k ? 1 / Math.log2(rank + 2) : 0;
      n++;
    }
  }
  return n ? total / n : 0;
}

/** A deterministic pseudo-random scorer (the chance level of a ranking metric). */
export const randomScorer = {
  scoreUsers(users: Int32Array, out: Float32Array): void {
    for (let k = 0; k < out.length; k++) out[k] = Math.abs((Math.sin(k * 12.9898 + users[0]) * 43758.5453) % 1);
  },
};
