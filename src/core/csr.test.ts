import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  csrFromCoo,
  transpose,
  normalizeSymmetric,
  bipartiteNormalizedAdjacency,
  partitionRows,
  validateCsr,
  csrToDense,
  csrToHeap,
  nnz,
  rowSums,
} from './csr.js';
import { inHeap } from './heap.js';
import { Rng } from './random.js';
import { randomCsr } from './testing.js';

test('csrFromCoo sorts entries by row then column and sums duplicates', () => {
  const a = csrFromCoo(3, 4, [2, 0, 0, 2, 0, 1], [1, 3, 0, 1, 3, 2], [1, 2, 3, 4, 5, 6]);
  validateCsr(a);
  assert.deepEqual(Array.from(a.indptr), [0, 2, 3, 4]);
  assert.deepEqual(Array.from(a.indices), [0, 3, 2, 1]);
  assert.deepEqual(Array.from(a.values), [3, 7, 6, 5]);
  assert.ok(inHeap(a.indptr) && inHeap(a.indices) && inHeap(a.values), 'arrays live in the shared heap');
});

test('csrFromCoo with binary collapses repeated interactions to 1 and defaults values to 1', () => {
  const a = csrFromCoo(2, 2, [0, 0, 1], [1, 1, 0], undefined, { binary: true });
  assert.deepEqual(Array.from(a.values), [1, 1]);
  const b = csrFromCoo(2, 2, [0, 0], [1, 1]);
  assert.deepEqual(Array.from(b.values), [2]);
});

test('csrFromCoo rejects out-of-range coordinates and mismatched lengths', () => {
  assert.throws(() => csrFromCoo(2, 2, [0, 2], [0, 0]), /out of range/);
  assert.throws(() => csrFromCoo(2, 2, [0, 1], [0]), /length mismatch/);
});

test('csrFromCoo handles empty matrices and empty rows', () => {
  const a = csrFromCoo(3, 3, [], []);
  validateCsr(a);
  assert.equal(nnz(a), 0);
  const b = csrFromCoo(4, 2, [3], [1], [5]);
  assert.deepEqual(Array.from(b.indptr), [0, 0, 0, 0, 1]);
});

test('transpose gives the dense transpose with sorted rows and a permutation back to the source entries', () => {
  const rng = new Rng(1);
  const a = randomCsr(rng, 13, 9, 0.3);
  const t = transpose(a);
  validateCsr(t);
  const da = csrToDense(a);
  const dt = csrToDense(t);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) assert.equal(dt[j * a.rows + i], da[i * a.cols + j]);
  for (let k = 0; k < t.perm.length; k++) assert.equal(t.values[k], a.values[t.perm[k]]);
  assert.deepEqual(Array.from(transpose(t).indices), Array.from(a.indices));
});

test('normalizeSymmetric scales entries by 1/sqrt(deg_i deg_j) and leaves isolated nodes empty', () => {
  const a = csrFromCoo(3, 3, [0, 1, 0, 2], [1, 0, 2, 0]);
  const n = normalizeSymmetric(a);
  const deg = [2, 1, 1];
  for (let i = 0; i < 3; i++)
    for (let e = n.indptr[i]; e < n.indptr[i + 1]; e++) assert.ok(Math.abs(n.values[e] - 1 / Math.sqrt(deg[i] * deg[n.indices[e]])) < 1e-7);
  const iso = normalizeSymmetric(csrFromCoo(2, 2, [0], [0]));
  assert.deepEqual(Array.from(rowSums(iso)), [1, 0]);
});

test('bipartite normalised adjacency is symmetric, has 2·|R| entries and LightGCN weights', () => {
  const users = [0, 0, 1, 2, 2, 2];
  const items = [0, 1, 1, 0, 1, 1]; // (2,1) repeated
  const a = bipartiteNormalizedAdjacency(3, 2, users, items);
  validateCsr(a);
  assert.equal(a.rows, 5);
  assert.equal(nnz(a), 10);
  const d = csrToDense(a);
  for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) assert.equal(d[i * 5 + j], d[j * 5 + i]);
  // user 2 has 2 items, item 1 has 3 users: weight 1/sqrt(6)
  assert.ok(Math.abs(d[2 * 5 + (3 + 1)] - 1 / Math.sqrt(6)) < 1e-7);
  // no user-user or item-item entries
  assert.equal(d[0 * 5 + 1], 0);
  assert.equal(d[3 * 5 + 4], 0);
});

test('partitionRows splits rows into contiguous chunks of balanced nnz', () => {
  const rows: number[] = [];
  const cols: number[] = [];
  // skewed: row 0 has 400 entries, the rest 1..10
  for (let j = 0; j < 400; j++) (rows.push(0), cols.push(j));
  for (let i = 1; i < 200; i++) for (let j = 0; j < 1 + (i % 10); j++) (rows.push(i), cols.push(j));
  const a = csrFromCoo(200, 400, rows, cols);
  for (const parts of [1, 2, 4, 7]) {
    const b = partitionRows(a, parts, 0);
    assert.equal(b.length, parts + 1);
    assert.equal(b[0], 0);
    assert.equal(b[parts], 200);
    for (let p = 0; p < parts; p++) assert.ok(b[p] <= b[p + 1]);
  }
  const b = partitionRows(a, 2, 0);
  const left = a.indptr[b[1]];
  // the heavy row makes an even split impossible; the split is within one row of the ideal
  assert.ok(Math.abs(left - nnz(a) / 2) <= 400);
  const c = partitionRows(csrFromCoo(3, 3, [0, 1, 2], [0, 1, 2]), 8);
  assert.equal(c[8], 3);
});

test('validateCsr rejects unsorted columns and bad indptr', () => {
  const a = csrFromCoo(2, 3, [0, 0], [0, 2]);
  const bad = { ...a, indices: Int32Array.from([2, 0]) };
  assert.throws(() => validateCsr(bad), /sorted/);
  assert.throws(() => validateCsr({ ...a, indptr: Int32Array.from([0, 2]) }), /indptr length/);
});

test('csrToHeap copies plain arrays into the heap and keeps heap arrays', () => {
  const a = { rows: 1, cols: 2, indptr: Int32Array.from([0, 1]), indices: Int32Array.from([1]), values: Float32Array.from([3]) };
  const h = csrToHeap(a);
  assert.ok(inHeap(h.indices) && inHeap(h.values));
  assert.equal(csrToHeap(h).indices, h.indices);
});
