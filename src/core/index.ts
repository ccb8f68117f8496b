/**
 * The numeric core: CSR matrices, sparse and dense kernels (WebAssembly SIMD over a shared heap,
 * split over a persistent worker pool), element-wise ops, embeddings, dropout, losses, Adam/AdamW,
 * learning-rate schedules and a small autograd tape. Depends on nothing else in the project.
 *
 * Each module's header gives the formula and tensor shapes of its ops; `wasm-kernels.ts` records
 * how the parallel backend was chosen, with the measured figures. Performance notes for callers:
 * - allocate hot tensors with {@link allocF32} (the shared heap): kernels then use them in place;
 *   plain Float32Arrays work too but are copied in and out on every call;
 * - free what you allocate (`free`), or run ops on a {@link Tape} and `dispose()` it each step;
 * - call {@link shutdownPool} before exiting tests (workers are unref'd, scripts exit anyway).
 */
export * from './csr.js';
export * from './sparse.js';
export * from './segment.js';
export * from './dense.js';
export * from './spd.js';
export * from './elementwise.js';
export * from './embedding.js';
export * from './dropout.js';
export * from './losses.js';
export * from './optim.js';
export * from './schedule.js';
export * from './autograd.js';
export { Rng } from './random.js';
export { allocF32, allocI32, free, inHeap, toHeapF32, toHeapI32, heapStats } from './heap.js';
export { startPool, shutdownPool, configureCore, coreConfig, poolActive, poolStats, type BackendName } from './pool.js';
export type { ParallelOptions } from './chunks.js';
