import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isPlotPointeError, ppError } from '../../errors.js';
import { writeFileAtomically } from '../../lake/atomic.js';
import { silentProgressFactory } from '../../core/progress.js';
import { EmbeddingCache, cacheKey } from '../../embeddings/cache.js';
import { readStagedColumns } from '../../embeddings/embed-run.js';
import { createImageEncoder, parseImageEncoderSpec } from '../../embeddings/image/encoders.js';
import {
  embedItemsImage,
  loadPicture,
  pictureSources,
  type EmbedImagesOptions,
  type EmbedImagesSummary,
  type ImageRow,
  type SourceStats,
} from '../../embeddings/image/embed-images.js';
import { lakePaths } from '../../lake/paths.js';

/**
 * The sharded form of the embed-image step (`plotpointe pipeline shard embed-image` / `pipeline merge
 * embed-image`), for the distributed executor.
 *
 * The shards hand their vectors over through the lake's content-hash embedding cache (`<lake>/cache/embeddings/`,
 * append-only segments: concurrent writers never collide): with R staged items that have a picture reference,
 * shard i of n reads the pictures of rows [⌊iR/n⌋, ⌊(i+1)R/n⌋) of them, keys each as `embed image` does
 * (sha256(encoder id + sha256(bytes))), encodes the keys not cached yet in batches of `batch` and writes them to
 * the cache. The merge is `embed image` itself: every picture is then a cache hit, so it writes
 * `image.{f32,mask,json}` and the manifest with the same code and the same vectors as the unsharded step — byte-
 * identical as long as an image's vector does not depend on the other images of its batch (true of the bundled
 * encoder, and assumed by `embed image` itself, whose batches are filled in file-read order). Pictures that
 * cannot be read or decoded are left to the merge, which records them as `embed image` does.
 *
 * Part headers, under `<lake>/pipeline/shards/embed-image/part-<i>-of-<n>.json` (removed by the merge), say what
 * each shard did; the merge checks they tile the rows and adds their counters to its summary.
 */
export const IMAGE_SHARD_FORMAT = 'plotpointe-embed-image-part/1';

interface PartHeader {
  format: typeof IMAGE_SHARD_FORMAT;
  part: number;
  of: number;
  /** Items with a picture reference (the rows being split) and this part's range of them. */
  rows: number;
  start: number;
  end: number;
  encoder_id: string;
  cache_hits: number;
  encoded: number;
  duplicates: number;
  /** Pictures this shard could not read or decode (the merge records them). */
  failed: number;
  encode_seconds: number;
  seconds: number;
}

export interface ImageShardSummary {
  step: 'embed-image';
  part: number;
  of: number;
  rows: number;
  start: number;
  end: number;
  cache_hits: number;
  encoded: number;
  duplicates: number;
  failed: number;
  seconds: number;
  encode_items_per_s: number;
}

export const imageShardDir = (lake: string) => lakePaths(lake).pipeline.shards('embed-image');
const partPath = (lake: string, part: number, of: number) => join(imageShardDir(lake), `part-${part}-of-${of}.json`);

/** Row range [start, end) of part `part` of `of` over `rows` rows. */
export function shardRowRange(rows: number, part: number, of: number): { start: number; end: number } {
  if (!Number.isInteger(of) || of < 1) throw ppError('PP_USAGE', `--of must be a positive integer, got ${of}`);
  if (!Number.isInteger(part) || part < 0 || part >= of) throw ppError('PP_USAGE', `--part must be an integer in [0, ${of - 1}], got ${part}`);
  return { start: Math.floor((part * rows) / of), end: Math.floor(((part + 1) * rows) / of) };
}

/** The staged items that have a picture reference, in iid order (what `embed image` walks). */
async function pictureRows(o: EmbedImagesOptions): Promise<ImageRow[]> {
  const { rows } = await readStagedColumns<ImageRow>(o.lake, o.name, ['image_url', 'image_path']);
  return rows.filter((r) => r.image_path || r.image_url);
}

function checkOptions(o: EmbedImagesOptions): { batch: number; concurrency: number } {
  if (o.cache === false) throw ppError('PP_USAGE', 'the sharded embed-image step hands vectors over through the embedding cache: it cannot run with --no-cache');
  const batch = o.batch ?? 16;
  const concurrency = o.concurrency ?? 8;
  if (!Number.isInteger(batch) || batch < 1 || batch > 4096) throw ppError('PP_EMBED_INVALID', `--batch must be an integer in [1, 4096], got ${o.batch}`);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw ppError('PP_EMBED_INVALID', `--concurrency must be an integer in [1, 256], got ${o.concurrency}`);
  return { batch, concurrency };
}

/**
 * Shard `part` of `of`: reads its rows' pictures (`concurrency` at a time), encodes the uncached ones in batches
 * and puts them into the embedding cache (a segment every 4,096 vectors and at the end), then writes its header.
 */
export async function runImageShard(o: EmbedImagesOptions & { encoder: string; part: number; of: number }): Promise<ImageShardSummary> {
  const started = performance.now();
  const { batch, concurrency } = checkOptions(o);
  parseImageEncoderSpec(o.encoder);
  const rows = await pictureRows(o);
  const { start, end } = shardRowRange(rows.length, o.part, o.of);
  const src = pictureSources(o);
  const encoder = await createImageEncoder(o.encoder);
  try {
    const cache = await EmbeddingCache.open(src.lake, encoder.id, encoder.dim);
    const progress = (o.progress ?? silentProgressFactory)(`embed image shard ${o.part + 1}/${o.of} (${encoder.name})`, end - start, { unit: 'items' });
    const stats: SourceStats = { local: 0, downloaded: 0, downloadHits: 0, bytes: 0 };
    const seen = new Set<string>();
    let queue: Array<{ key: string; bytes: Buffer }> = [];
    let hits = 0;
    let encoded = 0;
    let duplicates = 0;
    let failed = 0;
    let encodeSeconds = 0;
    const encode = async (items: Array<{ key: string; bytes: Buffer }>): Promise<void> => {
      const t0 = performance.now();
      let out: Float32Array;
      try {
        out = await encoder.encode(items.map((q) => q.bytes));
      } catch (err) {
        encodeSeconds += (performance.now() - t0) / 1000;
        if (!isPlotPointeError(err, 'PP_EMBED_IMAGE_DECODE')) throw err;
        if (items.length === 1) {
          failed++;
          return;
        }
        for (const q of items) await encode([q]);
        return;
      }
      encodeSeconds += (performance.now() - t0) / 1000;
      if (out.length !== items.length * encoder.dim) throw ppError('PP_INTERNAL', `${encoder.name} returned ${out.length} values for ${items.length} × ${encoder.dim}`);
      items.forEach((q, j) => cache.put(q.key, out.subarray(j * encoder.dim, (j + 1) * encoder.dim)));
      encoded += items.length;
    };
    try {
      for (let at = start; at < end; at += concurrency) {
        const window = rows.slice(at, Math.min(end, at + concurrency));
        const loaded = await Promise.all(
          window.map((row) =>
            loadPicture(row, src, stats).catch((err: unknown) => {
              if (!isPlotPointeError(err) && !(err as { code?: string }).code) throw err;
              return null;
            }),
          ),
        );
        for (const bytes of loaded) {
          if (bytes === null) {
            failed++;
            continue;
          }
          const key = cacheKey(encoder.id, createHash('sha256').update(bytes).digest('hex'));
          if (seen.has(key)) {
            duplicates++;
            continue;
          }
          seen.add(key);
          if (cache.get(key)) {
            hits++;
            continue;
          }
          queue.push({ key, bytes });
          if (queue.length >= batch) {
            await encode(queue);
            queue = [];
            if (cache.pending >= 4096) await cache.flush();
          }
        }
        progress.tick(window.length);
      }
      if (queue.length) await encode(queue);
    } finally {
      progress.stop();
      await cache.flush();
    }
    const seconds = (performance.now() - started) / 1000;
    const header: PartHeader = {
      format: IMAGE_SHARD_FORMAT,
      part: o.part,
      of: o.of,
      rows: rows.length,
      start,
      end,
      encoder_id: encoder.id,
      cache_hits: hits,
      encoded,
      duplicates,
      failed,
      encode_seconds: encodeSeconds,
      seconds,
    };
    await writeFileAtomically(partPath(o.lake, o.part, o.of), JSON.stringify(header, null, 1) + '\n');
    return { step: 'embed-image', part: o.part, of: o.of, rows: rows.length, start, end, cache_hits: hits, encoded, duplicates, failed, seconds, encode_items_per_s: encoded > 0 ? encoded / Math.max(encodeSeconds, 1e-9) : 0 };
  } finally {
    await encoder.dispose();
  }
}

/**
 * The merge: checks that the `of` part headers tile the picture rows of the staged items now, runs `embed image`
 * (every picture a cache hit) and removes the part folder. Returns the `embed image` summary with the shard count
 * and what the shards encoded.
 */
export async function mergeImageShards(o: EmbedImagesOptions & { encoder: string; of: number }): Promise<EmbedImagesSummary & { shards: number; shard_encoded: number; shard_encode_items_per_s: number }> {
  checkOptions(o);
  const rows = (await pictureRows(o)).length;
  const headers: PartHeader[] = [];
  let next = 0;
  for (let i = 0; i < o.of; i++) {
    let h: PartHeader;
    try {
      h = JSON.parse(await readFile(partPath(o.lake, i, o.of), 'utf8')) as PartHeader;
    } catch (err) {
      throw ppError('PP_PIPELINE_STEP_FAILED', `embed-image: shard ${i} of ${o.of} left no part header (${partPath(o.lake, i, o.of)})`, err);
    }
    const why =
      h.format !== IMAGE_SHARD_FORMAT || h.part !== i || h.of !== o.of
        ? `is not part ${i} of ${o.of}`
        : h.rows !== rows
          ? `was cut from ${h.rows} picture rows, the staged items have ${rows}`
          : h.encoder_id !== headers[0]?.encoder_id && i > 0
            ? `used encoder ${h.encoder_id}, part 0 ${headers[0]!.encoder_id}`
            : h.start !== next
              ? `starts at row ${h.start}, expected ${next}`
              : null;
    if (why) throw ppError('PP_PIPELINE_STEP_FAILED', `embed-image: part ${i} of ${o.of} ${why}`);
    headers.push(h);
    next = h.end;
  }
  if (next !== rows) throw ppError('PP_PIPELINE_STEP_FAILED', `embed-image: the parts cover rows [0, ${next}) of ${rows}`);
  const summary = await embedItemsImage(o);
  await rm(imageShardDir(o.lake), { recursive: true, force: true });
  const encoded = headers.reduce((s, h) => s + h.encoded, 0);
  const encodeSeconds = headers.reduce((s, h) => s + h.encode_seconds, 0);
  return { ...summary, shards: o.of, shard_encoded: encoded, shard_encode_items_per_s: encoded > 0 ? encoded / Math.max(encodeSeconds, 1e-9) : 0 };
}
