import { ppError } from '../errors.js';
import type { ManifestInput } from '../lake/manifest.js';
import { silentProgressFactory, type ProgressFactory } from '../core/progress.js';
import type { TextEncoderModel } from './encoder.js';
import { cacheKey } from './cache.js';
import { EmbeddingRun, readStagedColumns } from './embed-run.js';
import { itemText, resolveItemTextOptions, type ItemTextOptions, type TextField } from './text/item-text.js';
import { checkTextEncoderSpec, createTextEncoder, DEFAULT_TEXT_ENCODER } from './text/encoders.js';

export interface EmbedTextOptions {
  lake: string;
  /** Dataset name in the lake (staging/<name>). */
  name: string;
  /** An encoder spec (`use-lite-static` (default), `use-lite`, `st:<folder>`) or a ready encoder (not disposed by this call). */
  encoder?: string | TextEncoderModel;
  fields?: readonly TextField[];
  maxDescriptionChars?: number;
  maxChars?: number;
  /** Inputs per encoder call (default 32). */
  batch?: number;
  /** Use the content-hash cache under `<lake>/cache/embeddings/` (default true). */
  cache?: boolean;
  /** Progress display (the CLI passes its bar); default silent. */
  progress?: ProgressFactory;
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

interface ItemRow {
  iid: number;
  title: string | null;
  brand: string | null;
  description: string | null;
  categories: string[] | null;
}

/** Reads the staged items' text columns in dense order (item_map.iid, checked to be 0..n-1). */
export function readStagedItems(lake: string, name: string): Promise<{ rows: ItemRow[]; inputs: ManifestInput[] }> {
  return readStagedColumns<ItemRow>(lake, name, ['title', 'brand', 'description', 'categories']);
}

/**
 * `plotpointe embed text`: staged items → item texts → encoder (batched, through the content-hash cache) →
 * `<lake>/artifacts/<name>/embeddings/text.{f32,mask,json}` + manifest.json. Row i is dense item iid i;
 * items without any text get a zero row and a 0 in the mask. Identical texts are encoded once, in batches of
 * similar length.
 */
export async function embedItemsText(options: EmbedTextOptions): Promise<EmbedTextSummary> {
  const startedAt = performance.now();
  const batch = options.batch ?? 32;
  if (!Number.isInteger(batch) || batch < 1 || batch > 4096) throw ppError('PP_EMBED_INVALID', `--batch must be an integer in [1, 4096], got ${options.batch}`);
  const textOptions: ItemTextOptions = resolveItemTextOptions({
    fields: options.fields,
    maxDescriptionChars: options.maxDescriptionChars,
    maxChars: options.maxChars,
  });
  if (typeof options.encoder !== 'object') checkTextEncoderSpec(options.encoder ?? DEFAULT_TEXT_ENCODER);
  const { rows, inputs } = await readStagedItems(options.lake, options.name);

  const owned = typeof options.encoder !== 'object';
  const encoder = typeof options.encoder === 'object' ? options.encoder : await createTextEncoder(options.encoder ?? DEFAULT_TEXT_ENCODER);
  try {
    // Texts → the rows that carry them (identical texts are encoded once).
    const byKey = new Map<string, { text: string; rows: number[] }>();
    for (let i = 0; i < rows.length; i++) {
      const text = itemText(rows[i], textOptions);
      if (text === null) continue;
      const key = cacheKey(encoder.id, text);
      const e = byKey.get(key);
      if (e) e.rows.push(i);
      else byKey.set(key, { text, rows: [i] });
    }
    const nWithText = [...byKey.values()].reduce((s, e) => s + e.rows.length, 0);
    const progress = (options.progress ?? silentProgressFactory)(`embed text (${encoder.name})`, nWithText, { unit: 'items' });
    const run = await EmbeddingRun.open({ lake: options.lake, name: options.name, modality: 'text', encoder, count: rows.length, batch, cache: options.cache, progress, startedAt });
    // Batches of similar length: transformer encoders pad a batch to its longest input, so sorting by length
    // cut USE-lite time by ~1.5x on demo-catalog texts (375–534 chars). Ties by key keep the order deterministic.
    const keys = [...byKey.keys()].sort((a, b) => byKey.get(a)!.text.length - byKey.get(b)!.text.length || (a < b ? -1 : a > b ? 1 : 0));
    for (const key of keys) await run.add(key, byKey.get(key)!.text, byKey.get(key)!.rows);
    const done = await run.finish({ config: { ...textOptions }, inputs, extra: { text: textOptions } });
    return {
      name: options.name,
      encoder: encoder.name,
      count: rows.length,
      dim: encoder.dim,
      present: done.meta.present,
      missing: done.meta.missing,
      cache_hits: run.cacheHits,
      encoded: run.encoded,
      seconds: done.seconds,
      items_per_s: done.itemsPerSecond,
      encode_items_per_s: run.encodeRate,
      paths: done.paths,
    };
  } finally {
    if (owned) await encoder.dispose();
  }
}
