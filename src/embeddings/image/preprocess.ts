import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { ppError } from '../../errors.js';

/**
 * The declared preprocessing of an image encoder: how encoded bytes (JPEG/PNG/WebP/GIF/TIFF) become the
 * model's float input. Steps, in order:
 *
 *   1. decode with sharp (EXIF orientation applied; alpha flattened onto white, the usual product-photo
 *      background; any colour space converted to sRGB; at most `maxPixels` decoded pixels)
 *   2. geometry to `size × size`:
 *        fit 'cover': scale so the shorter side is `resize` (default `size`), then centre-crop `size × size`
 *                     (the ImageNet evaluation convention is resize 256 → crop 224)
 *        fit 'fill' : scale both sides to `size` (aspect ratio not kept)
 *   3. per channel c ∈ {R,G,B}:  x = (p / 255 − mean[c]) / std[c]    (p = the 8-bit pixel value)
 *   4. layout: 'nchw' → [3, size, size] (planes), 'nhwc' → [size, size, 3] (interleaved)
 *
 * One image yields 3·size² float32 values; a batch concatenates them (N·3·size²).
 */
export interface ImagePreprocessSpec {
  /** Output side in pixels (square). */
  size: number;
  /** 'cover' = shorter side to `resize` then centre crop; 'fill' = squash to size × size. */
  fit: 'cover' | 'fill';
  /** Shorter side before the centre crop (fit 'cover'); ≥ size. Defaults to `size`. */
  resize?: number;
  /** Per-channel mean and std applied to p/255 (RGB order). */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  layout: 'nchw' | 'nhwc';
}

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** ImageNet-style defaults of an ONNX vision encoder (torchvision / timm / ONNX Model Zoo convention). */
export const IMAGENET_PREPROCESS: ImagePreprocessSpec = {
  size: 224,
  fit: 'cover',
  mean: IMAGENET_MEAN,
  std: IMAGENET_STD,
  layout: 'nchw',
};

/** Decoded pixels above this are refused (a decompression bomb guard; 40 MP ≈ a 7300 × 5500 photo). */
export const MAX_DECODED_PIXELS = 40_000_000;

/** Checks a spec; PP_EMBED_INVALID with the offending field. */
export function validatePreprocess(spec: ImagePreprocessSpec): ImagePreprocessSpec {
  const bad = (what: string) => {
    throw ppError('PP_EMBED_INVALID', `image preprocessing: ${what}`);
  };
  if (!Number.isInteger(spec.size) || spec.size < 8 || spec.size > 2048) bad(`size must be an integer in [8, 2048], got ${spec.size}`);
  if (spec.fit !== 'cover' && spec.fit !== 'fill') bad(`fit must be cover or fill, got ${String(spec.fit)}`);
  if (spec.resize !== undefined && (!Number.isInteger(spec.resize) || spec.resize < spec.size || spec.resize > 4096)) {
    bad(`resize must be an integer in [size, 4096], got ${spec.resize}`);
  }
  for (const [name, v] of [
    ['mean', spec.mean],
    ['std', spec.std],
  ] as const) {
    if (!Array.isArray(v) || v.length !== 3 || v.some((x) => !Number.isFinite(x))) bad(`${name} must be 3 numbers (R,G,B), got ${String(v)}`);
  }
  if (spec.std.some((x) => x === 0)) bad('std must not contain 0');
  if (spec.layout !== 'nchw' && spec.layout !== 'nhwc') bad(`layout must be nchw or nhwc, got ${String(spec.layout)}`);
  return spec;
}

/** A short stable fingerprint of a spec, part of an encoder id (so a changed preprocessing misses the cache). */
export function preprocessFingerprint(spec: ImagePreprocessSpec): string {
  const canonical = JSON.stringify([spec.size, spec.fit, spec.resize ?? spec.size, [...spec.mean], [...spec.std], spec.layout]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 12);
}

/** Steps 1–2: encoded bytes → `size × size × 3` RGB bytes (row-major, interleaved). PP_EMBED_IMAGE_DECODE on failure. */
export async function decodeRgb(bytes: Uint8Array, spec: ImagePreprocessSpec): Promise<Uint8Array> {
  const { size } = spec;
  try {
    let img = sharp(bytes, { limitInputPixels: MAX_DECODED_PIXELS, failOn: 'error', sequentialRead: true })
      .rotate()
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .toColourspace('srgb');
    if (spec.fit === 'fill') {
      img = img.resize(size, size, { fit: 'fill', kernel: 'lanczos3' });
    } else if ((spec.resize ?? size) === size) {
      img = img.resize(size, size, { fit: 'cover', position: 'centre', kernel: 'lanczos3' });
    } else {
      // Shorter side to `resize`, then the centre size × size. sharp applies an extract() called after
      // resize() to the resized image. Dimensions from the header, swapped for EXIF orientations 5–8.
      const meta = await sharp(bytes, { limitInputPixels: MAX_DECODED_PIXELS }).metadata();
      const swap = (meta.orientation ?? 1) >= 5;
      const w0 = (swap ? meta.height : meta.width) ?? 0;
      const h0 = (swap ? meta.width : meta.height) ?? 0;
      if (w0 <= 0 || h0 <= 0) throw new Error('the image has no dimensions');
      const s = spec.resize! / Math.min(w0, h0);
      const w = Math.max(size, Math.round(w0 * s));
      const h = Math.max(size, Math.round(h0 * s));
      img = img
        .resize(w, h, { fit: 'fill', kernel: 'lanczos3' })
        .extract({ left: Math.floor((w - size) / 2), top: Math.floor((h - size) / 2), width: size, height: size });
    }
    const { data, info } = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.width !== size || info.height !== size || info.channels !== 3) {
      throw new Error(`decoded to ${info.width}×${info.height}×${info.channels}, expected ${size}×${size}×3`);
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (err) {
    throw ppError('PP_EMBED_IMAGE_DECODE', err instanceof Error ? err.message : String(err), err);
  }
}

/**
 * Steps 3–4 for one image: `size² × 3` RGB bytes → normalised floats written into `out` at `offset`
 * (3·size² values in the spec's layout).
 */
export function rgbToTensor(rgb: Uint8Array, spec: ImagePreprocessSpec, out: Float32Array, offset = 0): void {
  const n = spec.size * spec.size;
  if (rgb.length !== 3 * n) throw ppError('PP_INTERNAL', `rgb has ${rgb.length} bytes, expected ${3 * n}`);
  // x = p·a_c + b_c with a_c = 1/(255·std_c), b_c = −mean_c/std_c.
  const a = spec.std.map((s) => 1 / (255 * s));
  const b = spec.mean.map((m, c) => -m / spec.std[c]!);
  if (spec.layout === 'nhwc') {
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) out[offset + 3 * i + c] = rgb[3 * i + c]! * a[c]! + b[c]!;
    }
  } else {
    for (let c = 0; c < 3; c++) {
      const plane = offset + c * n;
      const ac = a[c]!;
      const bc = b[c]!;
      for (let i = 0; i < n; i++) out[plane + i] = rgb[3 * i + c]! * ac + bc;
    }
  }
}

/** Decodes and normalises a batch into one `N × 3·size²` tensor buffer (decodes run concurrently in sharp). */
export async function preprocessBatch(images: readonly Uint8Array[], spec: ImagePreprocessSpec): Promise<Float32Array> {
  const per = 3 * spec.size * spec.size;
  const out = new Float32Array(images.length * per);
  const decoded = await Promise.all(images.map((b) => decodeRgb(b, spec)));
  decoded.forEach((rgb, i) => rgbToTensor(rgb, spec, out, i * per));
  return out;
}
