import { readFile, stat } from 'node:fs/promises';
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { ppError } from '../errors.js';
import { writeFileAtomically } from '../lake/atomic.js';
import { sha256Bytes } from '../lake/hash.js';
import { readWholeFile } from '../lake/read-whole.js';
import { assertName } from '../lake/paths.js';

/**
 * The embedding store. One matrix is three files in a folder:
 *   <name>.f32   row-major little-endian float32, `count × dim`, row i = dense item iid i
 *   <name>.mask  the `present` bitmap, one bit per row (bit i%8 of byte i>>3, LSB first); absent rows are zero
 *   <name>.json  the meta (EmbeddingMeta), written last: a folder without it holds no finished matrix
 */
export const EMBEDDINGS_FORMAT = 'plotpointe-embeddings/1';

export interface EmbeddingMeta {
  format: typeof EMBEDDINGS_FORMAT;
  name: string;
  modality: 'text' | 'image' | 'fused';
  /** Encoder display name and stable id (see Encoder). */
  encoder: string;
  encoder_id: string;
  dim: number;
  normalised: boolean;
  dtype: 'float32';
  byte_order: 'little-endian';
  /** Rows (= items in the dense id map). */
  count: number;
  /** Rows with a real vector; the others are zero rows, marked 0 in the mask. */
  present: number;
  missing: number;
  /** sha256 of the .f32 file. */
  sha256: string;
  created_at: string;
  seconds: number;
  items_per_s: number;
  [extra: string]: unknown;
}

export interface Embeddings {
  data: Float32Array;
  dim: number;
  count: number;
  /** One byte per row: 1 = a real vector, 0 = missing (a zero row). */
  present: Uint8Array;
  meta: EmbeddingMeta;
}

export interface WriteEmbeddingsInput {
  data: Float32Array;
  dim: number;
  /** One byte per row (non-zero = present); all present when omitted. */
  present?: Uint8Array;
  modality: 'text' | 'image' | 'fused';
  encoder: string;
  encoder_id: string;
  normalised: boolean;
  seconds: number;
  items_per_s: number;
  /** Extra meta fields (e.g. text options, cache hits). */
  extra?: Record<string, unknown>;
}

export function embeddingFiles(dir: string, name: string): { f32: string; mask: string; json: string } {
  assertName('embedding', name);
  return { f32: join(dir, `${name}.f32`), mask: join(dir, `${name}.mask`), json: join(dir, `${name}.json`) };
}

/** Packs one byte per row into a bitmap. */
export function packMask(present: Uint8Array): Uint8Array {
  const bits = new Uint8Array(Math.ceil(present.length / 8));
  for (let i = 0; i < present.length; i++) if (present[i]) bits[i >> 3] |= 1 << (i & 7);
  return bits;
}

/** Unpacks a bitmap into one byte (0/1) per row. */
export function unpackMask(bits: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = (bits[i >> 3] >> (i & 7)) & 1;
  return out;
}

function bytesOf(a: Float32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Writes `<dir>/<name>.f32`, `.mask` and `.json`, each through a temporary file and a rename, the meta last.
 * Missing rows must already be zero in `data` (checked).
 */
export async function writeEmbeddings(dir: string, name: string, input: WriteEmbeddingsInput): Promise<EmbeddingMeta> {
  const { data, dim } = input;
  if (!Number.isInteger(dim) || dim <= 0 || data.length % dim !== 0) {
    throw ppError('PP_EMBED_STORE', `data of length ${data.length} is not a whole number of rows of dim ${dim}`);
  }
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw ppError('PP_EMBED_STORE', 'big-endian hosts are not supported');
  const count = data.length / dim;
  const present = input.present ?? new Uint8Array(count).fill(1);
  if (present.length !== count) throw ppError('PP_EMBED_STORE', `present has ${present.length} rows, data has ${count}`);
  let nPresent = 0;
  for (let i = 0; i < count; i++) {
    if (present[i]) {
      nPresent++;
      continue;
    }
    for (let j = 0; j < dim; j++) {
      if (data[i * dim + j] !== 0) throw ppError('PP_EMBED_STORE', `row ${i} is marked missing but is not zero`);
    }
  }
  const files = embeddingFiles(dir, name);
  const bytes = bytesOf(data);
  await writeFileAtomically(files.f32, bytes);
  await writeFileAtomically(files.mask, packMask(present));
  const meta: EmbeddingMeta = {
    format: EMBEDDINGS_FORMAT,
    name,
    modality: input.modality,
    encoder: input.encoder,
    encoder_id: input.encoder_id,
    dim,
    normalised: input.normalised,
    dtype: 'float32',
    byte_order: 'little-endian',
    count,
    present: nPresent,
    missing: count - nPresent,
    sha256: sha256Bytes(bytes),
    created_at: new Date().toISOString(),
    seconds: input.seconds,
    items_per_s: input.items_per_s,
    mask_file: `${name}.mask`,
    data_file: `${name}.f32`,
    ...input.extra,
  };
  await writeFileAtomically(files.json, JSON.stringify(meta, null, 2) + '\n');
  return meta;
}

/** Reads the meta only. */
export async function readEmbeddingMeta(dir: string, name: string): Promise<EmbeddingMeta> {
  const files = embeddingFiles(dir, name);
  let meta: EmbeddingMeta;
  try {
    meta = JSON.parse(await readFile(files.json, 'utf8')) as EmbeddingMeta;
  } catch (err) {
    throw ppError('PP_EMBED_STORE', `cannot read ${files.json}`, err);
  }
  if (meta.format !== EMBEDDINGS_FORMAT || !Number.isInteger(meta.dim) || !Number.isInteger(meta.count)) {
    throw ppError('PP_EMBED_STORE', `${files.json} is not a ${EMBEDDINGS_FORMAT} meta file`);
  }
  return meta;
}

/** Checks that the .f32 file holds the meta's count × dim float32 (PP_EMBED_STORE when missing or of another size). */
async function checkMatrixSize(files: ReturnType<typeof embeddingFiles>, meta: EmbeddingMeta): Promise<void> {
  const expected = meta.count * meta.dim * 4;
  let size: number;
  try {
    size = (await stat(files.f32)).size;
  } catch (err) {
    throw ppError('PP_EMBED_STORE', `missing ${files.f32}`, err);
  }
  if (size !== expected) throw ppError('PP_EMBED_STORE', `${files.f32} has ${size} bytes, the meta says ${meta.count} × ${meta.dim} float32 (${expected})`);
}

/** The packed present mask, checked against the meta's count. */
async function readMaskBits(files: ReturnType<typeof embeddingFiles>, meta: EmbeddingMeta): Promise<Uint8Array> {
  let bits: Uint8Array;
  try {
    bits = await readFile(files.mask);
  } catch (err) {
    throw ppError('PP_EMBED_STORE', `missing ${files.mask}`, err);
  }
  if (bits.length !== Math.ceil(meta.count / 8)) throw ppError('PP_EMBED_STORE', `${files.mask} has ${bits.length} bytes for ${meta.count} rows`);
  return bits;
}

/**
 * Loads `<dir>/<name>`: the matrix, its present mask (one byte per row) and the meta. The file sizes are
 * checked against the meta; `verify` also checks the sha256.
 */
export async function loadEmbeddings(dir: string, name: string, options: { verify?: boolean } = {}): Promise<Embeddings> {
  const meta = await readEmbeddingMeta(dir, name);
  const files = embeddingFiles(dir, name);
  const expected = meta.count * meta.dim * 4;
  await checkMatrixSize(files, meta);
  const buf = await readWholeFile(files.f32); // any size (the reference image matrix is 2.55 GB), aligned
  if (buf.byteLength !== expected) throw ppError('PP_EMBED_STORE', `${files.f32} changed while it was read`);
  if (options.verify && sha256Bytes(buf) !== meta.sha256) {
    throw ppError('PP_EMBED_STORE', `${files.f32} does not match the sha256 in its meta`);
  }
  const data = new Float32Array(buf.buffer, 0, meta.count * meta.dim);
  const bits = await readMaskBits(files, meta);
  return { data, dim: meta.dim, count: meta.count, present: unpackMask(bits, meta.count), meta };
}

/** How {@link readEmbeddingRows} groups rows into reads (defaults: gaps ≤ 16 KiB read through, spans ≤ 4 MiB). */
export interface RowReadOptions {
  /** wanted rows whose gap is at most this many bytes are read in one span (the gap is read and dropped) */
  gapBytes?: number;
  /** largest span read at once */
  spanBytes?: number;
}

/**
 * Reads only some rows of `<dir>/<name>`: out row r = stored row `rows[r]`, by positioned reads of the .f32 file
 * (the wanted rows sorted, neighbours closer than `gapBytes` read in one span of at most `spanBytes`), so a few
 * rows of a large matrix cost their bytes, not the matrix's. A row `rows[r]` < 0, ≥ count or absent in the mask
 * gives a zero row marked absent (present[r] = 0). Equals gathering the rows of {@link loadEmbeddings}'s matrix;
 * the file size is checked against the meta the same way. The result's `count` is `rows.length`.
 */
export async function readEmbeddingRows(dir: string, name: string, rows: Int32Array, opts: RowReadOptions = {}): Promise<Embeddings> {
  const meta = await readEmbeddingMeta(dir, name);
  const files = embeddingFiles(dir, name);
  const dim = meta.dim;
  const rowBytes = dim * 4;
  await checkMatrixSize(files, meta);
  const bits = await readMaskBits(files, meta);
  const n = rows.length;
  const data = new Float32Array(n * dim);
  const present = new Uint8Array(n);
  // output rows to fill, ordered by their stored row
  const order: number[] = [];
  for (let r = 0; r < n; r++) {
    const t = rows[r];
    if (t >= 0 && t < meta.count && (bits[t >> 3] >> (t & 7)) & 1) order.push(r);
  }
  order.sort((a, b) => rows[a] - rows[b] || a - b);
  const gapRows = Math.max(0, Math.floor((opts.gapBytes ?? 16 << 10) / rowBytes));
  const spanRows = Math.max(1, Math.floor((opts.spanBytes ?? 4 << 20) / rowBytes));
  const out = new Uint8Array(data.buffer);
  const buf = Buffer.allocUnsafe(Math.min(spanRows, Math.max(1, meta.count)) * rowBytes);
  const fd = openSync(files.f32, 'r');
  try {
    let k = 0;
    while (k < order.length) {
      const first = rows[order[k]];
      let last = first;
      let end = k + 1;
      while (end < order.length) {
        const t = rows[order[end]];
        if (t - last - 1 > gapRows || t - first + 1 > spanRows) break;
        last = t;
        end++;
      }
      const want = (last - first + 1) * rowBytes;
      let got = 0;
      while (got < want) {
        const b = readSync(fd, buf, got, want - got, first * rowBytes + got);
        if (b === 0) throw ppError('PP_EMBED_STORE', `${files.f32} ended early (row ${first + Math.floor(got / rowBytes)})`);
        got += b;
      }
      for (; k < end; k++) {
        const r = order[k];
        const at = (rows[r] - first) * rowBytes;
        out.set(buf.subarray(at, at + rowBytes), r * rowBytes);
        present[r] = 1;
      }
    }
  } finally {
    closeSync(fd);
  }
  return { data, dim, count: n, present, meta };
}
