/**
 * Search spaces of `plotpointe tune`: the model's default space (src/models/search-spaces.ts) with the
 * `--space` overrides, checked against the model's documented params, and the random draw of one point.
 *
 *   --space key=a,b,c          choices (one value: fixed)
 *   --space key=lo..hi         float, uniform
 *   --space key=lo..hi:log     float, uniform in log space (lo > 0)
 *   --space key=lo..hi:int     integer (also :int:log)
 */
import { ppError } from '../../errors.js';
import type { Rng } from '../../core/random.js';
import { getModel } from '../../models/index.js';
import { DEFAULT_SEARCH_SPACES, type Dimension, type SearchSpace } from '../../models/search-spaces.js';

export type ParamValue = string | number | boolean;
export type Point = Record<string, ParamValue>;

/** Parses `--space` items into dimensions (keys not checked here; see {@link resolveSpace}). */
export function parseSpace(items: readonly string[] = []): Record<string, Dimension> {
  const out: Record<string, Dimension> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const bad = (why: string) => ppError('PP_USAGE', `--space ${item}: ${why} (key=a,b,c | key=lo..hi[:log][:int])`);
    if (eq <= 0 || eq === item.length - 1) throw bad('expected key=value');
    const key = item.slice(0, eq);
    const value = item.slice(eq + 1);
    if (out[key]) throw bad(`${key} given twice`);
    if (value.includes('..')) {
      const [range, ...flags] = value.split(':');
      const [lo, hi, ...rest] = range!.split('..');
      const low = Number(lo);
      const high = Number(hi);
      const log = flags.includes('log');
      if (rest.length || flags.some((fl) => fl !== 'log' && fl !== 'int')) throw bad('a range is lo..hi with optional :log and :int');
      if (lo === '' || hi === '' || !Number.isFinite(low) || !Number.isFinite(high) || !(low < high)) throw bad('a range needs numbers lo < hi');
      if (log && !(low > 0)) throw bad('a log range needs lo > 0');
      if (flags.includes('int')) {
        if (!Number.isInteger(low) || !Number.isInteger(high)) throw bad('an int range needs integer bounds');
        out[key] = { type: 'int', low, high, log };
      } else out[key] = { type: 'float', low, high, log };
      continue;
    }
    const values = value.split(',').map((v) => v.trim());
    if (values.some((v) => v === '')) throw bad('an empty choice');
    out[key] = { type: 'choice', values: values.map((v) => (v !== '' && Number.isFinite(Number(v)) ? Number(v) : v === 'true' ? true : v === 'false' ? false : v)) };
  }
  return out;
}

/**
 * The model's default space with the overrides; every key must be a param of the model, ranges within its
 * documented min/max and choices among its choices. PP_USAGE when the result is empty.
 */
export function resolveSpace(model: string, overrides: Record<string, Dimension> = {}): SearchSpace {
  const spec = getModel(model);
  const space: Record<string, Dimension> = { ...(DEFAULT_SEARCH_SPACES[model] ?? {}), ...overrides };
  for (const [key, d] of Object.entries(space)) {
    const p = spec.params[key];
    if (!p) throw ppError('PP_MODEL_PARAM', `${model} has no parameter "${key}" to search (it has: ${Object.keys(spec.params).join(', ') || 'none'})`);
    if (d.type === 'choice') {
      if (p.choices) for (const v of d.values) if (!p.choices.includes(String(v))) throw ppError('PP_MODEL_PARAM', `${model}.${key}: ${String(v)} is not one of ${p.choices.join(', ')}`);
      continue;
    }
    if (typeof p.default !== 'number') throw ppError('PP_MODEL_PARAM', `${model}.${key} is not numeric: search it with choices (key=a,b)`);
    if ((p.min !== undefined && d.low < p.min) || (p.max !== undefined && d.high > p.max)) {
      throw ppError('PP_MODEL_PARAM', `${model}.${key}: range ${d.low}..${d.high} leaves [${p.min ?? '-∞'}, ${p.max ?? '∞'}]`);
    }
  }
  if (Object.keys(space).length === 0) throw ppError('PP_USAGE', `${model} has no hyperparameters to search (give --space key=…)`);
  return space;
}

/** A dimension's value from u ∈ [0, 1] (numeric dims: the quantile in linear or log space). */
export function fromUnit(d: Exclude<Dimension, { type: 'choice' }>, u: number): number {
  // an int range widened by ½ on each side, so that rounding gives its ends their full share
  const [low, high] = d.type === 'int' && !d.log ? [d.low - 0.5, d.high + 0.5] : [d.low, d.high];
  const x = d.log ? Math.exp(Math.log(low) + u * (Math.log(high) - Math.log(low))) : low + u * (high - low);
  const v = Math.min(d.high, Math.max(d.low, x));
  return d.type === 'int' ? Math.round(v) : Number(v.toPrecision(6));
}

/** The inverse of {@link fromUnit}: where a value sits in [0, 1]. */
export function toUnit(d: Exclude<Dimension, { type: 'choice' }>, v: number): number {
  const [low, high] = d.type === 'int' && !d.log ? [d.low - 0.5, d.high + 0.5] : [d.low, d.high];
  const u = d.log ? (Math.log(v) - Math.log(low)) / (Math.log(high) - Math.log(low)) : (v - low) / (high - low);
  return Math.min(1, Math.max(0, u));
}

/** One point drawn uniformly (log-uniformly for log dims) from the space. */
export function randomPoint(space: SearchSpace, rng: Rng): Point {
  const out: Point = {};
  for (const [k, d] of Object.entries(space)) out[k] = d.type === 'choice' ? d.values[rng.int(d.values.length)]! : fromUnit(d, rng.next());
  return out;
}
