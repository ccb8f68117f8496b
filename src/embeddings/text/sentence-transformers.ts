import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ppError } from '../../errors.js';
import { l2NormaliseRows, type TextEncoderModel } from '../encoder.js';

/**
 * Any sentence-transformers model exported to ONNX for transformers.js (e.g. Xenova/all-MiniLM-L6-v2, 384-d),
 * read from a local folder through `@huggingface/transformers` with remote models disabled. The folder holds
 * `config.json`, `tokenizer.json` (+ `tokenizer_config.json`) and `onnx/model.onnx`. Output: mean pooling over
 * the token embeddings (attention-masked), then L2 normalisation — what sentence-transformers does for these
 * models.
 */
export interface SentenceTransformersOptions {
  /** ONNX file under `onnx/`: "fp32" → model.onnx (default), "q8" → model_quantized.onnx, … */
  dtype?: 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4';
  /** Longest input in tokens (longer texts are truncated); default: the tokenizer's model_max_length. */
  maxTokens?: number;
}

type Extractor = ((texts: string[], opts: Record<string, unknown>) => Promise<{ data: Float32Array; dims: number[] }>) & {
  dispose(): Promise<void>;
};

const ONNX_FILE: Record<string, string> = {
  fp32: 'model.onnx',
  fp16: 'model_fp16.onnx',
  q8: 'model_quantized.onnx',
  int8: 'model_int8.onnx',
  uint8: 'model_uint8.onnx',
  q4: 'model_q4.onnx',
};

async function fileSize(path: string): Promise<number | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : null;
  } catch {
    return null;
  }
}

export class SentenceTransformersEncoder implements TextEncoderModel {
  readonly modality = 'text' as const;
  readonly normalised = true;
  private extractor: Extractor | null;

  private constructor(
    readonly name: string,
    readonly id: string,
    readonly dim: number,
    extractor: Extractor,
  ) {
    this.extractor = extractor;
  }

  /**
   * Checks the folder, then loads tokenizer and ONNX session. A missing or invalid folder is one
   * PP_EMBED_MODEL_LOAD error naming what is wrong.
   */
  static async load(folder: string, options: SentenceTransformersOptions = {}): Promise<SentenceTransformersEncoder> {
    const dir = resolve(folder);
    const dtype = options.dtype ?? 'fp32';
    const fail = (what: string, cause?: unknown) => ppError('PP_EMBED_MODEL_LOAD', `sentence-transformers model folder ${dir}: ${what}`, cause);
    let config: Record<string, unknown>;
    let configText: string;
    try {
      configText = await readFile(join(dir, 'config.json'), 'utf8');
    } catch (err) {
      throw fail('no config.json (expected a transformers.js ONNX export: config.json, tokenizer.json, onnx/model.onnx)', err);
    }
    try {
      config = JSON.parse(configText) as Record<string, unknown>;
    } catch (err) {
      throw fail('config.json is not valid JSON', err);
    }
    const dim = Number(config.hidden_size ?? config.dim ?? config.d_model);
    if (!Number.isInteger(dim) || dim <= 0) throw fail('config.json has no hidden_size (or dim / d_model)');
    if ((await fileSize(join(dir, 'tokenizer.json'))) === null) throw fail('no tokenizer.json');
    const onnxName = ONNX_FILE[dtype];
    const onnxSize = await fileSize(join(dir, 'onnx', onnxName));
    if (onnxSize === null) throw fail(`no onnx/${onnxName}`);

    let extractor: Extractor;
    try {
      const hf = await import('@huggingface/transformers');
      hf.env.allowRemoteModels = false;
      hf.env.allowLocalModels = true;
      hf.env.localModelPath = dirname(dir) + '/';
      extractor = (await hf.pipeline('feature-extraction', basename(dir), { dtype, device: 'cpu' })) as unknown as Extractor;
    } catch (err) {
      throw fail(err instanceof Error ? err.message : String(err), err);
    }
    const id = `st:${basename(dir)}:${dtype}:${createHash('sha256').update(configText).update(String(onnxSize)).digest('hex').slice(0, 16)}`;
    const enc = new SentenceTransformersEncoder(`st:${basename(dir)}`, id, dim, extractor);
    enc.maxTokens = options.maxTokens;
    return enc;
  }

  private maxTokens: number | undefined;

  async encode(batch: readonly string[]): Promise<Float32Array> {
    if (!this.extractor) throw ppError('PP_INTERNAL', `${this.name} encoder used after dispose`);
    const opts: Record<string, unknown> = { pooling: 'mean', normalize: false };
    if (this.maxTokens) Object.assign(opts, { truncation: true, max_length: this.maxTokens });
    const out = await this.extractor([...batch], opts);
    if (out.dims.length !== 2 || out.dims[0] !== batch.length || out.dims[1] !== this.dim) {
      throw ppError('PP_EMBED_MODEL_LOAD', `${this.name} returned shape [${out.dims.join(', ')}], expected [${batch.length}, ${this.dim}]`);
    }
    return l2NormaliseRows(Float32Array.from(out.data), this.dim);
  }

  async dispose(): Promise<void> {
    await this.extractor?.dispose();
    this.extractor = null;
  }
}
