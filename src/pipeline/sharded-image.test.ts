import { test } from 'node:test';
import { datasetPaths, lakePaths } from '../lake/paths.js';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { STEP_QUEUE, connectionOf } from './executors/bullmq.js';
import type { StepOutcome } from './executors/local.js';
import { imageShardDir, shardRowRange, type ImageShardSummary } from './shards/embed-image.js';
import { artifactHashes, cli, cliAsync, redisTestbed, statuses } from './testkit.js';

/**
 * The sharded embed-image step on 2 BullMQ workers against a real Redis (PLOTPOINTE_TEST_REDIS, e.g.
 * redis://127.0.0.1:6379): with `pipeline.shards: 2` the shards encode halves of the picture rows into the
 * embedding cache and the merge (`embed image` on that cache) writes the image embeddings of the local run.
 */
const { url, skip, prefix, dir, lake, workers, startWorker } = await redisTestbed('shard-image');

test('embed-image in 2 shards on 2 BullMQ workers writes the image embeddings of the unsharded local step, byte for byte', { skip }, async (t) => {
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(
    file,
    [
      `lake: { dir: ${JSON.stringify(lake)} }`,
      'demo: { users: 60, items: 40, catalog_items: 50 }',
      'pipeline: { shards: 2 }',
      'steps: { embed-image: { args: ["--batch", "4"] } }',
    ].join('\n') + '\n',
  );
  const image = datasetPaths(lake, 'demo').embeddingOf('image');
  const read = (ext: string) => readFileSync(join(image.dir, `${image.file}.${ext}`));

  // The local executor runs embed-image whole (`embed image`), on a cold cache.
  const local = cli(['pipeline', 'run', '--config', file, '--only', 'embed-image', '--json']);
  assert.equal(local.status, 0, local.stderr);
  const localStep = local.json.steps!.find((s) => s.step === 'embed-image')!;
  assert.equal(localStep.shards, undefined);
  const localHashes = await artifactHashes(local.json);
  const localBytes = { f32: read('f32'), mask: read('mask') };
  assert.equal((JSON.parse(read('json').toString()) as { present: number }).present, 50, 'every demo product has a picture');
  rmSync(lake, { recursive: true, force: true });

  for (let i = 0; i < 2; i++) startWorker();
  const dist = await cliAsync(['pipeline', 'run', '--config', file, '--only', 'embed-image', '--executor', 'bullmq', '--redis', url!, '--prefix', prefix, '--json']);
  assert.equal(dist.status, 0, dist.stderr + workers.map((w) => w.stderr()).join('\n'));
  assert.deepEqual(statuses(dist.json), { demo: 'ran', ingest: 'ran', 'embed-image': 'ran' });
  const step = dist.json.steps!.find((s) => s.step === 'embed-image')!;
  assert.equal(step.shards, 2);
  assert.equal(step.config_hash, localStep.config_hash, 'sharded or not, the step is configured alike');

  assert.ok(read('f32').equals(localBytes.f32), 'image.f32 byte-identical');
  assert.ok(read('mask').equals(localBytes.mask), 'image.mask byte-identical');
  const pick = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith('embed-image:')));
  assert.deepEqual(pick(await artifactHashes(dist.json)), pick(localHashes));

  const queue = new Queue(STEP_QUEUE, { connection: connectionOf(url!), prefix });
  try {
    const completed = await queue.getJobs(['completed']);
    const parent = completed.filter((j) => j.name === 'embed-image');
    assert.equal(parent.length, 1, 'one merge job');
    const children = completed.filter((j) => j.name.startsWith('embed-image#'));
    assert.deepEqual(children.map((j) => j.name).sort(), ['embed-image#0', 'embed-image#1']);
    for (const c of children) assert.equal(c.parentKey, `${prefix}:${STEP_QUEUE}:${parent[0]!.id}`);
    const parts = Object.values(await parent[0]!.getChildrenValues<StepOutcome>())
      .map((o) => o.result as unknown as ImageShardSummary)
      .sort((a, b) => a.part - b.part);
    // Halves of the 50 picture rows, each encoded by its own shard on a cold cache.
    assert.deepEqual(parts.map((p) => [p.start, p.end]), [shardRowRange(50, 0, 2), shardRowRange(50, 1, 2)].map((r) => [r.start, r.end]));
    assert.deepEqual(parts.map((p) => [p.start, p.end]), [[0, 25], [25, 50]]);
    for (const p of parts) assert.equal(p.encoded + p.duplicates, p.end - p.start, `shard ${p.part} encoded its rows`);
    // The merge encoded nothing itself: every picture came from the cache the shards filled.
    const merged = (parent[0]!.returnvalue as StepOutcome).result as { encoded: number; cache_hits: number; shard_encoded: number; present: number };
    assert.equal(merged.encoded, 0, 'the merge encoded nothing');
    assert.equal(merged.present, 50);
    assert.equal(merged.shard_encoded, parts[0]!.encoded + parts[1]!.encoded);
    t.diagnostic(`shards encoded ${parts.map((p) => p.encoded).join(' + ')} pictures; merge: ${merged.cache_hits} cache hits`);
  } finally {
    await queue.close();
  }
  for (const name of ['embed-image#0', 'embed-image#1', 'embed-image']) assert.ok(workers.some((w) => w.stderr().includes(`worker: ${name} (job `)), `a worker ran ${name}`);
  const logs = lakePaths(lake).pipeline.run(dist.json.run!).logs;
  for (let i = 0; i < 2; i++) assert.match(readFileSync(join(logs, `embed-image.log.${i}`), 'utf8'), /^\$ plotpointe pipeline shard embed-image .*--part \d --of 2/);
  assert.match(readFileSync(join(logs, 'embed-image.log'), 'utf8'), /^\$ plotpointe pipeline merge embed-image .*--of 2/);
  assert.equal(existsSync(imageShardDir(lake)), false, 'the merge removed the part headers');
});

test('the sharded embed-image step refuses --no-cache (the shards hand vectors over through the cache)', { skip }, async () => {
  const file = join(dir, 'pipeline-nocache.yaml');
  writeFileSync(
    file,
    [`lake: { dir: ${JSON.stringify(lake)} }`, 'demo: { users: 60, items: 40, catalog_items: 50 }', 'pipeline: { shards: 2 }', 'steps: { embed-image: { args: ["--no-cache"] } }'].join('\n') + '\n',
  );
  if (workers.length === 0) for (let i = 0; i < 2; i++) startWorker();
  const bad = await cliAsync(['pipeline', 'run', '--config', file, '--only', 'embed-image', '--executor', 'bullmq', '--redis', url!, '--prefix', prefix, '--json']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /error PP_PIPELINE_STEP_FAILED: .*embed-image: a shard of embed-image failed: error PP_USAGE: .*--no-cache/);
});
