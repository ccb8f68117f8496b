import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ppError } from '../errors.js';
import { writeFileAtomically } from '../lake/atomic.js';
import { lakePaths } from '../lake/paths.js';

/**
 * A content-addressed cache of encoder outputs: key = sha256(encoder id + "\n" + input text), value = the
 * vector. It lives under `<lake>/cache/embeddings/<encoder dir>/` as append-only segment files, so a re-run
 * encodes only new or changed items and concurrent runs never overwrite each other's work:
 *
 *   seg-<time>-<pid>-<rand>.bin   magic "PPEMBC01" (8 bytes), dim u32 LE, count u32 LE,
 *                                 count × 32-byte keys, then count × dim float32 LE vectors
 *
 * Each segment is written through a temporary file and a rename. On open every segment is read (a later
 * segment wins on a repeated key); unreadable or truncated segments are skipped.
 */
const MAGIC = Buffer.from('PPEMBC01', 'latin1');
const HEADER = 16;
const KEY = 32;
/** Segment count beyond which embedItemsText compacts the cache. */
export const COMPACT_AFTER_SEGMENTS = 16;
/** Largest segment file written (compaction of a large cache writes several). */
export const SEGMENT_MAX_BYTES = 1 << 30;

/** A new segment's file name: sorts by time, unique across processes. */
function segmentName(): string {
  return `seg-${Date.now().toString().padStart(14, '0')}-${process.pid}-${randomBytes(4).toString('hex')}.bin`;
}

/** The cache key of an input for an encoder id. */
export function cacheKey(encoderId: string, input: string): string {
  return createHash('sha256').update(encoderId).update('\n').update(input).digest('hex');
}

/** A folder name for an encoder id: readable prefix + short hash (ids may hold ':' or '/'). */
export function encoderCacheDirName(encoderId: string): string {
  const slug = encoderId.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 48);
  return `${slug}-${createHash('sha256').update(encoderId).digest('hex').slice(0, 12)}`;
}

/** `<lake>/cache/embeddings/<encoder dir>` */
export function embeddingCacheDir(lake: string, encoderId: string): string {
  return lakePaths(lake).embeddingCache(encoderCacheDirName(encoderId));
}

export class EmbeddingCache {
  private readonly entries = new Map<string, Float32Array>();
  private pendingKeys: string[] = [];
  private pendingVecs: Float32Array[] = [];
  /** Lookups answered from the cache / not, since open. */
  hits = 0;
  misses = 0;
  /** Segments read at open and segments skipped as unreadable. */
  segmentsRead = 0;
  segmentsSkipped = 0;

  private constructor(
    readonly dir: string,
    readonly encoderId: string,
    readonly dim: number,
    private readonly segmentMaxBytes: number,
  ) {}

  /** Opens (creating if needed) the cache of `encoderId` under `<lake>/cache/embeddings/`. */
  static async open(lake: string, encoderId: string, dim: number): Promise<EmbeddingCache> {
    return EmbeddingCache.openDir(embeddingCacheDir(lake, encoderId), encoderId, dim);
  }

  /** `segmentMaxBytes`: largest segment written (default {@link SEGMENT_MAX_BYTES}; smaller in tests). */
  static async openDir(dir: string, encoderId: string, dim: number, segmentMaxBytes = SEGMENT_MAX_BYTES): Promise<EmbeddingCache> {
    const cache = new EmbeddingCache(dir, encoderId, dim, segmentMaxBytes);
    await mkdir(dir, { recursive: true });
    const names = (await readdir(dir)).filter((n) => n.startsWith('seg-') && n.endsWith('.bin')).sort();
    for (const n of names) {
      let buf: Buffer;
      try {
        buf = await readFile(join(dir, n));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // merged away by a concurrent compact()
        throw err;
      }
      if (cache.readSegment(buf)) {
        cache.segmentsRead++;
        cache.knownNames.push(n);
      } else cache.segmentsSkipped++;
    }
    return cache;
  }

  /** Segment files read at open or written by this instance (immutable; only these are merged away by `compact`). */
  private readonly knownNames: string[] = [];

  private readSegment(buf: Buffer): boolean {
    if (buf.length < HEADER || !buf.subarray(0, 8).equals(MAGIC)) return false;
    const dim = buf.readUInt32LE(8);
    const count = buf.readUInt32LE(12);
    if (dim !== this.dim || buf.length !== HEADER + count * (KEY + dim * 4)) return false;
    const vecs = new Float32Array(count * dim);
    new Uint8Array(vecs.buffer).set(buf.subarray(HEADER + count * KEY));
    for (let i = 0; i < count; i++) {
      const key = buf.toString('hex', HEADER + i * KEY, HEADER + (i + 1) * KEY);
      this.entries.set(key, vecs.subarray(i * dim, (i + 1) * dim));
    }
    return true;
  }

  /** Number of distinct keys held (stored + pending). */
  get size(): number {
    return this.entries.size;
  }

  /** Vectors added since the last flush. */
  get pending(): number {
    return this.pendingKeys.length;
  }

  /** The vector for `key`, counting a hit or a miss. Do not modify the returned view. */
  get(key: string): Float32Array | undefined {
    const v = this.entries.get(key);
    if (v) this.hits++;
    else this.misses++;
    return v;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Adds a vector (copied); it is written to disk by the next flush. */
  put(key: string, vec: ArrayLike<number>): void {
    if (vec.length !== this.dim) throw ppError('PP_INTERNAL', `cache vector of length ${vec.length}, expected ${this.dim}`);
    if (!/^[0-9a-f]{64}$/.test(key)) throw ppError('PP_INTERNAL', `bad cache key ${key}`);
    const copy = Float32Array.from(vec);
    if (!this.entries.has(key)) {
      this.pendingKeys.push(key);
      this.pendingVecs.push(copy);
    }
    this.entries.set(key, copy);
  }

  /**
   * Writes the pending vectors as new segments of at most `segmentMaxBytes` each (a segment is read whole
   * at open, and a file of 2 GiB or more cannot be); returns how many were written.
   */
  async flush(): Promise<number> {
    const n = this.pendingKeys.length;
    if (n === 0) return 0;
    const perSegment = Math.max(1, Math.floor((this.segmentMaxBytes - HEADER) / (KEY + this.dim * 4)));
    for (let from = 0; from < n; from += perSegment) await this.writeSegment(from, Math.min(n, from + perSegment));
    this.pendingKeys = [];
    this.pendingVecs = [];
    return n;
  }

  /** One segment of the pending entries [from, to). */
  private async writeSegment(from: number, to: number): Promise<void> {
    const n = to - from;
    const buf = Buffer.alloc(HEADER + n * (KEY + this.dim * 4));
    MAGIC.copy(buf, 0);
    buf.writeUInt32LE(this.dim, 8);
    buf.writeUInt32LE(n, 12);
    const vecOffset = HEADER + n * KEY;
    for (let i = 0; i < n; i++) {
      buf.write(this.pendingKeys[from + i], HEADER + i * KEY, 'hex');
      const v = this.pendingVecs[from + i];
      Buffer.from(v.buffer, v.byteOffset, v.byteLength).copy(buf, vecOffset + i * this.dim * 4);
    }
    const name = segmentName();
    await writeFileAtomically(join(this.dir, name), buf);
    this.knownNames.push(name);
  }

  /**
   * Writes every entry held (read at open or added since) as one segment, then deletes the segments this
   * instance read or wrote (segments written meanwhile by other processes are left alone). Returns the entries
   * written. embedItemsText calls it when more than `COMPACT_AFTER_SEGMENTS` segments were read.
   */
  async compact(): Promise<number> {
    const merged = this.knownNames.splice(0);
    const keys = [...this.entries.keys()];
    this.pendingKeys = keys;
    this.pendingVecs = keys.map((k) => this.entries.get(k)!);
    const n = await this.flush();
    for (const name of merged) await rm(join(this.dir, name), { force: true });
    return n;
  }
}
