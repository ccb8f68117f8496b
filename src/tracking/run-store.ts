import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { isPlotPointeError, ppError } from '../errors.js';
import { openDb, type Db } from '../lake/duckdb.js';
import { sha256Of } from '../lake/hash.js';
import { codeVersion } from '../lake/manifest.js';
import { assertName, lakePaths } from '../lake/paths.js';
import {
  compareTable,
  gateDecision,
  metricDirection,
  parseMetricSelector,
  type CompareTable,
  type MetricDirection,
  type MetricPart,
  type PartMetrics,
} from './analysis.js';
import { openWithLockWait } from './lock-wait.js';
import { makeRunId } from './run-id.js';
import { DEFAULT_HEARTBEAT_MS, DEFAULT_STALE_MS, defaultJudgeContext, judgeRunning, thisProcess, type JudgeContext } from './run-owner.js';
import { MIGRATIONS, SCHEMA_VERSION, SCHEMA_VERSION_TABLE } from './schema.js';

/**
 * Experiment tracking: every train/eval/ablate run is recorded in `<lake>/runs.duckdb` — dataset, split and
 * its content hash, model, full config, git commit, per-epoch loss and metrics, final metrics, wall time,
 * peak RSS and artifact paths — and a run can be blessed as the reference that later runs are gated against.
 *
 * Concurrency. DuckDB lets one process at a time open a database file read-write. A RunStore therefore
 * holds no handle between calls: every method opens the file, does its work in one short transaction and
 * closes it (tens of milliseconds), so a training process that logs an epoch per minute does not keep
 * `plotpointe runs list` out. When another process holds the file (DuckDB's error mentions a "lock"), the
 * open is retried with exponential backoff and jitter (25 ms doubling to at most 250 ms) for up to 10 s,
 * then fails with PP_RUN_STORE_LOCKED — which is what a long-lived holder, such as an open
 * `duckdb lake/runs.duckdb` shell, gets. A waiting process leaves a marker in `runs.duckdb.wait/` that
 * makes other processes let it go first, so a process making calls back to back cannot starve it (see
 * lock-wait.ts). Within one process the calls on one file are queued, since two DuckDB instances of one
 * process would not exclude each other.
 *
 *
 * Interrupted runs. A run is `running` from `startRun` until its process calls `finishRun` or `failRun`; a
 * process that dies first (SIGKILL, the OOM killer, a reboot) cannot. So `startRun` records the run's owner
 * (pid, host, a per-process token and, on Linux, the process start time) and, while the run lasts, this
 * object writes a heartbeat every `heartbeatMs` from an unref'd timer. Every reading call (list, get,
 * compare, bless, blessed, gate) first judges the `running` runs (run-owner.ts: on the same host the owner
 * pid must still be the same process; from another host its heartbeat must be fresher than `staleMs`) and
 * records those whose owner is gone as `interrupted`, with `finished_at` = their last sign of life and the
 * reason in `error`. That write happens in the reader's open of the file, which excludes every other
 * process's, so it cannot interleave with the owner's own writes. Only the heartbeat rule can be wrong
 * about a live process (one silent for longer than `staleMs`, e.g. in a very long synchronous epoch): its
 * next heartbeat, epoch or finish revives the run — a run's own process may log to, finish or fail its run
 * when it is `interrupted`, and turns it back to `running` first.
 */

export type RunKind = 'train' | 'eval' | 'ablate' | 'search';
/** `interrupted`: the run's process died without finishing or failing it (see above). */
export type RunStatus = 'running' | 'finished' | 'failed' | 'interrupted';
export const RUN_KINDS: readonly RunKind[] = ['train', 'eval', 'ablate', 'search'];
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'finished', 'failed', 'interrupted'];
export const DEFAULT_SCOPE = 'default';

export interface StartRunOptions {
  dataset: string;
  /** Split name (the folder under staging/<dataset>/splits/). */
  split: string;
  /** The split manifest's `split_hash` (content hash of its parts); null when unknown. */
  splitHash: string | null;
  model: string;
  kind: RunKind;
  /** The full, resolved config of the run (stored as JSON, hashed as `config_hash`). */
  config: object;
  /** Where the run writes its artifacts (usually `<lake>/artifacts/<dataset>/<run id>`); null when none. */
  artifactsDir: string | null;
  /** The run this one derives from, e.g. the train run an eval or ablation uses. */
  parentRunId?: string;
  /** The start time (default: now); used for the id and `startedAt`. */
  now?: Date;
}

export interface EpochLog {
  epoch: number;
  /** NaN is kept (a diverged epoch). */
  loss: number;
  metrics: Record<string, number>;
  seconds: number;
  lr?: number;
}

export interface FinishRunOptions {
  valid: Record<string, number>;
  test: Record<string, number>;
  /** Anything else worth keeping (stored as JSON). */
  extra?: object;
  /** Artifact name → path (model weights, embeddings, index, …). */
  artifacts?: Record<string, string>;
  wallSeconds: number;
  peakRssMb: number;
  bestEpoch?: number;
}

export interface FailRunOptions {
  wallSeconds?: number;
  peakRssMb?: number;
}

export interface RunRecord {
  id: string;
  dataset: string;
  split: string;
  splitHash: string | null;
  model: string;
  kind: RunKind;
  status: RunStatus;
  config: Record<string, unknown>;
  /** sha256 of the config with sorted keys: equal configs hash equally. */
  configHash: string;
  /** `git rev-parse HEAD` (+"+dirty") of the code that ran; null outside a checkout. */
  gitCommit: string | null;
  packageVersion: string | null;
  hostname: string | null;
  nodeVersion: string | null;
  parentRunId: string | null;
  artifactsDir: string | null;
  /** ISO 8601, UTC. */
  startedAt: string;
  finishedAt: string | null;
  wallSeconds: number | null;
  peakRssMb: number | null;
  bestEpoch: number | null;
  /** Final metrics; empty until the run finishes. */
  metrics: PartMetrics;
  artifacts: Record<string, string> | null;
  extra: Record<string, unknown> | null;
  /** The failure message of a failed run; why an interrupted run was judged interrupted. */
  error: string | null;
  /** The pid of the process that ran (runs) the run on `hostname`; null for runs recorded before owners were. */
  ownerPid: number | null;
  /** The newest heartbeat of the run's process (ISO 8601, UTC); null when it wrote none. */
  heartbeatAt: string | null;
  /** Scopes in which this run is the currently blessed one of its (dataset, split). */
  blessedIn: string[];
}

export interface EpochRecord {
  epoch: number;
  loss: number | null;
  metrics: Record<string, number | null>;
  seconds: number | null;
  lr: number | null;
  loggedAt: string;
}

export interface RunDetails extends RunRecord {
  epochs: EpochRecord[];
}

export interface ListOptions {
  dataset?: string;
  split?: string;
  model?: string;
  kind?: RunKind;
  status?: RunStatus;
  /** Newest first; default 100. */
  limit?: number;
}

export interface BlessOptions {
  /**
   * A name for the line of runs gated against this one, within its (dataset, split); default "default".
   * E.g. "quick" for a CI smoke configuration gated separately from full training runs.
   */
  scope?: string;
  note?: string;
}

export interface Blessing {
  seq: number;
  dataset: string;
  split: string;
  scope: string;
  runId: string;
  previousRunId: string | null;
  blessedAt: string;
  note: string | null;
}

export interface BlessResult {
  blessing: Blessing;
  /** False when the run already was the blessed one of its scope (nothing was recorded). */
  changed: boolean;
}

export interface GateOptions {
  /** The candidate; default: the newest finished run of the dataset/split. */
  runId?: string;
  /** Required without runId; with it, checked against the run. */
  dataset?: string;
  split?: string;
  metric: string;
  part?: MetricPart;
  /** Allowed relative drop, e.g. 0.01 = 1%; default 0. */
  tolerance?: number;
  /** Default: from the metric's name (see `metricDirection`). */
  direction?: MetricDirection;
  scope?: string;
  /** Only consider runs of this model when picking the newest candidate. */
  model?: string;
  /** Gate even when the candidate's split hash differs from the blessed run's (normally an error). */
  allowSplitMismatch?: boolean;
}

export interface GateResult {
  pass: boolean;
  candidate: string;
  blessed: string;
  dataset: string;
  split: string;
  scope: string;
  metric: string;
  part: MetricPart;
  direction: MetricDirection;
  tolerance: number;
  value: number;
  blessedValue: number;
  /** value − blessedValue. */
  delta: number;
  /** delta / |blessedValue| (null when undefined). */
  relative: number | null;
}

export interface RunStoreOptions {
  /** Create the lake folder and the store when missing (default true); else a missing store is PP_LAKE_NOT_FOUND. */
  create?: boolean;
  /** How long an open waits for another process's lock before PP_RUN_STORE_LOCKED (ms, default 60 000: several `train`s on one lake at load 30 on 2 cores waited past 10 s). */
  lockTimeoutMs?: number;
  /** First backoff (ms), doubled per retry up to 250 ms, with ±50% jitter (default 25). */
  lockBackoffMs?: number;
  /** How often a run started here writes its heartbeat (ms, default 30 000; 0 = none). */
  heartbeatMs?: number;
  /** A run of another host without a sign of life for this long is interrupted (ms, default 600 000). */
  staleMs?: number;
}

type Row = Record<string, unknown>;

/** Calls on one database file within this process run one at a time. */
const fileQueues = new Map<string, Promise<unknown>>();

function queued<T>(path: string, job: () => Promise<T>): Promise<T> {
  const prev = fileQueues.get(path) ?? Promise.resolve();
  const next = prev.then(job, job);
  const tail = next.catch(() => undefined);
  fileQueues.set(path, tail);
  void tail.then(() => {
    if (fileQueues.get(path) === tail) fileQueues.delete(path);
  });
  return next;
}

/** The process's peak resident set size so far, in MB (for `finishRun`). */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export class RunStore {
  /** The database file. */
  readonly path: string;
  /** How many times this object's opens met another process's lock and waited (a diagnostic). */
  lockWaits = 0;
  private readonly lockTimeoutMs: number;
  private readonly lockBackoffMs: number;
  private readonly heartbeatMs: number;
  private readonly staleMs: number;
  /** Heartbeat timers of the runs this object started and has not finished or failed. */
  private readonly heartbeats = new Map<string, NodeJS.Timeout>();
  private closed = false;

  private constructor(path: string, options: RunStoreOptions) {
    this.path = path;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 60_000;
    this.lockBackoffMs = options.lockBackoffMs ?? 25;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.staleMs = options.staleMs ?? DEFAULT_STALE_MS;
    for (const [k, v] of [['heartbeatMs', this.heartbeatMs], ['staleMs', this.staleMs]] as const) {
      if (!Number.isFinite(v) || v < 0) throw ppError('PP_USAGE', `${k} must be a number ≥ 0, got ${v}`);
    }
  }

  /** The store of a lake (`<lake>/runs.duckdb`), creating or upgrading its schema. */
  static async open(lake: string, options: RunStoreOptions = {}): Promise<RunStore> {
    const { root, runStore: path } = lakePaths(lake);
    if (options.create === false) {
      if (!existsSync(path)) throw ppError('PP_LAKE_NOT_FOUND', `no run store at ${path}; runs are recorded by train and eval`);
    } else {
      await mkdir(root, { recursive: true });
    }
    const store = new RunStore(path, options);
    await store.withDb(migrate);
    return store;
  }

  /** Ends the use of this object and stops its heartbeats. The file is not held between calls. */
  close(): void {
    this.closed = true;
    for (const t of this.heartbeats.values()) clearInterval(t);
    this.heartbeats.clear();
  }

  /**
   * Records a new run with status `running`, owned by this process, and starts its heartbeat (until
   * `finishRun`/`failRun` of the run on this object, or `close`).
   */
  async startRun(o: StartRunOptions): Promise<RunDetails> {
    assertName('dataset', o.dataset);
    assertName('split', o.split);
    if (!o.model || typeof o.model !== 'string') throw ppError('PP_RUN_INVALID', 'a run needs a model name');
    if (!RUN_KINDS.includes(o.kind)) throw ppError('PP_RUN_INVALID', `run kind must be one of ${RUN_KINDS.join(', ')}, got "${String(o.kind)}"`);
    if (o.config === null || typeof o.config !== 'object' || Array.isArray(o.config)) throw ppError('PP_RUN_INVALID', 'config must be an object');
    const configJson = toJson(o.config, 'config');
    const started = o.now ?? new Date();
    const cv = codeVersion();
    return this.withDb((s) =>
      s.tx(async () => {
        if (o.parentRunId !== undefined && !(await s.one('SELECT 1 AS x FROM runs WHERE id = ?', [o.parentRunId]))) {
          throw ppError('PP_RUN_NOT_FOUND', `parent run ${o.parentRunId}`);
        }
        let runId = makeRunId(o.model, started);
        for (let i = 0; await s.one('SELECT 1 AS x FROM runs WHERE id = ?', [runId]); i++) {
          if (i >= 50) throw ppError('PP_INTERNAL', `could not draw a unique run id for ${runId}`);
          runId = makeRunId(o.model, started);
        }
        await s.run(
          `INSERT INTO runs (id, dataset, split, split_hash, model, kind, status, config, config_hash, git_commit, package_version,
             hostname, node_version, parent_run_id, artifacts_dir, started_at, owner_pid, owner_token, owner_space, owner_start, heartbeat_at)
           VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS TIMESTAMP), ?, ?, ?, ?, CAST(? AS TIMESTAMP))`,
          [
            runId,
            o.dataset,
            o.split,
            o.splitHash ?? null,
            o.model,
            o.kind,
            configJson,
            sha256Of(o.config),
            cv.commit,
            cv.version,
            thisProcess.hostname,
            process.version,
            o.parentRunId ?? null,
            o.artifactsDir ?? null,
            started.toISOString(),
            thisProcess.pid,
            thisProcess.token,
            thisProcess.space,
            thisProcess.start,
            this.heartbeatMs > 0 ? new Date().toISOString() : null,
          ],
        );
        return runId;
      }).then(async (runId) => {
        this.startHeartbeat(runId);
        return (await details(s, runId))!;
      }),
    );
  }

  /**
   * Writes the heartbeat of a run of this process (and revives it when a reader took it for interrupted).
   * Called by the timer `startRun` sets; a no-op for a finished or failed run or one of another process.
   */
  async heartbeat(runId: string): Promise<void> {
    await this.withDb((s) =>
      s.run(
        `UPDATE runs SET heartbeat_at = CAST(? AS TIMESTAMP), status = 'running', finished_at = NULL, wall_seconds = NULL, error = NULL
         WHERE id = ? AND owner_token = ? AND status IN ('running', 'interrupted')`,
        [new Date().toISOString(), runId, thisProcess.token],
      ),
    );
  }

  private startHeartbeat(runId: string): void {
    if (this.heartbeatMs <= 0 || this.closed) return;
    let busy = false;
    const timer = setInterval(() => {
      // A beat waiting for the lock is enough; a deleted store (a test's temp lake) is not recreated.
      if (busy || this.closed || !existsSync(this.path)) return;
      busy = true;
      this.heartbeat(runId)
        .catch(() => undefined)
        .finally(() => {
          busy = false;
        });
    }, this.heartbeatMs);
    timer.unref();
    this.heartbeats.set(runId, timer);
  }

  private stopHeartbeat(runId: string): void {
    const t = this.heartbeats.get(runId);
    if (t) clearInterval(t);
    this.heartbeats.delete(runId);
  }

  /** Records one epoch of a running run (logging an epoch again replaces it, e.g. after a resume). */
  async logEpoch(runId: string, e: EpochLog): Promise<void> {
    if (!Number.isInteger(e.epoch) || e.epoch < 0) throw ppError('PP_RUN_INVALID', `epoch must be an integer ≥ 0, got ${e.epoch}`);
    checkNumber(e.loss, 'loss');
    checkNumber(e.seconds, 'seconds');
    if (e.lr !== undefined) checkNumber(e.lr, 'lr');
    checkMetrics(e.metrics, 'epoch metrics');
    await this.withDb((s) =>
      s.tx(async () => {
        await requireOwnRunning(s, runId, 'log an epoch of');
        await s.run(
          `INSERT OR REPLACE INTO run_epochs (run_id, epoch, loss, metrics, seconds, lr, logged_at)
           VALUES (?, ?, ?, ?, ?, ?, CAST(? AS TIMESTAMP))`,
          [runId, e.epoch, e.loss, toJson(e.metrics, 'metrics'), e.seconds, e.lr ?? null, new Date().toISOString()],
        );
      }),
    );
  }

  /** Marks a running run finished with its final metrics, resources and artifacts. */
  async finishRun(runId: string, f: FinishRunOptions): Promise<RunDetails> {
    checkMetrics(f.valid, 'valid metrics');
    checkMetrics(f.test, 'test metrics');
    checkNumber(f.wallSeconds, 'wallSeconds');
    checkNumber(f.peakRssMb, 'peakRssMb');
    if (f.bestEpoch !== undefined && (!Number.isInteger(f.bestEpoch) || f.bestEpoch < 0)) {
      throw ppError('PP_RUN_INVALID', `bestEpoch must be an integer ≥ 0, got ${f.bestEpoch}`);
    }
    this.stopHeartbeat(runId);
    return this.withDb((s) =>
      s.tx(async () => {
        const run = await requireOwnRunning(s, runId, 'finish');
        await s.run(
          `UPDATE runs SET status = 'finished', finished_at = CAST(? AS TIMESTAMP), wall_seconds = ?, peak_rss_mb = ?, best_epoch = ?,
             valid_metrics = ?, test_metrics = ?, artifacts = ?, extra = ?
           WHERE id = ?`,
          [
            new Date().toISOString(),
            f.wallSeconds,
            f.peakRssMb,
            f.bestEpoch ?? null,
            toJson(f.valid, 'valid metrics'),
            toJson(f.test, 'test metrics'),
            f.artifacts === undefined ? null : toJson(f.artifacts, 'artifacts'),
            f.extra === undefined ? null : toJson(f.extra, 'extra'),
            runId,
          ],
        );
        for (const [part, metrics] of [['valid', f.valid], ['test', f.test]] as const) {
          for (const [metric, value] of Object.entries(metrics)) {
            await s.run('INSERT INTO run_metrics (run_id, dataset, split, model, part, metric, value) VALUES (?, ?, ?, ?, ?, ?, ?)', [
              runId,
              String(run.dataset),
              String(run.split),
              String(run.model),
              part,
              metric,
              value,
            ]);
          }
        }
      }).then(async () => (await details(s, runId))!),
    );
  }

  /** Marks a running run failed with a message; wall seconds default to the time since its start. */
  async failRun(runId: string, message: string, o: FailRunOptions = {}): Promise<RunDetails> {
    this.stopHeartbeat(runId);
    return this.withDb((s) =>
      s.tx(async () => {
        const run = await requireOwnRunning(s, runId, 'fail');
        const now = new Date();
        const wall = o.wallSeconds ?? (now.getTime() - toIso(run.started_at, 'started_at').valueOf()) / 1000;
        await s.run(
          `UPDATE runs SET status = 'failed', finished_at = CAST(? AS TIMESTAMP), wall_seconds = ?, peak_rss_mb = ?, error = ? WHERE id = ?`,
          [now.toISOString(), wall, o.peakRssMb ?? null, String(message), runId],
        );
      }).then(async () => (await details(s, runId))!),
    );
  }

  /** Runs, newest first. */
  async list(o: ListOptions = {}): Promise<RunRecord[]> {
    const where: string[] = [];
    const params: DuckDBValue[] = [];
    for (const [col, v] of [['dataset', o.dataset], ['split', o.split], ['model', o.model], ['kind', o.kind], ['status', o.status]] as const) {
      if (v !== undefined) {
        where.push(`${col} = ?`);
        params.push(v);
      }
    }
    const limit = o.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1) throw ppError('PP_USAGE', `limit must be a positive integer, got ${limit}`);
    return this.withJudgedDb(async (s) => {
      const rows = await s.all(
        `SELECT * FROM runs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY started_at DESC, id DESC LIMIT ${limit}`,
        params,
      );
      return complete(s, rows.map(toRecord));
    });
  }

  /** One run with its epochs; null when there is no such run. */
  async get(runId: string): Promise<RunDetails | null> {
    return this.withJudgedDb((s) => details(s, runId));
  }

  /** Like `get`, but an unknown id is PP_RUN_NOT_FOUND. */
  async require(runId: string): Promise<RunDetails> {
    const run = await this.get(runId);
    if (!run) throw ppError('PP_RUN_NOT_FOUND', runId);
    return run;
  }

  /**
   * A table of runs (rows, in the given order) by metrics (columns: `ndcg@20`, `valid:recall@20`, …; default
   * every test metric), with deltas against the first run.
   */
  async compare(runIds: string[], metrics?: string[]): Promise<CompareTable> {
    if (runIds.length === 0) throw ppError('PP_USAGE', 'compare needs at least one run id');
    const selectors = metrics?.map((m) => parseMetricSelector(m));
    const runs = await this.withJudgedDb(async (s) => {
      const out: RunRecord[] = [];
      for (const id of runIds) {
        const row = await s.one('SELECT * FROM runs WHERE id = ?', [id]);
        if (!row) throw ppError('PP_RUN_NOT_FOUND', id);
        out.push(toRecord(row));
      }
      return complete(s, out);
    });
    return compareTable(
      runs.map((r) => ({ runId: r.id, model: r.model, dataset: r.dataset, split: r.split, status: r.status, wallSeconds: r.wallSeconds, peakRssMb: r.peakRssMb, metrics: r.metrics })),
      selectors,
    );
  }

  /**
   * Makes a finished run the blessed one of its (dataset, split, scope). Earlier blessings stay in the
   * history (`blessings`). Blessing the current blessed run again records nothing.
   */
  async bless(runId: string, o: BlessOptions = {}): Promise<BlessResult> {
    const scope = o.scope ?? DEFAULT_SCOPE;
    assertName('scope', scope);
    return this.withJudgedDb((s) =>
      s.tx(async () => {
        const run = await s.one('SELECT id, dataset, split, status FROM runs WHERE id = ?', [runId]);
        if (!run) throw ppError('PP_RUN_NOT_FOUND', runId);
        if (run.status !== 'finished') throw ppError('PP_RUN_INVALID', `only a finished run can be blessed; ${runId} is ${String(run.status)}`);
        const dataset = String(run.dataset);
        const split = String(run.split);
        const current = await currentBlessing(s, dataset, split, scope);
        if (current?.runId === runId) return { blessing: current, changed: false };
        const seq = Number((await s.one('SELECT coalesce(max(seq), 0) + 1 AS seq FROM blessings'))!.seq);
        await s.run(
          `INSERT INTO blessings (seq, dataset, split, scope, run_id, previous_run_id, blessed_at, note)
           VALUES (?, ?, ?, ?, ?, ?, CAST(? AS TIMESTAMP), ?)`,
          [seq, dataset, split, scope, runId, current?.runId ?? null, new Date().toISOString(), o.note ?? null],
        );
        return { blessing: (await currentBlessing(s, dataset, split, scope))!, changed: true };
      }),
    );
  }

  /** The blessed run of a (dataset, split, scope), or null. */
  async blessed(dataset: string, split: string, scope: string = DEFAULT_SCOPE): Promise<RunRecord | null> {
    const b = await this.withJudgedDb((s) => currentBlessing(s, dataset, split, scope));
    return b ? this.get(b.runId) : null;
  }

  /** The history of blessings, newest first, optionally of one dataset / split / scope. */
  async blessings(filter: { dataset?: string; split?: string; scope?: string } = {}): Promise<Blessing[]> {
    const where: string[] = [];
    const params: DuckDBValue[] = [];
    for (const [col, v] of [['dataset', filter.dataset], ['split', filter.split], ['scope', filter.scope]] as const) {
      if (v !== undefined) {
        where.push(`${col} = ?`);
        params.push(v);
      }
    }
    return this.withDb(async (s) =>
      (await s.all(`SELECT * FROM blessings ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq DESC`, params)).map(toBlessing),
    );
  }

  /**
   * Compares a candidate run's metric with the blessed run's of the same (dataset, split, scope); see
   * `gateDecision` for the rule. Errors: no blessed run → PP_RUN_NOT_BLESSED; unknown run, or no finished
   * run to take as the candidate → PP_RUN_NOT_FOUND; an unfinished candidate, a missing metric or
   * different split hashes → PP_RUN_INVALID.
   */
  async gate(o: GateOptions): Promise<GateResult> {
    const part = o.part ?? 'test';
    if (part !== 'test' && part !== 'valid') throw ppError('PP_USAGE', `part must be test or valid, got "${String(part)}"`);
    const tolerance = o.tolerance ?? 0;
    if (!Number.isFinite(tolerance) || tolerance < 0) throw ppError('PP_USAGE', `tolerance must be a number ≥ 0, got ${tolerance}`);
    const scope = o.scope ?? DEFAULT_SCOPE;
    const direction = o.direction ?? metricDirection(o.metric);
    if (!o.metric) throw ppError('PP_USAGE', 'gate needs a metric');
    if (o.runId === undefined && (o.dataset === undefined || o.split === undefined)) {
      throw ppError('PP_USAGE', 'gate needs a dataset and a split, or a run id');
    }
    return this.withJudgedDb(async (s) => {
      let candidate: RunRecord;
      if (o.runId !== undefined) {
        const row = await s.one('SELECT * FROM runs WHERE id = ?', [o.runId]);
        if (!row) throw ppError('PP_RUN_NOT_FOUND', o.runId);
        candidate = toRecord(row);
        if ((o.dataset !== undefined && o.dataset !== candidate.dataset) || (o.split !== undefined && o.split !== candidate.split)) {
          throw ppError('PP_RUN_INVALID', `run ${o.runId} is of ${candidate.dataset}/${candidate.split}, not ${o.dataset ?? candidate.dataset}/${o.split ?? candidate.split}`);
        }
        if (candidate.status !== 'finished') throw ppError('PP_RUN_INVALID', `run ${o.runId} is ${candidate.status}, not finished`);
      } else {
        const params: DuckDBValue[] = [o.dataset!, o.split!];
        if (o.model !== undefined) params.push(o.model);
        const row = await s.one(
          `SELECT * FROM runs WHERE status = 'finished' AND dataset = ? AND split = ? ${o.model !== undefined ? 'AND model = ?' : ''}
           ORDER BY started_at DESC, id DESC LIMIT 1`,
          params,
        );
        if (!row) throw ppError('PP_RUN_NOT_FOUND', `no finished run of ${o.dataset}/${o.split}${o.model ? ` with model ${o.model}` : ''}`);
        candidate = toRecord(row);
      }
      const dataset = candidate.dataset;
      const split = candidate.split;
      const blessing = await currentBlessing(s, dataset, split, scope);
      if (!blessing) {
        throw ppError('PP_RUN_NOT_BLESSED', `${dataset}/${split}${scope === DEFAULT_SCOPE ? '' : ` scope ${scope}`}; bless a run first (plotpointe runs bless ID)`);
      }
      const blessedRow = await s.one('SELECT * FROM runs WHERE id = ?', [blessing.runId]);
      if (!blessedRow) throw ppError('PP_RUN_NOT_FOUND', `blessed run ${blessing.runId}`);
      const blessed = toRecord(blessedRow);
      if (!o.allowSplitMismatch && candidate.splitHash && blessed.splitHash && candidate.splitHash !== blessed.splitHash) {
        throw ppError(
          'PP_RUN_INVALID',
          `run ${candidate.id} used split hash ${candidate.splitHash.slice(0, 12)}…, the blessed run ${blessed.id} ${blessed.splitHash.slice(0, 12)}…: ` +
            'their metrics are not comparable (re-run on the same split, or bless a run of this split)',
        );
      }
      const [c, b] = await complete(s, [candidate, blessed]);
      const value = metricValue(c, part, o.metric);
      const blessedValue = metricValue(b, part, o.metric);
      const d = gateDecision(value, blessedValue, tolerance, direction);
      return {
        pass: d.pass,
        candidate: c.id,
        blessed: b.id,
        dataset,
        split,
        scope,
        metric: o.metric,
        part,
        direction,
        tolerance,
        value,
        blessedValue,
        delta: d.delta,
        relative: d.relative,
      };
    });
  }

  /**
   * Like `withDb`, after recording the `running` runs whose process is gone as `interrupted` (see the
   * class comment): what a reader sees is judged in the same open of the file.
   */
  private withJudgedDb<T>(fn: (s: Session) => Promise<T>): Promise<T> {
    return this.withDb(async (s) => {
      await markInterrupted(s, defaultJudgeContext(this.staleMs));
      return fn(s);
    });
  }

  /** Opens the file (retrying while another process holds it), runs `fn`, closes it. */
  private withDb<T>(fn: (s: Session) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(ppError('PP_INTERNAL', `run store ${this.path} used after close()`));
    return queued(this.path, async () => {
      const db = await this.openWithRetry();
      try {
        return await fn(new Session(db.conn));
      } finally {
        db.close();
      }
    });
  }

  private async openWithRetry(): Promise<Db> {
    try {
      return await openWithLockWait(this.path, () => openDb({ path: this.path, threads: 1 }), {
        timeoutMs: this.lockTimeoutMs,
        backoffMs: this.lockBackoffMs,
        maxBackoffMs: 250,
        onWait: () => this.lockWaits++,
      });
    } catch (err) {
      if (isPlotPointeError(err)) throw err;
      throw ppError('PP_INPUT_UNREADABLE', `run store ${this.path}: ${(err as Error).message}`, err);
    }
  }
}

/** Parameterised statements and transactions over one open connection. */
class Session {
  constructor(private readonly conn: DuckDBConnection) {}

  async run(sql: string, params: DuckDBValue[] = []): Promise<void> {
    await this.conn.run(sql, params);
  }

  async all(sql: string, params: DuckDBValue[] = []): Promise<Row[]> {
    const reader = await this.conn.runAndReadAll(sql, params);
    return reader.getRowObjectsJS().map((r) => {
      for (const k of Object.keys(r)) if (typeof r[k] === 'bigint') r[k] = Number(r[k]);
      return r as Row;
    });
  }

  async one(sql: string, params: DuckDBValue[] = []): Promise<Row | undefined> {
    return (await this.all(sql, params))[0];
  }

  async tx<T>(fn: () => Promise<T>): Promise<T> {
    await this.conn.run('BEGIN TRANSACTION');
    try {
      const out = await fn();
      await this.conn.run('COMMIT');
      return out;
    } catch (err) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}

async function migrate(s: Session): Promise<void> {
  await s.run(SCHEMA_VERSION_TABLE);
  const current = Number((await s.one('SELECT coalesce(max(version), 0) AS v FROM schema_version'))!.v);
  if (current > SCHEMA_VERSION) {
    throw ppError('PP_RUN_INVALID', `the run store has schema version ${current}, newer than this plotpointe knows (${SCHEMA_VERSION}); upgrade plotpointe`);
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    await s.tx(async () => {
      for (const sql of MIGRATIONS[v]) await s.run(sql);
      await s.run('INSERT INTO schema_version (version, applied_at, package_version) VALUES (?, CAST(? AS TIMESTAMP), ?)', [
        v + 1,
        new Date().toISOString(),
        codeVersion().version,
      ]);
    });
  }
}

/**
 * The run, which must be `running` — or `interrupted` and owned by this process, which is evidently alive:
 * a reader took its silence for death (the heartbeat rule), so it is made `running` again.
 */
async function requireOwnRunning(s: Session, runId: string, verb: string): Promise<Row> {
  const run = await s.one('SELECT id, dataset, split, model, status, started_at, owner_token FROM runs WHERE id = ?', [runId]);
  if (!run) throw ppError('PP_RUN_NOT_FOUND', runId);
  if (run.status === 'interrupted' && run.owner_token === thisProcess.token) {
    await s.run(`UPDATE runs SET status = 'running', finished_at = NULL, wall_seconds = NULL, error = NULL WHERE id = ?`, [runId]);
    return { ...run, status: 'running' };
  }
  if (run.status !== 'running') throw ppError('PP_RUN_INVALID', `cannot ${verb} run ${runId}: it is ${String(run.status)}`);
  return run;
}

/**
 * Judges every `running` run (run-owner.ts) and records those whose process is gone as `interrupted`:
 * `finished_at` and `wall_seconds` from its last sign of life, the reason in `error`.
 */
async function markInterrupted(s: Session, ctx: JudgeContext): Promise<void> {
  const rows = await s.all(
    `SELECT r.id, r.hostname, r.owner_pid, r.owner_token, r.owner_space, r.owner_start, r.started_at, r.heartbeat_at,
            (SELECT max(e.logged_at) FROM run_epochs e WHERE e.run_id = r.id) AS last_epoch_at
     FROM runs r WHERE r.status = 'running'`,
  );
  const gone: { id: string; reason: string; lastSeen: Date; startedAt: Date }[] = [];
  for (const r of rows) {
    const startedAt = toIso(r.started_at, 'started_at');
    const verdict = judgeRunning(
      {
        owner: { hostname: str(r.hostname), pid: num(r.owner_pid), token: str(r.owner_token), space: str(r.owner_space), start: str(r.owner_start) },
        startedAt,
        heartbeatAt: r.heartbeat_at === null ? null : toIso(r.heartbeat_at, 'heartbeat_at'),
        lastEpochAt: r.last_epoch_at === null ? null : toIso(r.last_epoch_at, 'last_epoch_at'),
      },
      ctx,
    );
    if (verdict.interrupted) gone.push({ id: String(r.id), reason: verdict.reason, lastSeen: verdict.lastSeen, startedAt });
  }
  if (gone.length === 0) return;
  await s.tx(async () => {
    for (const g of gone) {
      await s.run(
        `UPDATE runs SET status = 'interrupted', finished_at = CAST(? AS TIMESTAMP), wall_seconds = ?, error = ? WHERE id = ? AND status = 'running'`,
        [g.lastSeen.toISOString(), Math.max(0, (g.lastSeen.getTime() - g.startedAt.getTime()) / 1000), `interrupted: ${g.reason}`, g.id],
      );
    }
  });
}

async function currentBlessings(s: Session): Promise<Blessing[]> {
  return (await s.all('SELECT * FROM blessings QUALIFY row_number() OVER (PARTITION BY dataset, split, scope ORDER BY seq DESC) = 1')).map(toBlessing);
}

async function currentBlessing(s: Session, dataset: string, split: string, scope: string): Promise<Blessing | undefined> {
  const row = await s.one('SELECT * FROM blessings WHERE dataset = ? AND split = ? AND scope = ? ORDER BY seq DESC LIMIT 1', [dataset, split, scope]);
  return row ? toBlessing(row) : undefined;
}

async function details(s: Session, runId: string): Promise<RunDetails | null> {
  const row = await s.one('SELECT * FROM runs WHERE id = ?', [runId]);
  if (!row) return null;
  const [run] = await complete(s, [toRecord(row)]);
  const epochs = (await s.all('SELECT * FROM run_epochs WHERE run_id = ? ORDER BY epoch', [runId])).map(toEpoch);
  return { ...run, epochs };
}

/** Fills `metrics` from run_metrics (which keeps NaN, unlike the JSON columns) and `blessedIn`. */
async function complete(s: Session, runs: RunRecord[]): Promise<RunRecord[]> {
  const withMetrics = await attachMetrics(s, runs);
  const current = await currentBlessings(s);
  return withMetrics.map((r) => ({ ...r, blessedIn: current.filter((b) => b.runId === r.id).map((b) => b.scope) }));
}

async function attachMetrics(s: Session, runs: RunRecord[]): Promise<RunRecord[]> {
  if (runs.length === 0) return runs;
  const ids = [...new Set(runs.map((r) => r.id))];
  const rows = await s.all(`SELECT run_id, part, metric, value FROM run_metrics WHERE run_id IN (${ids.map(() => '?').join(', ')})`, ids);
  const byRun = new Map<string, PartMetrics>();
  for (const r of rows) {
    const id = String(r.run_id);
    let m = byRun.get(id);
    if (!m) byRun.set(id, (m = { valid: {}, test: {} }));
    m[r.part as MetricPart][String(r.metric)] = r.value === null ? NaN : Number(r.value);
  }
  return runs.map((r) => {
    const m = byRun.get(r.id);
    return m ? { ...r, metrics: { valid: sortKeys(m.valid), test: sortKeys(m.test) } } : r;
  });
}

function sortKeys(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function metricValue(run: RunRecord, part: MetricPart, metric: string): number {
  const v = run.metrics[part][metric];
  if (v === undefined) {
    const has = Object.keys(run.metrics[part]);
    throw ppError('PP_RUN_INVALID', `run ${run.id} has no ${part} metric ${metric} (it has: ${has.length ? has.join(', ') : 'none'})`);
  }
  return v;
}

function toRecord(r: Row): RunRecord {
  return {
    id: String(r.id),
    dataset: String(r.dataset),
    split: String(r.split),
    splitHash: str(r.split_hash),
    model: String(r.model),
    kind: r.kind as RunKind,
    status: r.status as RunStatus,
    config: parseJson(r.config) as Record<string, unknown>,
    configHash: String(r.config_hash),
    gitCommit: str(r.git_commit),
    packageVersion: str(r.package_version),
    hostname: str(r.hostname),
    nodeVersion: str(r.node_version),
    parentRunId: str(r.parent_run_id),
    artifactsDir: str(r.artifacts_dir),
    startedAt: toIso(r.started_at, 'started_at').toISOString(),
    finishedAt: r.finished_at === null ? null : toIso(r.finished_at, 'finished_at').toISOString(),
    wallSeconds: num(r.wall_seconds),
    peakRssMb: num(r.peak_rss_mb),
    bestEpoch: num(r.best_epoch),
    metrics: { valid: {}, test: {} },
    artifacts: (parseJson(r.artifacts) as Record<string, string> | null) ?? null,
    extra: (parseJson(r.extra) as Record<string, unknown> | null) ?? null,
    error: str(r.error),
    ownerPid: num(r.owner_pid),
    heartbeatAt: r.heartbeat_at === null || r.heartbeat_at === undefined ? null : toIso(r.heartbeat_at, 'heartbeat_at').toISOString(),
    blessedIn: [],
  };
}

function toEpoch(r: Row): EpochRecord {
  return {
    epoch: Number(r.epoch),
    loss: num(r.loss),
    metrics: (parseJson(r.metrics) as Record<string, number | null>) ?? {},
    seconds: num(r.seconds),
    lr: num(r.lr),
    loggedAt: toIso(r.logged_at, 'logged_at').toISOString(),
  };
}

function toBlessing(r: Row): Blessing {
  return {
    seq: Number(r.seq),
    dataset: String(r.dataset),
    split: String(r.split),
    scope: String(r.scope),
    runId: String(r.run_id),
    previousRunId: str(r.previous_run_id),
    blessedAt: toIso(r.blessed_at, 'blessed_at').toISOString(),
    note: str(r.note),
  };
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function parseJson(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? JSON.parse(v) : v;
}

/** DuckDB TIMESTAMP comes back as a JS Date (UTC). */
function toIso(v: unknown, what: string): Date {
  if (v instanceof Date) return v;
  if (typeof v === 'string') return new Date(v.endsWith('Z') ? v : v.replace(' ', 'T') + 'Z');
  throw ppError('PP_INTERNAL', `unexpected ${what} value ${String(v)}`);
}

function toJson(value: unknown, what: string): string {
  try {
    const s = JSON.stringify(value);
    if (s === undefined) throw new Error('not serialisable');
    return s;
  } catch (err) {
    throw ppError('PP_RUN_INVALID', `${what} cannot be stored as JSON: ${(err as Error).message}`, err);
  }
}

function checkNumber(v: unknown, what: string): void {
  if (typeof v !== 'number') throw ppError('PP_RUN_INVALID', `${what} must be a number, got ${JSON.stringify(v)}`);
}

function checkMetrics(m: unknown, what: string): void {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw ppError('PP_RUN_INVALID', `${what} must be an object of numbers`);
  for (const [k, v] of Object.entries(m)) {
    if (!k) throw ppError('PP_RUN_INVALID', `${what}: empty metric name`);
    if (typeof v !== 'number') throw ppError('PP_RUN_INVALID', `${what}: ${k} must be a number, got ${JSON.stringify(v)}`);
  }
}

