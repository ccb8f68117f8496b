import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interval, parsePrometheus, scrapeRequests } from './client/prometheus.js';

// The overview's live traffic figures from two /metrics scrapes (client/prometheus.ts).

const scrape = (count: number, sum: number, buckets: [string, number][], dashboard = 0) =>
  [
    '# HELP plotpointe_http_request_duration_seconds HTTP request latency by route (server side, seconds)',
    '# TYPE plotpointe_http_request_duration_seconds histogram',
    ...buckets.map(([le, n]) => `plotpointe_http_request_duration_seconds_bucket{le="${le}",method="GET",route="/v1/users/:userId/recommendations"} ${n}`),
    `plotpointe_http_request_duration_seconds_sum{method="GET",route="/v1/users/:userId/recommendations"} ${sum}`,
    `plotpointe_http_request_duration_seconds_count{method="GET",route="/v1/users/:userId/recommendations"} ${count}`,
    `plotpointe_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/api/dashboard/summary"} ${dashboard}`,
    `plotpointe_http_request_duration_seconds_sum{method="GET",route="/api/dashboard/summary"} ${dashboard}`,
    `plotpointe_http_request_duration_seconds_count{method="GET",route="/api/dashboard/summary"} ${dashboard}`,
    `plotpointe_http_request_duration_seconds_count{method="GET",route="/metrics"} ${dashboard * 3}`,
    'plotpointe_model_info{variant="a",model_version="r\\"1",model="mf"} 1',
  ].join('\n');

test('parses samples with labels, escaped quotes and +Inf', () => {
  const s = parsePrometheus(scrape(1, 0.5, [['0.001', 0], ['+Inf', 1]]));
  assert.equal(s.find((x) => x.name === 'plotpointe_model_info')!.labels.model_version, 'r"1');
  assert.equal(s.filter((x) => x.name.endsWith('_bucket'))[1]!.labels.le, '+Inf');
});

test('rate, mean and p95 bucket over an interval, API routes only (dashboard and /metrics left out)', () => {
  const a = scrapeRequests(parsePrometheus(scrape(10, 0.02, [['0.001', 5], ['0.005', 10], ['+Inf', 10]], 4)), 0);
  const b = scrapeRequests(parsePrometheus(scrape(30, 0.1, [['0.001', 6], ['0.005', 29], ['+Inf', 30]], 40)), 2000);
  assert.equal(b.histogram, 'plotpointe_http_request_duration_seconds');
  assert.equal(b.count, 30);
  const iv = interval(a, b);
  assert.equal(iv.rate, 10); // 20 requests in 2 s
  assert.ok(Math.abs(iv.meanMs! - 4) < 1e-9); // 0.08 s over 20 requests
  assert.equal(iv.p95Ms, 5); // Δ buckets: ≤1 ms 1, ≤5 ms 19 = 95% of 20 → the 5 ms bucket
  assert.deepEqual(interval(b, b), { rate: 0, meanMs: null, p95Ms: null }, 'no time, no rate');
});
