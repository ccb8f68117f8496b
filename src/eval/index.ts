/**
 * The evaluation library: ranking metrics, top-K selection, full-ranking, sampled (1+N) and cold-start
 * protocols. Pure TypeScript over typed arrays; no dependency on the rest of the project but `errors.ts`.
 */

export { columnCounts, csrFromLists, csrFromPairs, rowDegrees, validateCsr, type CsrPattern } from '../core/csr-pattern.js';
export {
  computeUserMetrics,
  dcgDiscount,
  idealDcg,
  metricKey,
  normalizeKs,
  RANKING_METRICS,
  RankingMetricsAccumulator,
  userRankingMetrics,
  type RankingMetric,
} from './metrics.js';
export { prepareCandidates, topK, topKBatch, TopKSelector, type BatchExclusion, type TopKBatchOptions } from './top-k.js';
export {
  DEFAULT_DEGREE_BUCKETS,
  evaluateFullRanking,
  type DegreeBucketResult,
  type FullRankingOptions,
  type FullRankingResult,
  type ScoreBatchFn,
} from './full-ranking.js';
export {
  evaluateSampled,
  SAMPLED_PROTOCOL_NOTE,
  type SampledOptions,
  type SampledResult,
  type ScoreCandidatesFn,
} from './sampled.js';
export {
  coldItems,
  evaluateColdStart,
  itemMask,
  itemTrainCounts,
  restrictCsrToItems,
  warmItems,
  type ColdStartOptions,
  type ColdStartResult,
} from './cold-start.js';
export { Prng } from './prng.js';
