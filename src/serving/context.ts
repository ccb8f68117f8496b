/**
 * The serving context: the served model variants (one {@link ServedModel} per A/B variant), the analytics
 * store, metrics and settings. Routes read `ctx.state` once per request and use that snapshot to the end, so a
 * reload — which opens the new bundle completely, then replaces the single `state` reference — never produces a
 * failed or mixed-version response: requests that started before the swap finish on the old model, later ones
 * get the new one.
 */
import { access, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { ppError } from '../errors.js';
import { openServingBundle } from '../index/serving-bundle.js';
import { readSimilarTables } from '../index/similar-table.js';
import { resolveServedRun } from '../index/build-serving.js';
import { ServedModel } from './served-model.js';
import { checkServableBundle } from './bundle-check.js';
import { VariantAssigner, parseVariants, type VariantSpec } from './experiments.js';
import { ServingLogs } from './request-log.js';
import type { LogStore } from './log-store.js';
import type { AnalyticsRequest } from './routes/analytics.js';
import { ServingMetrics } from './metrics.js';
import type { Config } from '../config/schema.js';
import { FeedbackService } from './feedback/service.js';
import { DEFAULT_FEEDBACK_SETTINGS, feedbackSettingsFromConfig, type FeedbackSettings } from './feedback/settings.js';
import { datasetPaths, lakePaths } from '../lake/paths.js';

export interface ServingSettings {
  /** Largest k of a request. */
  maxK: number;
  /** Largest request body, bytes. */
  bodyLimit: number;
  /** History items an explanation compares against (0 = none). */
  explainHistory: number;
  /** Bearer token of /v1/admin/reload; empty = reload refused (401). */
  adminToken: string;
  imageMaxBytes: number;
  imageTimeoutMs: number;
  /** Let cold-start image URLs reach private/loopback addresses (tests only). */
  allowPrivateImageUrls: boolean;
  /** The address the server listens on (a name requests may carry in Host, host-guard.ts). */
  host: string;
  /** Extra names accepted in Host/Origin (serve.allowed_hosts; `*` = any). */
  allowedHosts: string[];
  /** Time to receive a whole request / its headers, ms (408 and closed beyond it). */
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  /** POST /v1/events limits (event-guard.ts). */
  eventValueMax: number;
  eventMaxAgeDays: number;
  eventMaxFutureS: number;
  /** DuckDB memory limit of the analytics store (analytics.memory_limit; time limits come from the config given to buildApp). */
  analyticsMemoryLimit: string;
  /** Live feedback (`serve.feedback.*`, feedback/settings.ts). */
  feedback: FeedbackSettings;
  /** Write a request-log row per recommendation response (serve.request_log; events are stored either way). */
  requestLog: boolean;
}

export const DEFAULT_SETTINGS: ServingSettings = {
  maxK: 100,
  bodyLimit: 1 << 20,
  explainHistory: 200,
  adminToken: '',
  imageMaxBytes: 10 << 20,
  imageTimeoutMs: 10_000,
  allowPrivateImageUrls: false,
  host: '127.0.0.1',
  allowedHosts: [],
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  eventValueMax: 1e9,
  eventMaxAgeDays: 3650,
  eventMaxFutureS: 300,
  analyticsMemoryLimit: '1GB',
  feedback: DEFAULT_FEEDBACK_SETTINGS,
  requestLog: true,
};

/** The settings `plotpointe serve` takes from its config (the admin token: env PLOTPOINTE_ADMIN_TOKEN wins). */
export function servingSettingsFromConfig(c: Config, env: NodeJS.ProcessEnv = process.env): ServingSettings {
  return {
    ...DEFAULT_SETTINGS,
    maxK: c['serve.max_k'],
    bodyLimit: c['serve.body_limit'],
    explainHistory: c['serve.explain_history'],
    adminToken: env.PLOTPOINTE_ADMIN_TOKEN || c['serve.admin_token'],
    imageMaxBytes: c['serve.image_max_bytes'],
    imageTimeoutMs: c['serve.image_timeout_ms'],
    host: c['serve.host'],
    allowedHosts: c['serve.allowed_hosts'].split(',').map((s) => s.trim()).filter((s) => s.length > 0),
    requestTimeoutMs: c['serve.request_timeout_ms'],
    headersTimeoutMs: Math.min(c['serve.headers_timeout_ms'], c['serve.request_timeout_ms']),
    eventValueMax: c['serve.event_value_max'],
    eventMaxAgeDays: c['serve.event_max_age_days'],
    eventMaxFutureS: c['serve.event_max_future_s'],
    analyticsMemoryLimit: c['analytics.memory_limit'],
    feedback: feedbackSettingsFromConfig(c),
    requestLog: c['serve.request_log'],
  };
}

export interface LoadServingOptions {
  lake: string;
  name: string;
  /** The run of the `default` variant (and of variants without a run); default: the blessed run. */
  runId?: string;
  /** `serve.variants` (see experiments.ts); empty = one variant. */
  variants?: string;
  settings?: Partial<ServingSettings>;
  /** Open `<lake>/logs/serving.duckdb` (default true). */
  logs?: boolean;
  /** Another database file for the logs (tests running several servers in one process). */
  logsFile?: string;
  logFlushRows?: number;
  logFlushMs?: number;
  onLogError?: (err: unknown, rows: number) => void;
  /** A cluster worker: its log store (RemoteLogs, instead of opening the DuckDB file) and its link to the primary. */
  worker?: { logs: LogStore; cluster: ClusterLink };
}

export interface ReloadResult {
  variant: string;
  previous_model_version: string;
  model_version: string;
  seconds: number;
}

/**
 * What a cluster worker asks of the primary (cluster/worker.ts): reloads (prepared in every worker, then
 * committed together), analytics over the store the primary holds, and the metrics of all processes.
 */
export interface ClusterLink {
  reload(o: { variant?: string; runId?: string }): Promise<ReloadResult>;
  /** Runs `req` in the primary; when `signal` aborts (the client left) the primary interrupts it. */
  analytics(req: AnalyticsRequest, signal?: AbortSignal): Promise<unknown>;
  metrics(): Promise<string>;
}

/** What one request works with: an immutable snapshot of the served variants. */
export interface ServingState {
  readonly variants: ReadonlyMap<string, ServedModel>;
  readonly assigner: VariantAssigner;
  /** The first variant: serves item routes and users' routes when there is one variant. */
  readonly primary: string;
}

/**
 * Opens the serving bundle of a run and checks it can be served (PP_SERVE_BUNDLE with the build command when it
 * is missing; PP_SERVE_BUNDLE naming the fault when a file is inconsistent or changed since the build).
 */
export async function loadServedModel(lake: string, name: string, runId: string, explainHistory: number): Promise<ServedModel> {
  // The bundle is a symlink to one complete version (src/lake/atomic.ts): resolved once, so every file read
  // below comes from that version even if `index build` publishes another meanwhile.
  const bundleLink = datasetPaths(lake, name).run(runId).serving;
  const dir = await realpath(bundleLink).catch(() => bundleLink);
  try {
    await access(join(dir, 'manifest.json'));
  } catch {
    throw ppError('PP_SERVE_BUNDLE', `run ${runId} has no serving bundle in ${dir}: run plotpointe index build --lake ${lake} --name ${name} --run ${runId}`);
  }
  const bundle = await openServingBundle(dir);
  if (!bundle.indexes.graph) throw ppError('PP_SERVE_BUNDLE', `${dir} has no graph index`);
  const similarTables = await readSimilarTables(dir, bundle.manifest.num_items);
  // Ids in range, sizes, finite values, checksums: a bundle that would fail requests is refused here (bundle-check.ts).
  await checkServableBundle(bundle, similarTables);
  return new ServedModel(bundle, { explainHistory, similarTables });
}

export class ServingContext {
  readonly lake: string;
  readonly name: string;
  readonly settings: ServingSettings;
  readonly metrics = new ServingMetrics();
  readonly logs: LogStore | null;
  /** Live feedback (null when disabled or without a log store to keep the events in). */
  readonly feedback: FeedbackService | null;
  /** Set in a cluster worker (see {@link ClusterLink}). */
  readonly cluster: ClusterLink | null;
  readonly specs: readonly VariantSpec[];
  /** True once shutdown started (readyz answers 503). */
  closing = false;
  #state: ServingState;
  /** Reloads run one at a time. */
  #reloading: Promise<unknown> = Promise.resolve();

  private constructor(lake: string, name: string, settings: ServingSettings, specs: VariantSpec[], state: ServingState, logs: LogStore | null, cluster: ClusterLink | null, feedback: FeedbackService | null) {
    this.lake = lake;
    this.feedback = feedback;
    this.cluster = cluster;
    this.name = name;
    this.settings = settings;
    this.specs = specs;
    this.#state = state;
    this.logs = logs;
    this.#publishModelMetrics();
  }

  static async load(o: LoadServingOptions): Promise<ServingContext> {
    const settings = { ...DEFAULT_SETTINGS, ...o.settings };
    let defaultRun: string | null = o.runId ?? null;
    const specs = parseVariants(o.variants ?? '', defaultRun);
    const models = new Map<string, ServedModel>();
    for (const v of specs) {
      if (!v.runId) defaultRun ??= (await resolveServedRun(o.lake, o.name)).id;
      const runId = v.runId ?? defaultRun!;
      models.set(v.name, await loadServedModel(o.lake, o.name, runId, settings.explainHistory));
    }
    const state: ServingState = { variants: models, assigner: new VariantAssigner(specs), primary: specs[0].name };
    const logs =
      o.worker?.logs ??
      (o.logs === false ? null : await ServingLogs.open(o.logsFile ?? lakePaths(o.lake).servingLog, { flushRows: o.logFlushRows ?? 500, flushMs: o.logFlushMs ?? 1000, onError: o.onLogError, memoryLimit: settings.analyticsMemoryLimit }));
    const feedback = settings.feedback.enabled && logs ? new FeedbackService(settings.feedback, logs) : null;
    await feedback?.load();
    return new ServingContext(o.lake, o.name, settings, specs, state, logs, o.worker?.cluster ?? null, feedback);
  }

  get state(): ServingState {
    return this.#state;
  }

  /** The variant and model serving `key` (a user id; anonymous requests pass another stable key). */
  modelFor(key: string | null, state: ServingState = this.#state): { variant: string; model: ServedModel } {
    const variant = key === null ? state.primary : state.assigner.assign(key);
    return { variant, model: state.variants.get(variant)! };
  }

  /**
   * Loads run `runId` (default: the blessed run) into `variant` (default: the primary one): the new bundle is
   * opened completely, then the state reference is replaced in one assignment. Reloads run one at a time. In a
   * cluster worker the primary runs it: every worker prepares the model, then all commit (cluster/primary.ts).
   */
  reload(o: { variant?: string; runId?: string } = {}): Promise<ReloadResult> {
    if (this.cluster) return this.cluster.reload(o);
    return this.#serialised(async () => {
      const prepared = await this.prepareReload(o);
      prepared.commit();
      return prepared.result;
    });
  }

  /**
   * The first half of a reload: opens the new model and returns the result it will have and `commit`, which swaps
   * it in (one assignment) — or, when not called, leaves the served state as it is. A failure counts as a failed
   * reload at once; `commit` counts the success.
   */
  async prepareReload(o: { variant?: string; runId?: string }): Promise<{ result: ReloadResult; commit: () => void }> {
    const started = performance.now();
    const variant = o.variant ?? this.#state.primary;
    const current = this.#state.variants.get(variant);
    if (!current) throw ppError('PP_SERVE_BAD_REQUEST', `variant: unknown variant "${variant}" (served: ${[...this.#state.variants.keys()].join(', ')})`);
    let model: ServedModel;
    try {
      const runId = (await resolveServedRun(this.lake, this.name, o.runId)).id;
      model = await loadServedModel(this.lake, this.name, runId, this.settings.explainHistory);
    } catch (err) {
      this.metrics.reloads.inc({ variant, outcome: 'failed' });
      throw err;
    }
    const result = { variant, previous_model_version: current.modelVersion, model_version: model.modelVersion, seconds: (performance.now() - started) / 1000 };
    const commit = (): void => {
      const variants = new Map(this.#state.variants);
      variants.set(variant, model);
      this.#state = { ...this.#state, variants };
      this.#publishModelMetrics();
      this.metrics.reloads.inc({ variant, outcome: 'ok' });
    };
    return { result, commit };
  }

  /** Runs `job` after every reload queued before it. */
  #serialised<T>(job: () => Promise<T>): Promise<T> {
    const next = this.#reloading.then(job, job);
    this.#reloading = next.catch(() => undefined);
    return next;
  }

  #publishModelMetrics(): void {
    this.metrics.modelInfo.reset();
    this.metrics.indexSize.reset();
    for (const [variant, m] of this.#state.variants) {
      this.metrics.modelInfo.set({ variant, model_version: m.modelVersion, model: m.model }, 1);
      for (const [modality, size] of Object.entries(m.indexSizes())) this.metrics.indexSize.set({ variant, modality }, size);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.#reloading;
    await this.logs?.close();
  }
}
