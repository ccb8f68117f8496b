/**
 * Experiment tracking: runs recorded in `<lake>/runs.duckdb`, comparisons, blessings and the regression gate.
 * See run-store.ts for the store and its concurrency rules, schema.ts for the tables.
 */

export {
  DEFAULT_SCOPE,
  peakRssMb,
  RUN_KINDS,
  RUN_STATUSES,
  RunStore,
  type BlessOptions,
  type BlessResult,
  type Blessing,
  type EpochLog,
  type EpochRecord,
  type FailRunOptions,
  type FinishRunOptions,
  type GateOptions,
  type GateResult,
  type ListOptions,
  type RunDetails,
  type RunKind,
  type RunRecord,
  type RunStatus,
  type RunStoreOptions,
  type StartRunOptions,
} from './run-store.js';
export {
  compareMetricNames,
  compareTable,
  gateDecision,
  metricDirection,
  parseMetricSelector,
  relativeChange,
  type CompareRow,
  type CompareTable,
  type GateDecision,
  type MetricDirection,
  type MetricPart,
  type MetricSelector,
  type PartMetrics,
} from './analysis.js';
export { makeRunId, modelSlug, RUN_ID_RE } from './run-id.js';
export { DEFAULT_HEARTBEAT_MS, DEFAULT_STALE_MS, judgeRunning, type RunOwner, type Verdict } from './run-owner.js';
export { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
