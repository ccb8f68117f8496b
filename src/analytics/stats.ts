import { ppError } from '../errors.js';

/**
 * Small statistics used by the analytics report and drift summaries. Every function states its formula;
 * the SQL in report.ts/drift.ts computes the same quantities over the logs.
 */

/** z of a two-sided 95% normal interval. */
export const Z95 = 1.959963984540054;

/**
 * Wilson score interval of a binomial proportion (95% by default):
 *   p̂ = x/n,  centre = (p̂ + z²/2n) / (1 + z²/n),  half = z/(1 + z²/n) · √(p̂(1−p̂)/n + z²/4n²).
 * Unlike the normal (Wald) interval it stays inside [0, 1] and behaves at x = 0 or x = n. `x` is capped
 * at `n` (clicks logged without an impression would otherwise give p̂ > 1). n = 0 gives [0, 1].
 */
export function wilsonInterval(x: number, n: number, z = Z95): [number, number] {
  if (n <= 0) return [0, 1];
  const p = Math.min(x, n) / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/**
 * Population Stability Index of a current distribution `p` against a reference `q`, both given as counts
 * per bin (same bins):  PSI = Σ_b (p_b − q_b) · ln(p_b / q_b), with shares p_b = max(cnt_b/N, ε) (ε = 1e-4,
 * so an empty bin costs a finite amount). Rules of thumb: < 0.1 no shift, 0.1–0.25 some, ≥ 0.25 major.
 */
export function psi(current: ArrayLike<number>, reference: ArrayLike<number>, eps = 1e-4): number {
  if (current.length !== reference.length) throw ppError('PP_INTERNAL', `psi: ${current.length} vs ${reference.length} bins`);
  let nc = 0;
  let nr = 0;
  for (let b = 0; b < current.length; b++) {
    nc += current[b];
    nr += reference[b];
  }
  if (nc === 0 || nr === 0) return NaN;
  let s = 0;
  for (let b = 0; b < current.length; b++) {
    const p = Math.max(current[b] / nc, eps);
    const q = Math.max(reference[b] / nr, eps);
    s += (p - q) * Math.log(p / q);
  }
  return s;
}

/**
 * Gini coefficient of non-negative values (exposure counts per catalog item, zeros included):
 *   G = Σ_k (2k − N − 1) · x_(k) / (N · Σ x),  x sorted ascending, k = 1..N.
 * 0 = every item equally exposed; → 1 = all exposure on one item. 0 when Σx = 0.
 */
export function gini(values: ArrayLike<number>): number {
  const xs = Float64Array.from(values).sort();
  const n = xs.length;
  let total = 0;
  let weighted = 0;
  for (let k = 0; k < n; k++) {
    total += xs[k];
    weighted += (2 * (k + 1) - n - 1) * xs[k];
  }
  return total > 0 ? weighted / (n * total) : 0;
}

/** Status of a metric value against thresholds: ≥ alert → alert, ≥ warn → warn, else ok; too few samples → na. */
export type DriftStatus = 'ok' | 'warn' | 'alert' | 'na';

export function thresholdStatus(value: number | null, n: number, minCount: number, warn: number, alert: number): DriftStatus {
  if (value === null || !Number.isFinite(value) || n < minCount) return 'na';
  if (value >= alert) return 'alert';
  if (value >= warn) return 'warn';
  return 'ok';
}

/** Parses a duration `<n>s|m|h|d` (e.g. 90m, 1h, 7d) into milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$/.exec(text);
  if (!m) throw ppError('PP_ANALYTICS_INVALID', `${what} "${text}" must look like 30m, 1h or 7d`);
  const ms = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  if (!(ms > 0)) throw ppError('PP_ANALYTICS_INVALID', `${what} "${text}" must be positive`);
  return ms;
}

/**
 * `--since`: an ISO date/time (UTC when no zone is given) or a duration back from `now` (24h, 7d).
 * Returns the instant as a Date.
 */
export function parseSince(text: string, now = new Date()): Date {
  if (/^\s*\d+(?:\.\d+)?\s*[smhd]\s*$/.test(text)) return new Date(now.getTime() - parseDuration(text, '--since'));
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(text) || !/T|\s\d/.test(text) ? text : `${text}Z`;
  const d = new Date(/^\d{4}-\d\d-\d\d$/.test(iso) ? `${iso}T00:00:00Z` : iso.replace(' ', 'T'));
  if (Number.isNaN(d.getTime())) throw ppError('PP_ANALYTICS_INVALID', `--since "${text}" is neither an ISO time nor a duration like 24h`);
  return d;
}

/** A UTC instant as a DuckDB TIMESTAMP literal (the logs store naive UTC timestamps). */
export function sqlTimestamp(d: Date): string {
  return `TIMESTAMP '${d.toISOString().replace('T', ' ').replace('Z', '')}'`;
}
