import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { ppError } from '../../errors.js';
import { sha256File } from '../../lake/hash.js';
import { l2NormaliseRows, type Encoder } from '../encoder.js';
import { OnnxImagePool } from './onnx-pool.js';
import { preprocessFingerprint, validatePreprocess, type ImagePreprocessSpec } from './preprocess.js';

/**
 * An ONNX vision encoder over onnxruntime-node (CPU): any image model whose input is one float32 image batch
 * ([N,3,H,W] for layout nchw, [N,H,W,3] for nhwc) and whose chosen output is [N, D] (pooled features, a CLIP
 * image embedding, logits) or [N, D, 1, 1]. Inputs are encoded image bytes, preprocessed by the declared
 * `ImagePreprocessSpec` (sharp decode → geometry → (p/255 − mean)/std → layout).
 *
 * - Input name: `input` option, else the model's only input. Output: `output` option, else `features` when the
 *   model has it, else its first output. D is read from the output's declared shape; when that is symbolic,
 *   from one probe run on a zero image.
 * - Threads: an OnnxImagePool of `threads` threads (default 2, the machine's cores), each with its own
 *   single-threaded session doing decode + network for jobs of ≤ `chunk` (8) images; an `encode` batch is
 *   spread over them, so pass batches of a few dozen pictures.
 * - `normalise` (default true): rows scaled to unit L2 norm, so cosine = dot product.
 * - Id: `onnx:<file name>#<sha256 of the file, 16 hex>/<output>/<preprocess fingerprint>[/l2]` — a changed model,
 *   output or preprocessing never reuses cached vectors. Models built in memory (`fromBytes`) give their id base.
 *
 * Throughput: docs/decisions/120-image-encoder-speed.md (`npm run bench:embed`).
 */
export interface OnnxImageEncoderOptions {
  preprocess: ImagePreprocessSpec;
  /** Input tensor name (default: the model's only input). */
  input?: string;
  /** Output tensor name (default: `features` when present, else the first output). */
  output?: string;
  /** L2-normalise each output row (default true). */
  normalise?: boolean;
  /** Encoding threads, each with a single-threaded session (default 2). */
  threads?: number;
  /** Largest number of images per session run (default 8). */
  chunk?: number;
}

const require = createRequire(import.meta.url);

export class OnnxImageEncoder implements Encoder<Uint8Array> {
  readonly modality = 'image' as const;
  private pool: OnnxImagePool | null;

  private constructor(
    readonly name: string,
    readonly id: string,
    readonly dim: number,
    readonly normalised: boolean,
    readonly preprocess: ImagePreprocessSpec,
    readonly inputName: string,
    readonly outputName: string,
    pool: OnnxImagePool,
  ) {
    this.pool = pool;
  }

  /** Loads the model file; PP_EMBED_MODEL_LOAD when it is missing, not ONNX, or has no such input/output. */
  static async load(path: string, options: OnnxImageEncoderOptions): Promise<OnnxImageEncoder> {
    const file = resolve(path);
    const fail = (what: string, cause?: unknown) => ppError('PP_EMBED_MODEL_LOAD', `onnx image model ${file}: ${what}`, cause);
    try {
      if (!(await stat(file)).isFile()) throw fail('not a file');
    } catch (err) {
      throw (err as { code?: string }).code === 'PP_EMBED_MODEL_LOAD' ? err : fail('not found', err);
    }
    const digest = (await sha256File(file)).slice(0, 16);
    return OnnxImageEncoder.open(file, { label: `onnx image model ${file}`, name: `onnx:${basename(file)}`, idBase: `onnx:${basename(file)}#${digest}` }, options);
  }

  /**
   * An encoder over a model held in memory (e.g. built at run time). `name` is the encoder's name (a
   * non-default output is appended as `#<output>`), `idBase` the model part of its id (must change with the bytes).
   */
  static fromBytes(bytes: Uint8Array, meta: { name: string; idBase: string }, options: OnnxImageEncoderOptions): Promise<OnnxImageEncoder> {
    return OnnxImageEncoder.open(bytes, { ...meta, label: `image model ${meta.name}` }, options);
  }

  private static async open(model: string | Uint8Array, meta: { label: string; name: string; idBase: string }, options: OnnxImageEncoderOptions): Promise<OnnxImageEncoder> {
    const preprocess = validatePreprocess(options.preprocess);
    const fail = (what: string, cause?: unknown) => ppError('PP_EMBED_MODEL_LOAD', `${meta.label}: ${what}`, cause);
    try {
      require.resolve('onnxruntime-node');
    } catch (err) {
      throw fail('onnxruntime-node is not installed', err);
    }
    let pool: OnnxImagePool;
    try {
      pool = await OnnxImagePool.open({ model, workers: options.threads ?? 2, chunk: options.chunk, preprocess });
    } catch (err) {
      throw fail(`cannot create a session (${err instanceof Error ? err.message : String(err)})`, err);
    }
    try {
      const { inputNames, outputNames, outputShapes } = pool.info;
      const inputName = options.input ?? (inputNames.length === 1 ? inputNames[0]! : undefined);
      if (!inputName || !inputNames.includes(inputName)) {
        throw fail(`no input ${options.input ? `"${options.input}"` : '(several inputs: name one with input=)'}; inputs: ${inputNames.join(', ')}`);
      }
      const outputName = options.output ?? (outputNames.includes('features') ? 'features' : outputNames[0]!);
      if (!outputNames.includes(outputName)) throw fail(`no output "${outputName}"; outputs: ${outputNames.join(', ')}`);

      const declared = outputShapes[outputName];
      const last = declared && declared.length >= 2 ? declared[1] : undefined;
      let dim = typeof last === 'number' && last > 0 && declared!.slice(2).every((d) => d === 1) ? last : 0;
      // Symbolic width: one probe run on a zero image.
      if (!dim) dim = (await pool.probe(1, inputName, outputName)).length;
      const normalise = options.normalise ?? true;
      const id = `${meta.idBase}/${outputName}/${preprocessFingerprint(preprocess)}${normalise ? '/l2' : ''}`;
      const name = `${meta.name}${outputName === 'features' ? '' : `#${outputName}`}`;
      return new OnnxImageEncoder(name, id, dim, normalise, preprocess, inputName, outputName, pool);
    } catch (err) {
      await pool.close();
      throw (err as { code?: string }).code === 'PP_EMBED_MODEL_LOAD' ? err : fail(err instanceof Error ? err.message : String(err), err);
    }
  }

  /** Encodes a batch of encoded images; PP_EMBED_IMAGE_DECODE when one of them cannot be decoded. */
  async encode(batch: readonly Uint8Array[]): Promise<Float32Array> {
    if (!this.pool) throw ppError('PP_INTERNAL', `${this.name} used after dispose`);
    if (batch.length === 0) return new Float32Array(0);
    const rows = await this.pool.run(batch, this.inputName, this.outputName);
    if (rows.length !== batch.length * this.dim) {
      throw ppError('PP_INTERNAL', `${this.name}: output ${this.outputName} has ${rows.length} values for ${batch.length} × ${this.dim}`);
    }
    return this.normalised ? l2NormaliseRows(rows, this.dim) : rows;
  }

  async dispose(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    await p?.close();
  }
}
