/**
 * A thin, typed wrapper over usearch (HNSW): build from a row-major `Float32Array` [n × d] in batches with
 * progress, single and batched k-NN search returning typed arrays, save / load / view (memory-mapped).
 *
 * Keys are dense row ids (`0 … 2³¹−1`), returned as an `Int32Array` (−1 where fewer than k matches exist).
 * Distances are usearch's: `cos` → 1 − cos(q, x), `ip` → 1 − ⟨q, x⟩ (so similarity = 1 − distance for both).
 *
 * usearch facts this wrapper encodes (pinned 2.25.3: 2.26 needs Node 22):
 * - The thread count is part of the index: `add` reserves one search context per thread, and a batched search
 *   with more threads than reserved throws "Reserve capacity ahead of searches!". The wrapper fixes `threads`
 *   at construction and uses it for every add and search; a loaded or viewed index has one context per
 *   hardware thread, so searches are clamped to that.
 * - `expansion_search` is fixed when the index is created; `save` writes a `<path>.json` sidecar with the
 *   options so `load`/`view` recreate the same settings.
 * - The ESM entry of usearch 2.25.3 cannot locate its native build under tsx (endless recursion in
 *   `getBuildDir`), so the CommonJS entry is loaded through `createRequire`.
 */
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { readFile, rename, rm } from 'node:fs/promises';
import { ppError } from '../errors.js';
import { tempSibling, writeFileAtomically } from '../lake/atomic.js';

type UsearchModule = typeof import('usearch');
type NativeIndex = import('usearch').Index;

const require = createRequire(import.meta.url);
let usearchModule: UsearchModule | undefined;
function usearch(): UsearchModule {
  usearchModule ??= require('usearch') as UsearchModule;
  return usearchModule;
}

/** Similarity measure of the index. `cos` normalises internally; `ip` expects normalised inputs for cosine. */
export type AnnMetric = 'cos' | 'ip';
/** Storage precision of the vectors inside the index (`i8` needs the `cos` metric: rows are scaled to ±127). */
export type AnnQuantization = 'f32' | 'f16' | 'i8';

export interface AnnIndexOptions {
  dimensions: number;
  /** default 'cos' */
  metric?: AnnMetric;
  /** default 'f32' */
  quantization?: AnnQuantization;
  /** HNSW M: edges per node per layer (default 16). More → higher recall, slower build, more memory. */
  connectivity?: number;
  /** HNSW efConstruction (default 128). */
  expansionAdd?: number;
  /**
   * HNSW ef at query time (default 32: recall@10 0.983 at 500K × 128 with M 16 / efC 128, see bench/serve/ann.bench.ts);
   * fixed at creation (override at load/view). Searches use max(ef, k).
   */
  expansionSearch?: number;
  /** Threads for add and batched search (default: all hardware threads). */
  threads?: number;
}

/** The settings an index was created with (written beside a saved index). */
export interface AnnIndexMeta {
  format: 'plotpointe-ann/1';
  dimensions: number;
  metric: AnnMetric;
  quantization: AnnQuantization;
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
  size: number;
}

/** Result of a search: for a batch of q queries, row i holds `keys[i*k .. i*k+k)` (−1 padded), best first. */
export interface AnnMatches {
  k: number;
  /** [q × k] row ids, −1 where no match. */
  keys: Int32Array;
  /** [q × k] distances (1 − similarity), NaN where no match. */
  distances: Float32Array;
  /** [q] number of valid matches per query. */
  counts: Int32Array;
}

export interface AddProgress {
  (done: number, total: number): void;
}

const hardwareThreads = Math.max(1, cpus().length);

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw ppError('PP_INDEX_INVALID', `${name} must be an integer ≥ ${min}, got ${v}`);
}

export class AnnIndex {
  readonly dimensions: number;
  readonly metric: AnnMetric;
  readonly quantization: AnnQuantization;
  readonly connectivity: number;
  readonly expansionAdd: number;
  readonly expansionSearch: number;
  /** Threads used for add and batched search. */
  readonly threads: number;
  #native: NativeIndex;
  /** Search contexts usearch reserved (a batched search must not use more threads). */
  #reservedThreads: number;
  #viewed = false;

  constructor(opts: AnnIndexOptions) {
    checkInt('dimensions', opts.dimensions, 1);
    this.dimensions = opts.dimensions;
    this.metric = opts.metric ?? 'cos';
    this.quantization = opts.quantization ?? 'f32';
    this.connectivity = opts.connectivity ?? 16;
    this.expansionAdd = opts.expansionAdd ?? 128;
    this.expansionSearch = opts.expansionSearch ?? 32;
    this.threads = opts.threads ?? hardwareThreads;
    if (this.metric !== 'cos' && this.metric !== 'ip') throw ppError('PP_INDEX_INVALID', `metric must be cos or ip, got ${String(this.metric)}`);
    if (this.quantization !== 'f32' && this.quantization !== 'f16' && this.quantization !== 'i8') {
      throw ppError('PP_INDEX_INVALID', `quantization must be f32, f16 or i8, got ${String(this.quantization)}`);
    }
    if (this.quantization === 'i8' && this.metric !== 'cos') throw ppError('PP_INDEX_INVALID', 'i8 quantization needs the cos metric');
    checkInt('connectivity', this.connectivity, 2);
    checkInt('expansionAdd', this.expansionAdd, 1);
    checkInt('expansionSearch', this.expansionSearch, 1);
    checkInt('threads', this.threads, 1);
    this.#native = this.#create();
    this.#reservedThreads = this.threads;
  }

  #create(): NativeIndex {
    const { Index } = usearch();
    return new Index({
      dimensions: this.dimensions,
      metric: this.metric as never,
      quantization: this.quantization as never,
      connectivity: this.connectivity,
      expansion_add: this.expansionAdd,
      expansion_search: this.expansionSearch,
      multi: false,
    });
  }

  /** Number of vectors in the index. */
  get size(): number {
    return this.#native.size();
  }

  /** True when the index is a read-only memory-mapped view of a file. */
  get viewed(): boolean {
    return this.#viewed;
  }

  /**
   * Adds rows of a row-major matrix [n × d] under keys `firstKey + i` (or `keys[i]`), in batches of
   * `batch` rows (default 16,384) so progress can be reported.
   */
  add(vectors: Float32Array, opts: { keys?: Int32Array; firstKey?: number; batch?: number; onProgress?: AddProgress } = {}): void {
    if (this.#viewed) throw ppError('PP_INDEX_INVALID', 'cannot add to a viewed (memory-mapped) index');
    const d = this.dimensions;
    if (vectors.length % d !== 0) throw ppError('PP_INDEX_INVALID', `vector length ${vectors.length} is not a multiple of ${d}`);
    const n = vectors.length / d;
    if (opts.keys && opts.keys.length !== n) throw ppError('PP_INDEX_INVALID', `keys length ${opts.keys.length} != rows ${n}`);
    const firstKey = opts.firstKey ?? 0;
    const batch = Math.max(1, opts.batch ?? 16384);
    for (let s = 0; s < n; s += batch) {
      const e = Math.min(n, s + batch);
      const keys = new BigUint64Array(e - s);
      for (let i = s; i < e; i++) {
        const key = opts.keys ? opts.keys[i] : firstKey + i;
        if (key < 0) throw ppError('PP_INDEX_INVALID', `negative key ${key}`);
        keys[i - s] = BigInt(key);
      }
      try {
        this.#native.add(keys, vectors.subarray(s * d, e * d), this.threads);
      } catch (err) {
        throw ppError('PP_INDEX_INVALID', `usearch add failed: ${(err as Error).message}`, err);
      }
      opts.onProgress?.(e, n);
    }
  }

  /** Builds an index from a row-major matrix [n × d]; row i gets key i. */
  static build(vectors: Float32Array, opts: AnnIndexOptions & { batch?: number; onProgress?: AddProgress }): AnnIndex {
    const index = new AnnIndex(opts);
    index.add(vectors, { batch: opts.batch, onProgress: opts.onProgress });
    return index;
  }

  /**
   * k nearest neighbours of each query row (queries: [q × d], q ≥ 1), searched on `threads` threads. Pass
   * `onProgress` with `batch` to search in slices (each a separate batched call).
   */
  search(queries: Float32Array, k: number, opts: { batch?: number; onProgress?: AddProgress } = {}): AnnMatches {
    checkInt('k', k, 1);
    const d = this.dimensions;
    if (queries.length === 0 || queries.length % d !== 0) {
      throw ppError('PP_INDEX_INVALID', `query length ${queries.length} is not a positive multiple of ${d}`);
    }
    const q = queries.length / d;
    const out: AnnMatches = { k, keys: new Int32Array(q * k).fill(-1), distances: new Float32Array(q * k).fill(NaN), counts: new Int32Array(q) };
    if (this.size === 0) return out;
    const threads = Math.min(this.threads, this.#reservedThreads);
    const batch = Math.max(1, opts.batch ?? q);
    for (let s = 0; s < q; s += batch) {
      const e = Math.min(q, s + batch);
      let res: { keys: BigUint64Array; distances: Float32Array; counts?: BigUint64Array };
      try {
        res = this.#native.search(queries.subarray(s * d, e * d), k, threads) as typeof res;
      } catch (err) {
        throw ppError('PP_INDEX_INVALID', `usearch search failed: ${(err as Error).message}`, err);
      }
      // Keys are u64: read the low 32-bit words (little-endian) instead of converting each BigInt.
      const low = new Uint32Array(res.keys.buffer, res.keys.byteOffset, res.keys.length * 2);
      for (let i = 0; i < e - s; i++) {
        const c = res.counts ? Number(res.counts[i]) : res.keys.length; // a single query returns Matches (already trimmed)
        const cnt = Math.min(k, c);
        out.counts[s + i] = cnt;
        const base = (s + i) * k;
        const srcBase = res.counts ? i * k : 0;
        for (let j = 0; j < cnt; j++) {
          out.keys[base + j] = low[2 * (srcBase + j)];
          out.distances[base + j] = res.distances[srcBase + j];
        }
      }
      opts.onProgress?.(e, q);
    }
    return out;
  }

  /** Nearest neighbours of one vector [d]. */
  searchOne(query: Float32Array, k: number): { keys: Int32Array; distances: Float32Array } {
    const m = this.search(query, k);
    return { keys: m.keys.slice(0, m.counts[0]), distances: m.distances.slice(0, m.counts[0]) };
  }

  meta(): AnnIndexMeta {
    return {
      format: 'plotpointe-ann/1',
      dimensions: this.dimensions,
      metric: this.metric,
      quantization: this.quantization,
      connectivity: this.connectivity,
      expansionAdd: this.expansionAdd,
      expansionSearch: this.expansionSearch,
      size: this.size,
    };
  }

  /** Writes the index to `path` and its settings to `<path>.json`, each through a temporary file and a rename. */
  async save(path: string): Promise<void> {
    const tmp = tempSibling(path);
    try {
      this.#native.save(tmp);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw ppError('PP_INDEX_INVALID', `cannot save the index to ${path}: ${(err as Error).message}`, err);
    }
    await writeFileAtomically(`${path}.json`, JSON.stringify(this.meta(), null, 2) + '\n');
  }

  /**
   * Loads an index saved by {@link save} into memory. `expansionSearch` overrides the saved query-time ef
   * (the graph does not depend on it, so it can be tuned at load time without rebuilding).
   */
  static async load(path: string, opts: { threads?: number; expansionSearch?: number } = {}): Promise<AnnIndex> {
    return AnnIndex.#open(path, 'load', opts);
  }

  /** Opens an index saved by {@link save} as a read-only memory-mapped view (no copy into RAM); options as {@link load}. */
  static async view(path: string, opts: { threads?: number; expansionSearch?: number } = {}): Promise<AnnIndex> {
    return AnnIndex.#open(path, 'view', opts);
  }

  static async #open(path: string, how: 'load' | 'view', opts: { threads?: number; expansionSearch?: number }): Promise<AnnIndex> {
    let meta: AnnIndexMeta;
    try {
      meta = JSON.parse(await readFile(`${path}.json`, 'utf8')) as AnnIndexMeta;
    } catch (err) {
      throw ppError('PP_INDEX_LOAD', `${path}.json is missing or unreadable`, err);
    }
    if (meta.format !== 'plotpointe-ann/1') throw ppError('PP_INDEX_LOAD', `${path}.json: unknown format ${String(meta.format)}`);
    const index = new AnnIndex({ ...meta, expansionSearch: opts.expansionSearch ?? meta.expansionSearch, threads: opts.threads });
    try {
      if (how === 'load') index.#native.load(path);
      else index.#native.view(path);
    } catch (err) {
      throw ppError('PP_INDEX_LOAD', `${path}: ${(err as Error).message}`, err);
    }
    if (index.size !== meta.size) throw ppError('PP_INDEX_LOAD', `${path}: ${index.size} vectors, header says ${meta.size}`);
    index.#reservedThreads = hardwareThreads; // usearch reserves one context per hardware thread on load/view
    index.#viewed = how === 'view';
    return index;
  }
}
