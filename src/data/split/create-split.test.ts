import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Progress } from '../../core/progress.js';
import { createSplit } from './create-split.js';
import {
  checkPartition,
  pairKey,
  exists,
  makeStaging,
  makeStagingFromSql,
  readSplit,
  readStagingRows,
  rejectsWith,
  syntheticSql,
  type FixtureRow,
} from './fixtures.js';
import { sha256File } from '../../lake/hash.js';
import { folderState, writeDirAtomically } from '../../lake/atomic.js';
import { datasetPaths, splitFiles, stagingFiles } from '../../lake/paths.js';

const splitsState = async (splitsDir: string) => {
  const s = await folderState(splitsDir);
  return { published: s.published, versions: s.versions.length, temps: s.temps };
};

const rowsFor = (pairs: string[][]): FixtureRow[] =>
  pairs.map(([user_id, item_id], i) => ({ user_id: user_id!, item_id: item_id!, rating: 1 + (i % 5), ts: 1_700_000_000 + i * 60 }));

test('writes the three parts and both maps with the documented column types', async () => {
  const lake = await makeStagingFromSql(syntheticSql(50, 10, 151));
  try {
    await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(), strategy: 'ratio' });
    const s = await readSplit(lake.splitDir());
    const part = { uid: 'INTEGER', iid: 'INTEGER', rating: 'DOUBLE', ts: 'BIGINT' };
    assert.deepEqual(s.schema, {
      train: part,
      valid: part,
      test: part,
      user_map: { user_id: 'VARCHAR', uid: 'INTEGER' },
      item_map: { item_id: 'VARCHAR', iid: 'INTEGER', cold: 'BOOLEAN' },
    });
    assert.deepEqual((await readdir(lake.splitDir())).sort(), [
      'item_map.parquet', 'manifest.json', 'test.parquet', 'train.parquet', 'user_map.parquet', 'valid.parquet',
    ]);
    const state = await folderState(lake.splitsDir);
    assert.deepEqual(state.published, ['default']);
    assert.equal(state.versions.length, 1, 'one version behind the published name');
    assert.deepEqual(state.temps, [], 'no temporary folder is left');
  } finally {
    await lake.cleanup();
  }
});

test('dense ids follow numeric order when every id is an integer', async () => {
  const lake = await makeStaging(rowsFor([['100', '20'], ['9', '3'], ['100', '3'], ['-5', '20'], ['9', '100']]));
  try {
    await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(), strategy: 'ratio', ratios: [0.5, 0, 0.5] });
    const s = await readSplit(lake.splitDir());
    assert.deepEqual(s.userMap.map((u) => u.user_id), ['-5', '9', '100']);
    assert.deepEqual(s.itemMap.map((i) => i.item_id), ['3', '20', '100']);
    assert.equal(s.manifest.id_order.users, 'numeric');
  } finally {
    await lake.cleanup();
  }
});

test('dense ids follow first appearance (ingest order) when some id is not an integer', async () => {
  const lake = await makeStaging(rowsFor([['b', '10'], ['a', 'x'], ['b', '9'], ['10', 'x'], ['a', '9']]));
  try {
    await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(), strategy: 'ratio', ratios: [0.5, 0, 0.5] });
    const s = await readSplit(lake.splitDir());
    assert.deepEqual(s.userMap.map((u) => u.user_id), ['b', 'a', '10']);
    assert.deepEqual(s.itemMap.map((i) => i.item_id), ['10', 'x', '9']);
    assert.deepEqual(s.manifest.id_order, { users: 'first-appearance', items: 'first-appearance' });
  } finally {
    await lake.cleanup();
  }
});

test('the manifest records strategy, resolved options, counts, the source sha256 and split_hash over the part files', async () => {
  const lake = await makeStagingFromSql(syntheticSql(80, 20, 151));
  try {
    const rows = await readStagingRows(lake.stagingDir);
    const summary = await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir('m'), strategy: 'ratio', ratios: [0.7, 0.15, 0.15], seed: 5, kcore: 2 });
    const s = await readSplit(lake.splitDir('m'));
    const m = s.manifest;
    assert.equal(s.train.length + s.valid.length + s.test.length, m.filtering.rows_after_kcore);
    assert.equal(m.name, 'm');
    assert.equal(m.strategy, 'ratio');
    assert.equal(m.seed, 5);
    assert.deepEqual(m.options, { strategy: 'ratio', ratios: [0.7, 0.15, 0.15], seed: 5, minRating: null, userK: 2, itemK: 2 });
    assert.equal(m.source.interactions_sha256, await sha256File(stagingFiles(lake.stagingDir).interactions));
    assert.equal(m.source.interactions_rows, rows.length);
    assert.equal(m.source.dataset, 'fixture');
    const shas = await Promise.all(['train', 'valid', 'test'].map((p) => sha256File(join(lake.splitDir('m'), `${p}.parquet`))));
    assert.deepEqual(shas, [m.files['train.parquet']!.sha256, m.files['valid.parquet']!.sha256, m.files['test.parquet']!.sha256]);
    const expected = createHash('sha256')
      .update(`train.parquet ${shas[0]}\nvalid.parquet ${shas[1]}\ntest.parquet ${shas[2]}\n`)
      .digest('hex');
    assert.equal(m.split_hash, expected);
    assert.equal(summary.splitHash, expected);
    assert.equal(summary.sourceSha256, m.source.interactions_sha256);
    assert.ok(!Number.isNaN(Date.parse(m.created_at)));
    assert.ok(typeof m.duration_ms === 'number' && m.duration_ms >= 0);
    assert.deepEqual(summary.interactions, m.counts.interactions);
    assert.equal(summary.users, m.counts.users);
    assert.equal(summary.items, m.counts.items);
    assert.equal(m.files['user_map.parquet']!.rows, m.counts.users);
    assert.equal(m.counts.users_per_part.train, m.counts.users, 'every user is in train');
  } finally {
    await lake.cleanup();
  }
});

test('the same seed gives byte-identical part files whatever the thread count; another seed gives different files', async () => {
  // ~200,000 interactions: several Parquet row groups, so DuckDB really works in parallel.
  const lake = await makeStagingFromSql(syntheticSql(10_000, 40, 1009));
  try {
    const hashes: Record<string, string[]> = {};
    for (const strategy of ['ratio', 'given', 'cold-item'] as const) {
      for (const [name, threads, seed] of [['a', 1, 42], ['b', 4, 42], ['c', 2, 43]] as const) {
        const summary = await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(`${strategy}-${name}`), strategy, threads, seed });
        const m = JSON.parse(await readFile(join(lake.splitDir(`${strategy}-${name}`), 'manifest.json'), 'utf8'));
        hashes[`${strategy}-${name}`] = [summary.splitHash, m.files['train.parquet'].sha256, m.files['valid.parquet'].sha256, m.files['test.parquet'].sha256];
      }
      assert.deepEqual(hashes[`${strategy}-a`], hashes[`${strategy}-b`], `${strategy}: 1 thread vs 4 threads`);
      assert.notEqual(hashes[`${strategy}-a`]![0], hashes[`${strategy}-c`]![0], `${strategy}: seed 42 vs 43`);
      for (const p of [1, 2, 3]) {
        const same = hashes[`${strategy}-a`]![p] === hashes[`${strategy}-c`]![p];
        // 'given' takes test from the source: only train/valid depend on the seed.
        assert.equal(same, strategy === 'given' && p === 3, `${strategy}: part ${p} across seeds`);
      }
    }
  } finally {
    await lake.cleanup();
  }
});

test('a failed split leaves no output folder and keeps an existing split of the same name', async () => {
  const lake = await makeStaging(rowsFor([['a', 'x'], ['a', 'y'], ['a', 'z'], ['b', 'x'], ['b', 'y'], ['b', 'z']]));
  try {
    // No previous split: nothing at all is created.
    await rejectsWith(createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir('s'), strategy: 'loo', leaveOut: 2 }), 'PP_SPLIT_EMPTY');
    assert.ok(!exists(lake.splitsDir));
    // A previous split survives a failed replacement.
    await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir('s'), strategy: 'loo', leaveOut: 1 });
    const before = await readFile(join(lake.splitDir('s'), 'manifest.json'), 'utf8');
    await rejectsWith(createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir('s'), strategy: 'loo', leaveOut: 2 }), 'PP_SPLIT_EMPTY');
    assert.equal(await readFile(join(lake.splitDir('s'), 'manifest.json'), 'utf8'), before);
    assert.deepEqual(await splitsState(lake.splitsDir), { published: ['s'], versions: 1, temps: [] }, 'one published split, one version behind it, no temporary');
  } finally {
    await lake.cleanup();
  }
});

test('a failure while writing removes the temporary folder and leaves the previous split in place', async () => {
  const lake = await makeStaging(rowsFor([['a', 'x']]));
  try {
    const out = lake.splitDir('w');
    await assert.rejects(
      writeDirAtomically(out, async (tmp) => {
        await writeFile(splitFiles(tmp).part('train'), 'partial');
        throw new Error('disk full');
      }),
      /disk full/,
    );
    assert.ok(!exists(lake.splitsDir), 'no split folder, no temporary folder, no parent created for nothing');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'manifest.json'), 'old');
    await assert.rejects(writeDirAtomically(out, async () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await readFile(join(out, 'manifest.json'), 'utf8'), 'old');
    assert.deepEqual(await splitsState(lake.splitsDir), { published: ['w'], versions: 0, temps: [] }, 'one published split (a legacy folder), no temporary');
  } finally {
    await lake.cleanup();
  }
});

test('a successful split replaces an existing split of the same name', async () => {
  const lake = await makeStagingFromSql(syntheticSql(30, 10, 151));
  try {
    await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir('r'), strategy: 'ratio', seed: 1 });
    await writeFile(join(lake.splitDir('r'), 'stray.txt'), 'from the old split');
    await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir('r'), strategy: 'loo' });
    const s = await readSplit(lake.splitDir('r'));
    assert.equal(s.manifest.strategy, 'loo');
    assert.ok(!exists(join(lake.splitDir('r'), 'stray.txt')));
    assert.deepEqual(await splitsState(lake.splitsDir), { published: ['r'], versions: 1, temps: [] }, 'one published split, one version behind it, no temporary');
  } finally {
    await lake.cleanup();
  }
});

test('a missing staging folder or interactions file is PP_LAKE_NOT_FOUND', async () => {
  const lake = await makeStaging(rowsFor([['a', 'x']]));
  try {
    await rejectsWith(createSplit({ stagingDir: datasetPaths(lake.root, 'nope').staging, outDir: join(lake.root, 'out'), strategy: 'ratio' }), 'PP_LAKE_NOT_FOUND');
    const empty = datasetPaths(lake.root, 'empty');
    await mkdir(empty.staging);
    await rejectsWith(createSplit({ stagingDir: empty.staging, outDir: empty.split('x').dir, strategy: 'ratio' }), 'PP_LAKE_NOT_FOUND', /interactions\.parquet/);
    assert.ok(!exists(empty.splits));
  } finally {
    await lake.cleanup();
  }
});

test('repeated (user, item) events of a sequence source keep only the earliest, counted in the manifest', async () => {
  // Rows get ts = base + 60·i, so the first ('a','x') is the earliest of the pair.
  const lake = await makeStaging(rowsFor([['a', 'x'], ['a', 'y'], ['a', 'x'], ['b', 'x'], ['b', 'y'], ['a', 'z']]));
  try {
    // loo: user a keeps x (earliest) in train, y to valid, z to test; user b (2 rows) stays in train.
    await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(), strategy: 'loo' });
    const s = await readSplit(lake.splitDir());
    const rows = [...s.train, ...s.valid, ...s.test];
    assert.equal(rows.length, 5);
    assert.deepEqual(s.test.map((r) => `${r.user_id}/${r.item_id}`), ['a/z']);
    assert.equal(new Set(rows.map(pairKey)).size, 5);
    const ax = rows.find((r) => r.user_id === 'a' && r.item_id === 'x');
    assert.equal(ax?.ts, 1_700_000_000);
    assert.equal(s.manifest.filtering.repeated_pairs_dropped, 1);
  } finally {
    await lake.cleanup();
  }
});

test('an output path that would replace the staging folder or a file is refused', async () => {
  const lake = await makeStaging(rowsFor([['a', 'x']]));
  try {
    await rejectsWith(createSplit({ stagingDir: lake.stagingDir, outDir: lake.stagingDir, strategy: 'ratio' }), 'PP_SPLIT_INVALID', /replace the staging/);
    await rejectsWith(createSplit({ stagingDir: lake.stagingDir, outDir: lake.root, strategy: 'ratio' }), 'PP_SPLIT_INVALID', /replace the staging/);
    const file = stagingFiles(lake.stagingDir).interactions;
    await rejectsWith(createSplit({ stagingDir: lake.stagingDir, outDir: file, strategy: 'ratio' }), 'PP_SPLIT_INVALID', /not a folder/);
  } finally {
    await lake.cleanup();
  }
});

test('progress ticks once per step', async () => {
  const lake = await makeStagingFromSql(syntheticSql(20, 10, 151));
  try {
    const steps: unknown[] = [];
    let total = 0;
    const progress: Progress = { tick: (_n, e) => steps.push(e?.step), update() {}, setTotal: (t) => (total = t), stop() {} };
    await createSplit({ stagingDir: lake.stagingDir, outDir: lake.splitDir(), strategy: 'ratio', progress });
    assert.deepEqual(steps, ['read', 'filter', 'k-core', 'split', 'ids', 'write']);
    assert.equal(total, 6);
  } finally {
    await lake.cleanup();
  }
});
