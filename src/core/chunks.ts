/**
 * How calls are cut into chunks for the pool. The chunk count depends only on the problem size
 * (never on the thread count), so results are the same with 1 or N threads — including the
 * kernels that reduce per-chunk partial sums (fixed chunks, fixed reduction order).
 */
import type { Csr } from './csr.js';
import { partitionRows } from './csr.js';
import type { Chunking } from './pool.js';

/** Options every parallel op accepts. */
export interface ParallelOptions {
  /** Force this many chunks (tests use it to exercise the parallel path on small inputs). */
  chunks?: number;
  /** false: run on the calling thread only. */
  parallel?: boolean;
}

/** Work (multiply–adds or element updates) below which a call is not split. */
export const MIN_CHUNK_WORK = 1 << 19;
/** Upper bound on chunks per call. */
export const MAX_CHUNKS = 256;

/** Number of chunks for `work` units (1 when small). */
export function chunkCount(work: number, opts: ParallelOptions = {}): number {
  if (opts.chunks !== undefined) return Math.max(1, Math.floor(opts.chunks));
  return Math.max(1, Math.min(MAX_CHUNKS, Math.floor(work / MIN_CHUNK_WORK)));
}

const boundsCache = new WeakMap<Int32Array, Map<number, Int32Array>>();

/** Row chunks of a CSR with balanced nnz, cached per structure (indptr) and chunk count. */
export function csrChunking(a: Csr, d: number, opts: ParallelOptions = {}): Chunking {
  const n = chunkCount((a.indptr[a.rows] + 4 * a.rows) * Math.max(1, d), opts);
  let byCount = boundsCache.get(a.indptr);
  if (!byCount) boundsCache.set(a.indptr, (byCount = new Map()));
  let bounds = byCount.get(n);
  if (!bounds) byCount.set(n, (bounds = partitionRows(a, n)));
  return { kind: 'bounds', bounds };
}

/** Uniform chunks over `total` items of `perItem` work each. Chunk sizes are multiples of 16. */
export function uniformChunking(total: number, perItem: number, opts: ParallelOptions = {}): Chunking {
  const n = chunkCount(total * Math.max(1, perItem), opts);
  const size = Math.max(16, Math.ceil(total / n / 16) * 16);
  return { kind: 'uniform', total, size };
}
