import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, Tape, shutdownPool } from '../../core/index.js';
import { gradErr, numericGrad } from '../../core/testing.js';
import { FusionMlp, type FusionModality } from './fusion-mlp.js';

after(async () => {
  await shutdownPool();
});

/** n items; text missing on items ≡ 1 (mod 4), image missing on items ≡ 2 (mod 4), both on ≡ 3 (mod 4). */
function modalities(n: number, seed = 3): FusionModality[] {
  const rng = new Rng(seed);
  const make = (name: string, dim: number, missing: (i: number) => boolean): FusionModality => {
    const vectors = new Float32Array(n * dim);
    const present = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (missing(i)) continue;
      present[i] = 1;
      for (let k = 0; k < dim; k++) vectors[i * dim + k] = rng.normal() * 0.3 + (k === i % dim ? 1 : 0);
    }
    return { name, dim, vectors, present };
  };
  return [make('text', 6, (i) => i % 4 === 1 || i % 4 === 3), make('image', 5, (i) => i % 4 === 2 || i % 4 === 3)];
}

test('fusion MLP gradients match central finite differences for every parameter (GELU, dropout mask fixed, ID embedding)', () => {
  const n = 12;
  const idAllowed = Uint8Array.from({ length: n }, (_, i) => (i < 9 ? 1 : 0));
  const mlp = new FusionMlp({ numItems: n, modalities: modalities(n), idDim: 3, idAllowed, hidden: 7, out: 4, dropout: 0.25, activation: 'gelu', seed: 5 });
  const rows = Int32Array.from([0, 1, 2, 3, 5, 6, 7, 10, 11, 1]);
  const weights = new Float32Array(rows.length * 4);
  const wr = new Rng(9);
  for (let k = 0; k < weights.length; k++) weights[k] = wr.normal();
  // a fixed linear read-out of f(rows) makes a scalar loss; the dropout mask is drawn from the same seed each time
  const loss = (backward: boolean): number => {
    const tape = new Tape();
    try {
      const y = mlp.forward(tape, rows, new Rng(77));
      const l = tape.sum(y, weights);
      if (backward) tape.backward(l);
      return l.item();
    } finally {
      tape.dispose();
    }
  };
  for (const [, t] of mlp.parameters()) t.grad = null;
  loss(true);
  for (const [name, t] of mlp.parameters()) {
    assert.ok(t.grad, `${name} got no gradient`);
    const analytic = Float64Array.from(t.grad!);
    const rng = new Rng(name.length);
    const idx = t.size <= 12 ? [...Array(t.size).keys()] : Array.from({ length: 12 }, () => rng.int(t.size));
    const numeric = numericGrad(() => loss(false), t.data, 1e-2, idx);
    const a = idx.map((i) => analytic[i]);
    const b = idx.map((i) => numeric[i]);
    assert.ok(gradErr(a, b) < 2e-2, `${name}: analytic ${a.map((x) => x.toFixed(4))} vs numeric ${b.map((x) => x.toFixed(4))}`);
  }
  // ID rows of items not allowed one get no gradient
  const gid = mlp.idEmb!.grad!;
  for (const i of [10, 11]) for (let k = 0; k < 3; k++) assert.equal(gid[i * 3 + k], 0);
  mlp.dispose();
});

test('fusion MLP ReLU gradients match finite differences away from the kink', () => {
  const n = 8;
  const mlp = new FusionMlp({ numItems: n, modalities: modalities(n, 4), hidden: 5, out: 3, dropout: 0, activation: 'relu', seed: 2 });
  const weights = new Float32Array(n * 3).map((_, k) => Math.sin(k + 1));
  const loss = (backward: boolean) => {
    const tape = new Tape();
    try {
      const l = tape.sum(mlp.forward(tape, null), weights);
      if (backward) tape.backward(l);
      return l.item();
    } finally {
      tape.dispose();
    }
  };
  loss(true);
  for (const [name, t] of mlp.parameters()) {
    const idx = [...Array(Math.min(t.size, 10)).keys()];
    const numeric = numericGrad(() => loss(false), t.data, 1e-3, idx);
    const a = idx.map((i) => t.grad![i]);
    const b = idx.map((i) => numeric[i]);
    assert.ok(gradErr(a, b) < 3e-2, `${name}: ${a} vs ${b}`);
  }
  mlp.dispose();
});

test('items missing text, image or both get finite representations that differ by what is missing', () => {
  const n = 16;
  const mods = modalities(n);
  const mlp = new FusionMlp({ numItems: n, modalities: mods, hidden: 8, out: 4, dropout: 0, seed: 1 });
  const f = mlp.forwardAll();
  assert.ok(f.every(Number.isFinite));
  // items 3, 7, 11, 15 miss both modalities and have no ID: one shared placeholder representation
  const row = (i: number) => Array.from(f.subarray(i * 4, i * 4 + 4));
  assert.deepEqual(row(3), row(7));
  // missing only text vs only image vs both: three different vectors
  const dist = (a: number[], b: number[]) => Math.hypot(...a.map((x, k) => x - b[k]));
  assert.ok(dist(row(1), row(3)) > 1e-4 && dist(row(2), row(3)) > 1e-4 && dist(row(1), row(2)) > 1e-4);
  // the output depends on the placeholder of a missing modality (and only for rows missing it)
  const before = Float32Array.from(f);
  mlp.parameters().find(([name]) => name === 'fusion.missing.text')![1].data[0] += 1;
  const after = mlp.forwardAll();
  for (let i = 0; i < n; i++) {
    const changed = row(i).some((x, k) => Math.abs(after[i * 4 + k] - before[i * 4 + k]) > 1e-6);
    assert.equal(changed, !mods[0].present[i], `item ${i}: changed ${changed}, text present ${mods[0].present[i]}`);
  }
  mlp.dispose();
});

test('a fusion without any modality needs an ID embedding', () => {
  assert.throws(() => new FusionMlp({ numItems: 3, modalities: [] }), /PP_EMBED_INVALID|at least one modality/);
  const idOnly = new FusionMlp({ numItems: 3, modalities: [], idDim: 2, hidden: 3, out: 2 });
  assert.equal(idOnly.forwardAll().length, 6);
  idOnly.dispose();
});
