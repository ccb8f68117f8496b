import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { STEP_QUEUE, connectionOf } from './executors/bullmq.js';
import type { StepOutcome } from './executors/local.js';
import { readCacheRecord } from './cache.js';
import { evalShardDir, shardUserRange, type EvalShardSummary } from './shards/evaluate.js';
import { RunStore } from '../tracking/index.js';
import { cli, cliAsync, redisTestbed, statuses, type CliResult } from './testkit.js';

/**
 * The sharded evaluate step on BullMQ workers against a real Redis (PLOTPOINTE_TEST_REDIS, e.g.
 * redis://127.0.0.1:6379): with `pipeline.shards: 3` the full-ranking evaluation runs as 3 shard jobs (user
 * ranges) and a merge job on 2 workers, and records the same eval run — metrics, coverage, popularity, degree
 * buckets, bit for bit — as the local executor's unsharded `eval`.
 */
const { url, skip, prefix, dir, lake, workers, startWorker } = await redisTestbed('shard-eval');

/** The evaluate step's result and its eval run's recorded figures, without run ids and timings. */
async function evaluation(report: CliResult['json']) {
  const step = report.steps!.find((s) => s.step === 'evaluate')!;
  const result = (await readCacheRecord(lake, 'evaluate', step.key))!.result as Record<string, unknown>;
  const run = await (await RunStore.open(lake)).require(String(result.run_id));
  const { run_id: _r, parent_run_id: _p, shards: _s, ...figures } = result;
  return { figures: JSON.stringify(figures), recorded: JSON.stringify({ metrics: run.metrics, extra: run.extra, config: run.config, kind: run.kind }) };
}

test('evaluate in 3 shards on 2 BullMQ workers records the eval run of the unsharded local step, bit for bit', { skip }, async (t) => {
  // itemknn: deterministic, so both runs train the same model; 80 users make 3 user ranges of 26–27.
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(
    file,
    [
      `lake: { dir: ${JSON.stringify(lake)} }`,
      'demo: { users: 80, items: 50, catalog_items: 60, images: false }',
      'pipeline: { model: itemknn, shards: 3 }',
      'eval: { ks: [5, 10, 20] }',
    ].join('\n') + '\n',
  );
  const local = cli(['pipeline', 'run', '--config', file, '--only', 'evaluate', '--json']);
  assert.equal(local.status, 0, local.stderr);
  assert.equal(local.json.steps!.find((s) => s.step === 'evaluate')!.shards, undefined);
  const localEval = await evaluation(local.json);
  assert.match(localEval.figures, /"ndcg@20":0\.\d+/, 'a non-trivial evaluation');
  rmSync(lake, { recursive: true, force: true });

  for (let i = 0; i < 2; i++) startWorker();
  const dist = await cliAsync(['pipeline', 'run', '--config', file, '--only', 'evaluate', '--executor', 'bullmq', '--redis', url!, '--prefix', prefix, '--json']);
  assert.equal(dist.status, 0, dist.stderr + workers.map((w) => w.stderr()).join('\n'));
  assert.equal(statuses(dist.json).evaluate, 'ran');
  assert.equal(dist.json.steps!.find((s) => s.step === 'evaluate')!.shards, 3);
  const distEval = await evaluation(dist.json);
  assert.equal(distEval.figures, localEval.figures, 'the step result (metrics, degree buckets, coverage)');
  assert.equal(distEval.recorded, localEval.recorded, 'the recorded eval run (metrics, coverage, popularity, buckets)');

  // The shards ran as separate jobs, children of the merge job, each ranking its own range of users.
  const queue = new Queue(STEP_QUEUE, { connection: connectionOf(url!), prefix });
  try {
    const completed = await queue.getJobs(['completed']);
    const parents = completed.filter((j) => j.name === 'evaluate');
    assert.equal(parents.length, 1, 'one merge job');
    const outcomes = Object.values(await parents[0]!.getChildrenValues<StepOutcome>());
    const parts = outcomes.map((o) => o.result as unknown as EvalShardSummary).sort((a, b) => a.shard - b.shard);
    const users = parts[2]!.end;
    assert.deepEqual(parts.map((p) => [p.shard, p.start, p.end]), [0, 1, 2].map((i) => [i, shardUserRange(users, i, 3).start, shardUserRange(users, i, 3).end]));
    for (const p of parts) assert.ok(p.evaluated > 0 && p.evaluated <= p.end - p.start, `shard ${p.shard}: ${p.evaluated} users evaluated`);
  } finally {
    await queue.close();
  }
  const ran = (w: (typeof workers)[number], name: string) => w.stderr().includes(`worker: ${name} (job `);
  for (const name of ['evaluate#0', 'evaluate#1', 'evaluate#2', 'evaluate']) assert.ok(workers.some((w) => ran(w, name)), `a worker ran ${name}`);
  t.diagnostic(`jobs per worker: ${workers.map((w) => (w.stderr().match(/ \(job /g) ?? []).length).join(', ')} (logs in ${dir})`);
  // The merge removed the part folder.
  const runId = String((await readCacheRecord(lake, 'train', dist.json.steps!.find((s) => s.step === 'train')!.key))!.result.run_id);
  assert.equal(existsSync(evalShardDir(lake, runId, 'test')), false);
});
