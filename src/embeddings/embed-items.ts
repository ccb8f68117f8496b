import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ppError } from '../errors.js';
import { openDb, sqlString } from '../lake/duckdb.js';
import { sha256File } from '../lake/hash.js';
import { writeManifest, type Manifest, type ManifestInput } from '../lake/manifest.js';
import { datasetPaths } from '../lake/paths.js';
import { STAGING_FILES } from '../data/validate.js';
import { createProgress, type Progress } from '../cli/progress.js';
import type { TextEncoderModel } from './encoder.js';
import { COMPACT_AFTER_SEGMENTS, EmbeddingCache, cacheKey } from './cache.js';
import { writeEmbeddings, type EmbeddingMeta } from './store.js';
import { itemText, resolveItemTextOptions, type ItemTextOptions, type TextField } from './text/item-text.js';
import { checkTextEncoderSpec, createTextEncoder } from './text/encoders.js';

export interface EmbedTextOptions {
  lake: string;
  /** Dataset name in the lake (staging/<name>). */
  name: string;
  /** An encoder spec (`use-lite`, `st:<folder>`) or a ready encoder (not disposed by this call). */
  encoder?: string | TextEncoderModel;
  fields?: readonly TextField[];
  maxDescriptionChars?: number;
  maxChars?: number;
  /** Inputs per encoder call (default 32). */
  batch?: number;
  /** Use the content-hash cache under `<lake>/cache/embeddings/` (default true). */
  cache?: boolean;
  progress?: (label: string, total: number) => Progress;
}

export interface EmbedTextSummary {
  name: string;
  encoder: string;
  count: number;
  dim: number;
  /** Items with text (real rows) and without (zero rows). */
  present: number;
  missing: number;
  /** Distinct texts answered by the cache / sent to the encoder. */
  cache_hits: number;
  encoded: number;
  seconds: number;
  /** Items embedded per second over the whole run (present / seconds). */
  items_per_s: number;
  /** Texts per second of encoder time alone (0 when everything came from the cache). */
  encode_items_per_s: number;
  paths: { dir: string; data: string; meta: string; mask: string; manifest: string };
}

/** `<lake>/artifacts/<name>/embeddings` */
export function embeddingsDir(lake: string, name: string): string {
  return join(datasetPaths(lake, name).artifacts, 'embeddings');
}

interface ItemRow {
  iid: number;
  title: string | null;
  brand: string | null;
  description: string | null;
  categories: string[] | null;
}

/** Reads the staged items in dense order (item_map.iid), checking that iids are 0..n-1. */
export async function readStagedItems(lake: string, name: string): Promise<{ rows: ItemRow[]; inputs: ManifestInput[] }> {
  const staging = datasetPaths(lake, name).staging;
  const itemsPath = join(staging, STAGING_FILES.items);
  const mapPath = join(staging, STAGING_FILES.itemMap);
  for (const p of [itemsPath, mapPath]) {
    try {
      await stat(p);
    } catch (err) {
      throw ppError('PP_LAKE_NOT_FOUND', `${p} is missing; run plotpointe data ingest first`, err);
    }
  }
  const db = await openDb();
  let rows: ItemRow[];
  try {
    rows = await db.all<ItemRow>(`
      SELECT m.iid, i.title, i.brand, i.description, i.categories
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

/**
 * `plotpointe embed text`: staged items → item texts → encoder (batched, through the content-hash cache) →
 * `<lake>/artifacts/<name>/embeddings/text.{f32,mask,json}` + manifest.json. Row i is dense item iid i;
 * items without any text get a zero row and a 0 in the mask. Identical texts are encoded once, in batches of
 * similar length.
 */
export async function embedItemsText(options: EmbedTextOptions): Promise<EmbedTextSummary> {
  const started = performance.now();
  const batch = options.batch ?? 32;
  if (!Number.isInteger(batch) || batch < 1 || batch > 4096) throw ppError('PP_EMBED_INVALID', `--batch must be an integer in [1, 4096], got ${options.batch}`);
  const textOptions: ItemTextOptions = resolveItemTextOptions({
    fields: options.fields,
    maxDescriptionChars: options.maxDescriptionChars,
    maxChars: options.maxChars,
  });
  if (typeof options.encoder !== 'object') checkTextEncoderSpec(options.encoder ?? 'use-lite');
  const dir = embeddingsDir(options.lake, options.name);
  const { rows, inputs } = await readStagedItems(options.lake, options.name);

  const owned = typeof options.encoder !== 'object';
  const encoder = typeof options.encoder === 'object' ? options.encoder : await createTextEncoder(options.encoder ?? 'use-lite');
  try {
    const dim = encoder.dim;
    const count = rows.length;
    const data = new Float32Array(count * dim);
    const present = new Uint8Array(count);
    // Texts → the rows that carry them (identical texts are encoded once).
    const byKey = new Map<string, { text: string; rows: number[] }>();
    for (let i = 0; i < count; i++) {
      const text = itemText(rows[i], textOptions);
      if (text === null) continue;
      present[i] = 1;
      const key = cacheKey(encoder.id, text);
      const e = byKey.get(key);
      if (e) e.rows.push(i);
      else byKey.set(key, { text, rows: [i] });
    }
    const place = (key: string, vec: Float32Array) => {
      for (const r of byKey.get(key)!.rows) data.set(vec, r * dim);
    };

    const cache = options.cache === false ? null : await EmbeddingCache.open(datasetPaths(options.lake, options.name).lake, encoder.id, dim);
    const todo: string[] = [];
    let hits = 0;
    for (const key of byKey.keys()) {
      const v = cache?.get(key);
      if (v) {
        place(key, v);
        hits++;
      } else todo.push(key);
    }

    // Batches of similar length: transformer encoders pad a batch to its longest input, so sorting by length
    // cut USE-lite time by ~1.5x on demo-catalog texts (375–534 chars). Ties by key keep the order deterministic.
    const len = (k: string) => byKey.get(k)!.text.length;
    todo.sort((a, b) => len(a) - len(b) || (a < b ? -1 : a > b ? 1 : 0));
    const nPresent = present.reduce((s, x) => s + x, 0);
    const progress = (options.progress ?? ((l: string, t: number) => createProgress(l, t, { unit: 'items' })))(`embed text (${encoder.name})`, todo.length);
    let encodeSeconds = 0;
    let done = 0;
    try {
      for (let b = 0; b < todo.length; b += batch) {
        const keys = todo.slice(b, b + batch);
        const t0 = performance.now();
        const out = await encoder.encode(keys.map((k) => byKey.get(k)!.text));
        encodeSeconds += (performance.now() - t0) / 1000;
        if (out.length !== keys.length * dim) throw ppError('PP_INTERNAL', `${encoder.name} returned ${out.length} values for ${keys.length} × ${dim}`);
        for (let j = 0; j < keys.length; j++) {
          const vec = out.subarray(j * dim, (j + 1) * dim);
          place(keys[j], vec);
          cache?.put(keys[j], vec);
        }
        done += keys.length;
        progress.tick(keys.length, { items_s: done / Math.max(encodeSeconds, 1e-9) });
        // Keep finished work if the run is interrupted: a segment every ~4096 vectors.
        if (cache && cache.pending >= 4096) await cache.flush();
      }
    } finally {
      progress.stop();
      await cache?.flush();
    }
    if (cache && cache.segmentsRead > COMPACT_AFTER_SEGMENTS) await cache.compact();

    const seconds = (performance.now() - started) / 1000;
    const summaryRate = nPresent / Math.max(seconds, 1e-9);
    const encodeRate = todo.length > 0 ? todo.length / Math.max(encodeSeconds, 1e-9) : 0;
    const meta: EmbeddingMeta = await writeEmbeddings(dir, 'text', {
      data,
      dim,
      present,
      modality: 'text',
      encoder: encoder.name,
      encoder_id: encoder.id,
      normalised: encoder.normalised,
      seconds,
      items_per_s: summaryRate,
      extra: { text: textOptions, cache_hits: hits, encoded: todo.length, encode_items_per_s: encodeRate, batch },
    });
    await writeEmbeddingsManifest(dir, meta, textOptions, batch, inputs, seconds);
    return {
      name: options.name,
      encoder: encoder.name,
      count,
      dim,
      present: meta.present,
      missing: meta.missing,
      cache_hits: hits,
      encoded: todo.length,
      seconds,
      items_per_s: summaryRate,
      encode_items_per_s: encodeRate,
      paths: {
        dir,
        data: join(dir, 'text.f32'),
        meta: join(dir, 'text.json'),
        mask: join(dir, 'text.mask'),
        manifest: join(dir, 'manifest.json'),
      },
    };
  } finally {
    if (owned) await encoder.dispose();
  }
}

/**
 * The embeddings folder holds one matrix per modality (text now, image and fused later), so its manifest is
 * merged: this run's modality replaces its own entries and keeps the others'.
 */
async function writeEmbeddingsManifest(
  dir: string,
  meta: EmbeddingMeta,
  textOptions: ItemTextOptions,
  batch: number,
  inputs: ManifestInput[],
  seconds: number,
): Promise<Manifest> {
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
      [modality]: { encoder: meta.encoder, encoder_id: meta.encoder_id, ...textOptions, batch },
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
}
