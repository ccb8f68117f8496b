import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPlotPointeError } from '../errors.js';
import { compareMetricNames, compareTable, gateDecision, metricDirection, parseMetricSelector, relativeChange } from './analysis.js';
import { makeRunId, modelSlug, RUN_ID_RE } from './run-id.js';

test('the gate passes at equal or better values and fails on any drop when the tolerance is 0', () => {
  assert.equal(gateDecision(0.3, 0.3, 0, 'higher').pass, true);
  assert.equal(gateDecision(0.31, 0.3, 0, 'higher').pass, true);
  assert.equal(gateDecision(0.2999, 0.3, 0, 'higher').pass, false);
  // equal values reached by different float paths still pass
  assert.equal(gateDecision(0.1 + 0.2, 0.3, 0, 'higher').pass, true);
  assert.equal(gateDecision(0.3, 0.1 + 0.2, 0, 'higher').pass, true);
});

test('a relative tolerance allows a drop up to that share of the blessed value and no more', () => {
  assert.equal(gateDecision(0.495, 0.5, 0.01, 'higher').pass, true, 'exactly 1% lower passes with 1%');
  assert.equal(gateDecision(0.4949, 0.5, 0.01, 'higher').pass, false);
  const d = gateDecision(0.45, 0.5, 0.05, 'higher');
  assert.ok(Math.abs(d.delta - -0.05) < 1e-12);
  assert.ok(Math.abs((d.relative ?? 0) - -0.1) < 1e-12);
  assert.equal(d.pass, false);
});

test('for lower-is-better metrics the gate fails when the value rises', () => {
  assert.equal(gateDecision(1.0, 1.0, 0, 'lower').pass, true);
  assert.equal(gateDecision(0.9, 1.0, 0, 'lower').pass, true);
  assert.equal(gateDecision(1.02, 1.0, 0.01, 'lower').pass, false);
  assert.equal(gateDecision(1.01, 1.0, 0.01, 'lower').pass, true);
  assert.equal(metricDirection('loss'), 'lower');
  assert.equal(metricDirection('bpr_loss'), 'lower');
  assert.equal(metricDirection('rmse'), 'lower');
  assert.equal(metricDirection('ndcg@20'), 'higher');
  assert.equal(metricDirection('recall@20'), 'higher');
  assert.equal(metricDirection('coverage@20'), 'higher');
});

test('a NaN candidate never passes the gate, and a negative tolerance is refused', () => {
  assert.equal(gateDecision(NaN, 0.3, 1, 'higher').pass, false);
  assert.throws(() => gateDecision(0.3, 0.3, -0.1, 'higher'), (e) => isPlotPointeError(e, 'PP_USAGE'));
});

test('relative change is against the absolute base, 0 for 0 vs 0, infinite against a 0 base', () => {
  assert.ok(Math.abs((relativeChange(0.55, 0.5) ?? 0) - 0.1) < 1e-12);
  assert.equal(relativeChange(-2, -1), -1);
  assert.equal(relativeChange(0, 0), 0);
  assert.equal(relativeChange(1, 0), Infinity);
  assert.equal(relativeChange(null, 1), null);
});

test('metric selectors default to the test part and accept a valid: or test: prefix', () => {
  assert.deepEqual(parseMetricSelector('ndcg@20'), { label: 'ndcg@20', part: 'test', metric: 'ndcg@20' });
  assert.deepEqual(parseMetricSelector('valid:recall@10'), { label: 'valid:recall@10', part: 'valid', metric: 'recall@10' });
  assert.deepEqual(parseMetricSelector('test:hit@5'), { label: 'test:hit@5', part: 'test', metric: 'hit@5' });
});

test('metric names sort by name, then numerically by cut-off', () => {
  assert.deepEqual(['ndcg@20', 'hit@10', 'ndcg@5', 'hit@5', 'auc', 'ndcg@100'].sort(compareMetricNames), [
    'auc',
    'hit@5',
    'hit@10',
    'ndcg@5',
    'ndcg@20',
    'ndcg@100',
  ]);
});

test('the comparison table has a row per run and a column per metric, with deltas against the first run', () => {
  const run = (runId: string, test: Record<string, number>, valid: Record<string, number> = {}) => ({
    runId,
    model: 'm',
    dataset: 'd',
    split: 's',
    status: 'finished',
    wallSeconds: 1,
    peakRssMb: 1,
    metrics: { valid, test },
  });
  const t = compareTable([run('a', { 'ndcg@20': 0.2, 'recall@20': 0.1 }), run('b', { 'ndcg@20': 0.25 }, { 'ndcg@20': 0.3 })]);
  assert.equal(t.baseline, 'a');
  assert.deepEqual(t.columns, ['ndcg@20', 'recall@20'], 'default columns: every test metric of any run');
  assert.deepEqual(t.rows[0].deltas, { 'ndcg@20': 0, 'recall@20': 0 });
  assert.ok(Math.abs((t.rows[1].deltas['ndcg@20'] ?? 0) - 0.05) < 1e-12);
  assert.ok(Math.abs((t.rows[1].relative['ndcg@20'] ?? 0) - 0.25) < 1e-12);
  assert.equal(t.rows[1].values['recall@20'], null, 'a metric the run lacks is null');
  assert.equal(t.rows[1].deltas['recall@20'], null);
  const v = compareTable([run('a', {}, { 'ndcg@20': 0.2 }), run('b', {}, { 'ndcg@20': 0.1 })], [parseMetricSelector('valid:ndcg@20')]);
  assert.deepEqual(v.columns, ['valid:ndcg@20']);
  assert.ok(Math.abs((v.rows[1].relative['valid:ndcg@20'] ?? 0) - -0.5) < 1e-12);
});

test('run ids start with the UTC start time and model, sort chronologically, and are valid lake names', () => {
  const times = ['2024-12-31T23:59:59Z', '2025-01-01T00:00:00Z', '2025-01-01T00:00:01Z', '2025-01-09T10:00:00Z', '2025-01-10T09:00:00Z', '2025-10-01T00:00:00Z'];
  const ids = times.map((t, i) => makeRunId(i % 2 ? 'ngcf' : 'lightgcn', new Date(t)));
  assert.equal(ids[1].slice(0, 15), '20250101-000000');
  assert.match(ids[0], /^20241231-235959-lightgcn-[0-9a-f]{4}$/);
  assert.deepEqual([...ids].sort(), ids, 'string order is time order');
  for (const id of ids) assert.match(id, RUN_ID_RE);
  assert.equal(makeRunId('LightGCN v2/fast', new Date(times[0]), 'beef'), '20241231-235959-LightGCN_v2_fast-beef');
  assert.equal(modelSlug('../x'), 'x');
  assert.equal(modelSlug('???'), 'model');
});
