/**
 * Raw typed-array files of a serving bundle (`*.f32`, `*.i32`: little-endian, no header), read and written by
 * the bundle (serving-bundle.ts) and its similar-items tables (similar-table.ts).
 */
import { readFile } from 'node:fs/promises';
import { ppError } from '../errors.js';

/** The bytes of a typed array's view (for writeFile). */
export function bytes(a: Float32Array | Int32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Reads `expected` 4-byte elements from `path` (PP_SERVE_BUNDLE when missing or of another size). */
export async function readTyped<T extends Float32Array | Int32Array>(path: string, Ctor: new (n: number) => T, expected: number): Promise<T> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw ppError('PP_SERVE_BUNDLE', `missing ${path}`, err);
  }
  if (buf.byteLength !== expected * 4) throw ppError('PP_SERVE_BUNDLE', `${path} has ${buf.byteLength} bytes, expected ${expected * 4}`);
  // Copy into an aligned buffer (readFile's Buffer may sit at an unaligned offset).
  const out = new Ctor(expected);
  new Uint8Array(out.buffer).set(buf);
  return out;
}
