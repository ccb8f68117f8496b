import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { folderState, publishDir, sweepDir, tempSibling, writeDirAtomically } from './atomic.js';
import { HOST_TAG, ownerAlive } from './owner.js';

/** A pid (and its start ticks) of a process that has exited. */
function deadOwner(): { pid: number; start: number } {
  const r = spawnSync(process.execPath, ['-e', "process.stdout.write(require('fs').readFileSync('/proc/self/stat','utf8'))"], { encoding: 'utf8' });
  const stat = r.stdout;
  const pid = Number(stat.split(' ')[0]);
  const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  return { pid, start };
}

const withDir = async (fn: (dir: string) => Promise<void>) => {
  const dir = await mkdtemp(join(tmpdir(), 'pp-atomic-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

test('a published folder is a symlink to one complete version, and a republish removes the replaced version', async () => {
  await withDir(async (dir) => {
    const out = join(dir, 'split');
    await writeDirAtomically(out, async (tmp) => writeFile(join(tmp, 'a.txt'), 'one'));
    const first = await readlink(out);
    await writeDirAtomically(out, async (tmp) => writeFile(join(tmp, 'a.txt'), 'two'));
    assert.equal(readFileSync(join(out, 'a.txt'), 'utf8'), 'two');
    assert.ok((await lstat(out)).isSymbolicLink());
    const state = await folderState(dir);
    assert.deepEqual(state.published, ['split']);
    assert.deepEqual(state.versions, [await readlink(out)]);
    assert.notEqual(first, await readlink(out));
    assert.deepEqual(state.temps, []);
  });
});

test('a legacy real folder is replaced by the published version', async () => {
  await withDir(async (dir) => {
    const out = join(dir, 'legacy');
    await mkdir(out);
    await writeFile(join(out, 'old.txt'), 'old');
    await writeDirAtomically(out, async (tmp) => writeFile(join(tmp, 'new.txt'), 'new'));
    assert.ok(!existsSync(join(out, 'old.txt')));
    assert.equal(readFileSync(join(out, 'new.txt'), 'utf8'), 'new');
    assert.deepEqual((await folderState(dir)).temps, []);
  });
});

test('the owner check tells a live process from an exited one, and a recycled pid by its start time', () => {
  const dead = deadOwner();
  assert.equal(ownerAlive(dead.pid, dead.start), false);
  assert.equal(ownerAlive(process.pid, 0), true);
  const self = readFileSync('/proc/self/stat', 'utf8');
  const start = Number(self.slice(self.lastIndexOf(')') + 2).split(' ')[19]);
  assert.equal(ownerAlive(process.pid, start), true);
  assert.equal(ownerAlive(process.pid, start + 1), false, 'same pid, other start: another process');
});

test('a sweep removes temporaries and versions of dead owners and keeps those of live ones and the published version', async () => {
  await withDir(async (dir) => {
    const dead = deadOwner();
    const deadTemp = `.ds.tmp-${dead.pid}-${dead.start}-${HOST_TAG}-0badc0de`;
    const deadVersion = `.ds@20260101T000000000Z-${dead.pid}-${dead.start}-${HOST_TAG}`;
    const foreignTemp = `.ds.tmp-${dead.pid}-${dead.start}-${HOST_TAG === '000000' ? '111111' : '000000'}-0badc0de`;
    await mkdir(join(dir, foreignTemp));
    const liveTemp = tempSibling(join(dir, 'ds')).split('/').pop()!;
    await mkdir(join(dir, deadTemp));
    await mkdir(join(dir, deadVersion));
    await mkdir(join(dir, liveTemp));
    await writeDirAtomically(join(dir, 'ds'), async (tmp) => writeFile(join(tmp, 'x'), '1'));
    // writeDirAtomically swept first: the dead temp and the dead unpublished version are gone.
    const state = await folderState(dir);
    assert.deepEqual(state.temps, [foreignTemp, liveTemp].sort(), 'the live owner keeps its temporary; another host\'s owner is judged only there');
    assert.deepEqual(state.versions, [await readlink(join(dir, 'ds'))]);
    assert.deepEqual(await sweepDir(dir), []);
  });
});

test('a sweep restores a missing pointer to the newest complete version (a kill between version rename and swap)', async () => {
  await withDir(async (dir) => {
    const dead = deadOwner();
    for (const t of ['20260101T000000000Z', '20260102T000000000Z']) {
      await mkdir(join(dir, `.ds@${t}-${dead.pid}-${dead.start}-${HOST_TAG}`));
      await writeFile(join(dir, `.ds@${t}-${dead.pid}-${dead.start}-${HOST_TAG}`, 'v'), t);
    }
    await sweepDir(dir);
    assert.equal(readFileSync(join(dir, 'ds', 'v'), 'utf8'), '20260102T000000000Z');
    assert.equal((await folderState(dir)).versions.length, 1, 'the older unpublished version of a dead owner is removed');
  });
});

test('publishDir switches readers from the old version to the new one in one rename', async () => {
  await withDir(async (dir) => {
    const out = join(dir, 'bundle');
    await writeDirAtomically(out, async (tmp) => writeFile(join(tmp, 'f'), 'old'));
    const next = join(dir, 'next');
    await mkdir(next);
    await writeFile(join(next, 'f'), 'new');
    await publishDir(next, out);
    assert.equal(readFileSync(join(out, 'f'), 'utf8'), 'new');
    assert.deepEqual((await folderState(dir)).published, ['bundle']);
  });
});
