import { test } from 'node:test';
import { datasetPaths } from '../lake/paths.js';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { STEP_QUEUE, connectionOf } from './executors/bullmq.js';
import type { StepOutcome } from './executors/local.js';
import { graphShardDir, graphShardRange, type GraphShardSummary } from './shards/graph-knn.js';
import { artifactHashes, cli, cliAsync, redisTestbed, statuses } from './testkit.js';

/**
 * The sharded graph-text step on BullMQ workers against a real Redis (PLOTPOINTE_TEST_REDIS, e.g.
 * redis://127.0.0.1:6379): with `pipeline.shards: 3` the kNN graph is searched as 3 shard jobs of rows and a
 * merge job, and its CSR files are those of the local executor's unsharded `graph knn`, byte for byte.
 */
const { url, skip, prefix, dir, lake, workers, startWorker } = await redisTestbed('graph-shard');

test('graph-text in 3 shards on 2 BullMQ workers writes the kNN graph of the unsharded local step, byte for byte', { skip }, async (t) => {
  // 400 catalog items: 4 clusters of ~128 rows, so the shards search rows spread over several clusters.
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(
    file,
    [`lake: { dir: ${JSON.stringify(lake)} }`, 'demo: { users: 60, items: 40, catalog_items: 400, images: false }', 'pipeline: { shards: 3 }', 'graph: { k: 10, recall_sample: 50 }'].join('\n') + '\n',
  );
  const graph = datasetPaths(lake, 'demo').graphOf('text');
  const read = (ext: string) => readFileSync(join(graph.dir, `${graph.file}.${ext}`));

  // The local executor ignores pipeline.shards: the graph is built whole (`graph knn`).
  const local = cli(['pipeline', 'run', '--config', file, '--only', 'graph-text', '--json']);
  assert.equal(local.status, 0, local.stderr);
  assert.equal(local.json.steps!.find((s) => s.step === 'graph-text')!.shards, undefined);
  const localHashes = await artifactHashes(local.json);
  const localBytes = { indptr: read('indptr.i32'), indices: read('indices.i32'), weights: read('weights.f32') };
  const header = JSON.parse(read('json').toString('utf8'));
  assert.equal(header.rows, 400);
  assert.equal(header.nnz, 400 * 10);
  assert.equal(header.ivf.clusters, 4);
  assert.ok(header.recall.value >= 0.95, `recall ${header.recall.value}`);
  rmSync(lake, { recursive: true, force: true });

  for (let i = 0; i < 2; i++) startWorker();
  const dist = await cliAsync(['pipeline', 'run', '--config', file, '--only', 'graph-text', '--executor', 'bullmq', '--redis', url!, '--prefix', prefix, '--json']);
  assert.equal(dist.status, 0, dist.stderr + workers.map((w) => w.stderr()).join('\n'));
  assert.deepEqual(statuses(dist.json), { demo: 'ran', ingest: 'ran', 'embed-text': 'ran', 'graph-text': 'ran' });
  const step = dist.json.steps!.find((s) => s.step === 'graph-text')!;
  assert.equal(step.shards, 3);

  for (const [ext, bytes] of Object.entries({ 'indptr.i32': localBytes.indptr, 'indices.i32': localBytes.indices, 'weights.f32': localBytes.weights })) {
    assert.ok(read(ext).equals(bytes), `knn-text.${ext} byte-identical`);
  }
  // the header equal apart from its timings
  const pick = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith('graph-text:')));
  const distHashes = await artifactHashes(dist.json);
  assert.deepEqual(pick(distHashes), pick(localHashes));
  assert.equal(Object.keys(pick(distHashes)).length, 4);

  // Three shard jobs, children of the merge job, each searching its own slice of rows.
  const queue = new Queue(STEP_QUEUE, { connection: connectionOf(url!), prefix });
  try {
    const completed = await queue.getJobs(['completed']);
    const parent = completed.filter((j) => j.name === 'graph-text');
    assert.equal(parent.length, 1, 'one merge job');
    const children = completed.filter((j) => j.name.startsWith('graph-text#'));
    assert.deepEqual(children.map((j) => j.name).sort(), ['graph-text#0', 'graph-text#1', 'graph-text#2']);
    const parts = Object.values(await parent[0]!.getChildrenValues<StepOutcome>())
      .map((o) => o.result as unknown as GraphShardSummary)
      .sort((a, b) => a.part - b.part);
    assert.deepEqual(parts.map((p) => [p.from, p.to]), [0, 1, 2].map((i) => [graphShardRange(400, i, 3).from, graphShardRange(400, i, 3).to]));
    for (const p of parts) assert.ok(p.scored > 0 && p.to > p.from, `shard ${p.part} scored ${p.scored} candidates`);
  } finally {
    await queue.close();
  }
  const ran = (w: (typeof workers)[number], name: string) => w.stderr().includes(`worker: ${name} (job `);
  for (const name of ['graph-text#0', 'graph-text#1', 'graph-text#2', 'graph-text']) assert.ok(workers.some((w) => ran(w, name)), `a worker ran ${name}`);
  t.diagnostic(`jobs per worker: ${workers.map((w) => (w.stderr().match(/ \(job /g) ?? []).length).join(', ')}`);
  assert.equal(existsSync(graphShardDir(lake, 'text')), false, 'the merge removed the part folder');
});
