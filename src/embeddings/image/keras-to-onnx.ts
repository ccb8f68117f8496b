import { writeOnnxModel, type OnnxNode, type OnnxTensor } from './onnx-proto.js';

/**
 * A Keras functional model (tfjs layers topology + dequantised weights) → an ONNX float32 graph of its
 * convolutional trunk, average-pooled at one layer: `features = GlobalAveragePool(layer)` flattened to
 * [N, C]. Enough of Keras for MobileNet-style networks: InputLayer, ZeroPadding2D (folded into the next
 * convolution's pads), Conv2D, DepthwiseConv2D (group = channels), BatchNormalization (inference form;
 * onnxruntime folds it into the convolution), ReLU (with max_value → Clip), Add. Anything else on the path
 * to `layer` throws.
 *
 * Layout: the ONNX input is NCHW [N, 3, size, size] (the Keras model is NHWC): kernels are transposed from
 * Keras [kh, kw, in, out] to ONNX [out, in, kh, kw], depthwise [kh, kw, C, 1] to [C, 1, kh, kw].
 * Padding 'same' → auto_pad SAME_UPPER (TensorFlow puts the odd extra pixel at the bottom/right too).
 * At the network's own input size and with `layer` = the last activation, the pooled output equals Keras'
 * AveragePooling2D(7×7) + Flatten; any other size works as long as the strides divide it.
 */
export interface KerasLayer {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: Array<Array<[string, number, number, unknown?]>>;
}

export interface KerasToOnnxOptions {
  /** Input side in pixels (square). */
  size: number;
  /** The layer to pool (default: the layer feeding the model's first pooling layer). */
  layer: string;
  /** Weight lookup by Keras weight name (`<layer>/kernel`, `<layer>/gamma`, …). */
  weight: (name: string) => { shape: readonly number[]; data: Float32Array };
}

export interface KerasOnnxModel {
  bytes: Uint8Array;
  input: string;
  output: string;
  /** Channels of the pooled layer (= the embedding width). */
  dim: number;
}

/** Keras [kh, kw, in, out] → ONNX [out, in, kh, kw]. */
function convKernel(shape: readonly number[], data: Float32Array): OnnxTensor['data'] {
  const [kh, kw, cin, cout] = shape as [number, number, number, number];
  const out = new Float32Array(data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = data[((y * kw + x) * cin + i) * cout + o]!;
  return out;
}

function pair(v: unknown, what: string): [number, number] {
  if (!Array.isArray(v) || v.length !== 2) throw new Error(`${what}: expected two numbers, got ${JSON.stringify(v)}`);
  return [Number(v[0]), Number(v[1])];
}

export function kerasToOnnx(layers: readonly KerasLayer[], o: KerasToOnnxOptions): KerasOnnxModel {
  const byName = new Map(layers.map((l) => [l.name, l]));
  const inboundOf = (l: KerasLayer): string[] => (l.inbound_nodes[0] ?? []).map((n) => n[0]);
  if (!byName.has(o.layer)) throw new Error(`no layer "${o.layer}"`);

  // The layers `layer` depends on, in topological order.
  const order: KerasLayer[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const l = byName.get(name);
    if (!l) throw new Error(`unknown inbound layer "${name}"`);
    for (const i of inboundOf(l)) visit(i);
    order.push(l);
  };
  visit(o.layer);

  const nodes: OnnxNode[] = [];
  const inits: OnnxTensor[] = [];
  const channels = new Map<string, number>();
  /** Pads [top, left, bottom, right] of a ZeroPadding2D, applied by the convolution that consumes it. */
  const pending = new Map<string, { from: string; pads: number[] }>();
  let input = '';
  const init = (name: string, dims: readonly number[], data: OnnxTensor['data']) => {
    inits.push({ name, dims, data });
    return name;
  };
  const clipBounds = new Map<number, [string, string]>();
  const clip = (max: number): [string, string] => {
    let b = clipBounds.get(max);
    if (!b) {
      b = [init(`clip_min_${max}`, [], Float32Array.of(0)), init(`clip_max_${max}`, [], Float32Array.of(max))];
      clipBounds.set(max, b);
    }
    return b;
  };

  for (const l of order) {
    const c = l.config;
    const ins = inboundOf(l);
    const from = ins[0] ?? '';
    switch (l.class_name) {
      case 'InputLayer': {
        const shape = c['batch_input_shape'] as Array<number | null>;
        input = l.name;
        channels.set(l.name, Number(shape[3] ?? 3));
        break;
      }
      case 'ZeroPadding2D': {
        const [[t, b], [lf, r]] = (c['padding'] as number[][]).map((p) => pair(p, `${l.name} padding`));
        pending.set(l.name, { from, pads: [t, lf, b, r] });
        channels.set(l.name, channels.get(from)!);
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const depthwise = l.class_name === 'DepthwiseConv2D';
        const pad = pending.get(from);
        const src = pad ? pad.from : from;
        const k = o.weight(`${l.name}/${depthwise ? 'depthwise_kernel' : 'kernel'}`);
        const [kh, kw, cin, cout] = k.shape as [number, number, number, number];
        if (c['activation'] !== 'linear') throw new Error(`${l.name}: activation ${String(c['activation'])} is not supported`);
        const dil = pair(c['dilation_rate'] ?? [1, 1], `${l.name} dilation_rate`);
        if (dil[0] !== 1 || dil[1] !== 1) throw new Error(`${l.name}: dilation is not supported`);
        const attrs: Record<string, number | string | number[]> = {
          kernel_shape: [kh, kw],
          strides: pair(c['strides'], `${l.name} strides`),
        };
        if (c['padding'] === 'same') {
          if (pad) throw new Error(`${l.name}: ZeroPadding2D before a 'same' convolution is not supported`);
          attrs['auto_pad'] = 'SAME_UPPER';
        } else if (c['padding'] === 'valid') {
          attrs['pads'] = pad ? pad.pads : [0, 0, 0, 0];
        } else throw new Error(`${l.name}: padding ${String(c['padding'])} is not supported`);
        let weight: OnnxTensor['data'];
        let dims: number[];
        let outC: number;
        if (depthwise) {
          if (cout !== 1) throw new Error(`${l.name}: depth_multiplier ${cout} is not supported`);
          attrs['group'] = cin;
          outC = cin;
          dims = [cin, 1, kh, kw];
          weight = convKernel([kh, kw, 1, cin], k.data);
        } else {
          outC = cout;
          dims = [cout, cin, kh, kw];
          weight = convKernel(k.shape, k.data);
        }
        const inputs = [src, init(`${l.name}.w`, dims, weight)];
        if (c['use_bias']) inputs.push(init(`${l.name}.b`, [outC], o.weight(`${l.name}/bias`).data));
        nodes.push({ op: 'Conv', name: l.name, inputs, outputs: [l.name], attrs });
        channels.set(l.name, outC);
        break;
      }
      case 'BatchNormalization': {
        const n = channels.get(from)!;
        if (c['axis'] !== -1 && c['axis'] !== 3) throw new Error(`${l.name}: axis ${String(c['axis'])} is not supported`);
        const ones = new Float32Array(n).fill(1);
        const zeros = new Float32Array(n);
        const get = (w: string, fallback: Float32Array) => (c[w === 'gamma' ? 'scale' : 'center'] === false ? fallback : o.weight(`${l.name}/${w}`).data);
        const inputs = [
          from,
          init(`${l.name}.gamma`, [n], get('gamma', ones)),
          init(`${l.name}.beta`, [n], get('beta', zeros)),
          init(`${l.name}.mean`, [n], o.weight(`${l.name}/moving_mean`).data),
          init(`${l.name}.var`, [n], o.weight(`${l.name}/moving_variance`).data),
        ];
        nodes.push({ op: 'BatchNormalization', name: l.name, inputs, outputs: [l.name], attrs: { epsilon: { f: Number(c['epsilon'] ?? 1e-3) } } });
        channels.set(l.name, n);
        break;
      }
      case 'ReLU': {
        const max = c['max_value'];
        if (Number(c['negative_slope'] ?? 0) !== 0 || Number(c['threshold'] ?? 0) !== 0) throw new Error(`${l.name}: leaky/thresholded ReLU is not supported`);
        if (max === null || max === undefined) nodes.push({ op: 'Relu', name: l.name, inputs: [from], outputs: [l.name] });
        else nodes.push({ op: 'Clip', name: l.name, inputs: [from, ...clip(Number(max))], outputs: [l.name] });
        channels.set(l.name, channels.get(from)!);
        break;
      }
      case 'Add': {
        if (ins.length !== 2) throw new Error(`${l.name}: Add of ${ins.length} inputs is not supported`);
        nodes.push({ op: 'Add', name: l.name, inputs: ins, outputs: [l.name] });
        channels.set(l.name, channels.get(from)!);
        break;
      }
      default:
        throw new Error(`layer ${l.name}: ${l.class_name} is not supported`);
    }
  }
  if (!input) throw new Error('the model has no InputLayer on the path to the pooled layer');
  nodes.push({ op: 'GlobalAveragePool', name: 'pool', inputs: [o.layer], outputs: ['pooled'] });
  nodes.push({ op: 'Flatten', name: 'flatten', inputs: ['pooled'], outputs: ['features'], attrs: { axis: 1 } });
  const dim = channels.get(o.layer)!;
  const bytes = writeOnnxModel({
    name: 'keras-trunk',
    nodes,
    initializers: inits,
    inputs: [{ name: input, shape: ['N', 3, o.size, o.size] }],
    outputs: [{ name: 'features', shape: ['N', dim] }],
  });
  return { bytes, input, output: 'features', dim };
}
