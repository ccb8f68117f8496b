import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Adam, OptimParam } from '../core/optim.js';
import { ppError } from '../errors.js';
import { tempSibling } from '../lake/atomic.js';

/** Named float32 tensors (parameters and optimiser moments) plus JSON metadata. */
export interface TensorState {
  tensors: Record<string, Float32Array>;
  meta: Record<string, unknown>;
}

/**
 * Writes a state as `<dir>/state.json` (metadata + tensor index) and one `<name>.f32` (little-endian float32)
 * per tensor, atomically: into a temporary sibling, then renamed over the previous one.
 */
export async function saveState(dir: string, state: TensorState): Promise<void> {
  const tmp = tempSibling(dir);
  await mkdir(tmp, { recursive: true });
  const index: Record<string, number> = {};
  for (const [name, t] of Object.entries(state.tensors)) {
    await writeFile(join(tmp, `${name}.f32`), new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
    index[name] = t.length;
  }
  await writeFile(join(tmp, 'state.json'), JSON.stringify({ meta: state.meta, tensors: index }, null, 1));
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

/** Reads a state written by `saveState`; null when there is none. */
export async function loadState(dir: string): Promise<TensorState | null> {
  let header: { meta: Record<string, unknown>; tensors: Record<string, number> };
  try {
    header = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
  } catch {
    return null;
  }
  const tensors: Record<string, Float32Array> = {};
  for (const [name, length] of Object.entries(header.tensors)) {
    const buf = await readFile(join(dir, `${name}.f32`));
    if (buf.byteLength !== length * 4) throw new Error(`checkpoint tensor ${name} has ${buf.byteLength} bytes, expected ${length * 4}`);
    const t = new Float32Array(length);
    new Uint8Array(t.buffer).set(buf);
    tensors[name] = t;
  }
  return { tensors, meta: header.meta };
}

/**
 * The tensors of a checkpoint of Adam-trained parameters: each parameter as `<name>` and its first and second
 * moments as `<name>.m` / `<name>.v`; `optFor(name)` is the optimiser that updates it. (The step counts are
 * the caller's metadata: models keep one optimiser per parameter group.)
 */
export function paramTensors(named: Iterable<readonly [string, OptimParam]>, optFor: (name: string) => Adam): Record<string, Float32Array> {
  const tensors: Record<string, Float32Array> = {};
  for (const [name, t] of named) {
    tensors[name] = t.data;
    const m = optFor(name).moments(t);
    tensors[`${name}.m`] = m.m;
    tensors[`${name}.v`] = m.v;
  }
  return tensors;
}

/**
 * Restores what {@link paramTensors} wrote into the live parameters: every parameter must be present with its
 * size (PP_MODEL_LOAD naming `model` otherwise); moments are restored where the checkpoint has both.
 */
export function restoreParamTensors(
  model: string,
  named: Iterable<readonly [string, OptimParam]>,
  optFor: (name: string) => Adam,
  tensors: Record<string, Float32Array>,
): void {
  for (const [name, t] of named) {
    const src = tensors[name];
    if (!src || src.length !== t.data.length) throw ppError('PP_MODEL_LOAD', `${model}: tensor ${name} missing or of the wrong size`);
    t.data.set(src);
    const m = optFor(name).moments(t);
    const sm = tensors[`${name}.m`];
    const sv = tensors[`${name}.v`];
    if (sm && sv) {
      m.m.set(sm);
      m.v.set(sv);
    }
  }
}
