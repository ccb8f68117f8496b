import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, sqlString } from '../../lake/duckdb.js';
import { createSplit } from './create-split.js';
import { readSplit, usersWithoutTrain } from './fixtures.js';
import { datasetPaths } from '../../lake/paths.js';

const GOWALLA = '/work/shared/datasets/gowalla';
const present = existsSync(join(GOWALLA, 'train.txt')) && existsSync(join(GOWALLA, 'test.txt'));

/**
 * Builds a staging-like interactions.parquet from the LightGCN Gowalla files ("user item item …" per line;
 * train.txt lines get split='train', test.txt lines split='test'; no ratings or timestamps) and splits it
 * with 'given' and validShare 0.1.
 */
test(
  'given split of Gowalla keeps the 217,242 official test rows and carves valid out of the 810,128 train rows',
  { skip: present ? false : `Gowalla not found at ${GOWALLA} (needs train.txt and test.txt); skipping the real-data check`, timeout: 300_000 },
  async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'pp-split-gowalla-'));
    try {
      const dataset = datasetPaths(root, 'gowalla');
      const stagingDir = dataset.staging;
      await mkdir(stagingDir, { recursive: true });
      // Parse the text files here (a stand-in for ingest) into a CSV, then let DuckDB write the Parquet.
      const csv: string[] = ['user_id,item_id,split,ord,src_file,src_line'];
      let ord = 0;
      for (const [file, split] of [['train.txt', 'train'], ['test.txt', 'test']] as const) {
        const lines = readFileSync(join(GOWALLA, file), 'utf8').split('\n');
        lines.forEach((line, i) => {
          const parts = line.trim().split(/\s+/);
          if (parts.length < 2) return;
          for (const item of parts.slice(1)) csv.push(`${parts[0]},${item},${split},${ord++},${file},${i + 1}`);
        });
      }
      const csvPath = join(root, 'gowalla.csv');
      await writeFile(csvPath, csv.join('\n') + '\n');
      const db = await openDb();
      try {
        await db.run(`COPY (
            SELECT user_id, item_id, NULL::DOUBLE AS rating, NULL::BIGINT AS ts, split, ord, src_file, src_line
            FROM read_csv(${sqlString(csvPath)}, header = true,
              columns = {user_id: 'VARCHAR', item_id: 'VARCHAR', split: 'VARCHAR', ord: 'BIGINT', src_file: 'VARCHAR', src_line: 'BIGINT'})
            ORDER BY ord)
          TO ${sqlString(dataset.stagingFiles.interactions)} (FORMAT parquet)`);
      } finally {
        db.close();
      }
      await writeFile(dataset.stagingFiles.manifest, JSON.stringify({ name: 'gowalla' }) + '\n');

      const outDir = dataset.split('given').dir;
      const t0 = performance.now();
      const summary = await createSplit({ stagingDir, outDir, strategy: 'given', validShare: 0.1 });
      const seconds = (performance.now() - t0) / 1000;
      t.diagnostic(`Gowalla given split (1,027,370 interactions): ${seconds.toFixed(2)} s`);

      assert.equal(summary.interactions.test, 217_242);
      assert.equal(summary.interactions.train + summary.interactions.valid, 810_128);
      assert.equal(summary.users, 29_858);
      assert.equal(summary.items, 40_981);
      assert.equal(summary.validSource, 'carved');
      // valid ≈ 10% of each user's train rows (rounded per user), never a test row.
      const share = summary.interactions.valid / 810_128;
      assert.ok(share > 0.095 && share < 0.105, `valid share ${share}`);
      const s = await readSplit(outDir);
      assert.equal(usersWithoutTrain(s).size, 0);
      const test = new Set(s.test.map((r) => `${r.user_id} ${r.item_id}`));
      assert.equal(test.size, 217_242);
      for (const r of s.valid) assert.ok(!test.has(`${r.user_id} ${r.item_id}`));
      // Numeric ids keep their order: the LightGCN remapped ids are already dense, so uid = user_id.
      assert.ok(s.userMap.every((u) => Number(u.user_id) === u.uid));
      assert.ok(s.itemMap.every((i) => Number(i.item_id) === i.iid));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  },
);
