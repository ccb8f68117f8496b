/**
 * bench:replay's latency section: what live feedback adds per request through the real `plotpointe serve`.
 *
 * Arms (e.g. model alone / live feedback, for users with and without events) alternate within each of `rounds`
 * rounds, so that a drift of the machine's load falls on all of them. Each arm is a fixed-rate load of random
 * users' recommendations (autocannon `overallRate`: every connection may send rate/connections requests per
 * 1 s tick, back to back, then waits for the next tick — a burst at the start of each second, not an even
 * spacing). Per arm and round:
 *
 *   client    autocannon's time per request (from sending it to the last byte of the answer), p50/p99
 *   server    the server's own time per request: request-log latency_ms (from the request's arrival in Fastify
 *             to the response handed to the socket), rows found by their x-request-id `<tag>-<n>` through
 *             POST /v1/analytics/query (`tag` = `lat<arm>r<round>`)
 *   CPU       the server's process tree CPU seconds (/proc) over the load ÷ requests answered
 *
 * Figures per arm are medians over rounds; added(on, off) = median over rounds of (on − off) of each figure.
 * Every load and the request-log query have a deadline (a hung load generator or server fails with an error
 * naming the arm and round instead of waiting for ever).
 */
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { treeCpuSeconds } from './proc-cpu.js';

export const K = 20;

/** One arm: its name (letters only: it is part of the request-id tag), table label, users and query string. */
export interface LatencyArm {
  name: string;
  label: string;
  users: string[];
  query: string;
}

export interface Load {
  requests: number;
  req_per_s: number;
  /** client side (autocannon: from sending the request to the last byte of the response) */
  p50_ms: number;
  p99_ms: number;
  non2xx: number;
  errors: number;
  server_cpu_ms_per_req: number;
  /** 1-minute load average at the end of the load */
  load1: number;
}

/** The server's own time per request (request log latency_ms: from the request's arrival in Fastify to its response). */
export interface ServerSide {
  n: number;
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
}

export interface ArmFigures {
  req_per_s: number;
  p50_ms: number;
  p99_ms: number;
  server_p50_ms: number;
  server_p99_ms: number;
  server_mean_ms: number;
  server_cpu_ms_per_req: number;
  load1: number;
  non2xx: number;
}

/** on − off of an arm's latency and CPU figures. */
export type Added = Pick<ArmFigures, 'p50_ms' | 'p99_ms' | 'server_p50_ms' | 'server_p99_ms' | 'server_mean_ms' | 'server_cpu_ms_per_req'>;

export interface LatencyOptions {
  /** the server's base URL */
  base: string;
  /** the server's pid (its process tree's CPU is counted) */
  pid: number;
  /** the server's admin token (POST /v1/analytics/query) */
  token: string;
  arms: LatencyArm[];
  rate: number;
  seconds: number;
  rounds: number;
  connections: number;
  /** seconds of load per arm before the measured rounds (not counted) */
  warmupSeconds: number;
  /** called before each step (the bench's exit guard names the step that was running) */
  onStep?: (step: string) => void;
}

export interface LatencyResult {
  arms: Record<string, ArmFigures>;
  rounds: Record<string, Load[]>;
  server_side: Record<string, ServerSide>;
  load_average: number[];
}

const quantile = (sorted: Float64Array, q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** autocannon's per-request timeout, seconds */
const REQUEST_TIMEOUT_S = 10;

/**
 * A fixed-rate load of random users' recommendations (autocannon overallRate) for `seconds`. Each request carries
 * the x-request-id `<tag>-<n>`. Rejects when autocannon has not answered `seconds` + 40 s after the start.
 */
export function load(base: string, serverPid: number, arm: LatencyArm, rate: number, seconds: number, connections: number, tag: string): Promise<Load> {
  return new Promise((resolveLoad, reject) => {
    const lat: number[] = [];
    const cpu0 = treeCpuSeconds(serverPid);
    const t0 = performance.now();
    let n = 0;
    let deadline: NodeJS.Timeout | undefined;
    // ignoreCoordinatedOmission is read by autocannon 9 (lib/run.js) but missing from its type definitions.
    const options: autocannon.Options & { ignoreCoordinatedOmission: boolean } = {
      url: base,
      connections,
      pipelining: 1,
      duration: seconds,
      overallRate: rate,
      timeout: REQUEST_TIMEOUT_S,
      // The figures come from the 'response' events below; autocannon's own histogram would back-fill a
      // 1 ms expected interval (ceil(1/rate)) for every response, costing the load generator CPU per ms of latency.
      ignoreCoordinatedOmission: true,
      requests: [
        {
          method: 'GET',
          setupRequest: (req: Record<string, unknown>) => ({
            ...req,
            headers: { ...(req.headers as Record<string, string> | undefined), 'x-request-id': `${tag}-${n++}` },
            path: `/v1/users/${encodeURIComponent(arm.users[Math.floor(Math.random() * arm.users.length)])}/recommendations?k=${K}&${arm.query}`,
          }),
        },
      ],
    };
    const instance = autocannon(options, (err: Error | null, result: autocannon.Result) => {
      clearTimeout(deadline);
      if (err) return reject(err);
      const wall = (performance.now() - t0) / 1000;
      const cpu = treeCpuSeconds(serverPid) - cpu0;
      const sorted = Float64Array.from(lat).sort();
      resolveLoad({ requests: lat.length, req_per_s: lat.length / wall, p50_ms: quantile(sorted, 0.5), p99_ms: quantile(sorted, 0.99), non2xx: result.non2xx, errors: result.errors, server_cpu_ms_per_req: (cpu * 1000) / Math.max(1, lat.length), load1: loadavg()[0] });
    });
    deadline = setTimeout(() => {
      instance.stop();
      reject(new Error(`load ${tag}: autocannon did not finish ${seconds} s of load within ${seconds + 40} s`));
    }, (seconds + 40) * 1000);
    instance.on('response', (_c: unknown, _s: number, _b: number, ms: number) => lat.push(ms));
  });
}

/** Server-side time per `<tag>` (request ids `<tag>-<n>`, tags without '-'), read from the request log through POST /v1/analytics/query. */
export async function serverSide(base: string, token: string, prefix: string): Promise<Map<string, ServerSide>> {
  const sql =
    `SELECT regexp_extract(request_id, '^(.*)-[0-9]+$', 1) AS tag, count(*) AS n, quantile_disc(latency_ms, 0.5) AS p50, ` +
    `quantile_disc(latency_ms, 0.99) AS p99, avg(latency_ms) AS mean FROM requests WHERE starts_with(request_id, '${prefix}') GROUP BY ALL`;
  const r = await fetch(`${base}/v1/analytics/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ sql }),
    signal: AbortSignal.timeout(180_000),
  });
  if (r.status !== 200) throw new Error(`analytics query: ${r.status} ${await r.text()}`);
  const rows = ((await r.json()) as { rows: { tag: string; n: number; p50: number; p99: number; mean: number }[] }).rows;
  return new Map(rows.map((x) => [x.tag, { n: Number(x.n), p50_ms: Number(x.p50), p99_ms: Number(x.p99), mean_ms: Number(x.mean) }]));
}

const NO_ROWS: ServerSide = { n: 0, p50_ms: NaN, p99_ms: NaN, mean_ms: NaN };

/** Warm-up, then `rounds` rounds of every arm in turn, then the server-side figures from the request log. */
export async function measureLatency(o: LatencyOptions): Promise<LatencyResult> {
  for (const a of o.arms) if (!/^[a-z]+$/.test(a.name)) throw new Error(`latency arm name ${a.name}: letters only (it is part of the request-id tag)`);
  if (o.warmupSeconds > 0)
    for (const a of o.arms) {
      o.onStep?.(`latency warm-up, arm ${a.name}`);
      await load(o.base, o.pid, a, o.rate, o.warmupSeconds, o.connections, 'warm');
    }
  const perRound: Record<string, Load[]> = Object.fromEntries(o.arms.map((a) => [a.name, []]));
  for (let round = 0; round < o.rounds; round++)
    for (const a of o.arms) {
      o.onStep?.(`latency round ${round + 1} of ${o.rounds}, arm ${a.name}`);
      perRound[a.name].push(await load(o.base, o.pid, a, o.rate, o.seconds, o.connections, `lat${a.name}r${round}`));
    }
  o.onStep?.('latency: the server-side figures (POST /v1/analytics/query)');
  const side = await serverSide(o.base, o.token, 'lat');
  const sideOf = (a: string, round: number) => side.get(`lat${a}r${round}`) ?? NO_ROWS;
  const arms: Record<string, ArmFigures> = {};
  for (const a of o.arms) {
    const ls = perRound[a.name];
    const ss = ls.map((_, r) => sideOf(a.name, r));
    const m = (f: (l: Load) => number) => median(ls.map(f));
    const ms = (f: (x: ServerSide) => number) => median(ss.map(f));
    arms[a.name] = {
      req_per_s: m((l) => l.req_per_s),
      p50_ms: m((l) => l.p50_ms),
      p99_ms: m((l) => l.p99_ms),
      server_p50_ms: ms((x) => x.p50_ms),
      server_p99_ms: ms((x) => x.p99_ms),
      server_mean_ms: ms((x) => x.mean_ms),
      server_cpu_ms_per_req: m((l) => l.server_cpu_ms_per_req),
      load1: m((l) => l.load1),
      non2xx: m((l) => l.non2xx + l.errors),
    };
  }
  return { arms, rounds: perRound, server_side: Object.fromEntries(side), load_average: loadavg() };
}

/** Median over rounds of (with − without) of each figure, arms `on` and `off` of a result. */
export function added(r: LatencyResult, on: string, off: string): Added {
  const side = (a: string, round: number) => r.server_side[`lat${a}r${round}`] ?? NO_ROWS;
  const d = (f: (l: Load) => number) => median(r.rounds[on].map((w, i) => f(w) - f(r.rounds[off][i])));
  const ds = (f: (x: ServerSide) => number) => median(r.rounds[on].map((_, i) => f(side(on, i)) - f(side(off, i))));
  return {
    p50_ms: d((l) => l.p50_ms),
    p99_ms: d((l) => l.p99_ms),
    server_p50_ms: ds((x) => x.p50_ms),
    server_p99_ms: ds((x) => x.p99_ms),
    server_mean_ms: ds((x) => x.mean_ms),
    server_cpu_ms_per_req: d((l) => l.server_cpu_ms_per_req),
  };
}

/** The latency table (markdown): one row per arm, then one `added` row per (label, on, off) pair. */
export function latencyTable(r: LatencyResult, arms: LatencyArm[], pairs: { label: string; added: Added }[]): string[] {
  const lines = [
    '| arm | req/s | client p50 ms | client p99 ms | server p50 ms | server p99 ms | server mean ms | server CPU ms/req | load avg (1 min) | non-2xx + errors |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const a of arms) {
    const x = r.arms[a.name];
    lines.push(
      `| ${a.label} | ${x.req_per_s.toFixed(0)} | ${x.p50_ms.toFixed(2)} | ${x.p99_ms.toFixed(2)} | ${x.server_p50_ms.toFixed(3)} | ${x.server_p99_ms.toFixed(3)} | ${x.server_mean_ms.toFixed(3)} | ${x.server_cpu_ms_per_req.toFixed(3)} | ${x.load1.toFixed(1)} | ${x.non2xx} |`,
    );
  }
  for (const p of pairs) {
    const a = p.added;
    lines.push(`| **added, ${p.label}** | | ${a.p50_ms.toFixed(2)} | **${a.p99_ms.toFixed(2)}** | ${a.server_p50_ms.toFixed(3)} | **${a.server_p99_ms.toFixed(3)}** | ${a.server_mean_ms.toFixed(3)} | ${a.server_cpu_ms_per_req.toFixed(3)} | | |`);
  }
  return lines;
}
