import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPlotPointeError } from '../../errors.js';
import { writeOnnxModel } from './onnx-proto.js';
import { OnnxImagePool } from './onnx-pool.js';
import { drawnImage, solidPng } from './testkit.js';

/** A model whose output is its input's per-channel mean: [N, 3, 8, 8] → [N, 3]. */
const meanModel = writeOnnxModel({
  name: 'mean',
  nodes: [
    { op: 'GlobalAveragePool', inputs: ['x'], outputs: ['p'] },
    { op: 'Flatten', inputs: ['p'], outputs: ['features'], attrs: { axis: 1 } },
  ],
  initializers: [],
  inputs: [{ name: 'x', shape: ['N', 3, 8, 8] }],
  outputs: [{ name: 'features', shape: ['N', 3] }],
});
const spec = { size: 8, fit: 'fill' as const, mean: [0, 0, 0] as const, std: [1, 1, 1] as const, layout: 'nchw' as const };

test('the pool spreads a batch over its threads and returns the rows in input order', async () => {
  const pool = await OnnxImagePool.open({ model: meanModel, workers: 2, chunk: 3, preprocess: spec });
  try {
    assert.deepEqual(pool.info.inputNames, ['x']);
    assert.deepEqual(pool.info.outputNames, ['features']);
    // 11 pictures of distinct solid colours → 4 jobs of ≤ 3 on 2 threads; row i must be picture i's colour / 255.
    const colours = Array.from({ length: 11 }, (_, i) => [i * 20, 255 - i * 20, (i * 37) % 256] as [number, number, number]);
    const images = await Promise.all(colours.map((c) => solidPng(c, 16, 12)));
    const [a, b] = await Promise.all([pool.run(images, 'x', 'features'), pool.run(images.slice(0, 2).reverse(), 'x', 'features')]);
    assert.equal(a.length, 33);
    colours.forEach((c, i) => c.forEach((v, ch) => assert.ok(Math.abs(a[3 * i + ch]! - v / 255) < 1e-5, `row ${i} channel ${ch}`)));
    assert.deepEqual([...b], [...a.subarray(3, 6), ...a.subarray(0, 3)]);
    assert.equal((await pool.probe(2, 'x', 'features')).length, 6);
  } finally {
    await pool.close();
  }
});

test('an undecodable picture fails its batch with PP_EMBED_IMAGE_DECODE and the pool keeps working; a closed pool refuses work', async () => {
  const pool = await OnnxImagePool.open({ model: meanModel, workers: 1, preprocess: spec });
  const good = await drawnImage(8, 8, (x) => [x * 30, 0, 0]);
  await assert.rejects(pool.run([good, Buffer.from('not an image')], 'x', 'features'), (e: unknown) => isPlotPointeError(e, 'PP_EMBED_IMAGE_DECODE'));
  assert.equal((await pool.run([good], 'x', 'features')).length, 3);
  await pool.close();
  await assert.rejects(pool.run([good], 'x', 'features'), /closed/);
});

test('a model that is not ONNX fails to open with the thread error, and leaves no thread behind', async () => {
  await assert.rejects(OnnxImagePool.open({ model: new Uint8Array([1, 2, 3]), workers: 2, preprocess: spec }));
});
