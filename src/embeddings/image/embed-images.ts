import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isPlotPointeError, ppError } from '../../errors.js';
import { writeFileAtomically } from '../../lake/atomic.js';
import { datasetPaths } from '../../lake/paths.js';
import { silentProgressFactory, type ProgressFactory } from '../../core/progress.js';
import { safeFetch, SAFE_FETCH_DEFAULTS } from '../../net/safe-fetch.js';
import type { Encoder } from '../encoder.js';
import { cacheKey } from '../cache.js';
import { EmbeddingRun, readStagedColumns, type EmbedFailure } from '../embed-run.js';
import { createImageEncoder, DEFAULT_IMAGE_ENCODER, parseImageEncoderSpec } from './encoders.js';
import { lakePaths } from '../../lake/paths.js';

/**
 * `plotpointe embed image`: each staged item's picture → an image encoder → `<lake>/artifacts/<name>/
 * embeddings/image.{f32,mask,json}` (row = dense item iid) + the merged embeddings manifest.
 *
 * - Source per item: `image_path` (a local file, e.g. the demo catalog's PNGs) first, else `image_url`
 *   (http/https, e.g. Amazon) through `safeFetch` — SSRF-safe (no loopback/private addresses unless
 *   `allowPrivate`), with a timeout, retries on 5xx and a size cap. Successful downloads are kept under
 *   `<lake>/cache/images/<h[0..2]>/<h>` with h = sha256(url), so a re-run does not download again.
 * - `concurrency` sources are read or fetched at once while the encoder works through batches.
 * - Content-hash embedding cache: key = sha256(encoder id + sha256(image bytes)); a re-run encodes only new or
 *   changed pictures, and identical pictures are encoded once.
 * - An item whose picture cannot be read, fetched or decoded keeps a zero row with mask 0 and is counted by
 *   error code in the summary; an item with no image reference is `no_image`. Neither fails the run.
 */
export interface EmbedImagesOptions {
  lake: string;
  /** Dataset name in the lake (staging/<name>). */
  name: string;
  /** An encoder spec (`bundled-ort`, `bundled`, `onnx:<path>?…`) or a ready encoder (not disposed by this call). Default `bundled-ort`. */
  encoder?: string | Encoder<Buffer>;
  /** Images per encoder call (default 64). */
  batch?: number;
  /** Sources read or downloaded at once (default 8). */
  concurrency?: number;
  /** Allow image URLs on loopback/private/link-local addresses (default false). */
  allowPrivate?: boolean;
  /** Use the embedding cache and the download cache (default true). */
  cache?: boolean;
  /** safeFetch limits for image URLs. */
  timeoutMs?: number;
  retries?: number;
  maxBytes?: number;
  /** Progress display (the CLI passes its bar); default silent. */
  progress?: ProgressFactory;
}

export interface EmbedImagesSummary {
  name: string;
  encoder: string;
  encoder_id: string;
  count: number;
  dim: number;
  normalised: boolean;
  /** Items with a vector / without (no_image + failed). */
  present: number;
  missing: number;
  /** Items without any image reference. */
  no_image: number;
  /** Items whose picture could not be read, fetched or decoded, by error code, and the first few in full. */
  failed: number;
  failure_counts: Record<string, number>;
  failures: EmbedFailure[];
  /** Distinct pictures answered by the embedding cache / encoded; items whose picture repeats an earlier one. */
  cache_hits: number;
  encoded: number;
  duplicates: number;
  /** Sources: local files read, URLs downloaded, URLs answered by the download cache. */
  local_files: number;
  downloaded: number;
  download_cache_hits: number;
  downloaded_bytes: number;
  seconds: number;
  /** Items embedded per second over the whole run (present / seconds). */
  items_per_s: number;
  /** Pictures per second of encoder time alone (0 when everything came from the cache). */
  encode_items_per_s: number;
  paths: { dir: string; data: string; meta: string; mask: string; manifest: string };
}

export interface ImageRow {
  iid: number;
  image_url: string | null;
  image_path: string | null;
}

/** `<lake>/cache/images/<h[0..2]>/<h>`, h = sha256(url). */
export function imageDownloadPath(lake: string, url: string): string {
  const h = createHash('sha256').update(url).digest('hex');
  return join(lakePaths(lake).imageCache, h.slice(0, 2), h);
}

export interface SourceStats {
  local: number;
  downloaded: number;
  downloadHits: number;
  bytes: number;
}

/** Reads a local picture (size-capped). PP_INPUT_NOT_FOUND / PP_FETCH_TOO_LARGE. */
async function readLocal(path: string, maxBytes: number): Promise<Buffer> {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new Error('not a file');
    size = s.size;
  } catch (err) {
    throw ppError('PP_INPUT_NOT_FOUND', `image file ${path}`, err);
  }
  if (size > maxBytes) throw ppError('PP_FETCH_TOO_LARGE', `${path} has ${size} bytes > cap ${maxBytes}`);
  return readFile(path);
}

/** The bytes of one item's picture: local file first, then the URL (download cache, then safeFetch). */
export async function loadPicture(row: ImageRow, o: Required<Pick<EmbedImagesOptions, 'lake' | 'allowPrivate' | 'cache' | 'timeoutMs' | 'retries' | 'maxBytes'>>, stats: SourceStats): Promise<Buffer> {
  let localError: unknown;
  if (row.image_path) {
    try {
      const bytes = await readLocal(row.image_path, o.maxBytes);
      stats.local++;
      return bytes;
    } catch (err) {
      if (!row.image_url) throw err;
      localError = err;
    }
  }
  const url = row.image_url!;
  const cached = imageDownloadPath(o.lake, url);
  if (o.cache) {
    try {
      const bytes = await readFile(cached);
      stats.downloadHits++;
      return bytes;
    } catch {
      // not downloaded yet
    }
  }
  try {
    const bytes = await safeFetch(url, { allowPrivate: o.allowPrivate, timeoutMs: o.timeoutMs, retries: o.retries, maxBytes: o.maxBytes });
    stats.downloaded++;
    stats.bytes += bytes.length;
    if (o.cache) await writeFileAtomically(cached, bytes);
    return bytes;
  } catch (err) {
    if (localError && isPlotPointeError(err)) err.message += ` (and the local file failed: ${(localError as Error).message})`;
    throw err;
  }
}

/** Where and how {@link loadPicture} reads pictures, with the defaults of `embed image`. */
export function pictureSources(options: EmbedImagesOptions): Parameters<typeof loadPicture>[1] {
  return {
    lake: datasetPaths(options.lake, options.name).lake,
    allowPrivate: options.allowPrivate ?? false,
    cache: options.cache !== false,
    timeoutMs: options.timeoutMs ?? SAFE_FETCH_DEFAULTS.timeoutMs,
    retries: options.retries ?? SAFE_FETCH_DEFAULTS.retries,
    maxBytes: options.maxBytes ?? SAFE_FETCH_DEFAULTS.maxBytes,
  };
}

export async function embedItemsImage(options: EmbedImagesOptions): Promise<EmbedImagesSummary> {
  const startedAt = performance.now();
  const batch = options.batch ?? 64;
  const concurrency = options.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
    throw ppError('PP_EMBED_INVALID', `--concurrency must be an integer in [1, 256], got ${options.concurrency}`);
  }
  if (!Number.isInteger(batch) || batch < 1 || batch > 4096) throw ppError('PP_EMBED_INVALID', `--batch must be an integer in [1, 4096], got ${options.batch}`);
  const src = pictureSources(options);
  if (typeof options.encoder !== 'object') parseImageEncoderSpec(options.encoder ?? DEFAULT_IMAGE_ENCODER);
  const { rows, inputs } = await readStagedColumns<ImageRow>(options.lake, options.name, ['image_url', 'image_path']);
  const withSource = rows.filter((r) => r.image_path || r.image_url);

  const owned = typeof options.encoder !== 'object';
  const encoder = typeof options.encoder === 'object' ? options.encoder : await createImageEncoder(options.encoder ?? DEFAULT_IMAGE_ENCODER);
  try {
    const progress = (options.progress ?? silentProgressFactory)(`embed image (${encoder.name})`, withSource.length, { unit: 'items' });
    const run = await EmbeddingRun.open({
      lake: options.lake,
      name: options.name,
      modality: 'image',
      encoder,
      count: rows.length,
      batch,
      cache: src.cache,
      progress,
      startedAt,
      isItemFailure: (err) => isPlotPointeError(err, 'PP_EMBED_IMAGE_DECODE'),
    });
    const stats: SourceStats = { local: 0, downloaded: 0, downloadHits: 0, bytes: 0 };

    // `concurrency` workers read/fetch pictures; adding to the run (which may encode a batch) is serialised,
    // and a worker waits for its add, so at most `concurrency` pictures wait beside the run's queue.
    let next = 0;
    let chain: Promise<unknown> = Promise.resolve();
    const serial = <T>(fn: () => Promise<T>): Promise<T> => {
      const p = chain.then(fn);
      chain = p.catch(() => undefined);
      return p;
    };
    let aborted = false;
    const worker = async () => {
      while (next < withSource.length && !aborted) {
        const row = withSource[next++]!;
        const iid = Number(row.iid);
        let bytes: Buffer;
        try {
          bytes = await loadPicture(row, src, stats);
        } catch (err) {
          if (!isPlotPointeError(err) && !(err as { code?: string }).code) throw err;
          await serial(async () => run.fail([iid], err));
          continue;
        }
        const key = cacheKey(encoder.id, createHash('sha256').update(bytes).digest('hex'));
        await serial(() => run.add(key, bytes, [iid]));
      }
    };
    const guarded = () =>
      worker().catch((err: unknown) => {
        aborted = true;
        throw err;
      });
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, withSource.length)) }, guarded));
    await serial(() => run.drain());

    const noImage = rows.length - withSource.length;
    const sources = { local_files: stats.local, downloaded: stats.downloaded, download_cache_hits: stats.downloadHits, downloaded_bytes: stats.bytes };
    const done = await run.finish({
      config: { concurrency, allow_private: src.allowPrivate, timeout_ms: src.timeoutMs, retries: src.retries, max_bytes: src.maxBytes },
      inputs,
      extra: { no_image: noImage, duplicates: run.duplicates, ...sources },
    });
    return {
      name: options.name,
      encoder: encoder.name,
      encoder_id: encoder.id,
      count: rows.length,
      dim: encoder.dim,
      normalised: encoder.normalised,
      present: done.meta.present,
      missing: done.meta.missing,
      no_image: noImage,
      failed: run.failedRows,
      failure_counts: run.failureCounts,
      failures: run.failures,
      cache_hits: run.cacheHits,
      encoded: run.encoded,
      duplicates: run.duplicates,
      ...sources,
      seconds: done.seconds,
      items_per_s: done.itemsPerSecond,
      encode_items_per_s: run.encodeRate,
      paths: done.paths,
    };
  } finally {
    if (owned) await encoder.dispose();
  }
}
