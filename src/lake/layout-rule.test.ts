import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../test-support/fixtures.js';
import { scanLayout, type LayoutAllow } from './layout-rule.js';

/** Hits that are not lake locations. Add one only with the reason it is not a path into a lake. */
const ALLOW: readonly LayoutAllow[] = [
  { file: 'src/pipeline/executors/local.ts', contains: "join(repoRoot, 'src', 'pipeline'", reason: 'the repository source tree, not a lake' },
  { file: 'bench/eval/gowalla-identity.ts', contains: "'shared', 'datasets', 'gowalla'", reason: 'the shared input data sets, outside any lake' },
  { file: 'bench/scale/options.ts', contains: "join(work, 'sources'", reason: 'the generated reference catalog cached in the bench work folder (ingest input), not in a lake' },
  { file: 'bench/gowalla.bench.ts', contains: "'shared', 'datasets', 'gowalla'", reason: 'the shared input data sets, outside any lake' },
  { file: 'bench/models/graph-filter.bench.ts', contains: "'shared', 'datasets', 'gowalla'", reason: 'the shared input data sets, outside any lake' },
  { file: 'bench/replay.bench.ts', contains: "'shared', 'datasets', 'amazon-scientific'", reason: 'the shared input data sets, outside any lake' },
  { file: 'src/web/e2e.testkit.ts', contains: "join(dir, 'sources')", reason: 'the generated demo catalog in a temp folder beside the lake (ingest input)' },
  { file: 'src/web/plugin.test.ts', contains: "join(dir, 'sources')", reason: 'the generated demo catalog in a temp folder beside the lake (ingest input)' },
  { file: 'src/web/dashboard.e2e.test.ts', contains: "join(d.dir, 'sources', 'images'", reason: 'a picture of the demo catalog (ingest input), not in the lake' },
  { file: 'src/data/ingest-guard.test.ts', contains: "const raw = join(dir, 'raw')", reason: 'an input folder handed to ingest, not the lake' },
  { file: 'src/data/formats/parquet.test.ts', contains: "'items.parquet': ITEMS", reason: 'a Parquet input file of the reader under test, not a staged table' },
  { file: 'src/data/split/create-split.test.ts', contains: "'item_map.parquet', 'manifest.json', 'test.parquet'", reason: 'pins the split folder’s file names on disk (existing lakes keep working)' },
  { file: 'src/data/split/create-split.test.ts', contains: "m.files['", reason: 'the split manifest’s `files` keys: a recorded format, pinned' },
  { file: 'src/embeddings/cache.test.ts', contains: "join(tempDir('cache'), 'c')", reason: 'a cache folder in a temp dir, not a lake' },
  { file: 'src/graphs/csr-io.test.ts', contains: "join(tempDir('csr-io'), 'graphs')", reason: 'a CSR folder in a temp dir, not a lake' },
  { file: 'src/index/similar-table.test.ts', contains: "join(tempDir('similar-bundle'), 'serving')", reason: 'a bundle folder in a temp dir, not a lake' },
  { file: 'src/models/mmgat.test.ts', contains: "join(dir, 'work')", reason: 'a model work folder in a temp dir, not a lake' },
  { file: 'src/serving/request-log.test.ts', contains: "'serving.duckdb')", reason: 'a log database file in a temp dir, not a lake' },
];

test('no file outside src/lake/ builds a lake location (folder names, table files, path templates)', () => {
  const hits = scanLayout(repoRoot, ['src', 'bench', 'scripts', 'bin'], ALLOW);
  assert.deepEqual(
    hits.map((h) => `${h.file}:${h.line} ${h.kind}: ${h.text}`),
    [],
    'resolve the location through src/lake/paths.ts (lakePaths, datasetPaths(…).split(s) / .run(r)), or allow-list it here with the reason it is not a lake path',
  );
});

test('the rule catches a joined layout folder, a table file name and a path template, and skips comments', () => {
  const repo = tempDir('layout-rule');
  mkdirSync(join(repo, 'src', 'x'), { recursive: true });
  mkdirSync(join(repo, 'src', 'lake'), { recursive: true });
  writeFileSync(
    join(repo, 'src', 'x', 'a.ts'),
    [
      "const a = join(lake, 'staging', name);",
      "const b = read(dir + 'items.parquet');",
      'const c = `${lake}/artifacts/${name}`;',
      " * join(lake, 'staging') in a comment",
      "const d = join(lake, 'elsewhere');",
    ].join('\n'),
  );
  writeFileSync(join(repo, 'src', 'lake', 'paths.ts'), "const own = join(root, 'staging', name);\n");
  const hits = scanLayout(repo, ['src'], []);
  assert.deepEqual(hits.map((h) => `${h.file}:${h.line}`), ['src/x/a.ts:1', 'src/x/a.ts:2', 'src/x/a.ts:3']);
  assert.deepEqual(scanLayout(repo, ['src'], [{ file: 'src/x/a.ts', contains: "'items.parquet'", reason: 'test' }]).map((h) => h.line), [1, 3]);
});
