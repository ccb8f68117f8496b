/**
 * Test-only: straightforward re-expressions, in TypeScript, of the two reference evaluators the library
 * claims to match, kept as close to the Python as practical (dense matrices, no cleverness), plus a naive
 * full-sort ranking. Used by the tests to check agreement to 1e-9.
 *
 * - LightGCN-PyTorch (gusye1234/LightGCN-PyTorch, code/utils.py + code/Procedure.py):
 *   `getLabel`, `RecallPrecision_ATk`, `NDCGatK_r`; `Test` masks train items with −(1 << 10), takes
 *   `torch.topk(rating, max_K)`, sums each batch's values and divides by the number of test users.
 * - RecBole (RUCAIBox/RecBole, recbole/evaluator/metrics.py): `Hit`, `MRR`, `MAP`, `Recall`, `NDCG`,
 *   `Precision` `metric_info` on `pos_index` (users × max_K booleans) and `pos_len`; the value at K is
 *   column K − 1, averaged over users.
 */

import { Prng } from './prng.js';

// ---------------------------------------------------------------- LightGCN-PyTorch (utils.py)

/** getLabel(test_data, pred_data): r[i][j] = 1.0 if pred_data[i][j] in test_data[i] else 0.0 */
export function lightgcnGetLabel(testData: number[][], predData: number[][]): number[][] {
  const r: number[][] = [];
  for (let i = 0; i < testData.length; i++) {
    const groundTrue = testData[i];
    const predictTopK = predData[i];
    r.push(predictTopK.map((x) => (groundTrue.includes(x) ? 1 : 0)));
  }
  return r;
}

/** RecallPrecision_ATk: batch sums Σ right_pred / len(test_data[i]) and Σ right_pred / k. */
export function lightgcnRecallPrecisionATk(testData: number[][], r: number[][], k: number): { recall: number; precision: number } {
  const rightPred = r.map((row) => row.slice(0, k).reduce((a, b) => a + b, 0));
  const precisN = k;
  const recallN = testData.map((t) => t.length);
  let recall = 0;
  for (let i = 0; i < rightPred.length; i++) recall += rightPred[i] / recallN[i];
  const precis = rightPred.reduce((a, b) => a + b, 0) / precisN;
  return { recall, precision: precis };
}

/** NDCGatK_r: batch sum of dcg / idcg with test_matrix[i, :min(k, len(items))] = 1. */
export function lightgcnNdcgAtKr(testData: number[][], r: number[][], k: number): number {
  const predData = r.map((row) => row.slice(0, k));
  const testMatrix = testData.map((items) => {
    const row = new Array<number>(k).fill(0);
    const length = k <= items.length ? k : items.length;
    for (let j = 0; j < length; j++) row[j] = 1;
    return row;
  });
  const weights = Array.from({ length: k }, (_, j) => 1 / Math.log2(j + 2)); // 1./np.log2(np.arange(2, k + 2))
  let total = 0;
  for (let i = 0; i < predData.length; i++) {
    let idcg = 0;
    let dcg = 0;
    for (let j = 0; j < k; j++) {
      idcg += testMatrix[i][j] * weights[j];
      dcg += (predData[i][j] ?? 0) * weights[j];
    }
    if (idcg === 0) idcg = 1;
    let ndcg = dcg / idcg;
    if (Number.isNaN(ndcg)) ndcg = 0;
    total += ndcg;
  }
  return total;
}

/**
 * Procedure.Test, per batch: mask train items with −1024, top max_K, then for each k the three sums;
 * finally divide by the number of test users. `rating(u)` returns the user's scores over all items.
 */
export function lightgcnTest(
  testUsers: number[],
  rating: (u: number) => Float32Array,
  trainOf: (u: number) => number[],
  testOf: (u: number) => number[],
  topks: number[],
  batchSize: number,
): Record<string, number[]> {
  const maxK = Math.max(...topks);
  const results = { precision: topks.map(() => 0), recall: topks.map(() => 0), ndcg: topks.map(() => 0) };
  for (let b = 0; b < testUsers.length; b += batchSize) {
    const batchUsers = testUsers.slice(b, b + batchSize);
    const groundTrue = batchUsers.map(testOf);
    const ratingK = batchUsers.map((u) => {
      const row = Float32Array.from(rating(u));
      for (const i of trainOf(u)) row[i] = -(1 << 10);
      return naiveTopK(row, maxK);
    });
    const r = lightgcnGetLabel(groundTrue, ratingK);
    topks.forEach((k, j) => {
      const rp = lightgcnRecallPrecisionATk(groundTrue, r, k);
      results.recall[j] += rp.recall;
      results.precision[j] += rp.precision;
      results.ndcg[j] += lightgcnNdcgAtKr(groundTrue, r, k);
    });
  }
  const n = testUsers.length;
  return {
    recall: results.recall.map((v) => v / n),
    precision: results.precision.map((v) => v / n),
    ndcg: results.ndcg.map((v) => v / n),
  };
}

// ---------------------------------------------------------------- RecBole (evaluator/metrics.py)

type Matrix = number[][];

function cumsumRow(row: number[]): number[] {
  const out: number[] = [];
  let s = 0;
  for (const v of row) out.push((s += v));
  return out;
}

/** Hit.metric_info: (cumsum(pos_index, axis=1) > 0) */
export function recboleHit(posIndex: Matrix): Matrix {
  return posIndex.map((row) => cumsumRow(row).map((c) => (c > 0 ? 1 : 0)));
}

/** MRR.metric_info: result[row, idx:] = 1/(idx+1) for the first positive idx (argmax), else 0. */
export function recboleMrr(posIndex: Matrix): Matrix {
  return posIndex.map((row) => {
    let idx = 0;
    for (let j = 0; j < row.length; j++) if (row[j] > row[idx]) idx = j; // np.argmax: first maximum
    const result = new Array<number>(row.length).fill(0);
    for (let j = idx; j < row.length; j++) result[j] = row[idx] > 0 ? 1 / (idx + 1) : 0;
    return result;
  });
}

/** MAP.metric_info: cumsum(pre * pos_index) / ranges, ranges[lens:] = ranges[lens - 1], lens = min(pos_len, K). */
export function recboleMap(posIndex: Matrix, posLen: number[]): Matrix {
  return posIndex.map((row, r) => {
    const width = row.length;
    const cum = cumsumRow(row);
    const pre = cum.map((c, j) => c / (j + 1));
    const sumPre = cumsumRow(pre.map((p, j) => p * row[j]));
    const lens = posLen[r] > width ? width : posLen[r];
    const ranges = Array.from({ length: width }, (_, j) => j + 1);
    for (let j = lens; j < width; j++) ranges[j] = ranges[lens - 1];
    return sumPre.map((s, j) => s / ranges[j]);
  });
}

/** Recall.metric_info: cumsum(pos_index, axis=1) / pos_len */
export function recboleRecall(posIndex: Matrix, posLen: number[]): Matrix {
  return posIndex.map((row, r) => cumsumRow(row).map((c) => c / posLen[r]));
}

/** NDCG.metric_info: cumsum of 1/log2(rank+1) over hits / idcg, idcg frozen after min(pos_len, K). */
export function recboleNdcg(posIndex: Matrix, posLen: number[]): Matrix {
  return posIndex.map((row, r) => {
    const width = row.length;
    const idcgLen = posLen[r] > width ? width : posLen[r];
    const idcg = cumsumRow(Array.from({ length: width }, (_, j) => 1 / Math.log2(j + 1 + 1)));
    for (let j = idcgLen; j < width; j++) idcg[j] = idcg[idcgLen - 1];
    const dcg = cumsumRow(row.map((p, j) => (p ? 1 / Math.log2(j + 1 + 1) : 0)));
    return dcg.map((d, j) => d / idcg[j]);
  });
}

/** Precision.metric_info: cumsum(pos_index) / arange(1, K + 1) */
export function recbolePrecision(posIndex: Matrix): Matrix {
  return posIndex.map((row) => cumsumRow(row).map((c, j) => c / (j + 1)));
}

/** TopkMetric.topk_result: mean over users of column k − 1. */
export function recboleTopkResult(matrix: Matrix, k: number): number {
  let s = 0;
  for (const row of matrix) s += row[k - 1];
  return s / matrix.length;
}

// ---------------------------------------------------------------- naive ranking and random data

/** Full sort of all items by (score desc, id asc), first k ids. NaN ranks as −∞. */
export function naiveTopK(scores: ArrayLike<number>, k: number, eligible?: (i: number) => boolean): number[] {
  const ids: number[] = [];
  for (let i = 0; i < scores.length; i++) if (!eligible || eligible(i)) ids.push(i);
  const key = (i: number) => (Number.isNaN(scores[i]) ? -Infinity : scores[i]);
  ids.sort((a, b) => key(b) - key(a) || a - b);
  return ids.slice(0, k);
}

/** Random per-user item lists: each user gets 0..maxLen distinct items. */
export function randomLists(rng: Prng, numUsers: number, numItems: number, maxLen: number, pEmpty = 0): number[][] {
  const lists: number[][] = [];
  for (let u = 0; u < numUsers; u++) {
    if (rng.next() < pEmpty) {
      lists.push([]);
      continue;
    }
    const n = 1 + rng.int(maxLen);
    const set = new Set<number>();
    while (set.size < Math.min(n, numItems)) set.add(rng.int(numItems));
    lists.push([...set]);
  }
  return lists;
}

/** A deterministic user × item score matrix; `levels` > 0 quantizes scores so that ties are frequent. */
export function randomScores(rng: Prng, numUsers: number, numItems: number, levels = 0): Float32Array {
  const s = new Float32Array(numUsers * numItems);
  for (let t = 0; t < s.length; t++) {
    const v = rng.next() * 2 - 1;
    s[t] = levels > 0 ? Math.floor(v * levels) / levels : v;
  }
  return s;
}
