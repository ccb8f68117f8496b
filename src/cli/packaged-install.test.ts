/**
 * The packed package as a user gets it: `npm pack` → `npm install -g --prefix <tmp>` (from the npm cache, the
 * registry only for what is missing) → the installed `plotpointe` run from an empty folder: --version, a tiny
 * `demo --no-serve`, then `serve` over that lake (/readyz, one recommendation, the dashboard page).
 * Slow (a ~1 GB install plus a whole pipeline: ~100 CPU-s; over the runner's 10 min per file on a 2-core machine
 * at load 30), so it runs when PLOTPOINTE_TEST_PACKAGE=1 (`.ci/run` sets it) and skips otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../test-support/fixtures.js';
import { runCli } from '../test-support/cli.js';
import { startServeProcess } from '../serving/testkit.js';
import { datasetPaths } from '../lake/paths.js';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const skip = process.env.PLOTPOINTE_TEST_PACKAGE === '1' ? false : 'set PLOTPOINTE_TEST_PACKAGE=1 to pack, install and run the tarball (slow; .ci/run does)';

test('the packed tarball is lean, installs into an empty prefix and its plotpointe runs demo, serve and the dashboard', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-packaged-'));
  try {
    // Lean tarball: the sources and the bin, no tests, test kits, benches or lake.
    const packed = JSON.parse(execFileSync(npm, ['pack', '--json', '--pack-destination', dir], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as [
      { filename: string; size: number; files: { path: string }[] },
    ];
    const paths = packed[0].files.map((f) => f.path);
    assert.ok(paths.includes('bin/plotpointe.mjs') && paths.includes('src/cli/main.ts') && paths.includes('src/web/client/main.ts'));
    const unwanted = paths.filter((p) => /\.test\.ts$|testkit|test-support|^bench\/|^lake\/|^scripts\//.test(p));
    assert.deepEqual(unwanted, []);
    assert.ok(packed[0].size < 2_000_000, `tarball ${packed[0].size} bytes`);

    // Install it globally into a temporary prefix, as `npm install -g plotpointe-*.tgz` does. npm ≤ 10 runs
    // onnxruntime-node's install script, which reads the installing user's config, not ours: skip it there too.
    const prefix = join(dir, 'prefix');
    execFileSync(npm, ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(dir, packed[0].filename)], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
    });
    const bin = join(prefix, 'bin', 'plotpointe');
    const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version as string;
    assert.equal(execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim(), version);

    // A tiny demo from an empty folder (the lake lands in ./lake).
    const work = join(dir, 'empty');
    execFileSync('mkdir', ['-p', work]);
    // (the settings of the pipeline tests' small file: the point is the packaging, not the model)
    writeFileSync(
      join(work, 'tiny.yaml'),
      [
        'demo: { users: 50, items: 40, catalog_items: 50 }',
        'pipeline: { model: mf, model_params: "epochs=2,eval_every=1" }',
        'graph: { k: 5, recall_sample: 20 }',
        'steps: { fuse: { args: ["--epochs", "3", "--dim", "16", "--hidden", "32"] } }',
      ].join('\n') + '\n',
    );
    const demo = runCli(['demo', '--no-serve', '--config', 'tiny.yaml'], { cwd: work, json: true, bin });
    assert.equal(demo.status, 0, demo.stderr.slice(-3000));
    assert.equal(demo.json.served, false);
    const runId = demo.json.run as string;
    assert.match(runId, /-mf-/);
    assert.deepEqual(readdirSync(datasetPaths(join(work, 'lake'), 'demo').run(runId).serving).includes('user_ids.json'), true);
    const users = JSON.parse(readFileSync(join(datasetPaths(join(work, 'lake'), 'demo').run(runId).serving, 'user_ids.json'), 'utf8')) as string[];

    // serve over that lake: ready, one recommendation, the dashboard (its bundle built by esbuild at start).
    const server = await startServeProcess(['--lake', join(work, 'lake')], {}, 180_000, join(prefix, 'lib', 'node_modules', 'plotpointe', 'bin', 'plotpointe.mjs'));
    let code: number | null = null;
    try {
      const base = server.listening.listening;
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
      const recs = await fetch(`${base}/v1/users/${encodeURIComponent(users[0]!)}/recommendations?k=5`);
      assert.equal(recs.status, 200, await recs.clone().text());
      const body = (await recs.json()) as { items: unknown[] };
      assert.equal(body.items.length, 5);
      const page = await fetch(`${base}/`);
      assert.equal(page.status, 200);
      const js = await fetch(`${base}${/src="([^"]+app\.js[^"]*)"/.exec(await page.text())![1]}`);
      assert.equal(js.status, 200);
      assert.ok((await js.text()).length > 10_000);
    } finally {
      code = (await server.stop()).code;
    }
    assert.equal(code, 0, server.stderr().slice(-2000));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
