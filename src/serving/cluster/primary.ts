/**
 * The primary of `plotpointe serve --workers N` (N ≥ 2): it forks N API workers (cluster/worker.ts) that share
 * the listening port — Node's cluster accepts connections here and hands each to a worker in turn — and holds
 * what one process must: the DuckDB log store (`<lake>/logs/serving.duckdb` allows one writer). It serves no HTTP
 * itself. Over IPC (ipc.ts) it answers its workers:
 *
 *   log-rows {elements, rows}   one way: a worker's request rows of one event-loop turn, sent before their
 *                               responses (remote-logs.ts) → ServingLogs.appendRows;  ping: the round trip a
 *                               worker's flush waits for
 *   event e                     one feedback event, stored, then broadcast to every other worker (live
 *                               feedback: `feedback-event`, each applies it) before the answer (the worker's
 *                               201 waits for it), so any worker's next response follows it
 *   recent-events q             stored events for a worker's live-feedback store (feedback/source.ts)
 *   analytics {id, request}     every worker ships its waiting rows first, then runAnalytics over the store;
 *   analytics-cancel id         (one way) the worker's client left: that request is interrupted (its DuckDB
 *                               connections, analytics-limits.ts), as a single process does
 *   reload {variant, runId}     the run is resolved once here; every worker prepares (opens) the model, then —
 *                               all prepared — the new run is the cluster's (replacements start on it) and
 *                               every worker commits (one reference swap each); a failure to prepare in any
 *                               worker aborts all, so the cluster never serves two runs for one variant
 *                               beyond the moment the commit messages take (a worker killed meanwhile is
 *                               replaced on the new run)
 *   metrics                     each worker's registry as JSON + the primary's (request-log rows), aggregated
 *                               by prom-client's AggregatorRegistry (counters summed; model/index gauges first)
 *
 * A worker that dies is replaced (at most `maxRestarts` within a minute, then the cluster shuts down), pinned to
 * the runs the cluster serves and to its port — when every worker died, Node's cluster has closed the shared
 * socket, and a configured port 0 would give the replacements another one. A replacement forked while a reload
 * ran is brought to the reload's run once ready (`serve-runs`). Each reload ends with a line on stderr
 * (committed / aborted, and which workers exited meanwhile): its HTTP client gets no answer when its worker died. Shutdown (SIGINT/SIGTERM): each worker closes its app (in-flight requests finish,
 * its rows are shipped) and exits; then the store is flushed and closed.
 */
import cluster, { type Worker } from 'node:cluster';
import { createServer, type AddressInfo } from 'node:net';
import { AggregatorRegistry } from 'prom-client';
import { ppError } from '../../errors.js';
import type { Config } from '../../config/schema.js';
import { resolveServedRun } from '../../index/build-serving.js';
import type { EventRow } from '../../analytics/log-schema.js';
import { ServingMetrics } from '../metrics.js';
import { ServingLogs } from '../request-log.js';
import { runAnalytics, type AnalyticsRequest } from '../routes/analytics.js';
import { analyticsStats, interruptAnalytics } from '../analytics-limits.js';
import type { ReloadResult } from '../context.js';
import { IpcChannel, reviveError, type IpcEndpoint } from './ipc.js';
import type { StoredEventsQuery } from '../feedback/source.js';
import { PINNED_PORT_ENV, PINNED_RUNS_ENV } from './worker.js';
import { lakePaths } from '../../lake/paths.js';

export interface ClusterPrimaryOptions {
  workers: number;
  lake: string;
  name: string;
  config: Config;
  maxRestarts?: number;
  /** One line for the operator (stderr): worker deaths and replacements. */
  log?: (line: string) => void;
}

export interface ClusterSummary {
  url: string;
  /** variant → model version served at shutdown */
  variants: Record<string, string>;
  log_rows_written: number;
}

interface Member {
  worker: Worker;
  channel: IpcChannel;
  ready: Promise<{ url: string; variants: Record<string, string> }>;
  /** variant → run id it was started on (the cluster's at its fork). */
  pinned: Record<string, string>;
  /** variant → run id it serves (set when it is ready, then at each commit it takes). */
  serves: Record<string, string>;
}

/** A port free on `host` now (bound and released), for the workers to share. */
async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether a member's process is still there to answer (its IPC channel connected). */
const isLive = (m: Member): boolean => !m.worker.isDead() && m.worker.isConnected();

/** "worker 12 exited" / "workers 12, 13 exited". */
const exitedText = (ms: Member[]): string => `worker${ms.length === 1 ? '' : 's'} ${ms.map((m) => m.worker.process.pid).join(', ')} exited`;

export class ClusterPrimary {
  readonly #o: ClusterPrimaryOptions;
  readonly #logs: ServingLogs;
  readonly #metrics = new ServingMetrics();
  readonly #members = new Set<Member>();
  /** variant → run id the workers serve (their start, then every committed reload). */
  #runs: Record<string, string> = {};
  #url = '';
  /** The port every worker listens on (a free one picked here when the configured port is 0: see #fork). */
  #port: number | null = null;
  #restarts: number[] = [];
  #stopping = false;
  #reloading: Promise<unknown> = Promise.resolve();
  /** Settles when the cluster must stop on its own (a worker cannot be kept up). */
  readonly #fatal: { promise: Promise<Error>; fail: (e: Error) => void };

  private constructor(o: ClusterPrimaryOptions, logs: ServingLogs) {
    this.#o = o;
    this.#logs = logs;
    let fail!: (e: Error) => void;
    this.#fatal = { promise: new Promise<Error>((r) => (fail = r)), fail };
  }

  /** Opens the store, forks the workers and resolves once every one listens (or fails with the first worker's error). */
  static async start(o: ClusterPrimaryOptions): Promise<ClusterPrimary> {
    const c = o.config;
    const logs = await ServingLogs.open(lakePaths(o.lake).servingLog, { flushRows: c['serve.log_flush_rows'], flushMs: c['serve.log_flush_ms'], memoryLimit: c['analytics.memory_limit'] });
    const p = new ClusterPrimary(o, logs);
    try {
      // Every worker, the first ones too, listens on one port number: Node's cluster keys the shared socket by
      // address and port, so a replacement asking for port N beside workers that asked for 0 would try to bind N
      // a second time (EADDRINUSE).
      p.#port = c['serve.port'] === 0 ? await freePort(c['serve.host']) : c['serve.port'];
      const members = Array.from({ length: o.workers }, () => p.#fork());
      const ready = await Promise.all(members.map((m) => m.ready));
      p.#url = ready[0].url;
      p.#runs = ready[0].variants;
    } catch (err) {
      await p.stop();
      throw err;
    }
    return p;
  }

  get url(): string {
    return this.#url;
  }

  /** variant → run id served. */
  get variants(): Record<string, string> {
    return { ...this.#runs };
  }

  /** Resolves with an error when the cluster cannot keep its workers up. */
  get fatal(): Promise<Error> {
    return this.#fatal.promise;
  }

  #fork(): Member {
    // Workers re-run this process's command line, with this process's env, the runs to serve and the port. The
    // port matters when every worker is gone: Node's cluster then closes the shared socket, and a replacement
    // listening on the configured port 0 would get a new random one — the cluster's URL would refuse every
    // connection from then on (npm run faults, serve@reload-prepared: all workers killed).
    const env: Record<string, string> = { [PINNED_RUNS_ENV]: JSON.stringify(this.#runs) };
    if (this.#port !== null) env[PINNED_PORT_ENV] = String(this.#port);
    const worker = cluster.fork(env);
    let onReady!: (v: { url: string; variants: Record<string, string> }) => void;
    let onFailed!: (e: Error) => void;
    const ready = new Promise<{ url: string; variants: Record<string, string> }>((res, rej) => {
      onReady = res;
      onFailed = rej;
    });
    let member!: Member;
    // This worker's analytics requests running here, by its id (cancelled when its client leaves).
    const analyticsRunning = new Map<number, AbortController>();
    const channel = new IpcChannel(worker as unknown as IpcEndpoint, {
      ready: (v: { url: string; variants: Record<string, string> }) => {
        member.serves = { ...v.variants };
        onReady(v);
      },
      failed: (e: { code: string; message: string }) => onFailed(reviveError(e)),
      'log-rows': (b: { elements: string; rows: number }) => this.#logs.appendRows(b.elements, b.rows),
      ping: () => true,
      event: async (e: EventRow) => {
        await this.#logs.insertEvent(e);
        await this.#broadcastEvent(e, member);
      },
      'recent-events': (q: StoredEventsQuery) => this.#logs.recentEvents(q),
      analytics: (a: { id: number; request: AnalyticsRequest }) => {
        const ac = new AbortController();
        analyticsRunning.set(a.id, ac);
        return this.#analytics(a.request, ac.signal).finally(() => analyticsRunning.delete(a.id));
      },
      'analytics-cancel': (id: number) => analyticsRunning.get(id)?.abort(),
      reload: (o: { variant?: string; runId?: string }) => this.#reload(o),
      metrics: () => this.#metricsText(),
    });
    member = { worker, channel, ready, pinned: { ...this.#runs }, serves: {} };
    this.#members.add(member);
    worker.on('exit', (code, signal) => {
      this.#members.delete(member);
      channel.close('worker exited');
      onFailed(ppError('PP_SERVE_UNAVAILABLE', `worker ${worker.process.pid} exited (${signal ?? code}) before listening`));
      if (!this.#stopping) this.#replace(worker.process.pid, signal ?? String(code));
    });
    return member;
  }

  #replace(pid: number | undefined, how: string): void {
    const now = Date.now();
    this.#restarts = this.#restarts.filter((t) => now - t < 60_000);
    if (this.#restarts.length >= (this.#o.maxRestarts ?? 5)) {
      this.#fatal.fail(ppError('PP_SERVE_UNAVAILABLE', `workers keep exiting (${this.#restarts.length + 1} within a minute; the last, pid ${pid}, with ${how})`));
      return;
    }
    this.#restarts.push(now);
    this.#o.log?.(`worker ${pid} exited (${how}); starting a replacement`);
    const m = this.#fork();
    m.ready.then(
      () => this.#o.log?.(`replacement worker ${m.worker.process.pid} is serving`),
      (err: Error) => this.#o.log?.(`replacement worker failed: ${err.message}`),
    );
  }

  /**
   * Hands a stored event to every live worker but `from` (which applies it itself) for its live-feedback store;
   * workers still starting get it too (they hold it until their store is loaded). A worker that cannot be
   * reached is not waited for (it is exiting; its replacement loads the event from the store).
   */
  async #broadcastEvent(e: EventRow, from: Member): Promise<void> {
    await Promise.all([...this.#members].filter((m) => m !== from && !m.worker.isDead()).map((m) => m.channel.call('feedback-event', e).catch(() => undefined)));
  }

  /** Live workers that are serving (their start finished). */
  async #serving(): Promise<Member[]> {
    const all = [...this.#members];
    const ok = await Promise.all(all.map((m) => m.ready.then(() => true, () => false)));
    return all.filter((_, i) => ok[i]);
  }

  async #analytics(r: AnalyticsRequest, signal: AbortSignal): Promise<unknown> {
    await Promise.all((await this.#serving()).map((m) => m.channel.call('ship-logs').catch(() => undefined)));
    return runAnalytics({ lake: this.#o.lake, name: this.#o.name, logs: this.#logs }, this.#o.config, r, signal);
  }

  #reload(o: { variant?: string; runId?: string }): Promise<ReloadResult> {
    const job = async (): Promise<ReloadResult> => {
      const runId = (await resolveServedRun(this.#o.lake, this.#o.name, o.runId)).id;
      const what = `reload of ${o.variant ? `variant ${o.variant}` : 'the primary variant'} to run ${runId}`;
      const members = await this.#serving();
      if (members.length === 0) throw ppError('PP_SERVE_UNAVAILABLE', `${what}: no worker is serving (replacements are starting); try again`);
      const prepared = await Promise.allSettled(members.map((m) => m.channel.call<ReloadResult>('reload-prepare', { variant: o.variant, runId })));
      const failed = prepared.find((p): p is PromiseRejectedResult => p.status === 'rejected');
      if (failed) {
        await Promise.all(members.map((m) => m.channel.call('reload-abort').catch(() => undefined)));
        const gone = members.filter((m, i) => prepared[i].status === 'rejected' && !isLive(m));
        // The outcome for the operator: the HTTP answer goes to the client only if its worker is still alive.
        this.#o.log?.(`${what} aborted (${(failed.reason as Error).message})${gone.length ? `; ${exitedText(gone)} while preparing it and ${gone.length === 1 ? 'is' : 'are'} replaced on the runs served before` : ''}`);
        throw failed.reason;
      }
      // Every worker prepared: the cluster now serves the new run. Recorded before the commits go out, so that
      // a worker dying during its commit is replaced on the new run like the others (pinned to the old one, its
      // replacement would serve it beside the survivors' new one: npm run faults, serve@reload-committed.one-worker).
      const result = (prepared[0] as PromiseFulfilledResult<ReloadResult>).value;
      this.#runs = { ...this.#runs, [result.variant]: result.model_version };
      // A worker that cannot take its commit has exited (its channel closed): its replacement starts on the new run.
      const committed = await Promise.allSettled(
        members.map(async (m) => {
          await m.channel.call('reload-commit');
          m.serves = { ...m.serves, [result.variant]: result.model_version };
        }),
      );
      const gone = members.filter((_, i) => committed[i].status === 'rejected');
      // Replacements forked while this reload ran were pinned to the runs before it: they are brought over.
      await this.#catchUp(members);
      this.#o.log?.(`${what} committed${gone.length ? `; ${exitedText(gone)} during the commit and ${gone.length === 1 ? 'is' : 'are'} replaced on run ${runId}` : ` in ${members.length} workers`}`);
      return result;
    };
    const next = this.#reloading.then(job, job);
    this.#reloading = next.catch(() => undefined);
    return next;
  }

  /**
   * Members that are not in `before` (forked while a reload ran, pinned to the runs of their fork) are switched
   * to the cluster's runs once they are ready (`serve-runs`); one that cannot be is stopped, and its replacement
   * starts on the cluster's runs. Waits for them, so the next reload (serialised after this one) sees every
   * worker on one run.
   */
  async #catchUp(before: Member[]): Promise<void> {
    const current = (runs: Record<string, string>) => Object.entries(this.#runs).every(([v, r]) => runs[v] === r);
    // Forked on the cluster's runs (after this reload recorded them): nothing to wait for.
    const late = [...this.#members].filter((m) => !before.includes(m) && !current(m.pinned));
    await Promise.all(
      late.map(async (m) => {
        if (!(await m.ready.then(() => true, () => false)) || current(m.serves)) return;
        try {
          m.serves = await m.channel.call<Record<string, string>>('serve-runs', this.#runs);
        } catch (err) {
          this.#o.log?.(`worker ${m.worker.process.pid} could not switch to the cluster's runs (${(err as Error).message}); stopping it`);
          m.worker.process.kill('SIGKILL');
        }
      }),
    );
  }

  async #metricsText(): Promise<string> {
    const parts = await Promise.all((await this.#serving()).map((m) => m.channel.call<object[]>('metrics-json')));
    this.#metrics.setLogRows(this.#logs);
    this.#metrics.setAnalytics(analyticsStats(this.#logs));
    parts.push(await this.#metrics.registry.getMetricsAsJSON());
    return AggregatorRegistry.aggregate(parts).metrics();
  }

  /** Shuts the workers down (each finishes its in-flight requests and ships its rows), then closes the store. */
  async stop(): Promise<ClusterSummary> {
    this.#stopping = true;
    interruptAnalytics(this.#logs);
    const members = [...this.#members];
    await Promise.all(
      members.map(
        (m) =>
          new Promise<void>((resolve) => {
            if (m.worker.isDead()) return resolve();
            m.worker.once('exit', () => resolve());
            m.channel.call('shutdown').catch(() => undefined);
            // a worker that does not exit in time (stuck request) is killed
            setTimeout(() => m.worker.process.kill('SIGKILL'), 30_000).unref();
          }),
      ),
    );
    await this.#logs.close();
    return { url: this.#url, variants: this.variants, log_rows_written: this.#logs.written };
  }
}

