import { readFileSync } from 'node:fs';
import { ppError } from '../errors.js';
import { CONFIG_SCHEMA, type Config, type ConfigKey, type KeySpec } from './schema.js';

/** Flattens `{split: {ratio: [..]}}` into `{'split.ratio': [..]}`; dotted keys pass through (arrays are values). */
export function flatten(obj: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, key, out);
    else out[key] = v;
  }
  return out;
}

/** Coerces and checks one value (CLI flags arrive as strings); throws PP_CONFIG_INVALID naming the key. */
export function coerce(key: string, spec: KeySpec, value: unknown): unknown {
  const bad = (why: string) => ppError('PP_CONFIG_INVALID', `${key}: ${why} (got ${JSON.stringify(value)})`);
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string' || value === '') throw bad('expected a non-empty string');
      return value;
    case 'enum':
      if (typeof value !== 'string' || !spec.choices.includes(value)) throw bad(`expected one of ${spec.choices.join(', ')}`);
      return value;
    case 'boolean':
      if (value === true || value === 'true') return true;
      if (value === false || value === 'false') return false;
      throw bad('expected true or false');
    case 'integer':
    case 'number': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw bad('expected a number');
      if (spec.type === 'integer' && !Number.isInteger(n)) throw bad('expected an integer');
      if (spec.min !== undefined && n < spec.min) throw bad(`must be ≥ ${spec.min}`);
      if (spec.max !== undefined && n > spec.max) throw bad(`must be ≤ ${spec.max}`);
      return n;
    }
    case 'numbers': {
      const arr = typeof value === 'string' ? value.split(/[,:]/).map((s) => Number(s.trim())) : value;
      if (!Array.isArray(arr) || arr.length === 0 || !arr.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        throw bad('expected a list of numbers, e.g. 0.8,0.1,0.1');
      }
      return Object.freeze([...arr]);
    }
  }
}

export interface LoadConfigOptions {
  /** A JSON config file (nested or dotted keys). */
  file?: string;
  /** Highest precedence: values from CLI flags, by dotted key. `undefined` values are ignored. */
  overrides?: Partial<Record<ConfigKey, unknown>>;
}

/** Defaults ← config file ← flags; unknown keys are refused; the result is frozen. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const values: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(CONFIG_SCHEMA)) values[k] = spec.default;
  const layers: Array<[string, Record<string, unknown>]> = [];
  if (options.file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(options.file, 'utf8'));
    } catch (err) {
      throw ppError('PP_CONFIG_UNREADABLE', `${options.file}: ${(err as Error).message}`, err);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw ppError('PP_CONFIG_INVALID', `${options.file}: expected a JSON object`);
    }
    layers.push([options.file, flatten(parsed as Record<string, unknown>)]);
  }
  if (options.overrides) {
    layers.push(['flags', Object.fromEntries(Object.entries(options.overrides).filter(([, v]) => v !== undefined))]);
  }
  for (const [source, layer] of layers) {
    for (const [k, v] of Object.entries(layer)) {
      const spec = (CONFIG_SCHEMA as Record<string, KeySpec>)[k];
      if (!spec) throw ppError('PP_CONFIG_INVALID', `unknown key "${k}" in ${source} (see plotpointe config docs)`);
      values[k] = coerce(k, spec, v);
    }
  }
  return Object.freeze(values) as Config;
}

/** The schema as a Markdown table: key, type, default, meaning. */
export function configDocs(): string {
  const rows = Object.entries(CONFIG_SCHEMA as Record<string, KeySpec>).map(([k, s]) => {
    const type = s.type === 'enum' ? s.choices.join(' \\| ') : s.type;
    return `| \`${k}\` | ${type} | \`${JSON.stringify(s.default)}\` | ${s.doc} |`;
  });
  return ['| key | type | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
