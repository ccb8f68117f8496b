import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from './wasm-asm.js';
import { kernelModuleBytes } from './wasm-kernels.js';
import { allocF32, allocI32, free, inHeap, heapStats, sizeClass, MAX_PAGES, toHeapF32 } from './heap.js';
import { configureCore, startPool, shutdownPool, poolActive, poolStats, coreConfig } from './pool.js';
import { spmm } from './sparse.js';
import { Rng } from './random.js';
import { randomCsr, randomArray, bitwiseEqual } from './testing.js';

test('the assembler builds a valid module from flat WAT with labels, SIMD and shared memory', () => {
  const bytes = assemble({
    memory: { minPages: 1, maxPages: 2, shared: true },
    functions: [
      {
        name: 'sum4',
        params: [['ptr', 'i32']],
        results: ['f32'],
        locals: [['v', 'v128']],
        body: `
          local.get $ptr
          v128.load          ;; four floats
          local.set $v
          local.get $v
          f32x4.extract_lane 0
          local.get $v
          f32x4.extract_lane 1
          f32.add
          local.get $v
          f32x4.extract_lane 2
          f32.add
          local.get $v
          f32x4.extract_lane 3
          f32.add`,
      },
      {
        name: 'count',
        params: [['n', 'i32']],
        results: ['i32'],
        locals: [['i', 'i32']],
        body: `
          block $out
            loop $again
              local.get $i
              local.get $n
              i32.ge_s
              br_if $out
              local.get $i
              i32.const 1
              i32.add
              local.set $i
              br $again
            end
          end
          local.get $i`,
      },
    ],
  });
  assert.ok(WebAssembly.validate(bytes));
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
  const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as { sum4(p: number): number; count(n: number): number };
  new Float32Array(memory.buffer).set([1, 2, 3, 4.5], 4);
  assert.equal(ex.sum4(16), 10.5);
  assert.equal(ex.count(7), 7);
});

test('the assembler reports unknown instructions, labels and unbalanced blocks', () => {
  const mk = (body: string) => () => assemble({ memory: { minPages: 1, maxPages: 1, shared: false }, functions: [{ name: 'f', params: [], body }] });
  assert.throws(mk('i32.frobnicate'), /unknown instruction 'i32.frobnicate'/);
  assert.throws(mk('block\nbr $nowhere\nend'), /unknown label/);
  assert.throws(mk('block'), /unclosed/);
  assert.throws(mk('local.get $x'), /unknown local/);
});

test('the kernel module validates', () => {
  assert.ok(WebAssembly.validate(kernelModuleBytes(MAX_PAGES)));
});

test('heap blocks are zeroed, 64-byte aligned, reused after free, and survive memory growth', () => {
  const a = allocF32(1000);
  a.fill(7);
  assert.equal(a.byteOffset % 64, 0);
  assert.ok(inHeap(a));
  const off = a.byteOffset;
  free(a);
  const b = allocF32(1000);
  assert.equal(b.byteOffset, off, 'same size class reuses the block');
  assert.ok(b.every((v) => v === 0), 'reused blocks are zero-filled');
  const before = heapStats().committedBytes;
  const big = allocF32(64 * 1024 * 1024 / 4 + 17); // forces a grow
  assert.ok(heapStats().committedBytes > before);
  b[3] = 5; // an older view is still valid after the grow
  assert.equal(b[3], 5);
  assert.ok(inHeap(b) && inHeap(big));
  free(big);
  free(b);
  assert.throws(() => free(b), /not a live block/);
  assert.ok(!inHeap(new Float32Array(4)));
  free(new Float32Array(4)); // non-heap arrays are ignored
  assert.equal(sizeClass(1), 64);
  assert.equal(sizeClass(1000), 1024);
  assert.equal(sizeClass(1100), 1280);
  const i = allocI32(3);
  assert.ok(i instanceof Int32Array && inHeap(i));
  const h = toHeapF32(Float32Array.from([1, 2]));
  assert.ok(inHeap(h) && toHeapF32(h) === h);
});

test('the pool starts, runs kernels on its workers, shuts down and restarts with another size', async () => {
  const rng = new Rng(9);
  const a = randomCsr(rng, 400, 300, 0.05);
  const x = randomArray(rng, 300 * 16);
  await configureCore({ threads: 2 });
  await startPool();
  assert.ok(poolActive());
  const serial = spmm(a, x, 16, { parallel: false });
  // whether the worker wakes in time to take a chunk depends on scheduling: give it many chances
  const big = randomCsr(rng, 3000, 3000, 0.01);
  const bx = randomArray(rng, 3000 * 64);
  let sawWorker = false;
  for (let r = 0; r < 200 && !sawWorker; r++) {
    spmm(big, bx, 64, { chunks: 64 });
    sawWorker = poolStats().workerChunks > 0;
    if (!sawWorker) await new Promise((res) => setTimeout(res, 2));
  }
  assert.ok(sawWorker, 'a worker ran at least one chunk');
  assert.ok(bitwiseEqual(serial, spmm(a, x, 16, { chunks: 16 })));
  await configureCore({ threads: 3 });
  assert.ok(!poolActive(), 'changing the thread count stops the pool');
  await startPool();
  assert.equal(poolStats().workers, 2);
  assert.ok(bitwiseEqual(serial, spmm(a, x, 16, { chunks: 16 })));
  await shutdownPool();
  assert.ok(!poolActive());
  // calls still work without a pool (started lazily, serial until ready)
  await configureCore({ threads: 1 });
  assert.ok(bitwiseEqual(serial, spmm(a, x, 16, { chunks: 16 })));
  assert.equal(coreConfig().threads, 1);
  await shutdownPool();
});
