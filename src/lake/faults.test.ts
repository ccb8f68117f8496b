import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFaults } from './faults.js';

// The short run of `npm run faults`: a SIGKILL inside the dataset swap of a re-ingest and inside the publication
// of a re-split. The full suite (every failpoint of ingest, split and index build, and kills of `pipeline run`)
// is `npm run faults`.
test('a re-ingest or re-split SIGKILLed mid-publication leaves the old or the new version whole, and a rerun strands nothing', { skip: process.platform !== 'linux' && 'needs /proc' }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'pp-faults-test-'));
  try {
    const { results, tally } = await runFaults(
      [
        { id: 'ingest@ingest.before-swap', stage: 'ingest', failpoint: 'ingest.before-swap' },
        { id: 'ingest@publish.after-swap', stage: 'ingest', failpoint: 'publish.after-swap' },
        { id: 'split@publish.before-swap', stage: 'split', failpoint: 'publish.before-swap' },
      ],
      work,
    );
    for (const r of results) {
      assert.ok(r.killed, `${r.id}: the failpoint killed the command`);
      assert.ok(r.ok, `${r.id}: ${JSON.stringify(r)}`);
    }
    // Before the swap the old version stays; after it the new one is there (the kill only skipped the cleanup).
    assert.equal(results[0]!.after_kill, 'old');
    assert.equal(results[1]!.after_kill, 'new');
    assert.equal(results[2]!.after_kill, 'old');
    assert.equal(tally.mixed_states + tally.missing_states + tally.stranded_entries, 0);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
