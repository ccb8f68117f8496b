import { ppError } from '../errors.js';
import type { ModelSpec, ParamSpec, Params } from './model.js';
import { RENAMED_PARAMS } from './param-names.js';

const specs: ModelSpec[] = [];

/** Models register themselves here from their own file (imported by src/models/index.ts). */
export function registerModel(spec: ModelSpec): ModelSpec {
  if (specs.some((s) => s.name === spec.name)) throw ppError('PP_INTERNAL', `model ${spec.name} registered twice`);
  specs.push(spec);
  return spec;
}

export function listModels(): readonly ModelSpec[] {
  return specs;
}

export function getModel(name: string): ModelSpec {
  const spec = specs.find((s) => s.name === name);
  if (!spec) throw ppError('PP_MODEL_UNKNOWN', `"${name}" (known: ${specs.map((s) => s.name).join(', ')})`);
  return spec;
}

function coerceParam(model: string, key: string, spec: ParamSpec, value: unknown): number | string | boolean {
  const bad = (why: string) => ppError('PP_MODEL_PARAM', `${model}.${key}: ${why} (got ${JSON.stringify(value)})`);
  const d = spec.default;
  if (typeof d === 'boolean') {
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    throw bad('expected true or false');
  }
  if (typeof d === 'number') {
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw bad('expected a number');
    if (spec.min !== undefined && n < spec.min) throw bad(`must be ≥ ${spec.min}`);
    if (spec.max !== undefined && n > spec.max) throw bad(`must be ≤ ${spec.max}`);
    return n;
  }
  if (typeof value !== 'string') throw bad('expected a string');
  if (spec.choices && !spec.choices.includes(value)) throw bad(`expected one of ${spec.choices.join(', ')}`);
  return value;
}

/** Defaults ← overrides, each checked against the model's documented params; unknown keys are refused. */
export function resolveParams(spec: ModelSpec, overrides: Record<string, unknown> = {}): Params {
  const out: Record<string, number | string | boolean> = {};
  for (const [k, p] of Object.entries(spec.params)) out[k] = p.default;
  for (const [k, v] of Object.entries(overrides)) {
    const p = spec.params[k];
    const renamed = RENAMED_PARAMS[k];
    if (!p && renamed && spec.params[renamed]) throw ppError('PP_MODEL_PARAM', `${spec.name}.${k} is now called "${renamed}" (one set of parameter names across models)`);
    if (!p) throw ppError('PP_MODEL_PARAM', `${spec.name} has no parameter "${k}" (it has: ${Object.keys(spec.params).join(', ')})`);
    if (v !== undefined) out[k] = coerceParam(spec.name, k, p, v);
  }
  return Object.freeze(out);
}
