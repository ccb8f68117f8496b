import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../test-support/fixtures.js';
import { RunStore } from '../tracking/index.js';
import { RunsView } from './runs-view.js';

test('the dashboard shows a run whose process was killed as interrupted within seconds, though the store file did not change', async () => {
  const lake = join(tempDir('runs-view'), 'lake');
  (await RunStore.open(lake)).close();
  // Another process starts a run and then waits, as a training process would.
  const script = `
    const { RunStore } = await import(${JSON.stringify(join(repoRoot, 'src/tracking/index.ts'))});
    const store = await RunStore.open(${JSON.stringify(lake)}, { heartbeatMs: 0 });
    const run = await store.startRun({ dataset: 'ds', split: 's', splitHash: null, model: 'mf', kind: 'train', config: {}, artifactsDir: null });
    console.log(run.id);
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    const runId = line.toString().trim();
    const view = new RunsView(lake, 'ds');
    assert.deepEqual((await view.list(20)).map((r) => [r.id, r.status]), [[runId, 'running']]);
    child.kill('SIGKILL');
    await once(child, 'exit');
    let status = 'running';
    const t0 = Date.now();
    while (status === 'running' && Date.now() - t0 < 30_000) {
      await new Promise((r) => setTimeout(r, 250));
      status = (await view.list(20))[0]!.status;
    }
    assert.equal(status, 'interrupted');
    assert.equal((await view.get(runId))!.status, 'interrupted');
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
