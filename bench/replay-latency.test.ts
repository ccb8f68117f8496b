import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot, tempDir } from '../src/test-support/fixtures.js';
import { loadConfig } from '../src/config/load.js';
import { generateDemo } from '../src/data/demo/generate.js';
import { ingest } from '../src/data/ingest.js';
import { runSplit, splitOptionsFromConfig } from '../src/data/split/run-split.js';
import { runTraining } from '../src/orchestration/run-training.js';
import { buildServingBundle } from '../src/index/build-serving.js';
import { silentProgress } from '../src/core/progress.js';

/**
 * bench:replay's latency section at a tiny size (a 60-user demo, MF for 2 epochs, `serve --workers 1`, 20 req/s,
 * 1 s per arm) and its guard against a silent exit. Not part of `npm test` (bench/ is not walked):
 * `node scripts/test.mjs bench/replay-latency.test.ts`.
 */

const node = (args: string[], cwd = repoRoot) => spawnSync(process.execPath, ['--import', 'tsx', ...args], { cwd, encoding: 'utf8', timeout: 300_000 });

test('a guarded bench whose main awaits a promise nothing can settle, or that a library exits with 0, exits 1 with an error line naming its step', () => {
  const dir = tempDir('replay-guard');
  const guard = pathToFileURL(join(repoRoot, 'bench', 'replay-guard.ts')).href;
  const hung = join(dir, 'hung.mts');
  writeFileSync(hung, `import { guardMain } from '${guard}';\nconst g = guardMain('bench:x');\nprocess.exitCode = 0;\ng.step('waiting for nothing');\nawait new Promise(() => {});\ng.settled();\nconsole.log('unreachable');\n`);
  const r = node([hung]);
  assert.equal(r.status, 1, `status ${r.status}; stderr: ${r.stderr}`);
  assert.match(r.stderr, /^error bench:x: the event loop emptied while main had not settled .*\(step: waiting for nothing\)$/m);
  assert.doesNotMatch(r.stdout, /unreachable/);

  const exits = join(dir, 'exits.mts');
  writeFileSync(exits, `import { guardMain } from '${guard}';\nconst g = guardMain('bench:x');\ng.step('a library exits');\nsetTimeout(() => process.exit(0), 10);\nawait new Promise((r) => setTimeout(r, 60_000));\ng.settled();\n`);
  const ex = node([exits]);
  assert.equal(ex.status, 1, `status ${ex.status}; stderr: ${ex.stderr}`);
  assert.match(ex.stderr, /^error bench:x: process\.exit\(0\) was called while main had not settled \(step: a library exits\)$/m);

  const fine = join(dir, 'fine.mts');
  writeFileSync(fine, `import { guardMain } from '${guard}';\nconst g = guardMain('bench:x');\ng.step('a timer');\nawait new Promise((r) => setTimeout(r, 50));\ng.settled();\nconsole.log('done');\n`);
  const ok = node([fine]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), 'done');
  assert.equal(ok.stderr.includes('error bench:x'), false, ok.stderr);
});

test('a guarded bench that receives SIGTERM runs its clean-ups, says so and exits 143', async () => {
  const dir = tempDir('replay-guard-signal');
  const guard = pathToFileURL(join(repoRoot, 'bench', 'replay-guard.ts')).href;
  const script = join(dir, 'signalled.mts');
  const marker = join(dir, 'cleaned');
  writeFileSync(script, `import { writeFileSync } from 'node:fs';\nimport { guardMain } from '${guard}';\nconst g = guardMain('bench:x');\ng.onAbort(() => writeFileSync(${JSON.stringify(marker)}, 'x'));\ng.step('loading');\nconsole.log('ready');\nawait new Promise((r) => setTimeout(r, 60_000));\ng.settled();\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  for await (const chunk of child.stdout) {
    stdout += chunk;
    if (stdout.includes('ready')) break;
  }
  child.kill('SIGTERM');
  const [code] = await exited;
  assert.equal(code, 143, stderr);
  assert.ok(existsSync(marker), 'the clean-up ran');
  assert.match(stderr, /^error bench:x: SIGTERM received while main had not settled \(step: loading\)$/m);
});

test('bench:replay --latency-only on a kept run prints the latency table and one JSON line with every arm, the server-side rows and the added figures', async () => {
  const dir = tempDir('replay-latency');
  const lake = join(dir, 'demo', 'lake');
  const config = loadConfig({ overrides: { 'lake.dir': lake } });
  const demo = await generateDemo({ out: join(dir, 'src'), seed: 7, users: 60, items: 80, catalogItems: 80, images: false, format: 'amazon2018' });
  await ingest({ format: 'amazon2018', inputs: [demo.files.meta, demo.files.reviews], lake, name: 'demo', progress: () => silentProgress });
  const split = config['split.name'];
  await runSplit(lake, 'demo', split, splitOptionsFromConfig(config));
  const run = await runTraining({ lake, name: 'demo', split, model: 'mf', params: { epochs: 2, eval_every: 1, dim: 16 }, seed: 1, ks: [20] });
  await buildServingBundle({ lake, name: 'demo', runId: run.run_id, threads: 1, historyParts: 'train' });
  // The marker bench:replay's --keep reuses (prepare() in replay.bench.ts).
  mkdirSync(join(dir, 'demo'), { recursive: true });
  writeFileSync(join(dir, 'demo', 'prepared.json'), JSON.stringify({ lake, name: 'demo', run: run.run_id, split, train_seconds: 0, valid_ndcg20_offline: run.valid['ndcg@20'] }));

  const r = node([join('bench', 'replay.bench.ts'), '--datasets', 'demo', '--keep', dir, '--latency-only', '--blend', '0.5', '--users', '10', '--workers', '1', '--rate', '20', '--connections', '2', '--seconds', '1', '--rounds', '1', '--warmup', '0.5']);
  assert.equal(r.status, 0, `status ${r.status}; stderr: ${r.stderr.slice(-3000)}`);
  const lines = r.stdout.trimEnd().split('\n');
  const out = JSON.parse(lines[lines.length - 1]) as {
    bench: string;
    results: {
      latency_only: boolean;
      chosen_blend: number;
      events_posted: number;
      latency: {
        arms: Record<string, { req_per_s: number; p99_ms: number; server_p50_ms: number; server_cpu_ms_per_req: number }>;
        per_round: Record<string, { requests: number }[]>;
        server_side: Record<string, { n: number; p50_ms: number }>;
        added: Record<string, { p99_ms: number; server_p99_ms: number }>;
      };
    }[];
  };
  assert.equal(out.bench, 'replay');
  const res = out.results[0];
  assert.equal(res.latency_only, true);
  assert.equal(res.chosen_blend, 0.5);
  assert.ok(res.events_posted >= 10, `events posted: ${res.events_posted}`);
  assert.deepEqual(Object.keys(res.latency.arms).sort(), ['off', 'offnone', 'on', 'onnone']);
  for (const [name, a] of Object.entries(res.latency.arms)) {
    assert.ok(a.req_per_s > 0 && a.p99_ms > 0 && a.server_p50_ms > 0 && Number.isFinite(a.server_cpu_ms_per_req), `${name}: ${JSON.stringify(a)}`);
    // Every request the client saw answered has its row in the server's request log (tagged by x-request-id).
    const answered = res.latency.per_round[name][0].requests;
    assert.ok(answered > 0 && res.latency.server_side[`lat${name}r0`].n >= answered, `${name}: ${answered} answered, ${res.latency.server_side[`lat${name}r0`]?.n} rows`);
  }
  for (const who of ['with_events', 'without_events']) assert.ok(Number.isFinite(res.latency.added[who].p99_ms) && Number.isFinite(res.latency.added[who].server_p99_ms), who);
  assert.match(r.stdout, /^\| live feedback \(α 0\.5\), users with events \| \d+ \|/m);
  assert.match(r.stdout, /^\| \*\*added, users with events \(median of on − off\)\*\* \|/m);
});
