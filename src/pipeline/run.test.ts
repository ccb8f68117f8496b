import { test } from 'node:test';
import { cpus } from 'node:os';
import assert from 'node:assert/strict';
import { tempDir } from '../test-support/fixtures.js';
import type { StepSpec } from './dag.js';
import type { Executor, StepOutcome, StepTask } from './executors/local.js';
import { runPipeline, type StepEnd } from './run.js';

/** Runs nothing: records the order steps start in and answers each with {ran: <step>}. */
class RecordingExecutor implements Executor {
  readonly kind = 'local' as const;
  readonly started: string[] = [];
  readonly threads: Record<string, string | undefined> = {};
  async run(task: StepTask): Promise<StepOutcome> {
    this.started.push(task.step);
    this.threads[task.step] = task.env?.PLOTPOINTE_CORE_THREADS;
    await new Promise((r) => setTimeout(r, 5));
    return { exitCode: 0, signal: null, result: { ran: task.step }, usage: { wall_s: 0.01, cpu_s: 0.01, peak_rss_mb: 1 }, error: null };
  }
  async abort(): Promise<void> {}
  async close(): Promise<void> {}
}

const step = (id: string, needs: string[] = []): StepSpec => ({
  id,
  title: id,
  needs,
  resource: 'cpu',
  configKeys: [],
  inputs: () => [],
  outputs: () => [],
  command: () => [id],
});

// graphs (leaf) and serve-path (index needs train) are both ready at once; one CPU slot
const steps = [step('graph'), step('train'), step('index', ['train']), step('publish', ['index'])];

async function run(urgent?: string[]) {
  const executor = new RecordingExecutor();
  const ends: StepEnd[] = [];
  await runPipeline({ lake: tempDir('run-order'), name: 'demo', config: {}, steps, jobs: 1, executor, urgent, onStep: (e) => ends.push(e), force: true });
  return { order: executor.started, ends };
}

test('with one CPU slot the runner starts the step with the longest chain below it first', async () => {
  // train → index → publish is the longer chain; among equal chains, declaration order (graph before publish)
  assert.deepEqual((await run()).order, ['train', 'index', 'graph', 'publish']);
});

test('urgent steps and what they need go before longer chains; the rest fills in after', async () => {
  assert.deepEqual((await run(['publish'])).order, ['train', 'index', 'publish', 'graph']);
  // an urgent step pulls its dependencies forward, ahead of a step that is ready earlier but not needed by it
  const executor = new RecordingExecutor();
  await runPipeline({ lake: tempDir('run-order'), name: 'demo', config: {}, steps: [step('a'), step('b'), step('c', ['b']), step('d', ['a'])], jobs: 1, executor, urgent: ['d'], force: true });
  assert.deepEqual(executor.started, ['a', 'd', 'b', 'c']);
});

test('onStep sees every step end with its JSON result and the config file the steps read', async () => {
  const { ends } = await run();
  assert.deepEqual(ends.map((e) => e.step), ['train', 'index', 'graph', 'publish']);
  assert.ok(ends.every((e) => e.status === 'done' && e.result?.ran === e.step && e.config.endsWith('config.json')), JSON.stringify(ends));
});

test('a CPU step alone gets every core for its kernels; CPU steps started together share them', async (t) => {
  if (process.env.PLOTPOINTE_CORE_THREADS) return t.skip('PLOTPOINTE_CORE_THREADS is set: it overrides the split');
  const cores = cpus().length;
  const executor = new RecordingExecutor();
  // a and b start together (2 CPU slots); c runs alone after both
  await runPipeline({ lake: tempDir('run-threads'), name: 'demo', config: {}, steps: [step('a'), step('b'), step('c', ['a', 'b'])], jobs: 2, executor, force: true });
  assert.equal(executor.threads.c, String(cores));
  assert.equal(executor.threads.b, String(Math.max(1, Math.floor(cores / 2))), 'the second of two steps started at once');
});
