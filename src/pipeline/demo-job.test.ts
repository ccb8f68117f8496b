import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test-support/fixtures.js';
import { lakePaths } from '../lake/paths.js';
import { cliBackground, journalEvents, smallPipelineFile, statuses, waitFor } from './testkit.js';

/**
 * `plotpointe demo` with its server (npm start) on a tiny demo lake through the real bin: the server starts once
 * the trained run and its serving bundle exist, and the demo reports the whole pipeline when it is stopped.
 */
test('plotpointe demo serves as soon as train and index are done, answers on the printed URL, and reports every step when stopped', async () => {
  const dir = tempDir('demo-serve');
  const lake = join(dir, 'lake');
  const file = smallPipelineFile(dir, lake);
  const demo = cliBackground(['demo', '--config', file, '--port', '0', '--host', '127.0.0.1', '--json']);
  try {
    const upLine = /PlotPointe is up: (http:\/\/\S+\/) \(dashboard\)/;
    await waitFor(() => upLine.test(demo.stdout()) || demo.child.exitCode !== null, 600_000, 'the URL');
    const url = upLine.exec(demo.stdout())?.[1];
    assert.ok(url, `no URL printed:\n${demo.stdout()}\n${demo.stderr().slice(-3000)}`);
    const runDir = readdirSync(lakePaths(lake).pipeline.dir).filter((d) => /^\d{8}-/.test(d)).sort().pop()!;
    const journal = lakePaths(lake).pipeline.run(runDir).journal;
    const doneAtUrl = journalEvents(journal).filter((e) => e.event === 'step-done').map((e) => String(e.step));
    assert.ok(doneAtUrl.includes('train') && doneAtUrl.includes('index'), `the server waited for train and index: ${doneAtUrl.join(', ')}`);
    const ready = await fetch(`${url}readyz`);
    assert.equal(ready.status, 200);
    await waitFor(() => journalEvents(journal).some((e) => e.event === 'run-end'), 600_000, 'the pipeline to finish');
    // the demo has its pipeline report once runPipeline returned (a Ctrl-C before that interrupts the pipeline)
    await waitFor(() => /\njournal: /.test(demo.stderr()), 60_000, 'the pipeline report');
    demo.child.kill('SIGINT');
    assert.equal(await demo.exit, 0, demo.stderr().slice(-3000));
    const result = JSON.parse(demo.stdout().trimEnd().split('\n').pop()!) as { served: boolean; url: string; url_s: number; run: string; pipeline: { seconds: number; steps: Array<{ step: string; status: string }> } };
    assert.equal(result.served, true);
    assert.equal(result.url, url);
    assert.ok(result.url_s > 0, `url_s ${result.url_s}`);
    assert.ok(Object.values(statuses(result.pipeline as never)).every((s) => s === 'ran'), JSON.stringify(statuses(result.pipeline as never)));
    assert.match(result.run, /-mf-/);
  } finally {
    if (demo.child.exitCode === null) demo.child.kill('SIGTERM');
    await demo.exit;
  }
});
