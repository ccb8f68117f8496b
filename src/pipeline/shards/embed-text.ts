import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ppError } from '../../errors.js';
import { writeFileAtomically } from '../../lake/atomic.js';
import { silentProgressFactory, type ProgressFactory } from '../../core/progress.js';
import { EmbeddingCache, cacheKey } from '../../embeddings/cache.js';
import { readStagedItems, type EmbedTextSummary } from '../../embeddings/embed-items.js';
import { writeEmbeddingOutputs } from '../../embeddings/embed-run.js';
import { checkTextEncoderSpec, createTextEncoder } from '../../embeddings/text/encoders.js';
import { itemText, resolveItemTextOptions, type ItemTextOptions, type TextField } from '../../embeddings/text/item-text.js';
import { lakePaths } from '../../lake/paths.js';

/**
 * The sharded form of the embed-text step (`plotpointe pipeline shard embed-text` / `pipeline merge
 * embed-text`), for the distributed executor.
 *
 * `embed text` maps the staged items to texts, keys each distinct text (sha256 of encoder id + text), sorts the
 * keys by text length (ties by key) and encodes them in batches of `batch`. An encoder's vector of a text may
 * depend on its batch in the last bits (measured with USE-lite on the demo catalog: 3 of 50 texts encoded alone
 * differ from the same texts in batches of 8), so shards split that same batch sequence, not the item rows, and
 * every text is encoded in the batch it has in the unsharded run: with K keys and B = ⌈K / batch⌉
 * batches, shard i of n encodes batches [⌊iB/n⌋, ⌊(i+1)B/n⌋), i.e. keys [batch·⌊iB/n⌋, min(K, batch·⌊(i+1)B/n⌋)),
 * and writes them to its part file. The merge places every key's vector on the rows that carry its text and
 * writes `text.{f32,mask,json}` and the manifest exactly as `embed text` does: from the same embedding cache
 * state (e.g. a cold one) the files are byte-identical, the meta apart from its timing and cache counters.
 *
 * Part files, under `<lake>/pipeline/shards/embed-text/` (the folder is removed by the merge):
 *   part-<i>-of-<n>.f32   (end − start) × dim float32 LE, the vectors of keys [start, end)
 *   part-<i>-of-<n>.json  PartHeader, written last
 */
export const TEXT_SHARD_FORMAT = 'plotpointe-embed-text-part/1';

export interface TextShardOptions {
  lake: string;
  name: string;
  encoder: string;
  fields?: readonly TextField[];
  maxDescriptionChars?: number;
  maxChars?: number;
  /** Texts per encoder call (default 32, as `embed text`). */
  batch?: number;
  /** Read and fill the content-hash cache (default true). */
  cache?: boolean;
  /** Progress display (the CLI passes its bar); default silent. */
  progress?: ProgressFactory;
}

interface PartHeader {
  format: typeof TEXT_SHARD_FORMAT;
  part: number;
  of: number;
  /** sha256 over the sorted key list (the plan every part must share). */
  plan_sha256: string;
  keys: number;
  batch: number;
  /** Key range of this part in the sorted list. */
  start: number;
  end: number;
  encoder: { name: string; id: string; dim: number; normalised: boolean };
  cache_hits: number;
  encoded: number;
  encode_seconds: number;
  seconds: number;
}

/** What a shard reports (its JSON result). */
export interface TextShardSummary {
  step: 'embed-text';
  part: number;
  of: number;
  keys: number;
  start: number;
  end: number;
  batches: number;
  cache_hits: number;
  encoded: number;
  seconds: number;
  path: string;
}

export const textShardDir = (lake: string) => lakePaths(lake).pipeline.shards('embed-text');
const partBase = (lake: string, part: number, of: number) => join(textShardDir(lake), `part-${part}-of-${of}`);

/** The key plan of `embed text`: distinct texts keyed and sorted as it sorts them, with the rows of each. */
async function planOf(o: TextShardOptions, encoderId: string) {
  const batch = o.batch ?? 32;
  if (!Number.isInteger(batch) || batch < 1 || batch > 4096) throw ppError('PP_EMBED_INVALID', `--batch must be an integer in [1, 4096], got ${o.batch}`);
  const textOptions: ItemTextOptions = resolveItemTextOptions({ fields: o.fields, maxDescriptionChars: o.maxDescriptionChars, maxChars: o.maxChars });
  const { rows, inputs } = await readStagedItems(o.lake, o.name);
  const byKey = new Map<string, { text: string; rows: number[] }>();
  for (let i = 0; i < rows.length; i++) {
    const text = itemText(rows[i], textOptions);
    if (text === null) continue;
    const key = cacheKey(encoderId, text);
    const e = byKey.get(key);
    if (e) e.rows.push(i);
    else byKey.set(key, { text, rows: [i] });
  }
  // The order of embedItemsText: by text length, ties by key.
  const keys = [...byKey.keys()].sort((a, b) => byKey.get(a)!.text.length - byKey.get(b)!.text.length || (a < b ? -1 : a > b ? 1 : 0));
  const planSha = createHash('sha256').update(keys.join('\n')).digest('hex');
  return { batch, textOptions, rows, inputs, byKey, keys, planSha };
}

/** Key range [start, end) of part `part` of `of` over `keys` keys in batches of `batch` (see the module comment). */
export function shardKeyRange(keys: number, batch: number, part: number, of: number): { start: number; end: number } {
  if (!Number.isInteger(of) || of < 1) throw ppError('PP_USAGE', `--of must be a positive integer, got ${of}`);
  if (!Number.isInteger(part) || part < 0 || part >= of) throw ppError('PP_USAGE', `--part must be an integer in [0, ${of - 1}], got ${part}`);
  const batches = Math.ceil(keys / batch);
  const b0 = Math.floor((part * batches) / of);
  const b1 = Math.floor(((part + 1) * batches) / of);
  return { start: Math.min(keys, b0 * batch), end: Math.min(keys, b1 * batch) };
}

/**
 * Shard `part` of `of`: encodes its keys like `EmbeddingRun` does (cache hits placed, misses queued and encoded
 * every `batch`), flushes the cache and writes its part file.
 */
export async function runTextShard(o: TextShardOptions & { part: number; of: number }): Promise<TextShardSummary> {
  const started = performance.now();
  const spec = o.encoder;
  checkTextEncoderSpec(spec);
  const encoder = await createTextEncoder(spec);
  try {
    const plan = await planOf(o, encoder.id);
    const { start, end } = shardKeyRange(plan.keys.length, plan.batch, o.part, o.of);
    const dim = encoder.dim;
    const out = new Float32Array((end - start) * dim);
    const cache = o.cache === false ? null : await EmbeddingCache.open(o.lake, encoder.id, dim);
    const progress = (o.progress ?? silentProgressFactory)(`embed text shard ${o.part + 1}/${o.of} (${encoder.name})`, end - start, { unit: 'texts' });
    let hits = 0;
    let encoded = 0;
    let encodeSeconds = 0;
    let queue: number[] = [];
    const encodeQueue = async () => {
      const t0 = performance.now();
      const vecs = await encoder.encode(queue.map((j) => plan.byKey.get(plan.keys[j])!.text));
      encodeSeconds += (performance.now() - t0) / 1000;
      if (vecs.length !== queue.length * dim) throw ppError('PP_INTERNAL', `${encoder.name} returned ${vecs.length} values for ${queue.length} × ${dim}`);
      queue.forEach((j, q) => {
        const v = vecs.subarray(q * dim, (q + 1) * dim);
        out.set(v, (j - start) * dim);
        cache?.put(plan.keys[j], v);
      });
      encoded += queue.length;
      progress.tick(queue.length);
      queue = [];
    };
    try {
      for (let j = start; j < end; j++) {
        const hit = cache?.get(plan.keys[j]);
        if (hit) {
          hits++;
          out.set(hit, (j - start) * dim);
          progress.tick(1);
          continue;
        }
        queue.push(j);
        if (queue.length >= plan.batch) await encodeQueue();
      }
      if (queue.length) await encodeQueue();
    } finally {
      progress.stop();
      await cache?.flush();
    }
    const base = partBase(o.lake, o.part, o.of);
    await writeFileAtomically(`${base}.f32`, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    const seconds = (performance.now() - started) / 1000;
    const header: PartHeader = {
      format: TEXT_SHARD_FORMAT,
      part: o.part,
      of: o.of,
      plan_sha256: plan.planSha,
      keys: plan.keys.length,
      batch: plan.batch,
      start,
      end,
      encoder: { name: encoder.name, id: encoder.id, dim, normalised: encoder.normalised },
      cache_hits: hits,
      encoded,
      encode_seconds: encodeSeconds,
      seconds,
    };
    await writeFileAtomically(`${base}.json`, JSON.stringify(header, null, 1) + '\n');
    return { step: 'embed-text', part: o.part, of: o.of, keys: plan.keys.length, start, end, batches: Math.ceil((end - start) / plan.batch), cache_hits: hits, encoded, seconds, path: `${base}.f32` };
  } finally {
    await encoder.dispose();
  }
}

async function readPart(lake: string, part: number, of: number): Promise<{ header: PartHeader; data: Float32Array }> {
  const base = partBase(lake, part, of);
  let header: PartHeader;
  try {
    header = JSON.parse(await readFile(`${base}.json`, 'utf8')) as PartHeader;
  } catch (err) {
    throw ppError('PP_PIPELINE_STEP_FAILED', `embed-text: shard ${part} of ${of} left no part file (${base}.json)`, err);
  }
  if (header.format !== TEXT_SHARD_FORMAT || header.part !== part || header.of !== of) throw ppError('PP_PIPELINE_STEP_FAILED', `${base}.json is not part ${part} of ${of}`);
  const buf = await readFile(`${base}.f32`);
  const want = (header.end - header.start) * header.encoder.dim * 4;
  if (buf.length !== want) throw ppError('PP_PIPELINE_STEP_FAILED', `${base}.f32 has ${buf.length} bytes, its header says ${want}`);
  // Copy into an aligned buffer (a Buffer from readFile may sit at an unaligned offset).
  const data = new Float32Array(buf.length / 4);
  new Uint8Array(data.buffer).set(buf);
  return { header, data };
}

/**
 * The merge: checks that the `of` parts share the plan of the staged items now and tile its key range, places
 * each key's vector on its rows, writes `text.{f32,mask,json}` and the embeddings manifest as `embed text`
 * does (same meta fields, same order) and removes the part folder. Returns the `embed text` summary (with the
 * shard count).
 */
export async function mergeTextShards(o: TextShardOptions & { of: number }): Promise<EmbedTextSummary & { shards: number }> {
  const started = performance.now();
  checkTextEncoderSpec(o.encoder);
  const parts = [];
  for (let i = 0; i < o.of; i++) parts.push(await readPart(o.lake, i, o.of));
  const enc = parts[0]!.header.encoder;
  const plan = await planOf(o, enc.id);
  let next = 0;
  for (const { header: h } of parts) {
    const why =
      h.plan_sha256 !== plan.planSha || h.keys !== plan.keys.length
        ? 'was cut from other staged items or text options'
        : h.batch !== plan.batch
          ? `used batch ${h.batch}, the merge ${plan.batch}`
          : h.encoder.id !== enc.id
            ? `used encoder ${h.encoder.id}, part 0 ${enc.id}`
            : h.start !== next
              ? `starts at key ${h.start}, expected ${next}`
              : null;
    if (why) throw ppError('PP_PIPELINE_STEP_FAILED', `embed-text: part ${h.part} of ${o.of} ${why}`);
    next = h.end;
  }
  if (next !== plan.keys.length) throw ppError('PP_PIPELINE_STEP_FAILED', `embed-text: the parts cover keys [0, ${next}) of ${plan.keys.length}`);

  const dim = enc.dim;
  const count = plan.rows.length;
  const data = new Float32Array(count * dim);
  const present = new Uint8Array(count);
  for (const { header: h, data: part } of parts) {
    for (let j = h.start; j < h.end; j++) {
      const vec = part.subarray((j - h.start) * dim, (j - h.start + 1) * dim);
      for (const r of plan.byKey.get(plan.keys[j])!.rows) {
        data.set(vec, r * dim);
        present[r] = 1;
      }
    }
  }
  const cacheHits = parts.reduce((s, p) => s + p.header.cache_hits, 0);
  const encoded = parts.reduce((s, p) => s + p.header.encoded, 0);
  const encodeSeconds = parts.reduce((s, p) => s + p.header.encode_seconds, 0);
  const encodeRate = encoded > 0 ? encoded / Math.max(encodeSeconds, 1e-9) : 0;
  // Wall time of the sharded step: its slowest shard, then the merge.
  const seconds = Math.max(...parts.map((p) => p.header.seconds)) + (performance.now() - started) / 1000;
  // The files EmbeddingRun.finish writes, through the same function.
  const { meta, dir, itemsPerSecond } = await writeEmbeddingOutputs({
    lake: o.lake,
    name: o.name,
    modality: 'text',
    encoder: enc,
    data,
    dim,
    present,
    seconds,
    batch: plan.batch,
    extra: { text: plan.textOptions },
    counts: { cacheHits, encoded, encodeRate, failed: 0, failureCounts: {} },
    config: { ...plan.textOptions },
    inputs: plan.inputs,
  });
  // Parts of this merge and any left by an interrupted run with another shard count (one runner per lake).
  await rm(textShardDir(o.lake), { recursive: true, force: true });
  return {
    name: o.name,
    encoder: enc.name,
    count,
    dim,
    present: meta.present,
    missing: meta.missing,
    cache_hits: cacheHits,
    encoded,
    seconds,
    items_per_s: itemsPerSecond,
    encode_items_per_s: encodeRate,
    paths: { dir, data: join(dir, 'text.f32'), meta: join(dir, 'text.json'), mask: join(dir, 'text.mask'), manifest: join(dir, 'manifest.json') },
    shards: o.of,
  };
}
