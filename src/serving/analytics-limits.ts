/**
 * Limits of the analytics requests a server runs over its store (serving.duckdb): each request's DuckDB
 * connections are interrupted (`DuckDBConnection.interrupt()`, repeated every 100 ms until the request ends, so
 * a statement started after the first interrupt stops too) when
 *
 *   - it runs longer than its time limit                    → 422 PP_ANALYTICS_TIMEOUT
 *     (analytics.query_timeout_ms for user SQL, analytics.report_timeout_ms for report/drift/tables)
 *   - its client disconnects (the caller's AbortSignal)      → PP_SERVE_UNAVAILABLE (nobody reads the answer)
 *   - the server shuts down ({@link interruptAnalytics})     → PP_SERVE_UNAVAILABLE; later requests are refused
 *
 * Memory is capped by the store's DuckDB memory limit (analytics.memory_limit, set when ServingLogs opens it):
 * a query needing more fails with DuckDB's out-of-memory error (400 PP_ANALYTICS_SQL_ERROR).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { ppError } from '../errors.js';
import type { LogsHandle } from '../analytics/source.js';

type StopReason = 'timeout' | 'client' | 'shutdown';

interface Running {
  stop(reason: StopReason): void;
}

interface StoreState {
  running: Set<Running>;
  closed: boolean;
  /** Requests that ended interrupted, by reason (exported as plotpointe_analytics_interrupted_total). */
  interrupted: Record<StopReason, number>;
}

/** Per store (a ServingLogs), its running analytics requests. */
const stores = new WeakMap<object, StoreState>();

function state(store: object): StoreState {
  let s = stores.get(store);
  if (!s) stores.set(store, (s = { running: new Set(), closed: false, interrupted: { timeout: 0, client: 0, shutdown: 0 } }));
  return s;
}

/** One analytics request under the limits: `handle` opens its connections; `run` wraps its work. */
export interface LimitedAnalytics {
  handle: LogsHandle;
  run<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * Starts one analytics request over `store`'s DuckDB instance with a time limit and an optional caller signal.
 * Throws PP_SERVE_UNAVAILABLE when the store is shutting down.
 */
export function limitAnalytics(store: object, instance: LogsHandle, timeoutMs: number, signal?: AbortSignal): LimitedAnalytics {
  const st = state(store);
  if (st.closed) throw ppError('PP_SERVE_UNAVAILABLE', 'the server is shutting down');
  const conns = new Set<DuckDBConnection>();
  let why: StopReason | null = null;
  let repeat: NodeJS.Timeout | null = null;
  const interruptAll = () => {
    for (const c of conns) c.interrupt();
  };
  const entry: Running = {
    stop(reason) {
      if (why) return;
      why = reason;
      interruptAll();
      repeat = setInterval(interruptAll, 100);
      repeat.unref();
    },
  };
  const handle: LogsHandle = {
    connect: async () => {
      const c = await instance.connect();
      conns.add(c);
      if (why) c.interrupt();
      return c;
    },
  };
  const stopped = (err?: unknown) =>
    why === 'timeout'
      ? ppError('PP_ANALYTICS_TIMEOUT', `over ${timeoutMs} ms`, err)
      : ppError('PP_SERVE_UNAVAILABLE', why === 'client' ? 'analytics request cancelled: the client disconnected' : 'analytics request interrupted: the server is shutting down', err);
  return {
    handle,
    async run<T>(work: () => Promise<T>): Promise<T> {
      st.running.add(entry);
      const timer = setTimeout(() => entry.stop('timeout'), timeoutMs);
      timer.unref();
      const onAbort = () => entry.stop('client');
      if (signal?.aborted) entry.stop('client');
      else signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const out = await work();
        if (why) throw stopped();
        return out;
      } catch (err) {
        if (why) throw stopped(err);
        throw err;
      } finally {
        clearTimeout(timer);
        if (repeat) clearInterval(repeat);
        signal?.removeEventListener('abort', onAbort);
        st.running.delete(entry);
        if (why) st.interrupted[why]++;
      }
    },
  };
}

/** Interrupts every running analytics request of `store` and refuses new ones (shutdown); returns how many ran. */
export function interruptAnalytics(store: object): number {
  const st = state(store);
  st.closed = true;
  const n = st.running.size;
  for (const r of st.running) r.stop('shutdown');
  return n;
}

/** A signal aborted when the HTTP response's connection closes before the response was sent (client gone). */
export function clientGone(raw: { once(ev: 'close', fn: () => void): unknown; writableFinished: boolean }): AbortSignal {
  const ac = new AbortController();
  raw.once('close', () => {
    if (!raw.writableFinished) ac.abort();
  });
  return ac.signal;
}

/** Analytics requests running over `store` now, and those that ended interrupted since start, by reason. */
export function analyticsStats(store: object): { running: number; interrupted: Readonly<Record<StopReason, number>> } {
  const st = state(store);
  return { running: st.running.size, interrupted: { ...st.interrupted } };
}

/** Analytics requests running over `store` now. */
export function runningAnalytics(store: object): number {
  return state(store).running.size;
}
