import { createHash } from 'node:crypto';
import { ppError } from '../../errors.js';
import {
  BUNDLED_IMAGE_DIM,
  BUNDLED_IMAGE_MODEL,
  BUNDLED_IMAGE_PACKAGE,
  BUNDLED_IMAGE_VERSION,
  BUNDLED_PREPROCESS,
  readBundledWeights,
  type TfjsWeightSpec,
} from './bundled-encoder.js';
import { kerasToOnnx, type KerasLayer } from './keras-to-onnx.js';
import { OnnxImageEncoder } from './onnx-encoder.js';
import type { ImagePreprocessSpec } from './preprocess.js';

/**
 * The `bundled-ort` image encoder (the default): the same npm-shipped MobileNetV2 weights as `bundled`
 * (nsfwjs@4.4.0, see bundled-encoder.ts), converted at load time into an ONNX graph (keras-to-onnx.ts:
 * uint8 weights dequantised as min + scale·q, kernels transposed to NCHW) and run on onnxruntime-node in a
 * pool of single-threaded sessions (onnx-pool.ts), with sharp decoding inside the pool threads.
 *
 *   embedding = L2( GlobalAveragePool( trunk(x) at `layer` ) ),  x = squash(picture, size × size) / 255, NCHW
 *
 * At size 224 and layer `out_relu` it computes what `bundled` computes (cosine ≥ 0.99999 per picture, checked in
 * the tests). The default input side is DEFAULT_BUNDLED_ORT_SIZE: the network's cost grows with size², and on
 * the demo's 128-px pictures a smaller input loses no category signal
 * (docs/decisions/120-image-encoder-speed.md has the speed and quality table for 224/160/128/96).
 * Building the graph takes ≈ 0.6 CPU-s; nothing is downloaded or written.
 */
export const DEFAULT_BUNDLED_ORT_SIZE = 128;
export const BUNDLED_ORT_LAYER = 'out_relu';

export interface BundledOrtOptions {
  /** Input side in pixels (multiple of 32; default DEFAULT_BUNDLED_ORT_SIZE). */
  size?: number;
  /** The layer to pool (default `out_relu`, 1280-d; e.g. `block_13_expand_relu` for a truncated 576-d trunk). */
  layer?: string;
  /** Encoding threads (default 2). */
  threads?: number;
}

/** The trunk of the bundled MobileNetV2 as ONNX bytes, pooled at `layer`, for `size × size` inputs. */
export function bundledOnnxModel(size: number, layer: string): { bytes: Uint8Array; dim: number } {
  const { modelTopology, weightSpecs, weightData } = readBundledWeights();
  const raw = new Uint8Array(weightData);
  const weights = new Map<string, { spec: TfjsWeightSpec; offset: number }>();
  let at = 0;
  for (const spec of weightSpecs) {
    weights.set(spec.name, { spec, offset: at });
    const n = spec.shape.reduce((a, b) => a * b, 1);
    at += spec.quantization ? n : 4 * n;
  }
  if (at !== raw.length) throw new Error(`the weight manifest describes ${at} bytes, the shards hold ${raw.length}`);
  const weight = (name: string) => {
    const w = weights.get(name);
    if (!w) throw new Error(`no weight ${name}`);
    const n = w.spec.shape.reduce((a, b) => a * b, 1);
    const q = w.spec.quantization;
    let data: Float32Array;
    if (!q) data = new Float32Array(weightData.slice(w.offset, w.offset + 4 * n));
    else if (q.dtype === 'uint8') {
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = q.min + q.scale * raw[w.offset + i]!;
    } else throw new Error(`${name}: quantisation ${q.dtype} is not supported`);
    return { shape: w.spec.shape, data };
  };
  const m = kerasToOnnx(modelTopology.model_config.config.layers as KerasLayer[], { size, layer, weight });
  return { bytes: m.bytes, dim: m.dim };
}

/** Loads `bundled-ort`; PP_EMBED_MODEL_LOAD when the packages are missing or the graph cannot be built. */
export async function loadBundledOrtEncoder(o: BundledOrtOptions = {}): Promise<OnnxImageEncoder> {
  const size = o.size ?? DEFAULT_BUNDLED_ORT_SIZE;
  const layer = o.layer ?? BUNDLED_ORT_LAYER;
  if (!Number.isInteger(size) || size < 32 || size > 1024 || size % 32 !== 0) throw ppError('PP_EMBED_INVALID', `bundled-ort: size must be a multiple of 32 in [32, 1024], got ${size}`);
  let model: { bytes: Uint8Array; dim: number };
  try {
    model = bundledOnnxModel(size, layer);
  } catch (err) {
    throw ppError(
      'PP_EMBED_MODEL_LOAD',
      `bundled-ort image encoder: ${err instanceof Error ? err.message : String(err)} (needs ${BUNDLED_IMAGE_PACKAGE}@${BUNDLED_IMAGE_VERSION} and onnxruntime-node)`,
      err,
    );
  }
  const preprocess: ImagePreprocessSpec = { ...BUNDLED_PREPROCESS, size, layout: 'nchw' };
  const digest = createHash('sha256').update(model.bytes).digest('hex').slice(0, 16);
  const sizePart = size === DEFAULT_BUNDLED_ORT_SIZE ? '' : `@${size}`;
  const layerPart = layer === BUNDLED_ORT_LAYER ? '' : `/${layer}`;
  const enc = await OnnxImageEncoder.fromBytes(
    model.bytes,
    { name: `bundled-ort${sizePart}${layerPart}`, idBase: `bundled-ort:${BUNDLED_IMAGE_MODEL}@${BUNDLED_IMAGE_VERSION}/${layer}#${digest}` },
    { preprocess, threads: o.threads },
  );
  if (layer === BUNDLED_ORT_LAYER && enc.dim !== BUNDLED_IMAGE_DIM) throw ppError('PP_INTERNAL', `bundled-ort: ${enc.dim}-d features, expected ${BUNDLED_IMAGE_DIM}`);
  return enc;
}
