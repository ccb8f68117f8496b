import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { writeOnnxModel } from './onnx-proto.js';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node') as {
  InferenceSession: { create(b: Uint8Array): Promise<{ run(f: Record<string, unknown>): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>>; release(): Promise<void> }> };
  Tensor: new (t: 'float32', d: Float32Array, dims: number[]) => unknown;
};

test('a written model runs on onnxruntime: a 1×1 convolution with bias, a Clip, int and float attributes', async () => {
  // y = Clip(Conv(x, W, b), 0, 6) with x [1, 2, 1, 2], W [3, 2, 1, 1], b [3].
  const bytes = writeOnnxModel({
    name: 't',
    nodes: [
      { op: 'Conv', inputs: ['x', 'W', 'b'], outputs: ['c'], attrs: { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], group: 1 } },
      { op: 'Clip', inputs: ['c', 'lo', 'hi'], outputs: ['y'] },
      { op: 'LeakyRelu', inputs: ['c'], outputs: ['z'], attrs: { alpha: { f: 0.5 } } },
    ],
    initializers: [
      { name: 'W', dims: [3, 2, 1, 1], data: Float32Array.of(1, 0, 0, 1, 2, -3) },
      { name: 'b', dims: [3], data: Float32Array.of(0, 0.5, -1) },
      { name: 'lo', dims: [], data: Float32Array.of(0) },
      { name: 'hi', dims: [], data: Float32Array.of(6) },
    ],
    inputs: [{ name: 'x', shape: ['N', 2, 1, 2] }],
    outputs: [
      { name: 'y', shape: ['N', 3, 1, 2] },
      { name: 'z', shape: ['N', 3, 1, 2] },
    ],
  });
  const session = await ort.InferenceSession.create(bytes);
  try {
    // channel 0 = (1, 4), channel 1 = (2, 8)
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 4, 2, 8), [1, 2, 1, 2]) });
    // conv: c0 = x0 → (1, 4); c1 = x1 + 0.5 → (2.5, 8.5); c2 = 2·x0 − 3·x1 − 1 → (−5, −17)
    assert.deepEqual([...out['y']!.data], [1, 4, 2.5, 6, 0, 0]);
    assert.deepEqual([...out['y']!.dims], [1, 3, 1, 2]);
    assert.deepEqual([...out['z']!.data], [1, 4, 2.5, 8.5, -2.5, -8.5]);
  } finally {
    await session.release();
  }
});

test('attributes must be integers unless marked as floats; tensors must match their dims', () => {
  const base = { name: 't', initializers: [], inputs: [{ name: 'x', shape: [1] }], outputs: [{ name: 'y', shape: [1] }] };
  assert.throws(() => writeOnnxModel({ ...base, nodes: [{ op: 'LeakyRelu', inputs: ['x'], outputs: ['y'], attrs: { alpha: 0.5 } }] }), /not an integer/);
  assert.throws(() => writeOnnxModel({ ...base, nodes: [], initializers: [{ name: 'w', dims: [2, 2], data: new Float32Array(3) }] }), /3 values for dims \[2, 2\]/);
});
