import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import sharp from 'sharp';
import { isPlotPointeError } from '../../errors.js';
import { tempDir } from '../../test-support/fixtures.js';
import { cosine, type Encoder } from '../encoder.js';
import { createImageEncoder } from './encoders.js';
import { BUNDLED_HEAD_CLASSES, BundledImageEncoder } from './bundled-encoder.js';
import type { OnnxImageEncoder } from './onnx-encoder.js';
import { demoImageLake, drawnImage, MOBILENET } from './testkit.js';

/** Row i of a batch × dim matrix. */
const row = (m: Float32Array, dim: number, i: number) => m.subarray(i * dim, (i + 1) * dim);
const argmax = (v: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
};
const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

/** A 15 × 15 crossword-like grid and a square maze: ImageNet classes 918 "crossword puzzle" and 646 "maze". */
async function puzzlePictures(): Promise<{ crossword: Buffer; maze: Buffer }> {
  const S = 300;
  const cell = S / 15;
  const black = (i: number, j: number) => (i * 7 + j * 3) % 11 === 0 || (i * 5 + j * 11) % 13 === 0;
  const crossword = await drawnImage(S, S, (x, y) =>
    x % cell < 1.5 || y % cell < 1.5 || black(Math.floor(y / cell), Math.floor(x / cell)) ? [10, 10, 10] : [250, 250, 250],
  );
  const maze = await drawnImage(S, S, (x, y) => {
    const d = Math.max(Math.abs(x - S / 2), Math.abs(y - S / 2));
    const ring = Math.floor(d / 12);
    const gap = ring % 2 === 0 ? x > S / 2 - 8 && x < S / 2 + 8 && y < S / 2 : y > S / 2 - 8 && y < S / 2 + 8 && x > S / 2;
    return d % 12 < 3 && !gap ? [20, 20, 20] : [240, 240, 240];
  });
  return { crossword, maze };
}

/** Demo product pictures with their leaf categories; three anchors with a mirrored and a re-toned (brighter, less saturated, slight hue shift) copy. */
async function productPictures(dir: string) {
  const { imagesDir } = await demoImageLake(dir, 40);
  // The leaf category of each product, from the generated catalog.
  const meta = gunzipSync(readFileSync(join(imagesDir, '..', 'meta_Demo.json.gz')))
    .toString('utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { asin: string; category: string[] });
  const pics = meta.map((m) => readFileSync(join(imagesDir, `${m.asin}.png`)));
  const categories = meta.map((m) => m.category[m.category.length - 1]!);
  const anchors = [pics[0]!, pics[1]!, pics[2]!];
  const flipped = await Promise.all(anchors.map((b) => sharp(b).flop().png().toBuffer()));
  const recoloured = await Promise.all(anchors.map((b) => sharp(b).modulate({ brightness: 1.12, saturation: 0.75, hue: 12 }).png().toBuffer()));
  return { pics, categories, anchors, flipped, recoloured };
}

/** The properties every image encoder must have, on real pictures. */
function encoderContract(label: string, spec: string, skip: string | false) {
  describe(`${label} (${spec.split('?')[0]})`, { skip }, () => {
    let enc: Encoder<Buffer>;
    let pictures: Awaited<ReturnType<typeof productPictures>>;
    before(async () => {
      enc = await createImageEncoder(spec);
      pictures = await productPictures(tempDir('img-enc'));
    });
    after(() => enc?.dispose());

    test('1280-d unit rows, deterministic, and a batch equals its images one by one', async () => {
      assert.equal(enc.dim, 1280);
      assert.equal(enc.modality, 'image');
      assert.equal(enc.normalised, true);
      const batch = pictures.pics.slice(0, 5);
      const a = await enc.encode(batch);
      const b = await enc.encode(batch);
      assert.deepEqual(a, b, 'the same input gives the same output');
      for (let i = 0; i < batch.length; i++) {
        const single = await enc.encode([batch[i]!]);
        assert.ok(maxAbsDiff(single, row(a, enc.dim, i)) < 1e-4, `row ${i} of the batch = the image alone`);
        let n = 0;
        for (const v of row(a, enc.dim, i)) n += v * v;
        assert.ok(Math.abs(Math.sqrt(n) - 1) < 1e-4);
      }
      // Different pictures give different vectors.
      assert.ok(cosine(row(a, enc.dim, 0), row(a, enc.dim, 1)) < 0.999);
    });

    test('a mirrored or recoloured copy is closer to its original than other products are', async () => {
      const { anchors, flipped, recoloured, pics } = pictures;
      const others = pics.slice(3, 23);
      const all = await enc.encode([...anchors, ...flipped, ...recoloured, ...others]);
      const vec = (i: number) => row(all, enc.dim, i);
      const n = anchors.length;
      for (let a = 0; a < n; a++) {
        const toOthers = others.map((_, j) => cosine(vec(a), vec(3 * n + j))).sort((x, y) => y - x);
        // Other demo products may share the type and brand of the anchor (near-duplicates by design): compare
        // with the median other product, and require the copies to beat most of them.
        const median = toOthers[toOthers.length >> 1]!;
        const flip = cosine(vec(a), vec(n + a));
        const recolour = cosine(vec(a), vec(2 * n + a));
        assert.ok(flip > median, `anchor ${a}: mirrored ${flip.toFixed(3)} vs median other ${median.toFixed(3)}`);
        assert.ok(recolour > median, `anchor ${a}: recoloured ${recolour.toFixed(3)} vs median other ${median.toFixed(3)}`);
      }
    });

    test('pictures of the same product category are closer than pictures of different categories', async () => {
      const { pics, categories } = pictures;
      const v = await enc.encode(pics);
      const vec = (i: number) => row(v, enc.dim, i);
      let within = 0;
      let nWithin = 0;
      let between = 0;
      let nBetween = 0;
      let nnHits = 0;
      let chance = 0;
      for (let i = 0; i < pics.length; i++) {
        let best = -2;
        let bestJ = -1;
        for (let j = 0; j < pics.length; j++) {
          if (j === i) continue;
          const c = cosine(vec(i), vec(j));
          if (c > best) [best, bestJ] = [c, j];
          if (j > i) {
            if (categories[i] === categories[j]) [within, nWithin] = [within + c, nWithin + 1];
            else [between, nBetween] = [between + c, nBetween + 1];
          }
        }
        if (categories[bestJ] === categories[i]) nnHits++;
        chance += categories.filter((c, j) => j !== i && c === categories[i]).length / (pics.length - 1);
      }
      assert.ok(within / nWithin > between / nBetween + 0.05, `within ${(within / nWithin).toFixed(3)} vs between ${(between / nBetween).toFixed(3)}`);
      const acc = nnHits / pics.length;
      assert.ok(acc > 3 * (chance / pics.length) && acc >= 0.4, `1-NN category accuracy ${acc.toFixed(2)} (chance ${(chance / pics.length).toFixed(2)})`);
    });

    test('an undecodable image in a batch is PP_EMBED_IMAGE_DECODE', async () => {
      await assert.rejects(enc.encode([pictures.pics[0]!, Buffer.from('not an image')]), (e: unknown) => isPlotPointeError(e, 'PP_EMBED_IMAGE_DECODE'));
    });
  });
}

encoderContract('ONNX ImageNet MobileNetV2 features', `onnx:${MOBILENET.path}`, MOBILENET.skip);
encoderContract('bundled nsfwjs MobileNetV2 features', 'bundled', false);
encoderContract('bundled MobileNetV2 on onnxruntime (the default)', 'bundled-ort', false);
encoderContract('bundled MobileNetV2 on onnxruntime, one thread, 96 px', 'bundled-ort?size=96&threads=1', false);

test('bundled-ort at 224 px computes what bundled (tfjs) computes, and its size and layer change the id and width', async () => {
  const { imagesDir } = await demoImageLake(tempDir('img-ort'), 20);
  const pics = readdirSync(imagesDir).sort().slice(0, 10).map((f) => readFileSync(join(imagesDir, f)));
  const tfjs = await createImageEncoder('bundled');
  const ort = await createImageEncoder('bundled-ort?size=224');
  const small = await createImageEncoder('bundled-ort');
  const cut = await createImageEncoder('bundled-ort?layer=block_13_expand_relu&threads=1');
  try {
    const a = await tfjs.encode(pics);
    const b = await ort.encode(pics);
    for (let i = 0; i < pics.length; i++) assert.ok(cosine(row(a, 1280, i), row(b, 1280, i)) > 0.99999, `picture ${i}`);
    assert.equal(cut.dim, 576);
    const c = await cut.encode(pics.slice(0, 3));
    assert.equal(c.length, 3 * 576);
    assert.equal(new Set([tfjs.id, ort.id, small.id, cut.id]).size, 4);
    assert.equal((small as OnnxImageEncoder).preprocess.size, 128);
  } finally {
    await Promise.all([tfjs, ort, small, cut].map((e) => e.dispose()));
  }
  for (const spec of ['bundled-ort?size=100', 'bundled-ort?size=16', 'bundled-ort?nope=1', 'bundled-ort?threads=0']) {
    await assert.rejects(createImageEncoder(spec), (e: unknown) => isPlotPointeError(e, 'PP_EMBED_INVALID'), spec);
  }
  await assert.rejects(createImageEncoder('bundled-ort?layer=no_such_layer'), (e: unknown) => isPlotPointeError(e, 'PP_EMBED_MODEL_LOAD'));
});

test('the bundled weights are the trained nsfwjs ones: its own 5-class head calls demo product pictures neutral', async () => {
  const enc = await BundledImageEncoder.load();
  try {
    const { imagesDir } = await demoImageLake(tempDir('img-head'), 20);
    const pics = readdirSync(imagesDir).sort().slice(0, 12).map((f) => readFileSync(join(imagesDir, f)));
    const scores = await enc.headScores(pics);
    let neutral = 0;
    for (let i = 0; i < pics.length; i++) {
      const p = row(scores, 5, i);
      assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-3, 'softmax rows');
      if (BUNDLED_HEAD_CLASSES[argmax(p)] === 'neutral') neutral++;
    }
    assert.ok(neutral >= 9, `${neutral} of 12 product pictures neutral`);
    // …and not because the head answers the same for everything (as zero or shuffled weights might).
    const spread = Math.max(...Array.from({ length: pics.length }, (_, i) => maxAbsDiff(row(scores, 5, i), row(scores, 5, 0))));
    assert.ok(spread > 0.05, `scores vary between pictures (max difference ${spread.toFixed(3)})`);
  } finally {
    await enc.dispose();
  }
});

describe('ONNX MobileNetV2 logits', { skip: MOBILENET.skip }, () => {
  test("the 'output' logits name the ImageNet class of simple synthetic pictures (918 crossword puzzle, 646 maze)", async () => {
    const enc = await createImageEncoder(`onnx:${MOBILENET.path}?output=output&normalise=0`);
    try {
      assert.equal(enc.dim, 1000);
      assert.equal(enc.normalised, false);
      const { crossword, maze } = await puzzlePictures();
      const logits = await enc.encode([crossword, maze]);
      assert.equal(argmax(row(logits, 1000, 0)), 918);
      assert.equal(argmax(row(logits, 1000, 1)), 646);
    } finally {
      await enc.dispose();
    }
  });

  test('the id changes with the output and the preprocessing; unknown outputs and missing files fail to load', async () => {
    const a = await createImageEncoder(`onnx:${MOBILENET.path}`);
    const b = await createImageEncoder(`onnx:${MOBILENET.path}?resize=256`);
    try {
      assert.match(a.id, /^onnx:mobilenetv2-12-int8-features\.onnx#[0-9a-f]{16}\/features\//);
      assert.notEqual(a.id, b.id);
    } finally {
      await a.dispose();
      await b.dispose();
    }
    const dir = tempDir('img-enc-bad');
    writeFileSync(join(dir, 'junk.onnx'), 'not a model');
    for (const spec of [`onnx:${MOBILENET.path}?output=logits`, `onnx:${join(dir, 'absent.onnx')}`, `onnx:${join(dir, 'junk.onnx')}`]) {
      await assert.rejects(createImageEncoder(spec), (e: unknown) => isPlotPointeError(e, 'PP_EMBED_MODEL_LOAD'), spec);
    }
  });
});
