/**
 * Item-based collaborative filtering (ItemKNN / ItemCF) with a shrunk cosine similarity.
 *
 * With U_i the set of train users of item i and c_ij = |U_i ∩ U_j| (binary interactions):
 *
 *   sim(i → j) = c_ij / (|U_i|^α · |U_j|^(1−α) + shrink)        α = 0.5: cosine, sim(i,j) = c_ij / (sqrt(|U_i||U_j|) + shrink)
 *
 * (α ≠ 0.5 is the asymmetric cosine; i is the item the user has, j the candidate.) For every candidate
 * item j only its `k` most similar items N_k(j) are kept (ties to the lower item id), and
 *
 *   score(u, j) = Σ_{i ∈ items(u) ∩ N_k(j)} sim(i → j).
 *
 * Fitting walks, for each item j, the item lists of j's users with a dense counter (O(Σ_u deg(u)²) in
 * total: 62.5 M increments on Gowalla's train part, 3.4–3.8 s on one core of the shared 2-core machine,
 * so it is left single-threaded), keeps the top k with a small heap and stores the lists as CSR
 * (row j = N_k(j)). Scoring uses the transposed lists (row i =
 * the items j with i ∈ N_k(j)): a user's row is the sum of the rows of the items they have, a
 * sparse × sparse product written straight into the dense score block.
 */

import { join } from 'node:path';
import { ppError } from '../errors.js';
import type { CsrPattern as CsrPattern } from '../core/csr-pattern.js';
import type { SplitData } from '../graphs/split-data.js';
import { loadState, saveState } from '../train/checkpoint.js';
import type { FitContext, ModelSpec, Params, Recommender } from './model.js';
import { registerModel } from './registry.js';

/** A weighted CSR with plain arrays. */
export interface WeightedCsr {
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
  readonly values: Float32Array;
}

/** Per-user distinct train items (duplicates dropped, first-occurrence order). */
export function distinctRows(numRows: number, numCols: number, csr: CsrPattern): CsrPattern {
  const stamp = new Int32Array(numCols).fill(-1);
  const indptr = new Int32Array(numRows + 1);
  const indices = new Int32Array(csr.indptr[numRows]);
  let at = 0;
  for (let r = 0; r < numRows; r++) {
    for (let e = csr.indptr[r]; e < csr.indptr[r + 1]; e++) {
      const c = csr.indices[e];
      if (stamp[c] !== r) {
        stamp[c] = r;
        indices[at++] = c;
      }
    }
    indptr[r + 1] = at;
  }
  return { indptr, indices: indices.slice(0, at) };
}

/** The transpose of a (weighted) CSR with numCols rows; entries of each row in ascending source order. */
export function transposeLists(numRows: number, numCols: number, csr: CsrPattern, values?: Float32Array): WeightedCsr {
  const indptr = new Int32Array(numCols + 1);
  const nnz = csr.indptr[numRows];
  for (let e = 0; e < nnz; e++) indptr[csr.indices[e] + 1]++;
  for (let c = 0; c < numCols; c++) indptr[c + 1] += indptr[c];
  const fill = indptr.slice(0, numCols);
  const indices = new Int32Array(nnz);
  const vals = new Float32Array(values ? nnz : 0);
  for (let r = 0; r < numRows; r++) {
    for (let e = csr.indptr[r]; e < csr.indptr[r + 1]; e++) {
      const t = fill[csr.indices[e]]++;
      indices[t] = r;
      if (values) vals[t] = values[e];
    }
  }
  return { indptr, indices, values: vals };
}

export interface ItemKnnSettings {
  k: number;
  shrink: number;
  alpha: number;
}

/**
 * Row j = N_k(j), the k items i ≠ j with the highest sim(i → j) > 0, sorted by item id, with the
 * similarity as value.
 */
export function itemNeighbours(numUsers: number, numItems: number, userItems: CsrPattern, s: ItemKnnSettings): WeightedCsr {
  const deg = itemDegrees(numUsers, numItems, userItems);
  const left = new Float64Array(numItems); // |U_i|^α
  const right = new Float64Array(numItems); // |U_j|^(1−α)
  for (let i = 0; i < numItems; i++) {
    left[i] = deg[i] ** s.alpha;
    right[i] = deg[i] ** (1 - s.alpha);
  }
  return topNeighbours(numUsers, numItems, userItems, s.k, null, (c, i, j) => c / (left[i] * right[j] + s.shrink));
}

/** Distinct train users of each item. */
export function itemDegrees(numUsers: number, numItems: number, userItems: CsrPattern): Float64Array {
  const deg = new Float64Array(numItems);
  for (let e = 0; e < userItems.indptr[numUsers]; e++) deg[userItems.indices[e]]++;
  return deg;
}

/**
 * The neighbour lists shared by the item–item models: for every candidate item j, the co-occurrence
 * weights c_ij = Σ_{u ∈ U_i ∩ U_j} w_u (w_u = `userWeight[u]`, or 1) of every item i ≠ j, turned into
 * sim(i → j) = `sim(c_ij, i, j)`; row j keeps the k items with the highest sim > 0 (ties to the lower
 * item id), sorted by item id. One pass over j's users' item lists per j: O(Σ_u deg(u)²) in all.
 */
export function topNeighbours(
  numUsers: number,
  numItems: number,
  userItems: CsrPattern,
  kMax: number,
  userWeight: Float64Array | null,
  sim: (c: number, i: number, j: number) => number,
): WeightedCsr {
  const itemUsers = transposeLists(numUsers, numItems, userItems);
  const k = Math.max(0, Math.min(Math.floor(kMax), numItems - 1));
  const counts = new Float64Array(numItems);
  const touched = new Int32Array(numItems);
  const heapSim = new Float64Array(k);
  const heapItem = new Int32Array(k);
  const order = new Int32Array(k);
  let cap = Math.max(16, Math.min(numItems * k, 1 << 20));
  let outIdx = new Int32Array(cap);
  let outVal = new Float32Array(cap);
  const indptr = new Int32Array(numItems + 1);
  let nnz = 0;
  const { indptr: up, indices: ui } = userItems;
  for (let j = 0; j < numItems; j++) {
    let nt = 0;
    for (let e = itemUsers.indptr[j]; e < itemUsers.indptr[j + 1]; e++) {
      const u = itemUsers.indices[e];
      const w = userWeight ? userWeight[u] : 1;
      for (let f = up[u]; f < up[u + 1]; f++) {
        const i = ui[f];
        if (counts[i] === 0) touched[nt++] = i;
        counts[i] += w;
      }
    }
    // keep the k best (higher sim first, then lower item id) in a min-heap whose root is the worst kept
    let size = 0;
    for (let t = 0; t < nt; t++) {
      const i = touched[t];
      const c = counts[i];
      counts[i] = 0;
      if (i === j || k === 0) continue;
      const sv = sim(c, i, j);
      if (!(sv > 0)) continue;
      if (size < k) {
        // sift up
        let p = size++;
        while (p > 0) {
          const parent = (p - 1) >> 1;
          if (worse(heapSim[parent], heapItem[parent], sv, i)) break;
          heapSim[p] = heapSim[parent];
          heapItem[p] = heapItem[parent];
          p = parent;
        }
        heapSim[p] = sv;
        heapItem[p] = i;
      } else if (worse(heapSim[0], heapItem[0], sv, i)) {
        // replace the root, sift down
        let p = 0;
        for (;;) {
          const l = 2 * p + 1;
          if (l >= size) break;
          const r = l + 1;
          const m = r < size && worse(heapSim[r], heapItem[r], heapSim[l], heapItem[l]) ? r : l;
          if (!worse(heapSim[m], heapItem[m], sv, i)) break;
          heapSim[p] = heapSim[m];
          heapItem[p] = heapItem[m];
          p = m;
        }
        heapSim[p] = sv;
        heapItem[p] = i;
      }
    }
    if (nnz + size > cap) {
      cap = Math.max(cap * 2, nnz + size);
      const ni = new Int32Array(cap);
      ni.set(outIdx.subarray(0, nnz));
      outIdx = ni;
      const nv = new Float32Array(cap);
      nv.set(outVal.subarray(0, nnz));
      outVal = nv;
    }
    for (let t = 0; t < size; t++) order[t] = t;
    const sorted = order.subarray(0, size).sort((a, b) => heapItem[a] - heapItem[b]);
    for (let t = 0; t < size; t++) {
      outIdx[nnz + t] = heapItem[sorted[t]];
      outVal[nnz + t] = heapSim[sorted[t]];
    }
    nnz += size;
    indptr[j + 1] = nnz;
  }
  return { indptr, indices: outIdx.slice(0, nnz), values: outVal.slice(0, nnz) };
}

/**
 * Scores of an item–item model: row r of `out` = Σ_{i ∈ items(users[r])} row i of `contributions` (row i =
 * what item i adds to each candidate), a sparse × sparse product written into the dense score block.
 */
export function scoreFromContributions(contributions: WeightedCsr, userItems: CsrPattern, numItems: number, users: Int32Array, out: Float32Array): void {
  const n = numItems;
  const { indptr, indices, values } = contributions;
  const { indptr: up, indices: ui } = userItems;
  out.fill(0, 0, users.length * n);
  for (let r = 0; r < users.length; r++) {
    const u = users[r];
    const o = r * n;
    for (let f = up[u]; f < up[u + 1]; f++) {
      const i = ui[f];
      for (let e = indptr[i]; e < indptr[i + 1]; e++) out[o + indices[e]] += values[e];
    }
  }
}

/** True when (simA, itemA) ranks below (simB, itemB): lower similarity, or equal and higher item id. */
function worse(simA: number, itemA: number, simB: number, itemB: number): boolean {
  return simA < simB || (simA === simB && itemA > itemB);
}

/**
 * An item-to-item model: row j of `neighbours` holds the kept sources i of candidate j with their weight W_ij,
 * and s_uj = Σ_{i ∈ items(u)} W_ij. ItemKNN and RP3beta differ only in how W is fitted.
 */
export abstract class ItemNeighbourModel<S extends object> implements Recommender {
  abstract readonly modelName: string;
  /** Row i = the items j with i among j's sources, value W_ij: what item i contributes to scores. */
  private readonly contributions: WeightedCsr;
  private readonly userItems: CsrPattern;

  constructor(
    readonly numUsers: number,
    readonly numItems: number,
    train: CsrPattern,
    /** Row j = the kept sources i of candidate j with W_ij. */
    readonly neighbours: WeightedCsr,
    readonly settings: S,
  ) {
    this.userItems = distinctRows(numUsers, numItems, train);
    this.contributions = transposeLists(numItems, numItems, neighbours, neighbours.values);
  }

  /** W_ij if i is among j's kept sources, else 0. */
  weight(i: number, j: number): number {
    const { indptr, indices, values } = this.neighbours;
    for (let e = indptr[j]; e < indptr[j + 1]; e++) if (indices[e] === i) return values[e];
    return 0;
  }

  scoreUsers(users: Int32Array, out: Float32Array): void {
    scoreFromContributions(this.contributions, this.userItems, this.numItems, users, out);
  }

  async save(dir: string): Promise<void> {
    await saveNeighbours(dir, this.neighbours, { model: this.modelName, numUsers: this.numUsers, numItems: this.numItems, ...this.settings });
  }
}

export class ItemKnnModel extends ItemNeighbourModel<ItemKnnSettings> {
  readonly modelName = 'itemknn';

  /** sim(i → j) if i ∈ N_k(j), else 0 (see {@link itemNeighbours}). */
  similarity(i: number, j: number): number {
    return this.weight(i, j);
  }
}

export async function saveNeighbours(dir: string, neighbours: WeightedCsr, meta: { model: string; numUsers: number; numItems: number } & Record<string, unknown>): Promise<void> {
  const { indptr, indices, values } = neighbours;
  await saveState(join(dir, 'state'), {
    tensors: {
      indptr: new Float32Array(indptr.buffer, indptr.byteOffset, indptr.length),
      indices: new Float32Array(indices.buffer, indices.byteOffset, indices.length),
      values,
    },
    meta: { format: 1, ...meta },
  });
}

/** Reads what {@link saveNeighbours} wrote for `model`, checked against the split. */
export async function loadNeighbours(dir: string, model: string, data: SplitData): Promise<{ neighbours: WeightedCsr; meta: Record<string, unknown> }> {
  const state = await loadState(join(dir, 'state'));
  if (!state || state.meta.model !== model) throw ppError('PP_MODEL_LOAD', `${model}: no saved ${model} model in ${dir}`);
  const m = state.meta as { numUsers: number; numItems: number };
  if (m.numUsers !== data.numUsers || m.numItems !== data.numItems) {
    throw ppError('PP_MODEL_LOAD', `${model}: saved for ${m.numUsers} users × ${m.numItems} items, the split has ${data.numUsers} × ${data.numItems}`);
  }
  const { indptr, indices, values } = state.tensors;
  if (!indptr || !indices || !values || indptr.length !== data.numItems + 1 || indices.length !== values.length) {
    throw ppError('PP_MODEL_LOAD', `${model}: the saved neighbour lists in ${dir} are incomplete`);
  }
  const neighbours: WeightedCsr = {
    indptr: new Int32Array(indptr.buffer, indptr.byteOffset, indptr.length),
    indices: new Int32Array(indices.buffer, indices.byteOffset, indices.length),
    values,
  };
  if (neighbours.indptr[data.numItems] !== values.length) throw ppError('PP_MODEL_LOAD', `${model}: the saved neighbour lists in ${dir} are inconsistent`);
  for (let e = 0; e < neighbours.indices.length; e++) {
    const i = neighbours.indices[e];
    if (!(i >= 0 && i < data.numItems)) throw ppError('PP_MODEL_LOAD', `${model}: the saved neighbour lists in ${dir} are corrupt`);
  }
  return { neighbours, meta: state.meta };
}

function settingsOf(p: Params): ItemKnnSettings {
  return { k: Number(p.k), shrink: Number(p.shrink), alpha: Number(p.alpha) };
}

/** Fits ItemKNN on `data.train` with resolved params. */
export function fitItemKnn(data: SplitData, params: Params): ItemKnnModel {
  const s = settingsOf(params);
  const userItems = distinctRows(data.numUsers, data.numItems, data.train);
  const neighbours = itemNeighbours(data.numUsers, data.numItems, userItems, s);
  return new ItemKnnModel(data.numUsers, data.numItems, data.train, neighbours, s);
}

export const itemKnnSpec: ModelSpec = registerModel({
  name: 'itemknn',
  description: 'Item-based CF: sum of shrunk cosine similarities to the top-k neighbours of each item',
  kind: 'heuristic',
  params: {
    k: { default: 100, min: 1, doc: 'neighbours kept per item' },
    shrink: { default: 10, min: 0, doc: 'shrinkage added to the cosine denominator' },
    alpha: { default: 0.5, min: 0, max: 1, doc: 'asymmetric cosine exponent: |U_i|^α·|U_j|^(1−α) (0.5 = cosine)' },
  },
  async fit(ctx: FitContext): Promise<Recommender> {
    return fitItemKnn(ctx.data, ctx.params);
  },
  async load(dir: string, data: SplitData): Promise<Recommender> {
    const { neighbours, meta } = await loadNeighbours(dir, 'itemknn', data);
    const m = meta as unknown as ItemKnnSettings;
    return new ItemKnnModel(data.numUsers, data.numItems, data.train, neighbours, { k: m.k, shrink: m.shrink, alpha: m.alpha });
  },
});
