/**
 * A cluster worker of `plotpointe serve --workers N` (the primary is cluster/primary.ts): a whole API server —
 * its own event loop, its own copy of the served models, listening on the port the workers share (Node's
 * cluster hands each accepted connection to one worker) — that reaches the primary over IPC for what one
 * process must hold: the DuckDB log store (RemoteLogs), reloads, analytics and the cluster's metrics.
 *
 * Signals: the primary coordinates shutdown (`shutdown`: close the app — in-flight requests finish, the
 * remaining request rows are shipped — then exit), so a worker ignores SIGINT/SIGTERM (a terminal's Ctrl-C
 * reaches the whole process group). When the primary disappears (IPC disconnect) the worker closes and exits.
 */
import nodeCluster from 'node:cluster';
import type { FastifyInstance } from 'fastify';
import { failpoint } from '../../core/failpoint.js';
import type { ClusterLink, ServingContext } from '../context.js';
import type { LogStore } from '../log-store.js';
import { IpcChannel, type IpcEndpoint } from './ipc.js';
import { RemoteLogs } from './remote-logs.js';
import { isPlotPointeError } from '../../errors.js';
import type { EventRow } from '../../analytics/log-schema.js';
import { feedbackKey } from '../feedback/source.js';

/** Env var naming the runs (JSON {variant: run id}) a replacement worker must serve (reloads since start). */
export const PINNED_RUNS_ENV = 'PLOTPOINTE_SERVE_PINNED_RUNS';
/** Env var naming the port a replacement worker listens on: the cluster's, which a configured port 0 is not. */
export const PINNED_PORT_ENV = 'PLOTPOINTE_SERVE_PINNED_PORT';

export interface WorkerStart {
  /**
   * Loads the context with these logs and cluster link, builds the app, awaits `beforeListen(ctx)` and listens
   * (on `port` when given, else the configured one); resolves with the URL.
   */
  start(worker: { logs: LogStore; cluster: ClusterLink; port?: number }, beforeListen: (ctx: ServingContext) => Promise<void>): Promise<{ app: FastifyInstance; ctx: ServingContext; url: string }>;
  flushRows: number;
  flushMs: number;
  /** Most request-log rows per message to the primary (serve.log_ipc_rows; remote-logs.ts). */
  batchRows?: number;
}

/** Applies a stored event (broadcast by the primary) to this worker's live feedback. */
function applyEvent(ctx: ServingContext, e: EventRow): void {
  const key = feedbackKey(e.user_id, e.session_id);
  if (key && e.item_id) ctx.feedback?.record({ event_id: e.event_id, key, item_id: e.item_id, type: e.type, ts: Date.parse(e.ts), value: e.value });
}

/** Switches each variant of `runs` the context serves otherwise to its run (opened, then swapped); returns variant → run served. */
async function serveRuns(ctx: ServingContext, runs: Record<string, string>): Promise<Record<string, string>> {
  for (const [variant, runId] of Object.entries(runs)) {
    if (ctx.state.variants.get(variant)?.modelVersion !== runId) (await ctx.prepareReload({ variant, runId })).commit();
  }
  return Object.fromEntries([...ctx.state.variants].map(([v, m]) => [v, m.modelVersion]));
}

/** Failpoints of the fault suite (`npm run faults`): `serve.reload-<step>` in every worker, `….worker-<id>` in one. */
function reloadFailpoint(step: string): void {
  failpoint(`serve.reload-${step}`);
  failpoint(`serve.reload-${step}.worker-${nodeCluster.worker?.id ?? 0}`);
}

/** Runs this process as a cluster worker until the primary shuts it down (never returns). */
export async function runClusterWorker(w: WorkerStart): Promise<never> {
  let served: { app: FastifyInstance; ctx: ServingContext } | null = null;
  let pending: { commit: () => void } | null = null;
  const early: EventRow[] = [];
  let live: ServingContext | null = null;
  let exiting = false;
  const exit = async (code: number): Promise<never> => {
    if (!exiting) {
      exiting = true;
      try {
        await served?.app.close();
      } catch {
        // closing is best effort on the way out
      }
      process.exit(code);
    }
    return new Promise<never>(() => undefined);
  };
  const channel = new IpcChannel(process as unknown as IpcEndpoint, {
    'reload-prepare': async (o: { variant?: string; runId?: string }) => {
      const p = await served!.ctx.prepareReload(o);
      pending = p;
      reloadFailpoint('prepared');
      return p.result;
    },
    'reload-commit': () => {
      pending?.commit();
      pending = null;
      reloadFailpoint('committed');
    },
    'reload-abort': () => {
      pending = null;
    },
    // The cluster's runs, for a replacement started while a reload ran (pinned to the runs before it).
    'serve-runs': (runs: Record<string, string>) => serveRuns(served!.ctx, runs),
    'metrics-json': () => served!.ctx.metrics.registry.getMetricsAsJSON(),
    'ship-logs': () => served!.ctx.logs?.flush(),
    // Another worker's stored event (live feedback); held until this worker's context exists.
    'feedback-event': (e: EventRow) => {
      if (live) applyEvent(live, e);
      else early.push(e);
    },
    shutdown: () => void exit(0),
  });
  let analyticsIds = 0;
  const cluster: ClusterLink = {
    reload: (o) => channel.call('reload', o),
    // The client leaving cancels the query in the primary (`analytics-cancel`, one way).
    analytics: async (r, signal) => {
      const id = ++analyticsIds;
      const cancel = () => channel.notify('analytics-cancel', id);
      signal?.addEventListener('abort', cancel, { once: true });
      try {
        return await channel.call('analytics', { id, request: r });
      } finally {
        signal?.removeEventListener('abort', cancel);
      }
    },
    metrics: () => channel.call('metrics'),
  };
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  process.on('disconnect', () => void exit(0));
  const logs = new RemoteLogs(channel, { batchRows: w.batchRows });
  try {
    // A replacement for a worker that died after reloads serves what the others serve, from its first request.
    const pinned = JSON.parse(process.env[PINNED_RUNS_ENV] || '{}') as Record<string, string>;
    const port = process.env[PINNED_PORT_ENV] ? Number(process.env[PINNED_PORT_ENV]) : undefined;
    let variants: Record<string, string> = {};
    const { app, ctx, url } = await w.start({ logs, cluster, port }, async (ctx) => {
      for (const e of early.splice(0)) applyEvent(ctx, e);
      live = ctx;
      variants = await serveRuns(ctx, pinned);
    });
    served = { app, ctx };
    await channel.call('ready', { url, variants, pid: process.pid });
  } catch (err) {
    const e = isPlotPointeError(err) ? { code: err.code, message: err.message } : { code: 'PP_INTERNAL', message: (err as Error)?.message ?? String(err) };
    await channel.call('failed', e).catch(() => undefined);
    return exit(1);
  }
  return new Promise<never>(() => undefined);
}
