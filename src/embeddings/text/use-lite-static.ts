import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ppError } from '../../errors.js';
import { writeFileAtomically } from '../../lake/atomic.js';
import { l2NormaliseRows, type TextEncoderModel } from '../encoder.js';
import { contentAddress, modelCacheDir } from '../model-cache.js';
import { RESERVED_PIECES, SentencePieceTokenizer, type Vocabulary } from './sentencepiece.js';
import { loadUseLiteModel, useLiteModelFiles, USE_LITE_DIM, USE_LITE_VERSION } from './use-lite.js';

/**
 * `use-lite-static`: a static (Model2Vec-style) encoder distilled from USE lite. Built once per machine: every
 * vocabulary piece p (8,000 SentencePiece pieces) goes alone through USE lite, giving a table T (8000 × 512,
 * ≈ 10 s on one core), cached content-addressed under `modelCacheDir()` (the npm weights' bytes + recipe).
 * A text is then tokenised with USE lite's own tokenizer and encoded without the transformer:
 *
 *   e(text) = normalise( Σ_t w(p_t) · (T[p_t] − μ) ),   w(p) = a / (a + P(p)),  P(p) = exp(score_p)
 *
 * where score_p is the piece's unigram log-probability from the vocabulary (SIF weighting, Arora et al. 2017:
 * frequent pieces such as "▁the" or "s" count little) and μ the P-weighted mean of T (the direction every
 * single-piece output shares). Quality against USE lite and the choice of a / μ: docs/decisions/070.
 * ~0.15 ms per 200-char text (the tokenizer is most of it): thousands of items/s per core.
 */
export const STATIC_RECIPE = 'use-lite-static/1';
/** SIF smoothing `a`. */
export const STATIC_SIF_A = 3e-4;

const MAGIC = 'PPSTAT01';

export interface StaticTableSource {
  /** Folder for the cached raw table (default modelCacheDir()). */
  cacheDir?: string;
}

/** The raw distilled table: USE lite's output for each piece alone (rows 1–5, never produced, are zero). */
export async function distilUseLiteTable(): Promise<{ vocabulary: Vocabulary; table: Float32Array }> {
  const { model, core } = await loadUseLiteModel(true);
  try {
    const vocabulary = model.tokenizer.vocabulary;
    const V = vocabulary.length;
    const table = new Float32Array(V * USE_LITE_DIM);
    const ids = [0];
    for (let i = RESERVED_PIECES; i < V; i++) ids.push(i);
    const BATCH = 1024;
    for (let s = 0; s < ids.length; s += BATCH) {
      const chunk = ids.slice(s, s + BATCH);
      const indices = core.tensor2d(chunk.flatMap((_, r) => [r, 0]), [chunk.length, 2], 'int32');
      const values = core.tensor1d(chunk, 'int32');
      const out = await model.model.executeAsync({ indices, values });
      const data = await out.data();
      indices.dispose();
      values.dispose();
      out.dispose();
      if (data.length !== chunk.length * USE_LITE_DIM) throw ppError('PP_INTERNAL', `use-lite returned ${data.length} values for ${chunk.length} pieces`);
      for (let r = 0; r < chunk.length; r++) table.set(data.subarray(r * USE_LITE_DIM, (r + 1) * USE_LITE_DIM), chunk[r] * USE_LITE_DIM);
    }
    return { vocabulary, table };
  } finally {
    model.model.dispose();
  }
}

/** The raw table from the cache, distilled (and cached) when absent or unreadable. */
export async function loadUseLiteTable(o: StaticTableSource = {}): Promise<{ vocabulary: Vocabulary; table: Float32Array; address: string }> {
  const files = useLiteModelFiles();
  const vocabulary = JSON.parse(await readFile(files[files.length - 1], 'utf8')) as Vocabulary;
  const address = await contentAddress(STATIC_RECIPE, files);
  const dir = o.cacheDir ?? modelCacheDir();
  const path = join(dir, `use-lite-static-${address.slice(0, 24)}.bin`);
  const bytes = await readFile(path).catch(() => null);
  const expected = 16 + vocabulary.length * USE_LITE_DIM * 4;
  if (bytes && bytes.length === expected && bytes.toString('latin1', 0, 8) === MAGIC && bytes.readUInt32LE(8) === vocabulary.length && bytes.readUInt32LE(12) === USE_LITE_DIM) {
    const table = new Float32Array(vocabulary.length * USE_LITE_DIM);
    new Uint8Array(table.buffer).set(bytes.subarray(16));
    return { vocabulary, table, address };
  }
  const { table } = await distilUseLiteTable();
  const header = Buffer.alloc(16);
  header.write(MAGIC, 0, 'latin1');
  header.writeUInt32LE(vocabulary.length, 8);
  header.writeUInt32LE(USE_LITE_DIM, 12);
  await mkdir(dir, { recursive: true });
  await writeFileAtomically(path, Buffer.concat([header, new Uint8Array(table.buffer, table.byteOffset, table.byteLength)]));
  return { vocabulary, table, address };
}

/** T' = w(p) · (T[p] − μ) per row (see the file header); rows 1–5 stay zero. */
export function composeStaticTable(vocabulary: Vocabulary, raw: Float32Array, dim: number, a = STATIC_SIF_A): Float32Array {
  const V = vocabulary.length;
  const p = new Float64Array(V);
  let mass = 0;
  // Scores are unigram log-probabilities; a few pieces of the shipped vocabulary carry null, 0 or 30 instead
  // (':', '://', ':30' …): they get P = 0, i.e. weight 1 and no part in μ.
  for (let i = RESERVED_PIECES; i < V; i++) {
    const score = vocabulary[i][1];
    mass += p[i] = typeof score === 'number' && score < 0 ? Math.exp(score) : 0;
  }
  const mu = new Float64Array(dim);
  for (let i = RESERVED_PIECES; i < V; i++) for (let j = 0; j < dim; j++) mu[j] += (p[i] / mass) * raw[i * dim + j];
  const out = new Float32Array(V * dim);
  for (let i = 0; i < V; i++) {
    if (i > 0 && i < RESERVED_PIECES) continue;
    const w = a / (a + p[i] / mass);
    for (let j = 0; j < dim; j++) out[i * dim + j] = w * (raw[i * dim + j] - mu[j]);
  }
  return out;
}

export class UseLiteStaticEncoder implements TextEncoderModel {
  readonly name = 'use-lite-static';
  readonly modality = 'text' as const;
  readonly dim = USE_LITE_DIM;
  readonly normalised = true;
  readonly id: string;
  private table: Float32Array | null;

  constructor(
    private readonly tokenizer: SentencePieceTokenizer,
    table: Float32Array,
    address: string,
  ) {
    this.table = table;
    this.id = `use-lite-static@${USE_LITE_VERSION}/${STATIC_RECIPE}/sif${STATIC_SIF_A}/${address.slice(0, 12)}`;
  }

  /** Loads (or distils once, ≈ 10 s) the table; PP_EMBED_MODEL_LOAD when USE lite's packages are missing or broken. */
  static async load(o: StaticTableSource = {}): Promise<UseLiteStaticEncoder> {
    const { vocabulary, table, address } = await loadUseLiteTable(o);
    return new UseLiteStaticEncoder(new SentencePieceTokenizer(vocabulary), composeStaticTable(vocabulary, table, USE_LITE_DIM), address);
  }

  /** Token ids of a text (USE lite's tokenizer). */
  tokens(text: string): number[] {
    return this.tokenizer.encode(text);
  }

  async encode(batch: readonly string[]): Promise<Float32Array> {
    const t = this.table;
    if (!t) throw ppError('PP_INTERNAL', 'use-lite-static encoder used after dispose');
    const d = this.dim;
    const out = new Float32Array(batch.length * d);
    for (let r = 0; r < batch.length; r++) {
      const o = r * d;
      // An empty text gets the vector of " . ", as USE lite does (use-lite.ts).
      for (const id of this.tokenizer.encode(batch[r].trim() ? batch[r] : ' . ')) {
        const b = id * d;
        for (let j = 0; j < d; j++) out[o + j] += t[b + j];
      }
    }
    return l2NormaliseRows(out, d);
  }

  async dispose(): Promise<void> {
    this.table = null;
  }
}
