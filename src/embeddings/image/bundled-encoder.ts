import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ppError } from '../../errors.js';
import { l2NormaliseRows, type Encoder } from '../encoder.js';
import { preprocessBatch, preprocessFingerprint, type ImagePreprocessSpec } from './preprocess.js';
import { withoutTfjsReRegistrationWarnings } from '../tfjs-registration.js';

/**
 * The `bundled` image encoder: a pretrained MobileNetV2 whose weights ship inside an npm package, so the demo
 * embeds images offline on a fresh machine.
 *
 * What it is, honestly: the MobileNetV2 (α = 1.0, 224 × 224, Keras 2.2.4) of `nsfwjs@4.4.0`
 * (MIT, node_modules/nsfwjs/dist/models/mobilenet_v2: a tfjs layers model, weights uint8-quantised, 2.6 MB,
 * wrapped in .min.js shards). It is ImageNet-initialised and then fine-tuned by the nsfwjs authors on a
 * 5-class content classifier (drawing / hentai / neutral / porn / sexy), with a 256→128→5 head on top of the
 * pooled features. We drop that head and take `flatten_1`: the 7 × 7 average-pooled 1280-d output of the last
 * convolution (`out_relu`), i.e. the network's penultimate image representation, not the 5 class scores.
 * The fine-tuning shifted those features towards its task, so they are a generic visual descriptor (shape,
 * colour, texture) of ImageNet heritage rather than a product-image encoder; for real catalogs prefer an ONNX
 * model (`onnx:<path>`, e.g. a CLIP image tower or the ImageNet MobileNetV2 in ../shared/models).
 *
 * Preprocessing (as nsfwjs does it): squash to 224 × 224 ('fill'), p/255 (mean 0, std 1), NHWC.
 * Runs on @tensorflow/tfjs 4.22 with the WASM backend (SIMD, single-threaded in Node). Loading reads the
 * base64 shard (~0.2 s quiet, 1.5–3.4 s under load). `npm run bench:embed` on 300 demo pictures (batch 16,
 * load average 22–26 on 2 cores): 3.1 items/s wall, 13.3 items per CPU-second (decode included), peak RSS
 * 811 MB; a probe on random tensors under load ~10 gave ~130 ms per image (~8 images/s).
 * Output rows are L2-normalised.
 */
export const BUNDLED_IMAGE_MODEL = 'nsfwjs-mobilenet_v2';
export const BUNDLED_IMAGE_PACKAGE = 'nsfwjs';
export const BUNDLED_IMAGE_VERSION = '4.4.0';
export const BUNDLED_IMAGE_DIM = 1280;
/** The layer whose output is the embedding: Flatten of the 7×7 average pool of `out_relu`. */
export const BUNDLED_FEATURE_LAYER = 'flatten_1';
/** The classes of the dropped nsfwjs head, in output order. */
export const BUNDLED_HEAD_CLASSES = ['drawing', 'hentai', 'neutral', 'porn', 'sexy'] as const;

export const BUNDLED_PREPROCESS: ImagePreprocessSpec = {
  size: 224,
  fit: 'fill',
  mean: [0, 0, 0],
  std: [1, 1, 1],
  layout: 'nhwc',
};

const require = createRequire(import.meta.url);

/** The parts of tfjs used here. */
interface TfTensor {
  data(): Promise<Float32Array>;
  dispose(): void;
}
interface TfLayersModel {
  inputs: unknown[];
  getLayer(name: string): { output: unknown };
  predict(x: TfTensor): TfTensor;
  dispose(): void;
}
interface Tf {
  setBackend(name: string): Promise<boolean>;
  getBackend(): string;
  ready(): Promise<void>;
  tensor4d(data: Float32Array, shape: [number, number, number, number], dtype: 'float32'): TfTensor;
  loadLayersModel(handler: unknown): Promise<TfLayersModel>;
  model(args: { inputs: unknown; outputs: unknown }): TfLayersModel;
  io: { fromMemory(artifacts: Record<string, unknown>): unknown };
}

interface WeightsManifestGroup {
  paths: string[];
  weights: unknown[];
}

/** One weight of a tfjs weights manifest (uint8-quantised: value = min + scale · q). */
export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { min: number; scale: number; dtype: string };
}

/**
 * The nsfwjs MobileNetV2 as shipped: Keras topology, weight specs and the concatenated (still quantised)
 * weight bytes, read from the package's base64 `.min.js` shards. Throws when the package is missing.
 */
export function readBundledWeights(): { modelTopology: { model_config: { config: { layers: unknown[] } } }; weightSpecs: TfjsWeightSpec[]; weightData: ArrayBuffer } {
  // nsfwjs exports no package.json: its main is dist/cjs/index.js, the models sit in dist/models.
  const base = join(dirname(require.resolve('nsfwjs')), '..', 'models', 'mobilenet_v2');
  const modelJson = require(join(base, 'model.min.js')) as { modelTopology: { model_config: { config: { layers: unknown[] } } }; weightsManifest: WeightsManifestGroup[] };
  const groups = modelJson.weightsManifest;
  const shards = groups.flatMap((g) => g.paths).map((p) => Buffer.from(require(join(base, `${p}.min.js`)) as string, 'base64'));
  const weights = Buffer.concat(shards);
  return {
    modelTopology: modelJson.modelTopology,
    weightSpecs: groups.flatMap((g) => g.weights) as TfjsWeightSpec[],
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  };
}

let backendReady: Promise<Tf> | null = null;

/** tfjs on the WASM backend, initialised once per process (the backend is global tfjs state). */
function tfOnWasm(): Promise<Tf> {
  backendReady ??= withoutTfjsReRegistrationWarnings(async () => {
    const tf = require('@tensorflow/tfjs') as Tf;
    const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(p: string): void };
    // Point the backend at the package's own .wasm files (no network, no bundler).
    wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
    if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend did not initialise');
    await tf.ready();
    return tf;
  });
  backendReady.catch(() => {
    backendReady = null;
  });
  return backendReady;
}

export class BundledImageEncoder implements Encoder<Uint8Array> {
  readonly name = 'bundled';
  readonly id = `bundled:${BUNDLED_IMAGE_MODEL}@${BUNDLED_IMAGE_VERSION}/${BUNDLED_FEATURE_LAYER}/${preprocessFingerprint(BUNDLED_PREPROCESS)}/l2`;
  readonly modality = 'image' as const;
  readonly dim = BUNDLED_IMAGE_DIM;
  readonly normalised = true;
  readonly preprocess = BUNDLED_PREPROCESS;
  private model: TfLayersModel | null;
  private readonly full: TfLayersModel;

  private constructor(
    private readonly tf: Tf,
    full: TfLayersModel,
    features: TfLayersModel,
  ) {
    this.full = full;
    this.model = features;
  }

  /** Loads the bundled weights offline; PP_EMBED_MODEL_LOAD when the packages are missing or broken. */
  static async load(): Promise<BundledImageEncoder> {
    try {
      const tf = await tfOnWasm();
      const { modelTopology, weightSpecs, weightData } = readBundledWeights();
      const full = await tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology,
          weightSpecs,
          weightData,
        }),
      );
      const features = tf.model({ inputs: full.inputs, outputs: full.getLayer(BUNDLED_FEATURE_LAYER).output });
      return new BundledImageEncoder(tf, full, features);
    } catch (err) {
      throw ppError(
        'PP_EMBED_MODEL_LOAD',
        `bundled image encoder: ${err instanceof Error ? err.message : String(err)} (needs ${BUNDLED_IMAGE_PACKAGE}@${BUNDLED_IMAGE_VERSION}, @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm 4.22)`,
        err,
      );
    }
  }

  /** Encodes a batch of encoded images; PP_EMBED_IMAGE_DECODE when one of them cannot be decoded. */
  async encode(batch: readonly Uint8Array[]): Promise<Float32Array> {
    if (!this.model) throw ppError('PP_INTERNAL', 'bundled image encoder used after dispose');
    if (batch.length === 0) return new Float32Array(0);
    const s = this.preprocess.size;
    const pixels = await preprocessBatch(batch, this.preprocess);
    const x = this.tf.tensor4d(pixels, [batch.length, s, s, 3], 'float32');
    let y: TfTensor | null = null;
    try {
      y = this.model.predict(x);
      const rows = Float32Array.from(await y.data());
      if (rows.length !== batch.length * this.dim) throw ppError('PP_INTERNAL', `bundled encoder returned ${rows.length} values for ${batch.length} × ${this.dim}`);
      return l2NormaliseRows(rows, this.dim);
    } finally {
      x.dispose();
      y?.dispose();
    }
  }

  /**
   * The original network's 5 class probabilities per picture (`BUNDLED_HEAD_CLASSES` order), `batch × 5`: not an
   * embedding, a check that the shipped weights are the trained ones (product photos come out `neutral`).
   */
  async headScores(batch: readonly Uint8Array[]): Promise<Float32Array> {
    if (!this.model) throw ppError('PP_INTERNAL', 'bundled image encoder used after dispose');
    const s = this.preprocess.size;
    const x = this.tf.tensor4d(await preprocessBatch(batch, this.preprocess), [batch.length, s, s, 3], 'float32');
    const y = this.full.predict(x);
    try {
      return Float32Array.from(await y.data());
    } finally {
      x.dispose();
      y.dispose();
    }
  }

  async dispose(): Promise<void> {
    if (!this.model) return;
    this.model = null;
    // The feature model shares its layers (and weights) with the full model: dispose the full one.
    this.full.dispose();
  }
}
