import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, Tape, configureCore, constant, parameter, shutdownPool, startPool, transpose, type Tensor } from '../../core/index.js';
import { randomArray, randomCsr, numericGrad, gradErr } from '../../core/testing.js';
import { ColumnSelectors, additiveLogits, attentionDropout, dotLogits, propagateEdges, softmaxAttention, uniformAttention, type Relation } from './attention.js';
import { degreeCalibration, uniformWeights } from './graph.js';

before(async () => {
  await configureCore({ threads: 2 });
  await startPool();
});
after(async () => {
  await shutdownPool();
});

/** A random graph over 12 nodes (every row has an edge) with calibration, message scales and logit biases. */
function relation(rng: Rng): Relation {
  const a = randomCsr(rng, 12, 12, 0.3);
  for (let n = 0; n < 12; n++) if (a.indptr[n + 1] === a.indptr[n]) throw new Error('empty row: pick another seed');
  const nnz = a.indices.length;
  return {
    a,
    at: transpose(a),
    uniform: uniformWeights(a),
    calib: degreeCalibration(a),
    msg: Float32Array.from(randomArray(rng, nnz), (v) => 1 + 0.3 * v),
    bias: randomArray(rng, nnz, 0.5),
  };
}

/** Σ w ⊙ h for a layer h = propagate(x, α(x, att)), with dropout from a fixed seed. */
function layerLoss(kind: 'additive' | 'dot' | 'none', r: Relation, x: Tensor, att: Tensor, w: Float32Array, cols: ColumnSelectors, tape: Tape): Tensor {
  let alpha: Tensor;
  if (kind === 'additive') alpha = softmaxAttention(tape, r, additiveLogits(tape, r, tape.matmul(x, att), 1, 0.2, cols));
  else if (kind === 'dot') alpha = softmaxAttention(tape, r, dotLogits(tape, r, x));
  else alpha = uniformAttention(r);
  const h = propagateEdges(tape, r, x, attentionDropout(tape, alpha, 0.25, new Rng(5), true));
  return tape.sum(tape.mul(h, constant(w, h.shape)));
}

for (const kind of ['additive', 'dot', 'none'] as const) {
  test(`the relation layer's gradients match finite differences (${kind} attention, dropout, calibration, message scale, logit bias)`, () => {
    const rng = new Rng(kind === 'dot' ? 8 : 3);
    const r = relation(rng);
    const d = 4;
    const x = parameter(randomArray(rng, 12 * d), [12, d]);
    const att = parameter(randomArray(rng, d * 4), [d, 4]);
    const w = randomArray(rng, 12 * d);
    const cols = new ColumnSelectors();
    const run = (backward: boolean) => {
      const tape = new Tape();
      try {
        const loss = layerLoss(kind, r, x, att, w, cols, tape);
        const v = loss.item();
        if (backward) tape.backward(loss);
        return v;
      } finally {
        tape.dispose();
      }
    };
    x.grad = null;
    att.grad = null;
    run(true);
    const errX = gradErr(x.grad!, numericGrad(() => run(false), x.data, 1e-2));
    assert.ok(errX < 2e-2, `∂/∂x: ${errX}`);
    if (kind === 'additive') {
      const errA = gradErr(att.grad!, numericGrad(() => run(false), att.data, 1e-2));
      assert.ok(errA < 2e-2, `∂/∂att: ${errA}`);
    }
    cols.dispose();
  });
}

test('uniform attention with degree calibration propagates exactly as D^-1/2 A D^-1/2', () => {
  const rng = new Rng(4);
  const r = relation(rng);
  r.msg = null;
  const x = randomArray(rng, 12 * 3);
  const tape = new Tape();
  const h = propagateEdges(tape, r, constant(x, [12, 3]), uniformAttention(r));
  const { indptr, indices } = r.a;
  for (let i = 0; i < 12; i++) {
    for (let c = 0; c < 3; c++) {
      let want = 0;
      for (let e = indptr[i]; e < indptr[i + 1]; e++) {
        const j = indices[e];
        want += x[j * 3 + c] / Math.sqrt((indptr[i + 1] - indptr[i]) * (indptr[j + 1] - indptr[j]));
      }
      assert.ok(Math.abs(h.data[i * 3 + c] - want) < 1e-5, `row ${i}`);
    }
  }
  tape.dispose();
});
