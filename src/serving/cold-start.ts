/**
 * Cold start of a new item (not in the model): encode its content with the encoders the lake's embeddings were
 * made with, find its nearest warm items in each content index, and estimate whom it would reach.
 *
 * Reach (documented approximation, no retraining): with N = the union of the content-nearest warm items
 * (top `neighbours` per modality, cosine s_j > 0; an item found in several modalities keeps the sum of its
 * similarities), the new item's model-space vector is the similarity-weighted mean
 *     v = Σ_{j∈N} s_j e_j / Σ_{j∈N} s_j
 * of their model item embeddings e_j, and the users it would be recommended to are the top users by ⟨u, v⟩
 * (an exact scan over the user embeddings).
 *
 * Fused space: when the bundle carries the fusion MLP (exported by `embed fuse`, see fusion-forward.ts) and the
 * request gives at least one of its modalities, the raw encoder outputs go through the MLP (placeholders for the
 * missing modalities), the result is normalised and queries the fused index like any other modality — its
 * neighbours join N.
 *
 * Encoders are created lazily on the first cold-start request of a spec and kept for the life of the process.
 */
import { ppError } from '../errors.js';
import type { Encoder } from '../embeddings/encoder.js';
import { DEFAULT_ITEM_TEXT, itemText } from '../embeddings/text/item-text.js';
import type { ContentModalityName } from '../index/serving-bundle.js';
import type { ServedModel, SimilarItem } from './served-model.js';
import { fusionForward } from './fusion-forward.js';

export interface ColdStartInput {
  title?: string;
  description?: string;
  brand?: string;
  categories?: string[];
  /** Encoded image bytes (PNG/JPEG), already fetched or decoded from base64. */
  image?: Buffer;
}

export interface ColdStartResult {
  modalities: ContentModalityName[];
  similar: Record<string, SimilarItem[]>;
  users: { user_id: string; score: number; rank: number }[];
  neighbours_used: number;
}

/** Creates an encoder from a spec; the image factory is injected (it lives with the image encoders). */
export type EncoderFactory = (modality: 'text' | 'image', spec: string) => Promise<Encoder<string> | Encoder<Buffer>>;

export const defaultEncoderFactory: EncoderFactory = async (modality, spec) => {
  // Imported on first use: the encoders pull in tfjs / onnxruntime, which the other routes do not need.
  if (modality === 'text') return (await import('../embeddings/text/encoders.js')).createTextEncoder(spec);
  return (await import('../embeddings/image/encoders.js')).createImageEncoder(spec);
};

export class ColdStartEncoders {
  readonly #cache = new Map<string, Promise<Encoder<string> | Encoder<Buffer>>>();
  constructor(private readonly factory: EncoderFactory = defaultEncoderFactory) {}

  get(modality: 'text' | 'image', spec: string): Promise<Encoder<string> | Encoder<Buffer>> {
    const key = `${modality}:${spec}`;
    let p = this.#cache.get(key);
    if (!p) {
      p = this.factory(modality, spec);
      this.#cache.set(key, p);
      p.catch(() => this.#cache.delete(key));
    }
    return p;
  }

  async dispose(): Promise<void> {
    for (const p of this.#cache.values()) await p.then((e) => e.dispose(), () => undefined);
    this.#cache.clear();
  }
}

function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  if (s > 0) {
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < v.length; i++) v[i] *= inv;
  }
  return v;
}

/** Runs a cold start on `model` (see the module comment). */
export async function coldStart(
  model: ServedModel,
  encoders: ColdStartEncoders,
  input: ColdStartInput,
  o: { k: number; usersK: number; neighbours?: number },
): Promise<ColdStartResult> {
  const neighbours = Math.max(o.neighbours ?? 20, o.k);
  const text = itemText({ title: input.title ?? null, brand: input.brand ?? null, description: input.description ?? null, categories: input.categories ?? null }, DEFAULT_ITEM_TEXT);
  if (!text && !input.image) throw ppError('PP_SERVE_BAD_REQUEST', 'body: give at least one of title, description, brand, categories, image_url, image_base64');
  const queries: { modality: ContentModalityName; vector: Float32Array }[] = [];
  const raw: Partial<Record<string, Float32Array>> = {};
  const textIndex = model.bundle.manifest.indexes.text;
  if (text) {
    if (!textIndex) throw ppError('PP_SERVE_COLD_START', 'the bundle has no text index (run plotpointe embed text, then index build)');
    if (!textIndex.encoder_spec) throw ppError('PP_SERVE_COLD_START', `the text index's encoder "${textIndex.encoder}" cannot be recreated (no spec in its meta)`);
    const enc = (await encoders.get('text', textIndex.encoder_spec)) as Encoder<string>;
    raw.text = (await enc.encode([text])).slice(0, enc.dim);
    queries.push({ modality: 'text', vector: normalise(raw.text.slice()) });
  }
  if (input.image) {
    const imageIndex = model.bundle.manifest.indexes.image;
    if (!imageIndex) throw ppError('PP_SERVE_COLD_START', 'the bundle has no image index (run plotpointe embed image, then index build)');
    if (!imageIndex.encoder_spec) throw ppError('PP_SERVE_COLD_START', `the image index's encoder "${imageIndex.encoder}" cannot be recreated (no spec in its meta)`);
    const enc = (await encoders.get('image', imageIndex.encoder_spec)) as Encoder<Buffer>;
    raw.image = (await enc.encode([input.image])).slice(0, enc.dim);
    queries.push({ modality: 'image', vector: normalise(raw.image.slice()) });
  }
  const fusion = model.bundle.fusion;
  if (fusion && model.bundle.indexes.fused && fusion.modalities.some((m) => raw[m.name])) {
    queries.push({ modality: 'fused', vector: normalise(fusionForward(fusion, raw)) });
  }
  const similar: Record<string, SimilarItem[]> = {};
  const weight = new Map<number, number>();
  for (const q of queries) {
    const { iids, sims } = model.nearestByContent(q.modality, q.vector, neighbours);
    similar[q.modality] = Array.from(iids.subarray(0, o.k), (iid, r) => ({ item_id: model.itemId(iid), score: sims[r], rank: r + 1, title: model.itemMeta(iid).title }));
    for (let j = 0; j < iids.length; j++) if (sims[j] > 0) weight.set(iids[j], (weight.get(iids[j]) ?? 0) + sims[j]);
  }
  const d = model.dim;
  const v = new Float32Array(d);
  let total = 0;
  for (const [iid, w] of weight) {
    const e = model.itemVector(iid);
    for (let j = 0; j < d; j++) v[j] += w * e[j];
    total += w;
  }
  if (total > 0) for (let j = 0; j < d; j++) v[j] /= total;
  return { modalities: queries.map((q) => q.modality), similar, users: total > 0 ? model.topUsers(v, o.usersK) : [], neighbours_used: weight.size };
}
