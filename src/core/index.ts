/**
 * The numeric core: CSR matrices, sparse and dense kernels (WebAssembly SIMD over a shared heap,
 * split over a persistent worker pool), element-wise ops, embeddings, dropout, losses, Adam/AdamW,
 * learning-rate schedules and a small autograd tape. Depends on nothing else in the project.
 * See `kernels` in README-like doc comments of each module: formula and shapes per op.
 */
export * from './csr.js';
export * from './sparse.js';
export * from './segment.js';
export * from './dense.js';
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
