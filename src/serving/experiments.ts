/**
 * A/B experiments: variants of the served model, each a run with a weight. A user is assigned by a
 * deterministic hash of the user id: bucket = fnv1a32(user_id) mod Σweights, and the variant whose cumulative
 * weight range holds the bucket serves the user — the same user always gets the same variant, shares follow the
 * weights. Config `serve.variants`: `name=RUN:weight,…`; empty = one variant `default`.
 */
import { ppError } from '../errors.js';
import { fnv1a32 } from '../core/hash.js';

export interface VariantSpec {
  name: string;
  /** Run id, or null = the run given on the command line / the blessed run. */
  runId: string | null;
  weight: number;
}

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** Parses `control=RUN_A:90,treatment=RUN_B:10` (weight defaults to 1). */
export function parseVariants(spec: string, defaultRun: string | null): VariantSpec[] {
  if (!spec.trim()) return [{ name: 'default', runId: defaultRun, weight: 1 }];
  const out: VariantSpec[] = [];
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([^=]+)=([^:]+)(?::(.+))?$/.exec(part);
    if (!m) throw ppError('PP_SERVE_INVALID', `serve.variants: "${part}" is not name=RUN[:weight]`);
    const [, name, runId, w] = m;
    if (!NAME_RE.test(name)) throw ppError('PP_SERVE_INVALID', `serve.variants: variant name "${name}" must match ${NAME_RE.source}`);
    const weight = w === undefined ? 1 : Number(w);
    if (!Number.isInteger(weight) || weight <= 0) throw ppError('PP_SERVE_INVALID', `serve.variants: weight of ${name} must be a positive integer, got ${w}`);
    if (out.some((v) => v.name === name)) throw ppError('PP_SERVE_INVALID', `serve.variants: variant ${name} given twice`);
    out.push({ name, runId, weight });
  }
  return out;
}

/** Assigns keys to variants by weight (see the module comment). */
export class VariantAssigner {
  readonly names: readonly string[];
  readonly #cumulative: number[];
  readonly #total: number;

  constructor(variants: readonly VariantSpec[]) {
    this.names = variants.map((v) => v.name);
    let c = 0;
    this.#cumulative = variants.map((v) => (c += v.weight));
    this.#total = c;
  }

  assign(key: string): string {
    if (this.names.length === 1) return this.names[0];
    const bucket = fnv1a32(key) % this.#total;
    for (let i = 0; i < this.#cumulative.length; i++) if (bucket < this.#cumulative[i]) return this.names[i];
    return this.names[this.names.length - 1];
  }
}
