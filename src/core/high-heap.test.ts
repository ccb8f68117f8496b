/**
 * The heap is 4 GiB of address space: kernels must work on blocks whose byte offsets are ≥ 2³¹ (a pointer that
 * does not fit a signed 32-bit integer). Before the fix, bounds-chunked kernels and the JS kernels read such
 * pointers with `>> 2` (signed): at the reference size every tape-model gradient came out zero.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { configureCore, startPool, shutdownPool } from './pool.js';
import { allocF32, heapStats, toHeapF32 } from './heap.js';
import { Tape, parameter } from './autograd.js';
import { transpose } from './csr.js';
import { spmm, spmmTransposed } from './sparse.js';
import { matmul } from './dense.js';
import { axpby, sigmoid } from './elementwise.js';
import { Rng } from './random.js';
import { randomArray, randomCsr, naiveSpmm, naiveMatmul, maxRelErr } from './testing.js';

before(async () => {
  await configureCore({ threads: 2 });
  await startPool();
  // address space only: the filler is never written, so it is not resident
  allocF32(Math.ceil((2 ** 31 - heapStats().topBytes) / 4) + 1024, false);
  assert.ok(heapStats().topBytes > 2 ** 31);
});
after(async () => {
  await shutdownPool();
});

const rng = new Rng(17);

test('sparse, dense and element-wise kernels are correct on heap blocks beyond 2 GiB (parallel paths)', () => {
  const a = randomCsr(rng, 3000, 2000, 0.01);
  const d = 16;
  const x = toHeapF32(randomArray(rng, 2000 * d), true);
  assert.ok(x.byteOffset >= 2 ** 31, `x at ${x.byteOffset}`);
  assert.ok(maxRelErr(spmm(a, x, d), naiveSpmm(a, x, d)) < 1e-5, 'spmm');
  const dy = toHeapF32(randomArray(rng, 3000 * d), true);
  const at = transpose(a);
  const expectT = naiveSpmm(transpose(a) as unknown as typeof a, dy, d);
  assert.ok(maxRelErr(spmmTransposed(at, dy, d), expectT) < 1e-5, 'spmmTransposed');
  const m = toHeapF32(randomArray(rng, 300 * 64), true);
  const k = toHeapF32(randomArray(rng, 64 * 48), true);
  assert.ok(maxRelErr(matmul(m, k, 300, 64, 48), naiveMatmul(m, k, 300, 64, 48)) < 1e-4, 'matmul');
  const u = toHeapF32(randomArray(rng, 100_000), true);
  const v = toHeapF32(randomArray(rng, 100_000), true);
  const s = axpby(2, u, -1, v);
  const sg = sigmoid(u);
  for (const i of [0, 4097, 99_999]) {
    assert.ok(Math.abs(s[i] - (2 * u[i] - v[i])) < 1e-6, 'axpby');
    assert.ok(Math.abs(sg[i] - 1 / (1 + Math.exp(-u[i]))) < 1e-5, 'sigmoid');
  }
});

test('a tape backward pass on heap blocks beyond 2 GiB gives the gradients it gives below', () => {
  const a = randomCsr(rng, 4000, 4000, 0.002);
  const at = transpose(a);
  const x = parameter(toHeapF32(randomArray(rng, 4000 * 8), true), [4000, 8]);
  const tape = new Tape();
  const loss = tape.sum(tape.sigmoid(tape.spmm(a, at, x)));
  tape.backward(loss);
  // ∂Σσ(Ax)/∂x = Aᵀ (σ'(Ax)), computed in float64
  const y = naiveSpmm(a, x.data, 8);
  const ds = Float64Array.from(y, (z) => {
    const q = 1 / (1 + Math.exp(-z));
    return q * (1 - q);
  });
  const expect = naiveSpmm(transpose(a) as unknown as typeof a, ds, 8);
  assert.ok(maxRelErr(x.grad!, expect) < 1e-4, `gradient error ${maxRelErr(x.grad!, expect)}`);
  tape.dispose();
});
