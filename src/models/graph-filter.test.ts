import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { configureCore, free, Rng, shutdownPool, startPool } from '../core/index.js';
import { csrFromLists } from '../core/csr-pattern.js';
import {
  choleskyUpper,
  integrateLinear,
  invertUpper,
  NormalizedInteractions,
  orthonormalizeColumns,
  paddedWidth,
  randomizedSvd,
  symmetricEigen,
  transposeInto,
  type LinearFlow,
  type LinearOperator,
} from './graph-filter.js';
import { denseFilters, maxDiff, randomLists, rowTimes } from './graph-filter.testkit.js';

before(async () => {
  await configureCore({ threads: 2 });
  await startPool();
});
after(async () => {
  await shutdownPool();
});

/** Columns of a Gaussian rows × cols matrix orthonormalised by modified Gram–Schmidt (float64). */
function randomOrthonormal(rng: Rng, rows: number, cols: number): Float64Array {
  const q = new Float64Array(rows * cols);
  for (let t = 0; t < q.length; t++) q[t] = rng.normal();
  for (let j = 0; j < cols; j++) {
    for (let p = 0; p < j; p++) {
      let dot = 0;
      for (let r = 0; r < rows; r++) dot += q[r * cols + j] * q[r * cols + p];
      for (let r = 0; r < rows; r++) q[r * cols + j] -= dot * q[r * cols + p];
    }
    let norm = 0;
    for (let r = 0; r < rows; r++) norm += q[r * cols + j] ** 2;
    norm = Math.sqrt(norm);
    for (let r = 0; r < rows; r++) q[r * cols + j] /= norm;
  }
  return q;
}

/** Q diag(λ) Qᵀ (n × n). */
function symmetricFromSpectrum(q: Float64Array, lambda: number[], n: number): Float64Array {
  const a = new Float64Array(n * n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) for (let j = 0; j < n; j++) a[r * n + c] += q[r * n + j] * lambda[j] * q[c * n + j];
  return a;
}

/** max |WᵀW − I| for the columns of a rows × cols matrix. */
function orthonormalityError(w: ArrayLike<number>, rows: number, cols: number): number {
  let err = 0;
  for (let a = 0; a < cols; a++)
    for (let b = 0; b < cols; b++) {
      let dot = 0;
      for (let r = 0; r < rows; r++) dot += w[r * cols + a] * w[r * cols + b];
      err = Math.max(err, Math.abs(dot - (a === b ? 1 : 0)));
    }
  return err;
}

test('symmetricEigen gives the eigenpairs of a 2×2 matrix in descending order', () => {
  const { values, vectors } = symmetricEigen([2, 1, 1, 2], 2);
  assert.ok(Math.abs(values[0] - 3) < 1e-14 && Math.abs(values[1] - 1) < 1e-14, `${values}`);
  // v1 ∝ (1, 1), v2 ∝ (1, −1), up to sign
  assert.ok(Math.abs(Math.abs(vectors[0]) - Math.SQRT1_2) < 1e-14 && Math.abs(vectors[0] - vectors[2]) < 1e-14);
  assert.ok(Math.abs(vectors[1] + vectors[3]) < 1e-14);
});

test('symmetricEigen sorts a diagonal matrix and returns unit vectors', () => {
  const { values, vectors } = symmetricEigen([1, 0, 0, 0, -2, 0, 0, 0, 5], 3);
  assert.deepEqual(Array.from(values), [5, 1, -2]);
  assert.deepEqual(Array.from(vectors, Math.abs), [0, 1, 0, 0, 0, 1, 1, 0, 0]);
});

test('symmetricEigen recovers a known spectrum with repeated eigenvalues and orthonormal vectors', () => {
  const n = 40;
  const rng = new Rng(3);
  const q = randomOrthonormal(rng, n, n);
  const lambda = Array.from({ length: n }, (_, j) => (j < 3 ? 2 : j < 5 ? -1 : Math.cos(j)));
  const a = symmetricFromSpectrum(q, lambda, n);
  const { values, vectors } = symmetricEigen(a, n);
  const expected = [...lambda].sort((x, y) => y - x);
  assert.ok(maxDiff(values, expected) < 1e-12, `values off by ${maxDiff(values, expected)}`);
  assert.ok(orthonormalityError(vectors, n, n) < 1e-12);
  // A w_j = λ_j w_j
  let residual = 0;
  for (let j = 0; j < n; j++)
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let c = 0; c < n; c++) s += a[r * n + c] * vectors[c * n + j];
      residual = Math.max(residual, Math.abs(s - values[j] * vectors[r * n + j]));
    }
  assert.ok(residual < 1e-12, `residual ${residual}`);
});

test('choleskyUpper factors an SPD matrix, refuses an indefinite one, and invertUpper inverts the factor', () => {
  const g = [4, 2, -2, 2, 10, 2, -2, 2, 6];
  const R = choleskyUpper(g, 3)!;
  assert.ok(R);
  assert.deepEqual(Array.from(R), [2, 1, -1, 0, 3, 1, 0, 0, 2]); // hand-computed
  const Rinv = invertUpper(R, 3);
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += R[r * 3 + k] * Rinv[k * 3 + c];
      assert.ok(Math.abs(s - (r === c ? 1 : 0)) < 1e-15);
    }
  assert.equal(choleskyUpper([1, 2, 2, 1], 2), null);
});

test('orthonormalizeColumns makes orthonormal columns spanning the same space', () => {
  const rows = 300;
  const cols = 12;
  const rng = new Rng(5);
  const y0 = new Float32Array(rows * cols);
  // deliberately ill-scaled columns
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) y0[r * cols + c] = rng.normal() * 10 ** (c % 3) + (c > 0 ? y0[r * cols] : 0);
  const y = y0.slice();
  orthonormalizeColumns(y, rows, cols, 2);
  assert.ok(orthonormalityError(y, rows, cols) < 1e-5, `QᵀQ − I: ${orthonormalityError(y, rows, cols)}`);
  // every original column is reproduced by its projection Q Qᵀ y
  for (let c = 0; c < cols; c++) {
    const proj = new Float64Array(rows);
    let norm = 0;
    for (let j = 0; j < cols; j++) {
      let dot = 0;
      for (let r = 0; r < rows; r++) dot += y[r * cols + j] * y0[r * cols + c];
      for (let r = 0; r < rows; r++) proj[r] += dot * y[r * cols + j];
    }
    let err = 0;
    for (let r = 0; r < rows; r++) {
      err = Math.max(err, Math.abs(proj[r] - y0[r * cols + c]));
      norm = Math.max(norm, Math.abs(y0[r * cols + c]));
    }
    assert.ok(err / norm < 1e-4, `column ${c} not in the span: ${err / norm}`);
  }
});

test('randomizedSvd recovers the singular values and right singular vectors of a matrix with known SVD', () => {
  const m = 90;
  const n = 60;
  const rng = new Rng(11);
  const U = randomOrthonormal(rng, m, n);
  const V = randomOrthonormal(rng, n, n);
  const s = Array.from({ length: n }, (_, j) => 2 * 0.75 ** j);
  const A = new Float64Array(m * n); // U diag(s) Vᵀ
  for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) for (let j = 0; j < n; j++) A[r * n + c] += U[r * n + j] * s[j] * V[c * n + j];
  const op: LinearOperator = {
    rows: m,
    cols: n,
    apply(x, d, out) {
      for (let r = 0; r < m; r++)
        for (let t = 0; t < d; t++) {
          let acc = 0;
          for (let c = 0; c < n; c++) acc += A[r * n + c] * x[c * d + t];
          out[r * d + t] = acc;
        }
    },
    applyT(y, d, out) {
      for (let c = 0; c < n; c++)
        for (let t = 0; t < d; t++) {
          let acc = 0;
          for (let r = 0; r < m; r++) acc += A[r * n + c] * y[r * d + t];
          out[c * d + t] = acc;
        }
    },
  };
  const k = 6;
  const svd = randomizedSvd(op, { rank: k, oversample: 10, powerIters: 4, seed: 1 });
  try {
    for (let j = 0; j < k; j++) assert.ok(Math.abs(svd.values[j] - s[j]) / s[j] < 1e-5, `σ_${j}: ${svd.values[j]} vs ${s[j]}`);
    assert.ok(orthonormalityError(svd.v, n, k) < 1e-5);
    for (let j = 0; j < k; j++) {
      let dot = 0;
      for (let c = 0; c < n; c++) dot += svd.v[c * k + j] * V[c * n + j];
      assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-4, `v_${j}: |⟨v̂, v⟩| = ${Math.abs(dot)}`);
    }
  } finally {
    free(svd.v);
  }
});

test('the singular values of R̃ from the sparse operators are the square roots of the eigenvalues of the dense P̃', () => {
  const U = 50;
  const I = 30;
  const lists = randomLists(7, U, I, 0.15);
  const dense = denseFilters(I, lists);
  const graph = new NormalizedInteractions(U, I, csrFromLists(lists));
  try {
    const k = 8;
    const svd = graph.topSingular({ rank: k, oversample: 8, powerIters: 6, seed: 2 });
    const eig = symmetricEigen(dense.P, I);
    assert.ok(Math.abs(svd.values[0] - 1) < 1e-5, 'the top singular value of R̃ is 1');
    for (let j = 0; j < k; j++) assert.ok(Math.abs(svd.values[j] - Math.sqrt(eig.values[j])) < 1e-4, `σ_${j}`);
    free(svd.v);
  } finally {
    graph.dispose();
  }
});

test('the batch linear filter equals the dense r R̃ᵀR̃, including padding columns and repeated train pairs', () => {
  const U = 23;
  const I = 17;
  const lists = randomLists(9, U, I, 0.25);
  const withDuplicates = lists.map((items) => [...items, items[0]]); // repeated pairs count once
  const dense = denseFilters(I, lists);
  const graph = new NormalizedInteractions(U, I, csrFromLists(withDuplicates));
  try {
    const users = Int32Array.from([4, 0, 22, 9, 13]); // 5 users → width 8
    const d = paddedWidth(users.length);
    assert.equal(d, 8);
    const st = new Float32Array(I * d);
    graph.linearFilter(users, d, st);
    const out = new Float32Array(users.length * I);
    transposeInto(st, d, users.length, I, out);
    users.forEach((u, b) => {
      const ref = rowTimes(dense.R.subarray(u * I, (u + 1) * I), dense.P, I, I);
      assert.ok(maxDiff(out.subarray(b * I, (b + 1) * I), ref) < 1e-6, `user ${u}`);
    });
    for (let i = 0; i < I; i++) for (let b = users.length; b < d; b++) assert.equal(st[i * d + b], 0, 'padding columns stay 0');
    // applyP on the indicator block gives the same
    const x = new Float32Array(I * d);
    graph.indicator(users, d, x);
    const y = new Float32Array(I * d);
    graph.applyP(x, d, y);
    assert.ok(maxDiff(y, st) < 1e-6);
  } finally {
    graph.dispose();
  }
});

test('integrateLinear: one RK4 step is the 4th-order Taylor polynomial and Euler steps are (I + hF)^K', () => {
  // dx/dt = x G with G = a·F + s·I for a fixed 3×3 F (row-vector convention)
  const F = [-1, 0.5, 0, 0.2, -0.3, 0.4, 0, 0.1, -2];
  const a = 0.5;
  const s = -0.3;
  const G = F.map((v, t) => a * v + (t % 4 === 0 ? s : 0));
  let firstCalls = 0;
  const flow: LinearFlow = {
    a,
    s,
    apply(x, c, out, add) {
      const y = rowTimes(x, F, 3, 3);
      for (let t = 0; t < 3; t++) out[t] = c * y[t] + (add ? add[t] : 0);
    },
  };
  const firstApply = (c: number, out: Float32Array, add?: Float32Array) => {
    firstCalls++;
    flow.apply(Float32Array.from(x0), c, out, add);
  };
  const x0 = [1, -2, 0.5];
  const h = 0.7;
  const x = Float32Array.from(x0);
  integrateLinear(x, flow, { method: 'rk4', T: h, steps: 1, firstApply });
  let term = Float64Array.from(x0);
  const expected = Float64Array.from(x0);
  for (let p = 1; p <= 4; p++) {
    term = rowTimes(term, G, 3, 3).map((v) => (v * h) / p);
    for (let t = 0; t < 3; t++) expected[t] += term[t];
  }
  assert.ok(maxDiff(x, expected) < 1e-6, `${x} vs ${expected}`);
  assert.equal(firstCalls, 1, 'the initial state goes through firstApply once');

  const xe = Float32Array.from(x0);
  const sum = new Float32Array(3);
  integrateLinear(xe, flow, { method: 'euler', T: 1, steps: 2, sumStates: sum, firstApply });
  const e1 = rowTimes(x0, G, 3, 3).map((v, t) => x0[t] + 0.5 * v);
  const e2 = rowTimes(e1, G, 3, 3).map((v, t) => e1[t] + 0.5 * v);
  assert.ok(maxDiff(xe, e2) < 1e-6);
  assert.ok(maxDiff(sum, e1.map((v, t) => v + e2[t])) < 1e-6, 'sumStates adds the grid states');
  assert.equal(firstCalls, 2);
});
