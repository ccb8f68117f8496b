import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { shutdownPool } from '../../core/index.js';
import { buildDemoLake } from '../../eval/cold-start-lake.testkit.js';
import { loadEmbeddings } from '../store.js';
import { loadSplit } from '../../graphs/split-data.js';
import { datasetPaths } from '../../lake/paths.js';
import { openContentSource } from '../split-content.js';
import { repoRoot } from '../../test-support/fixtures.js';

after(async () => {
  await shutdownPool();
});

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'plotpointe.mjs'), ...args, '--json', '--quiet'], { encoding: 'utf8', env: { ...process.env, PLOTPOINTE_CORE_THREADS: '1' } });
  const lines = r.stdout.trimEnd().split('\n');
  let out: Record<string, any> = {};
  try {
    out = JSON.parse(lines[lines.length - 1]);
  } catch {
    /* error output is checked by the caller */
  }
  return { status: r.status, stderr: r.stderr, stdout: r.stdout, out };
}

test('embed fuse → train mmgat through the real CLI: fused vectors for every split item (cold ones too), then a content-aware run', async () => {
  const { lake, name } = await buildDemoLake({ users: 150, items: 200, missingTextEvery: 9, splits: { cold: { strategy: 'cold-item', coldItemShare: 0.3 } } });
  const fuse = cli(['embed', 'fuse', '--lake', lake, '--name', name, '--split', 'cold', '--dim', '16', '--hidden', '32', '--epochs', '6', '--lr', '0.01']);
  assert.equal(fuse.status, 0, fuse.stderr + fuse.stdout);
  assert.deepEqual(fuse.out.modalities, ['text']);
  assert.deepEqual(fuse.out.missing_modalities, ['image']);
  const data = await loadSplit(datasetPaths(lake, name).split('cold'));
  assert.equal(fuse.out.count, data.numItems);
  const stored = await loadEmbeddings(fuse.out.paths.dir, 'fused');
  assert.equal(stored.meta.modality, 'fused');
  assert.equal(stored.dim, 16);
  assert.ok(stored.present.every((p) => p === 1), 'every split item has a fused vector');
  assert.ok(stored.data.every(Number.isFinite));
  // cold items (no train interaction) got vectors that differ from each other
  const cold = [...data.coldItems.keys()].filter((i) => data.coldItems[i]);
  assert.ok(cold.length > 10);
  const row = (i: number) => Array.from(stored.data.subarray(i * 16, i * 16 + 16));
  assert.notDeepEqual(row(cold[0]), row(cold[1]));
  // the split's content source serves them as modality 'fused'
  const fused = await openContentSource(lake, name, 'cold').modality('fused');
  assert.equal(fused?.dim, 16);

  const run = cli(['train', '--lake', lake, '--name', name, '--split', 'cold', '--model', 'mmgat', '--param', 'dim=16', 'hidden=32', 'epochs=4', 'eval_every=2', 'batch=512', 'features=text', 'ii_modality=fused', 'ii_k=5']);
  assert.equal(run.status, 0, run.stderr + run.stdout);
  assert.ok(run.out.test['ndcg@20'] >= 0 && run.out.test['ndcg@20'] <= 1);
  const ev = cli(['eval', '--lake', lake, '--run', run.out.run_id]);
  assert.equal(ev.status, 0, ev.stderr + ev.stdout);
  assert.ok(Math.abs(ev.out.test['ndcg@20'] - run.out.test['ndcg@20']) < 1e-6, `eval ${ev.out.test['ndcg@20']} vs train ${run.out.test['ndcg@20']}`);

  const bad = cli(['embed', 'fuse', '--lake', lake, '--name', name, '--split', 'cold', '--modalities', 'image']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stdout + bad.stderr, /PP_EMBED_INVALID/);
});
