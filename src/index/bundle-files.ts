/**
 * Raw typed-array files of a serving bundle (`*.f32`, `*.i32`: little-endian, no header), read and written by
 * the bundle (serving-bundle.ts) and its similar-items tables (similar-table.ts).
 */
import { ppError } from '../errors.js';
import { readWholeFile } from '../lake/read-whole.js';

/** The bytes of a typed array's view (for writeFile). */
export function bytes(a: Float32Array | Int32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Reads `expected` 4-byte elements from `path` (PP_SERVE_BUNDLE when missing or of another size). */
export async function readTyped<T extends Float32Array | Int32Array>(path: string, Ctor: new (buffer: ArrayBuffer, byteOffset: number, length: number) => T, expected: number): Promise<T> {
  let buf: Uint8Array;
  try {
    buf = await readWholeFile(path); // any size, aligned at offset 0
  } catch (err) {
    throw ppError('PP_SERVE_BUNDLE', `missing ${path}`, err);
  }
  if (buf.byteLength !== expected * 4) throw ppError('PP_SERVE_BUNDLE', `${path} has ${buf.byteLength} bytes, expected ${expected * 4}`);
  return new Ctor(buf.buffer as ArrayBuffer, 0, expected);
}
