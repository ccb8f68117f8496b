import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test-support/fixtures.js';
import { downstreamOf } from './dag.js';
import { cli, cliBackground, journalEvents, smallPipelineFile, statuses, waitFor } from './testkit.js';
import { datasetPaths, lakePaths } from '../lake/paths.js';

/**
 * The real pipeline on a tiny demo lake through the real bin, one lake for the whole file (the tests build on
 * each other: fresh run → unchanged re-run → one config change → a SIGKILLed run and its resumption).
 */
const dir = tempDir('pipeline');
const lake = join(dir, 'lake');
const mtimeOf = (rel: string) => statSync(join(lake, rel)).mtimeMs;

test('plotpointe demo --no-serve generates the demo catalog and runs every step of the DAG with a per-step table', () => {
  const file = smallPipelineFile(dir, lake);
  const r = cli(['demo', '--no-serve', '--config', file, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const report = r.json.pipeline as Record<string, unknown> & { steps: Array<{ step: string; status: string; wall_s: number; cpu_s: number; peak_rss_mb: number }>; parallel: Record<string, number> };
  const ids = report.steps.map((s) => s.step);
  for (const id of ['demo', 'ingest', 'split', 'embed-text', 'train', 'evaluate', 'index', 'publish']) assert.ok(ids.includes(id), `${id} in the DAG`);
  for (const s of report.steps) {
    assert.equal(s.status, 'ran', s.step);
    assert.ok(s.wall_s > 0 && s.cpu_s > 0 && s.peak_rss_mb > 0, `${s.step} measured: ${JSON.stringify(s)}`);
  }
  assert.ok(report.parallel.sequential_s >= report.parallel.critical_path_s);
  assert.match(String(r.json.run), /^\d{8}-\d{6}-mf-[0-9a-f]{4}$/);
  assert.ok(existsSync(join(datasetPaths(lake, 'demo').run(String(r.json.run)).serving, 'manifest.json')), 'serving bundle of the trained run');
  assert.ok(existsSync(join(datasetPaths(lake, 'demo').embeddings, 'text.f32')));
});

test('re-running the pipeline with nothing changed skips every step and touches no output', () => {
  const file = smallPipelineFile(dir, lake);
  const before = mtimeOf('staging/demo/splits/default/train.parquet');
  const r = cli(['pipeline', 'run', '--config', file, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.json.ran, 0);
  assert.ok(Object.values(statuses(r.json)).every((s) => s === 'cached'), JSON.stringify(statuses(r.json)));
  assert.equal(mtimeOf('staging/demo/splits/default/train.parquet'), before);
  assert.equal(r.json.parallel?.saving, null, 'no saving to report when nothing ran');
});

test('changing split.seed re-runs split and the steps downstream of it, nothing upstream or beside it', () => {
  const file = smallPipelineFile(dir, lake, ['split: { seed: 7 }']);
  const r = cli(['pipeline', 'run', '--config', file, '--json']);
  assert.equal(r.status, 0, r.stderr);
  // The DAG of this checkout (stages join as they land): split and everything downstream of it run again.
  const dag = cli(['pipeline', 'steps', '--config', file, '--json']).json.steps as unknown as Array<{ id: string; needs: string[] }>;
  const downstream = downstreamOf(dag as never, 'split');
  assert.ok(['train', 'evaluate', 'index', 'publish'].every((id) => downstream.has(id)));
  const want = Object.fromEntries(dag.map((s) => [s.id, s.id === 'split' || downstream.has(s.id) ? 'ran' : 'cached']));
  assert.deepEqual(statuses(r.json), want);
  for (const id of ['demo', 'ingest', 'embed-text']) assert.equal(statuses(r.json)[id], 'cached');
});

test('a runner SIGKILLed during a step is resumed by the next run, which redoes nothing that had finished', async () => {
  const file = smallPipelineFile(dir, lake, ['split: { seed: 8 }']);
  const earlier = new Set(journalFiles());
  const run = cliBackground(['pipeline', 'run', '--config', file, '--json']);
  let journal = '';
  await waitFor(() => {
    journal = journalFiles().find((j) => !earlier.has(j)) ?? '';
    return journalEvents(journal).some((e) => e.event === 'step-start' && e.step === 'train');
  }, 180_000, 'the train step to start');
  run.child.kill('SIGKILL');
  await run.exit;
  const events = journalEvents(journal);
  assert.ok(events.some((e) => e.event === 'step-done' && e.step === 'split'), 'split finished before the kill');
  assert.ok(!events.some((e) => e.event === 'step-done' && e.step === 'train'), 'train did not finish');
  assert.ok(!events.some((e) => e.event === 'run-end'));
  const splitMtime = mtimeOf('staging/demo/splits/default/train.parquet');

  const r = cli(['pipeline', 'run', '--config', file, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.json.resumed, true, 'same run id, resumed');
  assert.equal(r.json.journal, journal);
  const st = statuses(r.json);
  assert.equal(st.split, 'resumed', 'split finished before the kill: not redone');
  assert.equal(st.train, 'ran');
  for (const id of ['demo', 'ingest', 'embed-text']) assert.equal(st[id], 'cached');
  assert.equal(mtimeOf('staging/demo/splits/default/train.parquet'), splitMtime, 'the split was not rewritten');
  const after = journalEvents(journal);
  assert.equal(after.filter((e) => e.event === 'step-start' && e.step === 'split').length, 1, 'split started once in this run');
  assert.equal(after[after.length - 1].event, 'run-end');
});

function journalFiles(): string[] {
  return readdirSync(lakePaths(lake).pipeline.dir)
    .filter((d) => /^\d{8}-/.test(d))
    .sort()
    .map((d) => lakePaths(lake).pipeline.run(d).journal);
}
