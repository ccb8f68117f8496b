import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPlotPointeError } from '../errors.js';
import { tempDir } from '../test-support/fixtures.js';
import { openWithLockWait } from './lock-wait.js';
import { lakePaths } from '../lake/paths.js';

const options = { timeoutMs: 2000, backoffMs: 5, maxBackoffMs: 20 };
const lockError = () => new Error('IO Error: Could not set lock on file "x": Conflicting lock is held in node (PID 1)');

test('a waiting opener announces itself with a marker while it waits and removes it once it gets the file', async () => {
  const path = lakePaths(tempDir('lockwait-marker')).runStore;
  const marker = join(`${path}.wait`, String(process.pid));
  let attempts = 0;
  const seen: boolean[] = [];
  const out = await openWithLockWait(
    path,
    async () => {
      seen.push(existsSync(marker));
      if (++attempts < 4) throw lockError();
      return 'open';
    },
    options,
  );
  assert.equal(out, 'open');
  assert.deepEqual(seen, [false, true, true, true]);
  assert.equal(existsSync(`${path}.wait`), false, 'the marker and its folder are gone');
});

test("an opener lets another process's fresh waiter go first, for at most the deferral time", async () => {
  const path = lakePaths(tempDir('lockwait-defer')).runStore;
  mkdirSync(`${path}.wait`);
  writeFileSync(join(`${path}.wait`, '999999'), '');
  const t0 = Date.now();
  await openWithLockWait(path, async () => 'open', { ...options, deferMs: 300 });
  assert.ok(Date.now() - t0 >= 290, 'deferred while the other waiter is announced');
  const old = new Date(Date.now() - 10_000);
  utimesSync(join(`${path}.wait`, '999999'), old, old);
  const t1 = Date.now();
  await openWithLockWait(path, async () => 'open', { ...options, deferMs: 300 });
  assert.ok(Date.now() - t1 < 200, 'a stale marker (a killed waiter) is ignored');
});

test('the opener gives up with PP_RUN_STORE_LOCKED after the timeout, and does not retry other errors', async () => {
  const path = lakePaths(tempDir('lockwait-timeout')).runStore;
  await assert.rejects(
    openWithLockWait(path, async () => Promise.reject(lockError()), { ...options, timeoutMs: 150 }),
    (e) => isPlotPointeError(e, 'PP_RUN_STORE_LOCKED'),
  );
  assert.equal(existsSync(`${path}.wait`), false);
  let calls = 0;
  await assert.rejects(
    openWithLockWait(path, async () => {
      calls++;
      throw new Error('Serialization Error: not a database file');
    }, options),
    /not a database file/,
  );
  assert.equal(calls, 1);
});
