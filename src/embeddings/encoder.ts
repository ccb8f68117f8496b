/**
 * The encoder interface shared by the text and image encoders: a batch of inputs in, one row-major float32
 * matrix (batch × dim) out. Encoders are created by a factory (`createTextEncoder`) and must be disposed.
 */
export interface Encoder<In> {
  /** Short display name, e.g. "use-lite" or "st:all-MiniLM-L6-v2". */
  readonly name: string;
  /**
   * Stable identity of the weights and the preprocessing (name + version or content hash). Cache keys are
   * sha256(id + input), so two encoders with the same id must map the same input to the same vector.
   */
  readonly id: string;
  readonly modality: 'text' | 'image';
  /** Output width. */
  readonly dim: number;
  /** True when every output row has unit L2 norm (cosine similarity = dot product). */
  readonly normalised: boolean;
  /** Encodes `batch` (non-empty) into a `batch.length × dim` row-major Float32Array. */
  encode(batch: readonly In[]): Promise<Float32Array>;
  /** Frees the model (tensors, sessions). The encoder cannot be used afterwards. */
  dispose(): Promise<void>;
}

/** A text encoder: strings in. */
export type TextEncoderModel = Encoder<string>;

/** Scales each row of a row-major `rows × dim` matrix to unit L2 norm in place (zero rows stay zero). */
export function l2NormaliseRows(data: Float32Array, dim: number): Float32Array {
  const rows = data.length / dim;
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let s = 0;
    for (let j = 0; j < dim; j++) s += data[o + j] * data[o + j];
    if (s > 0) {
      const inv = 1 / Math.sqrt(s);
      for (let j = 0; j < dim; j++) data[o + j] *= inv;
    }
  }
  return data;
}

/** Cosine similarity of two vectors of the same length. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na > 0 && nb > 0 ? d / Math.sqrt(na * nb) : 0;
}
