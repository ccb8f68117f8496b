/**
 * The fusion MLP's inference weights next to the fused vectors, so that a new item's content can be fused
 * outside training (serve-time cold start, src/serving/fusion-forward.ts):
 *
 *   <dir>/<file>.mlp.json   {format, activation, hidden, out, id_dim, input_dim, modalities: [{name, dim, scale,
 *                            mean: [offset, length], placeholder: [offset, length]}], tensors: {w1|b1|w2|b2:
 *                            {offset, shape}}}
 *   <dir>/<file>.mlp.f32    every array above, float32 little-endian, at its offset (in floats)
 *
 * Shapes as in fusion-mlp.ts: W₁ [D_in × H], b₁ [H], W₂ [H × D_out], b₂ [D_out], D_in = Σ d_m + M + d_id. The ID
 * embedding is not exported: a new item has none (cold items train with a zero ID part).
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ppError } from '../../errors.js';
import { writeFileAtomically } from '../../lake/atomic.js';
import type { FusionMlp } from './fusion-mlp.js';

export const FUSION_WEIGHTS_FORMAT = 'plotpointe-fusion-mlp/1';

export interface FusionWeights {
  activation: 'relu' | 'gelu';
  hidden: number;
  out: number;
  /** width of the (not exported) ID embedding: its input columns are zero for a new item */
  idDim: number;
  modalities: { name: string; dim: number; mean: Float32Array; scale: number; placeholder: Float32Array }[];
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

/** The inference weights of a trained fusion layer (copies). */
export function fusionWeightsOf(mlp: FusionMlp): FusionWeights {
  const std = mlp.standardisations();
  return {
    activation: mlp.activation,
    hidden: mlp.hidden,
    out: mlp.out,
    idDim: mlp.idDim,
    modalities: std.map((s) => ({ name: s.name, dim: s.mean.length, mean: s.mean.slice(), scale: s.scale, placeholder: mlp.placeholder(s.name) })),
    w1: mlp.w1.data.slice(),
    b1: mlp.b1.data.slice(),
    w2: mlp.w2.data.slice(),
    b2: mlp.b2.data.slice(),
  };
}

/** Writes `<dir>/<file>.mlp.{json,f32}` (each atomically; the .f32 first). */
export async function writeFusionWeights(dir: string, file: string, w: FusionWeights): Promise<void> {
  const arrays: Float32Array[] = [];
  let offset = 0;
  const put = (a: Float32Array): [number, number] => {
    arrays.push(a);
    offset += a.length;
    return [offset - a.length, a.length];
  };
  const modalities = w.modalities.map((m) => ({ name: m.name, dim: m.dim, scale: m.scale, mean: put(m.mean), placeholder: put(m.placeholder) }));
  const inputDim = w.modalities.reduce((s, m) => s + m.dim, 0) + w.modalities.length + w.idDim;
  const tensors = {
    w1: { offset: put(w.w1)[0], shape: [inputDim, w.hidden] },
    b1: { offset: put(w.b1)[0], shape: [w.hidden] },
    w2: { offset: put(w.w2)[0], shape: [w.hidden, w.out] },
    b2: { offset: put(w.b2)[0], shape: [w.out] },
  };
  const all = new Float32Array(offset);
  let at = 0;
  for (const a of arrays) {
    all.set(a, at);
    at += a.length;
  }
  await writeFileAtomically(join(dir, `${file}.mlp.f32`), new Uint8Array(all.buffer, all.byteOffset, all.byteLength));
  const header = { format: FUSION_WEIGHTS_FORMAT, activation: w.activation, hidden: w.hidden, out: w.out, id_dim: w.idDim, input_dim: inputDim, modalities, tensors };
  await writeFileAtomically(join(dir, `${file}.mlp.json`), JSON.stringify(header, null, 2) + '\n');
}

/** Reads `<dir>/<file>.mlp.{json,f32}`; null when there are none (fused vectors written before they were saved). */
export async function readFusionWeights(dir: string, file: string): Promise<FusionWeights | null> {
  const headerPath = join(dir, `${file}.mlp.json`);
  if (!existsSync(headerPath)) return null;
  const h = JSON.parse(await readFile(headerPath, 'utf8')) as {
    format: string;
    activation: 'relu' | 'gelu';
    hidden: number;
    out: number;
    id_dim: number;
    input_dim: number;
    modalities: { name: string; dim: number; scale: number; mean: [number, number]; placeholder: [number, number] }[];
    tensors: Record<'w1' | 'b1' | 'w2' | 'b2', { offset: number; shape: number[] }>;
  };
  if (h.format !== FUSION_WEIGHTS_FORMAT) throw ppError('PP_EMBED_INVALID', `${headerPath}: format ${h.format} (expected ${FUSION_WEIGHTS_FORMAT})`);
  const buf = await readFile(join(dir, `${file}.mlp.f32`));
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const slice = (offset: number, length: number) => {
    if (offset < 0 || offset + length > all.length) throw ppError('PP_EMBED_INVALID', `${headerPath}: array at ${offset}+${length} beyond ${all.length} floats`);
    return all.slice(offset, offset + length);
  };
  const t = (k: 'w1' | 'b1' | 'w2' | 'b2') => slice(h.tensors[k].offset, h.tensors[k].shape.reduce((a, b) => a * b, 1));
  const modalities = h.modalities.map((m) => ({ name: m.name, dim: m.dim, scale: m.scale, mean: slice(...m.mean), placeholder: slice(...m.placeholder) }));
  if (modalities.reduce((s, m) => s + m.dim, 0) + modalities.length + h.id_dim !== h.input_dim) throw ppError('PP_EMBED_INVALID', `${headerPath}: input_dim ${h.input_dim} does not match its modalities`);
  return { activation: h.activation, hidden: h.hidden, out: h.out, idDim: h.id_dim, modalities, w1: t('w1'), b1: t('b1'), w2: t('w2'), b2: t('b2') };
}
