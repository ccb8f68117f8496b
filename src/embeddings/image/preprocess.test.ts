import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { isPlotPointeError } from '../../errors.js';
import { decodeRgb, preprocessFingerprint, rgbToTensor, validatePreprocess, type ImagePreprocessSpec } from './preprocess.js';
import { parseImageEncoderSpec } from './encoders.js';
import { drawnImage } from './testkit.js';

const spec = (over: Partial<ImagePreprocessSpec> = {}): ImagePreprocessSpec => ({
  size: 8,
  fit: 'cover',
  mean: [0, 0, 0],
  std: [1, 1, 1],
  layout: 'nchw',
  ...over,
});

/** The RGB of pixel (x, y) of a decoded size × size image. */
const px = (rgb: Uint8Array, size: number, x: number, y: number) => [...rgb.subarray(3 * (y * size + x), 3 * (y * size + x) + 3)];
const near = (a: number[], b: number[], tol = 12) => a.every((v, i) => Math.abs(v - b[i]!) <= tol);

test('rgbToTensor normalises (p/255 − mean)/std per channel into nchw planes or nhwc pixels', () => {
  const rgb = new Uint8Array([255, 0, 51, 0, 255, 102]); // 2 pixels: (255,0,51), (0,255,102)
  const s = spec({ size: 1, mean: [0.5, 0.25, 0], std: [0.5, 0.25, 0.2] });
  // size 1 holds one pixel: check with a 1-pixel image, then the 2-pixel layouts by hand.
  const one = new Float32Array(3);
  rgbToTensor(rgb.subarray(0, 3), s, one);
  assert.deepEqual([...one].map((v) => +v.toFixed(5)), [1, -1, 1]);

  const two = { ...s, size: 1 };
  const nhwc = new Float32Array(6);
  rgbToTensor(rgb.subarray(3, 6), { ...two, layout: 'nhwc' }, nhwc, 3);
  assert.deepEqual([...nhwc.subarray(3)].map((v) => +v.toFixed(5)), [-1, 3, 2]);
  assert.deepEqual([...nhwc.subarray(0, 3)], [0, 0, 0], 'writes only at its offset');

  // 2 × 2 image: nchw puts all R first.
  const img = new Uint8Array([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]);
  const planes = new Float32Array(12);
  rgbToTensor(img, spec({ size: 2 }), planes);
  assert.deepEqual([...planes].map((v) => Math.round(v * 255)), [10, 40, 70, 100, 20, 50, 80, 110, 30, 60, 90, 120]);
  const inter = new Float32Array(12);
  rgbToTensor(img, spec({ size: 2, layout: 'nhwc' }), inter);
  assert.deepEqual([...inter].map((v) => Math.round(v * 255)), [...img]);
});

test('fit cover centre-crops a wide image; fill squashes it; resize > size crops a smaller centre', async () => {
  // 32 × 16: left quarter red, right quarter blue, the middle half green with a white centre square.
  const wide = await drawnImage(32, 16, (x, y) => {
    if (x < 8) return [255, 0, 0];
    if (x >= 24) return [0, 0, 255];
    return x >= 14 && x < 18 && y >= 6 && y < 10 ? [255, 255, 255] : [0, 255, 0];
  });
  const cover = await decodeRgb(wide, spec({ size: 16 }));
  assert.ok(near(px(cover, 16, 1, 8), [0, 255, 0]), `cover keeps the green middle at the left edge, got ${px(cover, 16, 1, 8)}`);
  assert.ok(near(px(cover, 16, 14, 8), [0, 255, 0]));
  assert.ok(near(px(cover, 16, 8, 8), [255, 255, 255]));
  const fill = await decodeRgb(wide, spec({ size: 16, fit: 'fill' }));
  assert.ok(near(px(fill, 16, 0, 8), [255, 0, 0]), 'fill keeps the red left edge');
  assert.ok(near(px(fill, 16, 15, 8), [0, 0, 255]), 'fill keeps the blue right edge');
  // resize 32 then crop 16: the crop is the centre 16 × 16 of a 64 × 32 image = x 24..40 of 64, all green/white.
  const zoom = await decodeRgb(wide, spec({ size: 16, resize: 32 }));
  assert.ok(near(px(zoom, 16, 8, 8), [255, 255, 255]));
  assert.ok(near(px(zoom, 16, 0, 0), [0, 255, 0]));
  // The white square (4 px of 16 in the source) covers 8 px of the 16-px zoomed crop, 4 px in the plain cover.
  const whiteRun = (rgb: Uint8Array) => Array.from({ length: 16 }, (_, x) => near(px(rgb, 16, x, 8), [255, 255, 255], 60)).filter(Boolean).length;
  assert.ok(whiteRun(zoom) >= 7 && whiteRun(zoom) <= 9, `zoomed white run ${whiteRun(zoom)}`);
  assert.ok(whiteRun(cover) >= 3 && whiteRun(cover) <= 5, `cover white run ${whiteRun(cover)}`);
});

test('EXIF orientation is applied before the geometry (a phone photo taken sideways)', async () => {
  // Stored 16 × 8: left half red, right half blue; orientation 6 = display rotated 90° clockwise, so the
  // displayed picture is 8 × 16 with red on top.
  const stored = await drawnImage(16, 8, (x) => (x < 8 ? [255, 0, 0] : [0, 0, 255]), 'jpeg');
  const sideways = await sharp(stored).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer();
  const rgb = await decodeRgb(sideways, spec({ size: 8, fit: 'fill' }));
  assert.ok(near(px(rgb, 8, 4, 0), [255, 0, 0], 40), `top is red, got ${px(rgb, 8, 4, 0)}`);
  assert.ok(near(px(rgb, 8, 4, 7), [0, 0, 255], 40), `bottom is blue, got ${px(rgb, 8, 4, 7)}`);
  // fit cover of the displayed 8 × 16 keeps the centre rows: red above the middle, blue below.
  const cover = await decodeRgb(sideways, spec({ size: 8, resize: 8 }));
  assert.ok(near(px(cover, 8, 4, 1), [255, 0, 0], 40) && near(px(cover, 8, 4, 6), [0, 0, 255], 40));
  const zoom = await decodeRgb(sideways, spec({ size: 8, resize: 12 }));
  assert.ok(near(px(zoom, 8, 4, 1), [255, 0, 0], 40) && near(px(zoom, 8, 4, 6), [0, 0, 255], 40));
});

test('transparency is flattened onto white and greyscale becomes RGB', async () => {
  const transparent = await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
  const rgb = await decodeRgb(transparent, spec());
  assert.ok(near(px(rgb, 8, 3, 3), [255, 255, 255], 1));
  const grey = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 90, g: 90, b: 90 } } }).greyscale().jpeg().toBuffer();
  assert.equal((await decodeRgb(grey, spec())).length, 8 * 8 * 3);
});

test('bytes that are not an image, a truncated PNG and an empty buffer are PP_EMBED_IMAGE_DECODE', async () => {
  const png = await drawnImage(64, 64, (x, y) => [x * 4, y * 4, 128]);
  for (const bad of [Buffer.from('<html>not found</html>'), png.subarray(0, png.length >> 1), Buffer.alloc(0)]) {
    await assert.rejects(decodeRgb(bad, spec()), (err: unknown) => isPlotPointeError(err, 'PP_EMBED_IMAGE_DECODE'));
  }
});

test('specs are validated and fingerprinted', () => {
  assert.throws(() => validatePreprocess(spec({ size: 3 })), (e: unknown) => isPlotPointeError(e, 'PP_EMBED_INVALID'));
  assert.throws(() => validatePreprocess(spec({ std: [1, 0, 1] })), (e: unknown) => isPlotPointeError(e, 'PP_EMBED_INVALID'));
  assert.throws(() => validatePreprocess(spec({ resize: 4 })), (e: unknown) => isPlotPointeError(e, 'PP_EMBED_INVALID'));
  assert.notEqual(preprocessFingerprint(spec()), preprocessFingerprint(spec({ layout: 'nhwc' })));
  assert.equal(preprocessFingerprint(spec()), preprocessFingerprint(spec({ resize: 8 })), 'resize = size is the default');
});

test('encoder specs: bundled, onnx with ImageNet defaults and declared options, and the errors', () => {
  assert.deepEqual(parseImageEncoderSpec('bundled'), { kind: 'bundled' });
  const d = parseImageEncoderSpec('onnx:./m.onnx');
  assert.ok(d.kind === 'onnx');
  assert.equal(d.path, './m.onnx');
  assert.deepEqual(d.preprocess, { size: 224, fit: 'cover', resize: undefined, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], layout: 'nchw' });
  assert.equal(d.normalise, true);
  const c = parseImageEncoderSpec('onnx:/m/clip.onnx?size=336&resize=384&mean=0.48,0.46,0.41&std=0.27,0.26,0.28&layout=nhwc&output=image_embeds&input=pixel_values&normalise=0&threads=1');
  assert.ok(c.kind === 'onnx');
  assert.deepEqual(c.preprocess, { size: 336, fit: 'cover', resize: 384, mean: [0.48, 0.46, 0.41], std: [0.27, 0.26, 0.28], layout: 'nhwc' });
  assert.equal(c.output, 'image_embeds');
  assert.equal(c.input, 'pixel_values');
  assert.equal(c.normalise, false);
  assert.equal(c.threads, 1);
  const code = (s: string) => {
    try {
      parseImageEncoderSpec(s);
    } catch (e) {
      return isPlotPointeError(e) ? e.code : 'other';
    }
    return 'none';
  };
  assert.equal(code('clip'), 'PP_EMBED_ENCODER_UNKNOWN');
  assert.equal(code('onnx:'), 'PP_EMBED_ENCODER_UNKNOWN');
  assert.equal(code('onnx:m.onnx?colour=1'), 'PP_EMBED_INVALID');
  assert.equal(code('onnx:m.onnx?mean=1,2'), 'PP_EMBED_INVALID');
  assert.equal(code('onnx:m.onnx?layout=chw'), 'PP_EMBED_INVALID');
  assert.equal(code('onnx:m.onnx?size=abc'), 'PP_EMBED_INVALID');
});
