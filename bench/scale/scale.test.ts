import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../../src/test-support/fixtures.js';
import { scaleSize, sourceDir } from './options.js';

/**
 * bench:scale's plumbing through the real CLI at a tiny size (30 users, 20 reviewed items, 40 catalog items with
 * images, LightGCN for 2 epochs, no server): the --json contract of issue 12 and the reuse of the generated source.
 * Not part of `npm test` (it runs every pipeline step twice): `node scripts/test.mjs bench/scale`.
 */
const bench = (work: string) =>
  spawnSync(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'bench', 'scale.bench.ts'), '--users', '30', '--items', '20', '--catalog-items', '40', '--reviews', '200', '--candidates', 'lightgcn:epochs=2:eval_every=1', '--no-serve', '--work', work, '--json'],
    { cwd: repoRoot, encoding: 'utf8' },
  );

test('bench:scale at a tiny size prints the per-step table and one JSON summary with every step, the test metrics and the load, and reuses its source', () => {
  const work = tempDir('bench-scale');
  const first = bench(work);
  assert.equal(first.status, 0, first.stderr.slice(-3000));
  const out = JSON.parse(first.stdout.trimEnd().split('\n').pop()!) as {
    total_wall_s: number;
    peak_rss_mb: number;
    load_avg: { before: number[]; after: number[] };
    steps: Array<{ id: string; status: string; wall_s: number; cpu_s: number; peak_rss_mb: number; items_per_s: number | null }>;
    test: Record<string, { 'recall@20': number; 'ndcg@20': number }>;
    source: { generated: boolean };
  };
  assert.deepEqual(out.steps.map((s) => s.id).sort(), ['embed-image', 'embed-text', 'evaluate', 'fuse', 'graph-fused', 'graph-image', 'graph-text', 'index', 'ingest', 'publish', 'split', 'train'].sort());
  for (const s of out.steps) {
    assert.equal(s.status, 'ran', `${s.id} ran on the fresh lake`);
    assert.ok(s.wall_s > 0 && s.cpu_s > 0 && s.peak_rss_mb > 0, `${s.id}: ${JSON.stringify(s)}`);
    if (s.id !== 'publish') assert.ok(s.items_per_s! > 0, `${s.id} items/s`);
  }
  assert.ok(out.total_wall_s >= Math.max(...out.steps.map((s) => s.wall_s)));
  assert.equal(out.peak_rss_mb, Math.max(...out.steps.map((s) => s.peak_rss_mb)));
  assert.equal(out.load_avg.before.length, 3);
  const m = out.test.lightgcn!;
  assert.ok(m['recall@20'] > 0 && m['recall@20'] <= 1 && m['ndcg@20'] > 0 && m['ndcg@20'] <= 1, JSON.stringify(out.test));
  assert.match(first.stderr, /step\s+wall s\s+cpu s\s+peak RSS MB\s+items\s+items\/s/);
  assert.equal(out.source.generated, true);
  // The lake is removed (no --keep); the source stays for the next run, which reuses it.
  assert.deepEqual(readdirSync(join(work, 'runs')), []);
  assert.ok(existsSync(join(sourceDir(work, scaleSize(1, { users: 30, items: 20, catalogItems: 40, reviews: 200 })), 'bench-source.json')));
  const second = bench(work);
  assert.equal(second.status, 0, second.stderr.slice(-3000));
  assert.equal((JSON.parse(second.stdout.trimEnd().split('\n').pop()!) as { source: { generated: boolean } }).source.generated, false);
});
