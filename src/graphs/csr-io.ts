/**
 * Graph files: a CSR as three little-endian binary arrays and a JSON header, in one folder:
 *
 *   <name>.indptr.i32   Int32  [rows + 1]
 *   <name>.indices.i32  Int32  [nnz]
 *   <name>.weights.f32  Float32 [nnz]
 *   <name>.json         { format, rows, cols, nnz, kind, stats, files: { <file>: { bytes, sha256 } }, ... }
 *
 * Each file is written through a temporary sibling and a rename; the header is written last and records each
 * array's size and sha256, so a reader never mistakes a half-replaced set for a graph (sizes are always
 * checked, checksums with `verify`).
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { endianness } from 'node:os';
import { ppError } from '../errors.js';
import { writeFileAtomically } from '../lake/atomic.js';
import type { KnnGraph } from './knn-graph.js';

export const CSR_FORMAT = 'plotpointe-csr/1';

export interface CsrHeader {
  format: typeof CSR_FORMAT;
  rows: number;
  cols: number;
  nnz: number;
  /** what the graph is, e.g. 'item-item-knn/text' */
  kind: string;
  stats?: unknown;
  files: Record<string, { bytes: number; sha256: string }>;
  [extra: string]: unknown;
}

const PARTS = [
  ['indptr', 'i32'],
  ['indices', 'i32'],
  ['weights', 'f32'],
] as const;

function bytesOf(a: Int32Array | Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** File names of graph `name`. */
export function csrFiles(name: string): { indptr: string; indices: string; weights: string; header: string } {
  return { indptr: `${name}.indptr.i32`, indices: `${name}.indices.i32`, weights: `${name}.weights.f32`, header: `${name}.json` };
}

/** Writes graph `name` into `dir`; `extra` fields are added to the header. Returns the header. */
export async function saveCsr(
  dir: string,
  name: string,
  g: KnnGraph,
  opts: { kind: string; stats?: unknown; extra?: Record<string, unknown> },
): Promise<CsrHeader> {
  if (endianness() !== 'LE') throw ppError('PP_GRAPH_INVALID', 'graph files are little-endian; this machine is big-endian');
  const nnz = g.indptr[g.rows];
  if (g.indptr.length !== g.rows + 1 || g.indices.length !== nnz || g.weights.length !== nnz) {
    throw ppError('PP_GRAPH_INVALID', `inconsistent CSR: indptr ${g.indptr.length}, indices ${g.indices.length}, weights ${g.weights.length}, rows ${g.rows}`);
  }
  const names = csrFiles(name);
  const files: CsrHeader['files'] = {};
  for (const [part] of PARTS) {
    const data = bytesOf(g[part]);
    await writeFileAtomically(join(dir, names[part]), data);
    files[names[part]] = { bytes: data.byteLength, sha256: sha256(data) };
  }
  const header: CsrHeader = { ...opts.extra, format: CSR_FORMAT, rows: g.rows, cols: g.cols, nnz, kind: opts.kind, stats: opts.stats, files };
  await writeFileAtomically(join(dir, names.header), JSON.stringify(header, null, 2) + '\n');
  return header;
}

/** Reads the header of graph `name` in `dir`. */
export async function readCsrHeader(dir: string, name: string): Promise<CsrHeader> {
  const path = join(dir, csrFiles(name).header);
  let header: CsrHeader;
  try {
    header = JSON.parse(await readFile(path, 'utf8')) as CsrHeader;
  } catch (err) {
    throw ppError('PP_GRAPH_LOAD', `${path} is missing or unreadable`, err);
  }
  if (header.format !== CSR_FORMAT) throw ppError('PP_GRAPH_LOAD', `${path}: unknown format ${String(header.format)}`);
  return header;
}

/** Loads graph `name` from `dir`, checking sizes against the header (and checksums with `verify`). */
export async function loadCsr(dir: string, name: string, opts: { verify?: boolean } = {}): Promise<{ graph: KnnGraph; header: CsrHeader }> {
  const header = await readCsrHeader(dir, name);
  const names = csrFiles(name);
  const expected = { indptr: header.rows + 1, indices: header.nnz, weights: header.nnz };
  const arrays: Partial<Record<'indptr' | 'indices' | 'weights', Int32Array | Float32Array>> = {};
  for (const [part, type] of PARTS) {
    const path = join(dir, names[part]);
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (err) {
      throw ppError('PP_GRAPH_LOAD', `${path} is missing or unreadable`, err);
    }
    if (buf.byteLength !== expected[part] * 4) {
      throw ppError('PP_GRAPH_LOAD', `${path}: ${buf.byteLength} bytes, header expects ${expected[part] * 4}`);
    }
    const meta = header.files?.[names[part]];
    if (opts.verify && meta && sha256(buf) !== meta.sha256) throw ppError('PP_GRAPH_LOAD', `${path}: checksum differs from the header`);
    // copy into a fresh, 4-byte aligned buffer
    const aligned = new ArrayBuffer(buf.byteLength);
    new Uint8Array(aligned).set(buf);
    arrays[part] = type === 'i32' ? new Int32Array(aligned) : new Float32Array(aligned);
  }
  const graph: KnnGraph = {
    rows: header.rows,
    cols: header.cols,
    indptr: arrays.indptr as Int32Array,
    indices: arrays.indices as Int32Array,
    weights: arrays.weights as Float32Array,
  };
  if (graph.indptr[0] !== 0 || graph.indptr[graph.rows] !== header.nnz) {
    throw ppError('PP_GRAPH_LOAD', `${join(dir, names.indptr)}: indptr does not span the ${header.nnz} entries`);
  }
  return { graph, header };
}
