/** The result rows and printed tables of the serving benchmarks (shared by the benches and bench/serve/run.ts). */

/** One row of the ANN table of bench/serve/ann.bench.ts (usearch or FAISS at one setting). */
export interface AnnRow {
  engine: 'usearch' | 'faiss';
  metric: string;
  quantization: string;
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
  buildSeconds: number;
  /** the index was built by an earlier run (--keep) and reused: buildSeconds is that build's */
  buildCached?: boolean;
  indexMB: number;
  rssGrowthMB: number;
  p50Ms: number;
  p99Ms: number;
  batchQps: number;
  recall: number;
}

/** One HTTP scenario of bench/serve/http.bench.ts. */
export interface HttpRow {
  scenario: string;
  path: string;
  /** the load generator: wrk (a separate C process) or autocannon (in the bench's Node process) */
  client: 'wrk' | 'autocannon';
  connections: number;
  seconds: number;
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** connection errors and timeouts (autocannon's count; wrk: connect + read + write + timeout) */
  errors: number;
  /** the timeouts among `errors` */
  timeouts: number;
  non2xx: number;
  serverCpuShare: number;
  /** server CPU time per request, ms (utime + stime of the server process and its descendants / requests answered) */
  serverCpuMsPerRequest: number;
  targetReqPerSec: number;
  targetP99Ms: number;
  met: boolean;
  /** the server wrote the request log (on, the default) or ran with serve.request_log false (off) */
  requestLog?: 'on' | 'off';
}

const fmt = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : '—');

/** The ANN rows as an aligned text table (target: p50 ≤ 0.2 ms at recall ≥ 0.95). */
export function annTable(rows: AnnRow[], k: number): string {
  const head = ['engine', 'metric', 'quant', 'M', 'efC', 'ef', 'build s', 'index MB', 'RSS+ MB', 'p50 ms', 'p99 ms', 'batch q/s', `recall@${k}`, 'target'];
  const body = rows.map((r) => [
    r.engine,
    r.metric,
    r.quantization,
    String(r.connectivity),
    String(r.expansionAdd),
    String(r.expansionSearch),
    fmt(r.buildSeconds, 1) + (r.buildCached ? '*' : ''),
    fmt(r.indexMB, 0),
    fmt(r.rssGrowthMB, 0),
    fmt(r.p50Ms, 3),
    fmt(r.p99Ms, 3),
    fmt(r.batchQps, 0),
    fmt(r.recall, 4),
    r.p50Ms <= 0.2 && r.recall >= 0.95 ? 'met' : 'missed',
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c].length)));
  const line = (cells: string[]): string => cells.map((x, c) => (c < 3 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join('  ');
  const note = rows.some((r) => r.buildCached) ? ['* build reused from an earlier run (--keep): its recorded build time'] : [];
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line), ...note].join('\n');
}


/** The HTTP rows as an aligned text table with each target and whether it was met. */
export function httpTable(rows: HttpRow[]): string {
  const head = ['scenario', 'client', 'conns', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors', 'non-2xx', 'server CPU', 'CPU ms/req', 'target', 'met'];
  const body = rows.map((r) => [
    r.scenario,
    r.client ?? '—', // rows from before the client was recorded
    String(r.connections),
    fmt(r.reqPerSec, 0),
    fmt(r.p50Ms, 2),
    fmt(r.p90Ms, 2),
    fmt(r.p99Ms, 2),
    fmt(r.maxMs, 1),
    String(r.errors), // timeouts are among them
    String(r.non2xx),
    `${fmt(r.serverCpuShare * 100, 0)}%`,
    fmt(r.serverCpuMsPerRequest, 3),
    `≥ ${r.targetReqPerSec} req/s, p99 ≤ ${r.targetP99Ms} ms`,
    r.met ? 'met' : 'missed',
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c].length)));
  const line = (cells: string[]): string => cells.map((x, c) => (c <= 1 || c >= 12 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
