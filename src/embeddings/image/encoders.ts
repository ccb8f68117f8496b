import { ppError } from '../../errors.js';
import type { Encoder } from '../encoder.js';
import { BundledImageEncoder } from './bundled-encoder.js';
import { DEFAULT_BUNDLED_ORT_SIZE, loadBundledOrtEncoder } from './bundled-ort-encoder.js';
import { OnnxImageEncoder } from './onnx-encoder.js';
import { IMAGENET_PREPROCESS, validatePreprocess, type ImagePreprocessSpec } from './preprocess.js';

/**
 * Image encoders by spec:
 *   bundled-ort[?size=128&layer=out_relu&threads=2]
 *                                   the default: the npm-shipped MobileNetV2 converted to ONNX at load time and
 *                                   run on onnxruntime in a thread pool (bundled-ort-encoder.ts), 1280-d
 *   bundled                         the same weights on tfjs-wasm, single-threaded, 224 px (bundled-encoder.ts)
 *   onnx:<path>[?k=v&…]             an ONNX vision model from a local file, with its declared preprocessing:
 *       size=224                    output side (square)
 *       resize=256                  shorter side before the centre crop (fit=cover; default = size)
 *       fit=cover|fill              cover: shorter side + centre crop; fill: squash to size × size
 *       mean=0.485,0.456,0.406      per-channel mean of p/255 (RGB)
 *       std=0.229,0.224,0.225       per-channel std
 *       layout=nchw|nhwc            input layout
 *       input=<name>                input tensor (default: the only input)
 *       output=<name>               output tensor (default: features, else the first output)
 *       normalise=1|0               L2-normalise rows (default 1)
 *       threads=2                   encoding threads (each: sharp decode + a single-threaded session)
 * Defaults are the ImageNet convention (224, cover, ImageNet mean/std, nchw).
 * Example: onnx:./models/clip-vit-b32-visual.onnx?mean=0.4815,0.4578,0.4082&std=0.2686,0.2613,0.2758&output=image_embeds
 */
export const DEFAULT_IMAGE_ENCODER = 'bundled-ort';

export const IMAGE_ENCODER_SPECS = ['bundled-ort[?size=128&layer=out_relu&threads=2]', 'bundled', 'onnx:<path>[?size=224&mean=…&std=…&layout=nchw&output=features]'] as const;

export type ImageEncoderSpec =
  | { kind: 'bundled' }
  | { kind: 'bundled-ort'; size: number; layer?: string; threads: number }
  | { kind: 'onnx'; path: string; preprocess: ImagePreprocessSpec; input?: string; output?: string; normalise: boolean; threads: number };

const ONNX_KEYS = new Set(['size', 'resize', 'fit', 'mean', 'std', 'layout', 'input', 'output', 'normalise', 'normalize', 'threads']);

function triple(key: string, value: string): [number, number, number] {
  const parts = value.split(',').map((x) => Number(x.trim()));
  if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x))) {
    throw ppError('PP_EMBED_INVALID', `onnx image encoder: ${key} needs 3 comma-separated numbers (R,G,B), got "${value}"`);
  }
  return parts as [number, number, number];
}

function integer(key: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw ppError('PP_EMBED_INVALID', `onnx image encoder: ${key} must be an integer, got "${value}"`);
  return n;
}

function threadCount(value: string | undefined): number {
  const threads = value !== undefined ? integer('threads', value) : 2;
  if (threads < 1 || threads > 64) throw ppError('PP_EMBED_INVALID', `image encoder: threads must be in [1, 64], got ${threads}`);
  return threads;
}

/** Parses and checks a spec without loading anything: PP_EMBED_ENCODER_UNKNOWN / PP_EMBED_INVALID. */
export function parseImageEncoderSpec(spec: string): ImageEncoderSpec {
  if (spec === 'bundled') return { kind: 'bundled' };
  if (spec === 'bundled-ort' || spec.startsWith('bundled-ort?')) {
    const params = new URLSearchParams(spec.slice('bundled-ort?'.length));
    for (const key of params.keys()) {
      if (!['size', 'layer', 'threads'].includes(key)) throw ppError('PP_EMBED_INVALID', `bundled-ort image encoder: unknown option "${key}" (known: size, layer, threads)`);
    }
    const size = params.has('size') ? integer('size', params.get('size')!) : DEFAULT_BUNDLED_ORT_SIZE;
    if (size < 32 || size > 1024 || size % 32 !== 0) throw ppError('PP_EMBED_INVALID', `bundled-ort: size must be a multiple of 32 in [32, 1024], got ${size}`);
    return { kind: 'bundled-ort', size, layer: params.get('layer') ?? undefined, threads: threadCount(params.get('threads') ?? undefined) };
  }
  if (!spec.startsWith('onnx:')) throw ppError('PP_EMBED_ENCODER_UNKNOWN', `"${spec}" (known: ${IMAGE_ENCODER_SPECS.join(', ')})`);
  const rest = spec.slice('onnx:'.length);
  const q = rest.indexOf('?');
  const path = q >= 0 ? rest.slice(0, q) : rest;
  if (!path) throw ppError('PP_EMBED_ENCODER_UNKNOWN', 'onnx: needs a model file, e.g. onnx:./models/mobilenetv2.onnx');
  const params = new URLSearchParams(q >= 0 ? rest.slice(q + 1) : '');
  for (const key of params.keys()) {
    if (!ONNX_KEYS.has(key)) throw ppError('PP_EMBED_INVALID', `onnx image encoder: unknown option "${key}" (known: ${[...ONNX_KEYS].join(', ')})`);
  }
  const get = (k: string) => params.get(k) ?? undefined;
  const size = get('size') !== undefined ? integer('size', get('size')!) : IMAGENET_PREPROCESS.size;
  const fit = get('fit') ?? IMAGENET_PREPROCESS.fit;
  const layout = get('layout') ?? IMAGENET_PREPROCESS.layout;
  const preprocess = validatePreprocess({
    size,
    fit: fit as ImagePreprocessSpec['fit'],
    resize: get('resize') !== undefined ? integer('resize', get('resize')!) : undefined,
    mean: get('mean') !== undefined ? triple('mean', get('mean')!) : IMAGENET_PREPROCESS.mean,
    std: get('std') !== undefined ? triple('std', get('std')!) : IMAGENET_PREPROCESS.std,
    layout: layout as ImagePreprocessSpec['layout'],
  });
  const norm = get('normalise') ?? get('normalize') ?? '1';
  if (!['0', '1', 'true', 'false'].includes(norm)) throw ppError('PP_EMBED_INVALID', `onnx image encoder: normalise must be 1 or 0, got "${norm}"`);
  const threads = threadCount(get('threads'));
  return { kind: 'onnx', path, preprocess, input: get('input'), output: get('output'), normalise: norm === '1' || norm === 'true', threads };
}

/** Loads the image encoder named by `spec` (inputs: encoded image bytes, PNG/JPEG/WebP/…). */
export async function createImageEncoder(spec: string): Promise<Encoder<Buffer>> {
  const s = parseImageEncoderSpec(spec);
  if (s.kind === 'bundled') return BundledImageEncoder.load();
  if (s.kind === 'bundled-ort') return loadBundledOrtEncoder({ size: s.size, layer: s.layer, threads: s.threads });
  return OnnxImageEncoder.load(s.path, { preprocess: s.preprocess, input: s.input, output: s.output, normalise: s.normalise, threads: s.threads });
}
