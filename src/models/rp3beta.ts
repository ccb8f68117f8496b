/**
 * RP3beta (Paudel et al., ACM TIIS 2017; as in Dacrema et al.'s RecSys 2019 baselines): a three-step random
 * walk item → user → item with a popularity penalty. With deg_i the train users of item i and deg_u the
 * train items of user u:
 *
 *   W_ij = deg_i^(−α) · Σ_{u ∈ U_i ∩ U_j} deg_u^(−α) · deg_j^(−β)        (W_ii = 0)
 *
 * (the α-powered transition probabilities P(u | i) = 1/deg_i and P(j | u) = 1/deg_u; β > 0 lowers popular
 * targets). Every candidate j keeps its k strongest sources i (the neighbour lists ItemKNN uses — the
 * original keeps the top k of each source row instead), and s_uj = Σ_{i ∈ items(u)} W_ij.
 * Fitting is one O(Σ_u deg(u)²) pass, like ItemKNN.
 */

import type { SplitData } from '../graphs/split-data.js';
import { ItemNeighbourModel, distinctRows, itemDegrees, loadNeighbours, topNeighbours } from './itemknn.js';
import type { FitContext, ModelSpec, Params, Recommender } from './model.js';
import { registerModel } from './registry.js';

export interface Rp3Settings {
  k: number;
  alpha: number;
  beta: number;
}

export class Rp3betaModel extends ItemNeighbourModel<Rp3Settings> {
  readonly modelName = 'rp3beta';
}

/** Fits RP3beta on `data.train` with resolved params. */
export function fitRp3beta(data: SplitData, params: Params): Rp3betaModel {
  const s: Rp3Settings = { k: Number(params.k), alpha: Number(params.alpha), beta: Number(params.beta) };
  const { numUsers, numItems } = data;
  const userItems = distinctRows(numUsers, numItems, data.train);
  const deg = itemDegrees(numUsers, numItems, userItems);
  const userWeight = new Float64Array(numUsers);
  for (let u = 0; u < numUsers; u++) {
    const du = userItems.indptr[u + 1] - userItems.indptr[u];
    userWeight[u] = du > 0 ? du ** -s.alpha : 0;
  }
  const src = new Float64Array(numItems);
  const dst = new Float64Array(numItems);
  for (let i = 0; i < numItems; i++) {
    src[i] = deg[i] > 0 ? deg[i] ** -s.alpha : 0;
    dst[i] = deg[i] > 0 ? deg[i] ** -s.beta : 0;
  }
  const neighbours = topNeighbours(numUsers, numItems, userItems, s.k, userWeight, (c, i, j) => c * src[i] * dst[j]);
  return new Rp3betaModel(numUsers, numItems, data.train, neighbours, s);
}

export const rp3betaSpec: ModelSpec = registerModel({
  name: 'rp3beta',
  description: 'RP3beta (Paudel et al. 2017): item→user→item random walk, α-powered transitions, popularity penalty deg_j^−β, top-k per item',
  kind: 'heuristic',
  params: {
    k: { default: 200, min: 1, doc: 'sources kept per candidate item' },
    alpha: { default: 1, min: 0, max: 2, doc: 'exponent α of the transition probabilities' },
    beta: { default: 0.3, min: 0, max: 1, doc: 'popularity penalty: weights divided by deg_j^β' },
  },
  async fit(ctx: FitContext): Promise<Recommender> {
    return fitRp3beta(ctx.data, ctx.params);
  },
  async load(dir: string, data: SplitData): Promise<Recommender> {
    const { neighbours, meta } = await loadNeighbours(dir, 'rp3beta', data);
    const m = meta as unknown as Rp3Settings;
    return new Rp3betaModel(data.numUsers, data.numItems, data.train, neighbours, { k: m.k, alpha: m.alpha, beta: m.beta });
  },
});
