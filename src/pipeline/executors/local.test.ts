import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const LOCAL = fileURLToPath(new URL('./local.ts', import.meta.url));

/** Whether a pid is a live process (a zombie waiting for a reaper counts as dead). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

test('a step process computing synchronously dies within a few seconds of a SIGKILL of its runner', { skip: process.platform !== 'linux' && 'needs /proc' }, async () => {
  // The runner spawns the step as pipeline runs do (spawnWatched) and prints its pid once the step is busy.
  const runnerCode = `
    const { spawnWatched } = await import(${JSON.stringify(LOCAL)});
    const c = spawnWatched(['-e', "console.log('busy'); const t = Date.now(); while (Date.now() - t < 120000) {}"], {});
    c.stdout.on('data', (b) => { if (String(b).includes('busy')) console.log('child ' + c.pid); });
    setInterval(() => {}, 1000);
  `;
  const runner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', runnerCode], { stdio: ['ignore', 'pipe', 'inherit'] });
  let childPid = 0;
  try {
    childPid = await new Promise<number>((resolve, reject) => {
      let out = '';
      runner.stdout!.on('data', (b: Buffer) => {
        out += String(b);
        const m = /child (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      runner.on('exit', () => reject(new Error(`runner exited early: ${out}`)));
      setTimeout(() => reject(new Error(`no busy step after 60 s: ${out}`)), 60_000).unref();
    });
    assert.ok(alive(childPid));
    runner.kill('SIGKILL');
    const t0 = performance.now();
    while (alive(childPid) && performance.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
    const seconds = (performance.now() - t0) / 1000;
    assert.ok(!alive(childPid), `the step still runs ${seconds.toFixed(1)} s after its runner was killed`);
    assert.ok(seconds < 5, `the step took ${seconds.toFixed(1)} s to die (a shared, loaded machine allows slack; ~0.2 s idle)`);
  } finally {
    runner.kill('SIGKILL');
    if (childPid && alive(childPid)) process.kill(childPid, 'SIGKILL');
  }
});
