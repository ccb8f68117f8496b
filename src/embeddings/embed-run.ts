import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isPlotPointeError, ppError } from '../errors.js';
import { openDb, sqlString } from '../lake/duckdb.js';
import { sha256File } from '../lake/hash.js';
import { writeManifest, type Manifest, type ManifestInput } from '../lake/manifest.js';
import { datasetPaths } from '../lake/paths.js';
import { openDataset } from '../lake/dataset.js';
import type { Progress } from '../core/progress.js';
import type { Encoder } from './encoder.js';
import { COMPACT_AFTER_SEGMENTS, EmbeddingCache } from './cache.js';
import { writeEmbeddings, type EmbeddingMeta } from './store.js';

/**
 * What `embed text` and `embed image` share: reading the staged items in dense iid order, the run that fills
 * the `count × dim` matrix through the content-hash cache in batches (identical inputs encoded once, failures
 * marked missing), and writing the matrix, its meta and the merged embeddings manifest.
 */

/** Columns of items.parquet that embedding commands read. */
export type StagedItemColumn = 'title' | 'brand' | 'description' | 'categories' | 'image_url' | 'image_path';

/**
 * Reads the staged items in dense order (item_map.iid, checked to be 0..n-1) with the requested columns, and
 * describes the two input files for the manifest. PP_LAKE_NOT_FOUND when the dataset was never ingested.
 */
export async function readStagedColumns<Row extends { iid: number }>(
  lake: string,
  name: string,
  columns: readonly StagedItemColumn[],
): Promise<{ rows: Row[]; inputs: ManifestInput[] }> {
  const { items: itemsPath, itemMap: mapPath } = (await openDataset(lake, name)).stagingFiles;
  for (const p of [itemsPath, mapPath]) {
    try {
      await stat(p);
    } catch (err) {
      throw ppError('PP_LAKE_NOT_FOUND', `${p} is missing; run plotpointe data ingest first`, err);
    }
  }
  const db = await openDb();
  let rows: Row[];
  try {
    rows = await db.all<Row>(`
      SELECT m.iid${columns.map((c) => `, i.${c}`).join('')}
      FROM read_parquet(${sqlString(mapPath)}) m LEFT JOIN read_parquet(${sqlString(itemsPath)}) i USING (item_id)
      ORDER BY m.iid`);
  } finally {
    db.close();
  }
  rows.forEach((r, i) => {
    if (Number(r.iid) !== i) throw ppError('PP_LAKE_NOT_FOUND', `${mapPath}: iids are not dense (row ${i} has iid ${r.iid})`);
  });
  const inputs: ManifestInput[] = [];
  for (const [n, p] of [
    ['items', itemsPath],
    ['item_map', mapPath],
  ] as const) {
    inputs.push({ name: n, origin: p, bytes: (await stat(p)).size, sha256: await sha256File(p) });
  }
  return { rows, inputs };
}

/** One item that could not be embedded. */
export interface EmbedFailure {
  /** Dense item id (row). */
  iid: number;
  code: string;
  message: string;
}

export interface EmbeddingRunOptions<In> {
  lake: string;
  name: string;
  modality: 'text' | 'image';
  encoder: Encoder<In>;
  /** Rows of the matrix (= staged items). */
  count: number;
  /** Inputs per encoder call. */
  batch: number;
  /** Use the content-hash cache under `<lake>/cache/embeddings/` (default true). */
  cache?: boolean;
  progress: Progress;
  /**
   * Errors of one input that mark its rows missing instead of failing the run (e.g. an undecodable image).
   * A batch that throws one is retried input by input. Anything else propagates. Default: none.
   */
  isItemFailure?: (err: unknown) => boolean;
  /** performance.now() when the command started (default: now); `seconds` and items/s count from it. */
  startedAt?: number;
}

/** Failures kept with their message in the summary (all are counted). */
const KEEP_FAILURES = 20;

/**
 * Fills a `count × dim` matrix (row = dense item id) from keyed inputs:
 *   add(key, input, rows) → rows filled from the cache, or from an identical key met earlier in this run,
 *                           or queued; every `batch` queued keys are encoded in one call and cached
 *   fail(rows, err)       → rows left missing (zero, mask 0), counted by error code
 *   finish(...)           → flush the cache, write `<modality>.{f32,mask,json}` + the merged manifest
 * Progress ticks once per row placed or failed.
 */
export class EmbeddingRun<In> {
  readonly data: Float32Array;
  readonly present: Uint8Array;
  readonly dim: number;
  /** Distinct keys answered by the cache / sent to the encoder / identical to an earlier key of this run. */
  cacheHits = 0;
  encoded = 0;
  duplicates = 0;
  /** Rows that failed, by error code, and the first few failures in full. */
  failedRows = 0;
  readonly failureCounts: Record<string, number> = {};
  readonly failures: EmbedFailure[] = [];
  /** Seconds spent inside encoder.encode. */
  encodeSeconds = 0;
  private readonly placed = new Map<string, number>();
  private readonly queue = new Map<string, { input: In; rows: number[] }>();
  private readonly started: number;

  private constructor(
    private readonly o: EmbeddingRunOptions<In>,
    private readonly cache: EmbeddingCache | null,
  ) {
    this.dim = o.encoder.dim;
    this.started = o.startedAt ?? performance.now();
    this.data = new Float32Array(o.count * this.dim);
    this.present = new Uint8Array(o.count);
  }

  static async open<In>(options: EmbeddingRunOptions<In>): Promise<EmbeddingRun<In>> {
    const { batch } = options;
    if (!Number.isInteger(batch) || batch < 1 || batch > 4096) throw ppError('PP_EMBED_INVALID', `--batch must be an integer in [1, 4096], got ${batch}`);
    const cache = options.cache === false ? null : await EmbeddingCache.open(datasetPaths(options.lake, options.name).lake, options.encoder.id, options.encoder.dim);
    return new EmbeddingRun(options, cache);
  }

  get encoder(): Encoder<In> {
    return this.o.encoder;
  }

  /** Keys waiting for a full batch. */
  get queued(): number {
    return this.queue.size;
  }

  private place(rows: readonly number[], vec: Float32Array): void {
    for (const r of rows) {
      this.data.set(vec, r * this.dim);
      this.present[r] = 1;
    }
  }

  /** Adds one input (identified by its content `key`) for `rows`; encodes a batch when one is full. */
  async add(key: string, input: In, rows: readonly number[]): Promise<void> {
    const earlier = this.placed.get(key);
    if (earlier !== undefined) {
      this.duplicates++;
      this.place(rows, this.data.subarray(earlier * this.dim, (earlier + 1) * this.dim));
      this.o.progress.tick(rows.length);
      return;
    }
    const waiting = this.queue.get(key);
    if (waiting) {
      this.duplicates++;
      waiting.rows.push(...rows);
      return;
    }
    const cached = this.cache?.get(key);
    if (cached) {
      this.cacheHits++;
      this.place(rows, cached);
      this.placed.set(key, rows[0]!);
      this.o.progress.tick(rows.length);
      return;
    }
    this.queue.set(key, { input, rows: [...rows] });
    if (this.queue.size >= this.o.batch) await this.encodeQueued(this.o.batch);
  }

  /** Marks rows as missing because of `err` (counted by its PP code, or `error`). */
  fail(rows: readonly number[], err: unknown): void {
    const code = isPlotPointeError(err) ? err.code : ((err as { code?: string }).code ?? 'error');
    this.failureCounts[code] = (this.failureCounts[code] ?? 0) + rows.length;
    this.failedRows += rows.length;
    for (const r of rows) {
      if (this.failures.length < KEEP_FAILURES) this.failures.push({ iid: r, code, message: err instanceof Error ? err.message : String(err) });
    }
    this.o.progress.tick(rows.length);
  }

  /** Encodes everything still queued. */
  async drain(): Promise<void> {
    while (this.queue.size > 0) await this.encodeQueued(this.o.batch);
  }

  private async encodeQueued(n: number): Promise<void> {
    const entries = [...this.queue.entries()].slice(0, n);
    for (const [k] of entries) this.queue.delete(k);
    await this.encodeEntries(entries);
    // Keep finished work if the run is interrupted: a cache segment every ~4096 vectors.
    if (this.cache && this.cache.pending >= 4096) await this.cache.flush();
  }

  private async encodeEntries(entries: Array<[string, { input: In; rows: number[] }]>): Promise<void> {
    const t0 = performance.now();
    let out: Float32Array;
    try {
      out = await this.o.encoder.encode(entries.map(([, e]) => e.input));
    } catch (err) {
      this.encodeSeconds += (performance.now() - t0) / 1000;
      if (!this.o.isItemFailure?.(err)) throw err;
      if (entries.length === 1) {
        this.fail(entries[0]![1].rows, err);
        return;
      }
      // Find the culprit(s): encode one by one.
      for (const e of entries) await this.encodeEntries([e]);
      return;
    }
    this.encodeSeconds += (performance.now() - t0) / 1000;
    const dim = this.dim;
    if (out.length !== entries.length * dim) throw ppError('PP_INTERNAL', `${this.o.encoder.name} returned ${out.length} values for ${entries.length} × ${dim}`);
    let rows = 0;
    entries.forEach(([key, e], j) => {
      const vec = out.subarray(j * dim, (j + 1) * dim);
      this.place(e.rows, vec);
      this.placed.set(key, e.rows[0]!);
      this.cache?.put(key, vec);
      rows += e.rows.length;
    });
    this.encoded += entries.length;
    this.o.progress.tick(rows, { items_s: this.encoded / Math.max(this.encodeSeconds, 1e-9) });
  }

  /** Encoded inputs per second of encoder time (0 when nothing was encoded). */
  get encodeRate(): number {
    return this.encoded > 0 ? this.encoded / Math.max(this.encodeSeconds, 1e-9) : 0;
  }

  /**
   * Drains the queue, flushes (and when fragmented compacts) the cache, then writes the matrix, its meta
   * (with `extra`) and the embeddings manifest (this modality's entry `config`). Returns the meta, the run's
   * seconds and items/s (present rows per second of the whole run).
   */
  async finish(args: { config: Record<string, unknown>; inputs: ManifestInput[]; extra?: Record<string, unknown> }): Promise<{
    meta: EmbeddingMeta;
    seconds: number;
    itemsPerSecond: number;
    paths: { dir: string; data: string; meta: string; mask: string; manifest: string };
  }> {
    try {
      await this.drain();
    } finally {
      this.o.progress.stop();
      await this.cache?.flush();
    }
    if (this.cache && this.cache.segmentsRead > COMPACT_AFTER_SEGMENTS) await this.cache.compact();
    const seconds = (performance.now() - this.started) / 1000;
    const { meta, dir, itemsPerSecond } = await writeEmbeddingOutputs({
      lake: this.o.lake,
      name: this.o.name,
      modality: this.o.modality,
      encoder: this.o.encoder,
      data: this.data,
      dim: this.dim,
      present: this.present,
      seconds,
      batch: this.o.batch,
      extra: args.extra,
      counts: { cacheHits: this.cacheHits, encoded: this.encoded, encodeRate: this.encodeRate, failed: this.failedRows, failureCounts: this.failureCounts },
      config: args.config,
      inputs: args.inputs,
    });
    const modality = this.o.modality;
    return {
      meta,
      seconds,
      itemsPerSecond,
      paths: {
        dir,
        data: join(dir, `${modality}.f32`),
        meta: join(dir, `${modality}.json`),
        mask: join(dir, `${modality}.mask`),
        manifest: join(dir, 'manifest.json'),
      },
    };
  }
}

/**
 * Runs `fn` holding `<dir>/.manifest.lock` (a directory: mkdir is atomic), so `embed text` and `embed image`
 * running at the same time (e.g. as two pipeline steps) do not lose each other's manifest entries. A lock
 * older than 60 s is considered abandoned.
 */
async function withManifestLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(dir, '.manifest.lock');
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > 60_000) await rm(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw ppError('PP_EMBED_STORE', `${lock} is held by another process`);
      else await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/**
 * The embeddings folder holds one matrix per modality (text, image), so its manifest is merged: this run's
 * modality replaces its own entries and keeps the others'.
 */
/**
 * Writes a finished embedding run's outputs: the matrix, its meta (encoder, timing, `extra` then the run's
 * counts) and this modality's entry in the embeddings manifest (`config` with the batch size). Used by
 * {@link EmbeddingRun.finish} and by the merge of a sharded embed-text step, so both write the same files.
 */
export async function writeEmbeddingOutputs(o: {
  lake: string;
  name: string;
  modality: 'text' | 'image';
  encoder: { name: string; id: string; normalised: boolean };
  data: Float32Array;
  dim: number;
  present: Uint8Array;
  /** The run's wall seconds. */
  seconds: number;
  batch: number;
  extra?: Record<string, unknown>;
  counts: { cacheHits: number; encoded: number; encodeRate: number; failed: number; failureCounts: Record<string, number> };
  config: Record<string, unknown>;
  inputs: ManifestInput[];
}): Promise<{ meta: EmbeddingMeta; dir: string; itemsPerSecond: number }> {
  let nPresent = 0;
  for (const p of o.present) nPresent += p;
  const itemsPerSecond = nPresent / Math.max(o.seconds, 1e-9);
  const dir = datasetPaths(o.lake, o.name).embeddings;
  const meta = await writeEmbeddings(dir, o.modality, {
    data: o.data,
    dim: o.dim,
    present: o.present,
    modality: o.modality,
    encoder: o.encoder.name,
    encoder_id: o.encoder.id,
    normalised: o.encoder.normalised,
    seconds: o.seconds,
    items_per_s: itemsPerSecond,
    extra: {
      ...o.extra,
      cache_hits: o.counts.cacheHits,
      encoded: o.counts.encoded,
      encode_items_per_s: o.counts.encodeRate,
      batch: o.batch,
      failed: o.counts.failed,
      failure_counts: o.counts.failureCounts,
    },
  });
  await writeEmbeddingsManifest(dir, meta, { ...o.config, batch: o.batch }, o.inputs, o.seconds);
  return { meta, dir, itemsPerSecond };
}

export async function writeEmbeddingsManifest(
  dir: string,
  meta: EmbeddingMeta,
  config: Record<string, unknown>,
  inputs: ManifestInput[],
  seconds: number,
): Promise<Manifest> {
  await mkdir(dir, { recursive: true });
  return withManifestLock(dir, async () => {
    let previous: Partial<Manifest> = {};
    try {
      previous = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    } catch {
      previous = {};
    }
    const modality = meta.modality;
    const files = (previous.files as Record<string, unknown> | undefined) ?? {};
    const prevInputs = (previous.inputs ?? []).filter((i) => !inputs.some((n) => n.name === i.name));
    return writeManifest(dir, {
      stage: 'embed',
      config: {
        ...(previous.config ?? {}),
        [modality]: { encoder: meta.encoder, encoder_id: meta.encoder_id, ...config },
      },
      inputs: [...prevInputs, ...inputs],
      counts: {
        ...(previous.counts ?? {}),
        [`${modality}_items`]: meta.count,
        [`${modality}_present`]: meta.present,
        [`${modality}_missing`]: meta.missing,
        [`${modality}_dim`]: meta.dim,
      },
      seconds,
      files: { ...files, [modality]: { data: `${modality}.f32`, mask: `${modality}.mask`, meta: `${modality}.json`, sha256: meta.sha256 } },
    });
  });
}
