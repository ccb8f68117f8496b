/**
 * A minimal parser of the Prometheus text exposition format (what `/metrics` serves) and the request-rate and
 * latency figures the overview derives from two scrapes: rate = Δ(request count) / Δt; mean latency =
 * Δ(latency sum) / Δ(latency count) over the interval; p95 from the Δ of the cumulative histogram buckets.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, '$1');
    const value = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
    out.push({ name: m[1], labels, value });
  }
  return out;
}

/** Request histogram totals over the API routes (the dashboard's own routes and /metrics left out). */
export interface Scrape {
  t: number;
  count: number;
  sum: number;
  /** le → cumulative count. */
  buckets: Map<number, number>;
  /** The histogram's name, or null when none was found. */
  histogram: string | null;
  /** Whether the histogram is in seconds (names ending in _seconds) rather than milliseconds. */
  seconds: boolean;
}

const IGNORED_ROUTE = /^\/(metrics|api\/dashboard|assets|$)|^\/$/;

/**
 * Finds the request-latency histogram: the first `*_bucket` family whose name mentions request and duration
 * or latency (e.g. http_request_duration_seconds), summed over its label sets except dashboard routes.
 */
export function scrapeRequests(samples: Sample[], t: number): Scrape {
  const names = [...new Set(samples.filter((s) => s.name.endsWith('_bucket')).map((s) => s.name.slice(0, -7)))];
  const name = names.find((n) => /request/.test(n) && /(duration|latency)/.test(n)) ?? names.find((n) => /(duration|latency)/.test(n)) ?? null;
  const scrape: Scrape = { t, count: 0, sum: 0, buckets: new Map(), histogram: name, seconds: name ? /seconds/.test(name) : true };
  if (!name) return scrape;
  const keep = (s: Sample) => {
    const route = s.labels.route ?? s.labels.path ?? s.labels.url ?? '';
    return !IGNORED_ROUTE.test(route);
  };
  for (const s of samples) {
    if (!keep(s)) continue;
    if (s.name === `${name}_count`) scrape.count += s.value;
    else if (s.name === `${name}_sum`) scrape.sum += s.value;
    else if (s.name === `${name}_bucket`) {
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      scrape.buckets.set(le, (scrape.buckets.get(le) ?? 0) + s.value);
    }
  }
  return scrape;
}

export interface Interval {
  /** Requests per second. */
  rate: number;
  /** Mean latency in ms over the interval (null without requests). */
  meanMs: number | null;
  /** Upper bound of the bucket holding the 95th percentile, ms (null without requests). */
  p95Ms: number | null;
}

export function interval(a: Scrape, b: Scrape): Interval {
  const dt = (b.t - a.t) / 1000;
  const dn = b.count - a.count;
  const unit = b.seconds ? 1000 : 1;
  if (dt <= 0) return { rate: 0, meanMs: null, p95Ms: null };
  if (dn <= 0) return { rate: 0, meanMs: null, p95Ms: null };
  const les = [...b.buckets.keys()].sort((x, y) => x - y);
  let p95: number | null = null;
  for (const le of les) {
    if ((b.buckets.get(le) ?? 0) - (a.buckets.get(le) ?? 0) >= 0.95 * dn) {
      p95 = le * unit;
      break;
    }
  }
  return { rate: dn / dt, meanMs: ((b.sum - a.sum) / dn) * unit, p95Ms: p95 };
}
