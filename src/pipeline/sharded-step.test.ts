import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { STEP_QUEUE, connectionOf } from './executors/bullmq.js';
import type { StepOutcome } from './executors/local.js';
import { shardKeyRange, textShardDir, type TextShardSummary } from './shards/embed-text.js';
import { artifactHashes, cli, cliAsync, journalEvents, redisTestbed, statuses } from './testkit.js';
import { datasetPaths, lakePaths } from '../lake/paths.js';

/**
 * The sharded embed-text step on BullMQ workers against a real Redis (PLOTPOINTE_TEST_REDIS, e.g.
 * redis://127.0.0.1:6379): with `pipeline.shards: 3` the step runs as a flow of 3 shard jobs and a merge job,
 * and writes the same text embeddings as the local executor's unsharded `embed text`.
 */
const { url, skip, prefix, dir, lake, workers, startWorker } = await redisTestbed('shard');

test('embed-text in 3 shards on 2 BullMQ workers writes the text embeddings of the unsharded local step, byte for byte', { skip }, async (t) => {
  // 50 catalog items; batches of 8 make 7 batches, split 2/2/3 over the shards.
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(
    file,
    [
      `lake: { dir: ${JSON.stringify(lake)} }`,
      'demo: { users: 60, items: 40, catalog_items: 50 }',
      'pipeline: { shards: 3 }',
      'steps: { embed-text: { args: ["--batch", "8"] } }',
    ].join('\n') + '\n',
  );
  const embeddings = datasetPaths(lake, 'demo').embeddings;
  const read = (ext: string) => readFileSync(join(embeddings, `text.${ext}`));

  // The local executor ignores pipeline.shards: embed-text runs whole (`embed text`).
  const local = cli(['pipeline', 'run', '--config', file, '--only', 'embed-text', '--json']);
  assert.equal(local.status, 0, local.stderr);
  assert.equal(local.json.steps!.find((s) => s.step === 'embed-text')!.shards, undefined);
  const localHashes = await artifactHashes(local.json);
  const localBytes = { f32: read('f32'), mask: read('mask') };
  assert.ok(localBytes.f32.length === 50 * 512 * 4, `text.f32 of 50 × 512: ${localBytes.f32.length} bytes`);
  rmSync(lake, { recursive: true, force: true });

  for (let i = 0; i < 2; i++) startWorker();
  const dist = await cliAsync(['pipeline', 'run', '--config', file, '--only', 'embed-text', '--executor', 'bullmq', '--redis', url!, '--prefix', prefix, '--json']);
  assert.equal(dist.status, 0, dist.stderr + workers.map((w) => w.stderr()).join('\n'));
  assert.deepEqual(statuses(dist.json), { demo: 'ran', ingest: 'ran', 'embed-text': 'ran' });
  const step = dist.json.steps!.find((s) => s.step === 'embed-text')!;
  assert.equal(step.shards, 3);
  // pipeline.shards is not in the step's config slice: sharded or not, the step is configured alike.
  assert.equal(step.config_hash, local.json.steps!.find((s) => s.step === 'embed-text')!.config_hash);

  // Byte-identical matrix and mask; the meta equal apart from its timing and cache counters.
  assert.ok(read('f32').equals(localBytes.f32), 'text.f32 byte-identical');
  assert.ok(read('mask').equals(localBytes.mask), 'text.mask byte-identical');
  const distHashes = await artifactHashes(dist.json);
  const pick = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith('embed-text:')));
  assert.deepEqual(pick(distHashes), pick(localHashes));
  assert.equal(Object.keys(pick(distHashes)).length, 3);

  // The shards ran as separate BullMQ jobs, children of the merge job, each encoding its own slice of batches.
  const queue = new Queue(STEP_QUEUE, { connection: connectionOf(url!), prefix });
  try {
    const completed = await queue.getJobs(['completed']);
    const parents = completed.filter((j) => j.name === 'embed-text');
    assert.equal(parents.length, 1, 'one merge job');
    const children = completed.filter((j) => j.name.startsWith('embed-text#'));
    assert.deepEqual(children.map((j) => j.name).sort(), ['embed-text#0', 'embed-text#1', 'embed-text#2']);
    assert.equal(new Set(children.map((j) => j.id)).size, 3);
    for (const c of children) assert.equal(c.parentKey, `${prefix}:${STEP_QUEUE}:${parents[0]!.id}`, `${c.name} is a child of the merge job`);
    const outcomes = Object.values(await parents[0]!.getChildrenValues<StepOutcome>());
    assert.equal(outcomes.length, 3);
    const parts = outcomes.map((o) => o.result as unknown as TextShardSummary).sort((a, b) => a.part - b.part);
    const keys = parts[0]!.keys;
    assert.ok(keys >= 40, `distinct texts: ${keys}`);
    // Contiguous slices of the batch sequence that tile the key list, none empty.
    assert.deepEqual(parts.map((p) => [p.part, p.start, p.end]), [0, 1, 2].map((i) => [i, shardKeyRange(keys, 8, i, 3).start, shardKeyRange(keys, 8, i, 3).end]));
    assert.equal(parts[0]!.start, 0);
    assert.equal(parts[2]!.end, keys);
    for (const p of parts) assert.ok(p.batches >= 2 && p.start % 8 === 0, `shard ${p.part}: ${p.batches} batches from key ${p.start}`);
    // A cold cache: every shard encoded its whole slice itself.
    for (const p of parts) assert.equal(p.encoded, p.end - p.start, `shard ${p.part} encoded its keys`);
    t.diagnostic(`shard jobs ${children.map((c) => c.id).join(', ')} → merge ${parents[0]!.id}`);
  } finally {
    await queue.close();
  }
  // Each shard job ran on a worker (both workers took jobs) and left its own log; the merge job ran the merge.
  const ran = (w: (typeof workers)[number], name: string) => w.stderr().includes(`worker: ${name} (job `);
  for (const name of ['embed-text#0', 'embed-text#1', 'embed-text#2', 'embed-text']) assert.ok(workers.some((w) => ran(w, name)), `a worker ran ${name}`);
  t.diagnostic(`jobs per worker: ${workers.map((w) => (w.stderr().match(/ \(job /g) ?? []).length).join(', ')} (logs in ${dir})`);
  const logs = lakePaths(lake).pipeline.run(dist.json.run!).logs;
  for (let i = 0; i < 3; i++) assert.match(readFileSync(join(logs, `embed-text.log.${i}`), 'utf8'), /^\$ plotpointe pipeline shard embed-text .*--part \d --of 3/);
  assert.match(readFileSync(join(logs, 'embed-text.log'), 'utf8'), /^\$ plotpointe pipeline merge embed-text .*--of 3/);
  const start = journalEvents(dist.json.journal!).find((e) => e.event === 'step-start' && e.step === 'embed-text');
  assert.equal(start?.shards, 3);
  // The merge removed the part folder.
  assert.equal(existsSync(textShardDir(lake)), false);
});

test('a failing shard fails the sharded step with its coded error and the merge does not run', { skip }, async () => {
  assert.ok(workers.length === 2, 'needs the workers of the previous test');
  // --batch 0 is rejected by every shard (PP_EMBED_INVALID); demo and ingest are cache hits from the previous test.
  const file = join(dir, 'pipeline-bad.yaml');
  writeFileSync(
    file,
    [
      `lake: { dir: ${JSON.stringify(lake)} }`,
      'demo: { users: 60, items: 40, catalog_items: 50 }',
      'pipeline: { shards: 3 }',
      'steps: { embed-text: { args: ["--batch", "0"] } }',
    ].join('\n') + '\n',
  );
  const before = workers.map((w) => w.stderr().length);
  const bad = await cliAsync(['pipeline', 'run', '--config', file, '--only', 'embed-text', '--executor', 'bullmq', '--redis', url!, '--prefix', prefix, '--json']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /error PP_PIPELINE_STEP_FAILED: .*embed-text: a shard of embed-text failed: error PP_EMBED_INVALID/);
  const newLog = workers.map((w, i) => w.stderr().slice(before[i])).join('\n');
  assert.match(newLog, /worker: embed-text: not merged, a shard failed/);
  assert.doesNotMatch(newLog, /worker: embed-text \(job /, 'the merge job ran no command');
  const run = readdirSync(lakePaths(lake).pipeline.dir).filter((d) => /^\d{8}-/.test(d)).sort().pop()!;
  const logs = lakePaths(lake).pipeline.run(run).logs;
  assert.ok(existsSync(join(logs, 'embed-text.log.0')), 'the shards ran');
  assert.ok(!existsSync(join(logs, 'embed-text.log')), 'no merge log');
});
