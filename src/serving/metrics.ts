/**
 * Prometheus metrics of the API (prom-client, one registry per app so several apps can live in one process):
 *   plotpointe_http_requests_total{method, route, status}   counter
 *   plotpointe_http_request_duration_seconds{method, route}  histogram (0.25 ms … 2.5 s)
 *   plotpointe_index_size{variant, modality}                 vectors per ANN index
 *   plotpointe_model_info{variant, model_version, model}     1 for each served model version
 *   plotpointe_reloads_total{variant, outcome}               admin reloads
 *   plotpointe_request_log_rows{outcome}                     request-log rows written / dropped since start
 *   plotpointe_request_log_dropped{reason}                   dropped rows by reason (request-log.ts DropReason)
 *   plotpointe_analytics_running                             analytics requests running over the store
 *   plotpointe_analytics_interrupted{reason}                 analytics requests ended by interrupt since start
 *                                                            (timeout, client = disconnected, shutdown)
 * plus the process's default metrics (CPU, memory, event-loop lag). A cluster (`serve --workers N`) answers with
 * the metrics of all its processes aggregated.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ServingMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly latency: Histogram<'method' | 'route'>;
  readonly indexSize: Gauge<'variant' | 'modality'>;
  readonly modelInfo: Gauge<'variant' | 'model_version' | 'model'>;
  readonly reloads: Counter<'variant' | 'outcome'>;
  readonly logRows: Gauge<'outcome'>;
  readonly logDropped: Gauge<'reason'>;
  readonly analyticsRunning: Gauge;
  readonly analyticsInterrupted: Gauge<'reason'>;

  constructor() {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'plotpointe_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers });
    this.latency = new Histogram({
      name: 'plotpointe_http_request_duration_seconds',
      help: 'HTTP request latency by route (server side, seconds)',
      labelNames: ['method', 'route'],
      buckets: [0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    // Cluster aggregation (AggregatorRegistry, cluster/primary.ts): request counters and histograms are summed over
    // the workers; every worker serves the same models and takes part in every reload, so those are taken once.
    this.indexSize = new Gauge({ name: 'plotpointe_index_size', help: 'Vectors in each ANN index of each served variant', labelNames: ['variant', 'modality'], registers, aggregator: 'first' });
    this.modelInfo = new Gauge({ name: 'plotpointe_model_info', help: 'The served model version of each variant (value 1)', labelNames: ['variant', 'model_version', 'model'], registers, aggregator: 'first' });
    this.reloads = new Counter({ name: 'plotpointe_reloads_total', help: 'Admin reloads by outcome', labelNames: ['variant', 'outcome'], registers, aggregator: 'max' });
    this.logRows = new Gauge({ name: 'plotpointe_request_log_rows', help: 'Request-log rows written or dropped since start', labelNames: ['outcome'], registers });
    this.logDropped = new Gauge({ name: 'plotpointe_request_log_dropped', help: 'Request-log rows dropped since start, by reason', labelNames: ['reason'], registers });
    // Set by the process holding the store (the primary of a cluster; summed with the workers' zeros).
    this.analyticsRunning = new Gauge({ name: 'plotpointe_analytics_running', help: 'Analytics requests running over the store', registers });
    this.analyticsInterrupted = new Gauge({ name: 'plotpointe_analytics_interrupted', help: 'Analytics requests interrupted since start, by reason (timeout, client disconnected, shutdown)', labelNames: ['reason'], registers });
    collectDefaultMetrics({ register: this.registry, prefix: 'plotpointe_' });
  }

  /** Publishes the request-log counters of the store (ServingLogs). */
  setLogRows(logs: { written: number; dropped: number; droppedBy: Record<string, number> }): void {
    this.logRows.set({ outcome: 'written' }, logs.written);
    this.logRows.set({ outcome: 'dropped' }, logs.dropped);
    for (const [reason, n] of Object.entries(logs.droppedBy)) this.logDropped.set({ reason }, n);
  }

  /** Publishes the analytics counters of the store (analytics-limits.ts analyticsStats). */
  setAnalytics(stats: { running: number; interrupted: Readonly<Record<string, number>> }): void {
    this.analyticsRunning.set(stats.running);
    for (const [reason, n] of Object.entries(stats.interrupted)) this.analyticsInterrupted.set({ reason }, n);
  }
}
