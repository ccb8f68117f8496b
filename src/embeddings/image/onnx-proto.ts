/**
 * A minimal ONNX model writer: just enough protobuf (onnx.proto, IR version 8, opset 13) to hand
 * onnxruntime a float32 inference graph built at run time (`InferenceSession.create(bytes)`).
 *
 * Wire format: each field is a varint key `(field << 3) | wireType`; wire type 0 = varint (int32/int64/enum),
 * 2 = length-delimited (string, bytes, sub-message), 5 = 32-bit (float). Repeated scalars are written unpacked
 * (one key per element), which every protobuf parser accepts. Field numbers are onnx.proto's:
 *   ModelProto       ir_version 1, producer_name 2, graph 7, opset_import 8
 *   OperatorSetId    domain 1, version 2
 *   GraphProto       node 1, name 2, initializer 5, input 11, output 12
 *   NodeProto        input 1, output 2, name 3, op_type 4, attribute 5
 *   AttributeProto   name 1, f 2, i 3, s 4, ints 8, type 20 (FLOAT 1, INT 2, STRING 3, INTS 7)
 *   TensorProto      dims 1, data_type 2 (FLOAT 1, INT64 7), name 8, raw_data 9 (little-endian)
 *   ValueInfoProto   name 1, type 2 → TypeProto.tensor_type 1 → elem_type 1, shape 2 → dim 1 → dim_value 1 | dim_param 2
 */

/** An attribute value: an integer, a float, a string, or a list of integers. */
export type OnnxAttr = number | { f: number } | string | readonly number[];

export interface OnnxNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attrs?: Record<string, OnnxAttr>;
}

export interface OnnxTensor {
  name: string;
  dims: readonly number[];
  /** float32 values, or int64 values given as a BigInt64Array. */
  data: Float32Array | BigInt64Array;
}

/** A graph input or output: float32 with a shape whose entries are sizes or symbolic names. */
export interface OnnxValue {
  name: string;
  shape: ReadonlyArray<number | string>;
}

export interface OnnxGraph {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValue[];
  outputs: readonly OnnxValue[];
}

/** Appends protobuf fields to a growing list of byte chunks. */
class Writer {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.size += b.length;
  }

  private varint(v: bigint): void {
    // int64 negatives are two's complement, 10 bytes.
    let x = BigInt.asUintN(64, v);
    const out: number[] = [];
    do {
      let byte = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) byte |= 0x80;
      out.push(byte);
    } while (x !== 0n);
    this.push(Uint8Array.from(out));
  }

  private key(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  int(field: number, v: number | bigint): this {
    this.key(field, 0);
    this.varint(BigInt(v));
    return this;
  }

  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.key(field, 2);
    this.varint(BigInt(b.length));
    this.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

function attribute(name: string, v: OnnxAttr): Writer {
  const w = new Writer().string(1, name);
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`onnx attribute ${name}: ${v} is not an integer (use { f } for floats)`);
    return w.int(3, v).int(20, 2);
  }
  if (typeof v === 'string') return w.string(4, v).int(20, 3);
  if (Array.isArray(v)) {
    for (const x of v as number[]) w.int(8, x);
    return w.int(20, 7);
  }
  return w.float(2, (v as { f: number }).f).int(20, 1);
}

function node(n: OnnxNode): Writer {
  const w = new Writer();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, attribute(k, v));
  return w;
}

function tensor(t: OnnxTensor): Writer {
  const expected = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== expected) throw new Error(`onnx tensor ${t.name}: ${t.data.length} values for dims [${t.dims.join(', ')}]`);
  const w = new Writer();
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.data instanceof Float32Array ? 1 : 7);
  w.string(8, t.name);
  // raw_data is little-endian; typed arrays are in platform order, little-endian on every Node target.
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return w;
}

function valueInfo(v: OnnxValue): Writer {
  const shape = new Writer();
  for (const d of v.shape) shape.message(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().string(2, d));
  const tensorType = new Writer().int(1, 1).message(2, shape);
  return new Writer().string(1, v.name).message(2, new Writer().message(1, tensorType));
}

/** Serialises a graph as an ONNX ModelProto (IR 8, default domain opset 13). */
export function writeOnnxModel(g: OnnxGraph, producer = 'plotpointe'): Uint8Array {
  const graph = new Writer();
  for (const n of g.nodes) graph.message(1, node(n));
  graph.string(2, g.name);
  for (const t of g.initializers) graph.message(5, tensor(t));
  for (const i of g.inputs) graph.message(11, valueInfo(i));
  for (const o of g.outputs) graph.message(12, valueInfo(o));
  return new Writer()
    .int(1, 8)
    .string(2, producer)
    .message(7, graph)
    .message(8, new Writer().string(1, '').int(2, 13))
    .finish();
}
