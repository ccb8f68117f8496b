import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../test-support/fixtures.js';

const bin = join(repoRoot, 'bin', 'plotpointe.mjs');
const env = { ...process.env, PLOTPOINTE_CORE_THREADS: '1' };

/** The real bin with `--json --quiet`: exit status, stderr and the last stdout line as JSON (null when not JSON). */
function cli(cwd: string, args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args, '--json', '--quiet'], { cwd, encoding: 'utf8', env });
  const last = r.stdout.trimEnd().split('\n').pop() ?? '';
  let json: any = null; // eslint-disable-line @typescript-eslint/no-explicit-any -- what the command printed
  try {
    json = JSON.parse(last);
  } catch {
    // not JSON: the assertions show stderr
  }
  return { status: r.status, stderr: r.stderr, json };
}

interface ListedRun {
  id: string;
  status: string;
  model: string;
  ownerPid: number | null;
  error: string | null;
  finishedAt: string | null;
}

test('a train process killed with SIGKILL mid-run is listed as interrupted; while it lives it is listed as running', async () => {
  const dir = tempDir('runs-killed');
  const at = ['--lake', 'lake', '--name', 'demo'];
  const gen = cli(dir, ['data', 'demo', '--out', 'src', '--users', '60', '--items', '50', '--catalog-items', '50', '--no-images']);
  assert.equal(gen.status, 0, gen.stderr);
  assert.equal(cli(dir, ['data', 'ingest', '--format', 'amazon2018', '--input', 'src', ...at]).status, 0);
  const split = cli(dir, ['data', 'split', ...at]);
  assert.equal(split.status, 0, split.stderr);

  // Early stopping never stops it: it trains until killed. It validates (and checkpoints) every epoch, which
  // spaces its store writes out like real epochs do: a tiny epoch per millisecond would keep the store busy.
  const train = spawn(
    process.execPath,
    [bin, 'train', ...at, '--model', 'mf', '--param', 'epochs=1000000', 'eval_every=1', 'patience=1000000', '--json', '--quiet'],
    { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  train.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = once(train, 'exit');
  try {
    // Wait until the run is recorded and has logged an epoch: it is mid-run.
    let run: ListedRun | undefined;
    let epochs = 0;
    for (const t0 = Date.now(); Date.now() - t0 < 120_000 && epochs === 0; ) {
      assert.equal(train.exitCode, null, `train exited early: ${stderr}`);
      const list = cli(dir, ['runs', 'list', '--lake', 'lake']);
      run = (list.json?.runs as ListedRun[] | undefined)?.find((r) => r.model === 'mf');
      if (run) epochs = cli(dir, ['runs', 'show', run.id, '--lake', 'lake']).json?.epochs?.length ?? 0;
      if (epochs === 0) await new Promise((r) => setTimeout(r, 300));
    }
    assert.ok(run && epochs > 0, `the run logged an epoch (${stderr})`);
    assert.equal(train.exitCode, null, 'train is still running');
    const live = (cli(dir, ['runs', 'list', '--lake', 'lake']).json.runs as ListedRun[]).find((r) => r.id === run!.id)!;
    assert.equal(live.status, 'running', 'another process sees the live run as running');
    assert.equal(live.ownerPid, train.pid);

    train.kill('SIGKILL');
    const [code, signal] = await exited;
    assert.equal(signal, 'SIGKILL', `exit ${code}`);

    const after = cli(dir, ['runs', 'list', '--lake', 'lake']);
    assert.equal(after.status, 0, after.stderr);
    const dead = (after.json.runs as ListedRun[]).find((r) => r.id === run!.id)!;
    assert.equal(dead.status, 'interrupted');
    assert.equal(dead.error, `interrupted: process ${train.pid} on ${hostname()} is gone`);
    assert.ok(dead.finishedAt !== null, 'finished_at: its last sign of life');
    const onlyInterrupted = cli(dir, ['runs', 'list', '--lake', 'lake', '--status', 'interrupted']);
    assert.deepEqual((onlyInterrupted.json.runs as ListedRun[]).map((r) => r.id), [run.id]);
    assert.deepEqual(cli(dir, ['runs', 'list', '--lake', 'lake', '--status', 'running']).json.runs, []);

    const bless = cli(dir, ['runs', 'bless', run.id, '--lake', 'lake']);
    assert.equal(bless.status, 2);
    assert.equal(bless.json.error.code, 'PP_RUN_INVALID');
    assert.match(bless.json.error.message, /is interrupted/);
    const gate = cli(dir, ['runs', 'gate', '--run', run.id, '--metric', 'ndcg@20', '--lake', 'lake']);
    assert.equal(gate.json.error.code, 'PP_RUN_INVALID');
  } finally {
    if (train.exitCode === null && train.signalCode === null) train.kill('SIGKILL');
  }
});
