import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { ppError } from '../../errors.js';
import { sha256File } from '../../lake/hash.js';
import { l2NormaliseRows, type Encoder } from '../encoder.js';
import { preprocessBatch, preprocessFingerprint, validatePreprocess, type ImagePreprocessSpec } from './preprocess.js';

/**
 * An ONNX vision encoder over onnxruntime-node (CPU): any image model whose input is one float32 image batch
 * ([N,3,H,W] for layout nchw, [N,H,W,3] for nhwc) and whose chosen output is [N, D] (pooled features, a CLIP
 * image embedding, logits) or [N, D, 1, 1]. Inputs are encoded image bytes, preprocessed by the declared
 * `ImagePreprocessSpec` (sharp decode → geometry → (p/255 − mean)/std → layout).
 *
 * - Input name: `input` option, else the model's only input. Output: `output` option, else `features` when the
 *   model has it, else its first output. D is read from the output's declared shape; when that is symbolic,
 *   from one probe run on a zero image.
 * - Batching: one session run per `encode` call (the caller picks the batch size); intra-op threads default
 *   to 2 (the machine's cores), inter-op 1.
 * - `normalise` (default true): rows scaled to unit L2 norm, so cosine = dot product.
 * - Id: `onnx:<file name>#<sha256 of the file, 16 hex>/<output>/<preprocess fingerprint>[/l2]` — a changed model,
 *   output or preprocessing never reuses cached vectors.
 *
 * Measured with the int8 ImageNet MobileNetV2 (../shared/models/mobilenetv2, `features` 1280-d) on the 2-core
 * machine: ~17 ms per image of model time in a batch of 16 under load average ~10; `npm run bench:embed` on 300
 * demo pictures (decode included, load average 22–26): 24.8 items/s wall, 88 items per CPU-second, 283 MB RSS.
 */
export interface OnnxImageEncoderOptions {
  preprocess: ImagePreprocessSpec;
  /** Input tensor name (default: the model's only input). */
  input?: string;
  /** Output tensor name (default: `features` when present, else the first output). */
  output?: string;
  /** L2-normalise each output row (default true). */
  normalise?: boolean;
  /** onnxruntime intra-op threads (default 2). */
  threads?: number;
}

/** The part of onnxruntime-node used here (loaded lazily: the native binding costs ~100 ms). */
interface OrtTensor {
  data: Float32Array;
  dims: readonly number[];
}
interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  inputMetadata?: ReadonlyArray<{ name: string; shape?: ReadonlyArray<number | string> }>;
  outputMetadata?: ReadonlyArray<{ name: string; shape?: ReadonlyArray<number | string> }>;
  run(feeds: Record<string, unknown>, fetches?: readonly string[]): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(path: string, opts: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
}

const require = createRequire(import.meta.url);

export class OnnxImageEncoder implements Encoder<Uint8Array> {
  readonly modality = 'image' as const;
  private session: OrtSession | null;

  private constructor(
    readonly name: string,
    readonly id: string,
    readonly dim: number,
    readonly normalised: boolean,
    readonly preprocess: ImagePreprocessSpec,
    readonly inputName: string,
    readonly outputName: string,
    private readonly ort: Ort,
    session: OrtSession,
  ) {
    this.session = session;
  }

  /** Loads the model file; PP_EMBED_MODEL_LOAD when it is missing, not ONNX, or has no such input/output. */
  static async load(path: string, options: OnnxImageEncoderOptions): Promise<OnnxImageEncoder> {
    const file = resolve(path);
    const preprocess = validatePreprocess(options.preprocess);
    const fail = (what: string, cause?: unknown) => ppError('PP_EMBED_MODEL_LOAD', `onnx image model ${file}: ${what}`, cause);
    try {
      if (!(await stat(file)).isFile()) throw fail('not a file');
    } catch (err) {
      throw (err as { code?: string }).code === 'PP_EMBED_MODEL_LOAD' ? err : fail('not found', err);
    }
    let ort: Ort;
    try {
      ort = require('onnxruntime-node') as Ort;
    } catch (err) {
      throw fail('onnxruntime-node is not installed', err);
    }
    const threads = options.threads ?? 2;
    let session: OrtSession;
    try {
      session = await ort.InferenceSession.create(file, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
    } catch (err) {
      throw fail(`cannot create a session (${err instanceof Error ? err.message : String(err)})`, err);
    }
    try {
      const inputName = options.input ?? (session.inputNames.length === 1 ? session.inputNames[0]! : undefined);
      if (!inputName || !session.inputNames.includes(inputName)) {
        throw fail(`no input ${options.input ? `"${options.input}"` : '(several inputs: name one with input=)'}; inputs: ${session.inputNames.join(', ')}`);
      }
      const outputName = options.output ?? (session.outputNames.includes('features') ? 'features' : session.outputNames[0]!);
      if (!session.outputNames.includes(outputName)) throw fail(`no output "${outputName}"; outputs: ${session.outputNames.join(', ')}`);

      const declared = session.outputMetadata?.find((m) => m.name === outputName)?.shape;
      const last = declared && declared.length >= 2 ? declared[1] : undefined;
      let dim = typeof last === 'number' && last > 0 && declared!.slice(2).every((d) => d === 1) ? last : 0;
      if (!dim) {
        // Symbolic width: one probe run on a zero image.
        const s = preprocess.size;
        const dims = preprocess.layout === 'nchw' ? [1, 3, s, s] : [1, s, s, 3];
        const out = (await session.run({ [inputName]: new ort.Tensor('float32', new Float32Array(3 * s * s), dims) }, [outputName]))[outputName]!;
        dim = out.data.length;
      }
      const normalise = options.normalise ?? true;
      const digest = (await sha256File(file)).slice(0, 16);
      const id = `onnx:${basename(file)}#${digest}/${outputName}/${preprocessFingerprint(preprocess)}${normalise ? '/l2' : ''}`;
      const name = `onnx:${basename(file)}${outputName === 'features' ? '' : `#${outputName}`}`;
      return new OnnxImageEncoder(name, id, dim, normalise, preprocess, inputName, outputName, ort, session);
    } catch (err) {
      await session.release().catch(() => undefined);
      throw (err as { code?: string }).code === 'PP_EMBED_MODEL_LOAD' ? err : fail(err instanceof Error ? err.message : String(err), err);
    }
  }

  /** Encodes a batch of encoded images; PP_EMBED_IMAGE_DECODE when one of them cannot be decoded. */
  async encode(batch: readonly Uint8Array[]): Promise<Float32Array> {
    if (!this.session) throw ppError('PP_INTERNAL', `${this.name} used after dispose`);
    if (batch.length === 0) return new Float32Array(0);
    const s = this.preprocess.size;
    const pixels = await preprocessBatch(batch, this.preprocess);
    const dims = this.preprocess.layout === 'nchw' ? [batch.length, 3, s, s] : [batch.length, s, s, 3];
    const result = await this.session.run({ [this.inputName]: new this.ort.Tensor('float32', pixels, dims) }, [this.outputName]);
    const out = result[this.outputName]!;
    if (out.data.length !== batch.length * this.dim) {
      throw ppError('PP_INTERNAL', `${this.name}: output ${this.outputName} has ${out.data.length} values for ${batch.length} × ${this.dim}`);
    }
    const rows = Float32Array.from(out.data);
    return this.normalised ? l2NormaliseRows(rows, this.dim) : rows;
  }

  async dispose(): Promise<void> {
    const s = this.session;
    this.session = null;
    await s?.release();
  }
}
