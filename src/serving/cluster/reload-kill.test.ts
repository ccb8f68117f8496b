import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { shutdownPool } from '../../core/index.js';
import { datasetPaths } from '../../lake/paths.js';
import { buildServeFixture, startServeProcess, type ServeFixture } from '../testkit.js';

// Every worker of `serve --workers 2` SIGKILLed mid-reload (failpoint in every worker): the primary must bring
// the cluster back on its own URL, serving the run the reload left (the old one before the commit, the new one
// after), and say how the reload ended.

const TOKEN = 'reload-kill-token';
/** Bound on the way back: two replacement workers start (each loads its models) on a loaded, shared machine. */
const BACK_WITHIN_S = 240;
/** Bound on the first start (the load average reached ~40 while this was written). */
const START_WITHIN_S = 400;

let fx: ServeFixture;
let known: { user: string; item: string };
before(async () => {
  fx = await buildServeFixture('reload-kill');
  const bundle = datasetPaths(fx.lake, fx.name).run(fx.runA).serving;
  known = { user: (JSON.parse(readFileSync(join(bundle, 'user_ids.json'), 'utf8')) as string[])[0], item: (JSON.parse(readFileSync(join(bundle, 'item_ids.json'), 'utf8')) as string[])[0] };
});
after(() => {
  if (fx) rmSync(fx.dir, { recursive: true, force: true });
  return shutdownPool();
});

/** The run one fresh connection (the cluster hands each to the next worker) is served by, or its failure. */
async function servedRun(url: string): Promise<string> {
  try {
    const r = await fetch(`${url}/v1/users/${encodeURIComponent(known.user)}/recommendations?k=5`, { headers: { connection: 'close' } });
    const body = await r.text();
    return r.status === 200 ? (JSON.parse(body) as { model_version: string }).model_version : `status ${r.status}`;
  } catch (err) {
    return `no answer (${((err as Error).cause as { code?: string })?.code ?? (err as Error).message})`;
  }
}

async function killAllWorkersAt(phase: 'prepared' | 'committed', expected: () => string, outcome: RegExp, killed = 2): Promise<void> {
  const server = await startServeProcess(['--lake', fx.lake, '--name', fx.name, '--run', fx.runA, '--workers', '2'], { PLOTPOINTE_ADMIN_TOKEN: TOKEN, PLOTPOINTE_FAILPOINT: `serve.reload-${phase}${killed === 1 ? '.worker-1' : ''}` }, START_WITHIN_S * 1000);
  try {
    const url = server.listening.listening;
    assert.equal(await servedRun(url), fx.runA);
    const t0 = performance.now();
    // The worker holding this request dies with the others: the client gets no HTTP answer.
    const reload = await fetch(`${url}/v1/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ run_id: fx.runB }) }).then(
      (r) => r.status,
      () => 'no answer',
    );
    if (killed === 2) assert.equal(reload, 'no answer', `every worker was to die in the reload (${phase})`);
    // Both workers die (each at its own pace: one may still be opening the new bundle) and both are replaced.
    const count = (re: RegExp) => server.stderr().match(re)?.length ?? 0;
    while (count(/worker \d+ exited \(SIGKILL\); starting a replacement/g) < killed || count(/replacement worker \d+ is serving/g) < killed) {
      assert.ok(performance.now() - t0 < BACK_WITHIN_S * 1000, `both workers were not killed and replaced within ${BACK_WITHIN_S} s; stderr: ${server.stderr().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    // Then answers come back on the cluster's URL within the bound, from every worker, all on one run.
    let seen: string[] = [];
    while ((seen = await Promise.all(Array.from({ length: 6 }, () => servedRun(url)))).some((s) => s !== seen[0] || s.startsWith('no answer') || s.startsWith('status'))) {
      assert.ok(performance.now() - t0 < BACK_WITHIN_S * 1000, `no 200s within ${BACK_WITHIN_S} s of the kill (last answers: ${seen.join(', ')}); stderr: ${server.stderr().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(seen[0], expected(), `after the kill at ${phase} the cluster serves ${phase === 'prepared' ? 'the old run (A)' : 'the new run (B)'}`);
    for (let i = 0; i < 10; i++) assert.equal(await servedRun(url), expected());
    const similar = await fetch(`${url}/v1/items/${encodeURIComponent(known.item)}/similar?k=5`);
    assert.equal(similar.status, 200);
    const ready = (await (await fetch(`${url}/readyz`)).json()) as { variants: Record<string, { model_version: string }> };
    assert.equal(ready.variants.default.model_version, expected());
    // The reload's outcome is in the primary's log, since its client got no answer.
    assert.match(server.stderr(), outcome);
  } finally {
    const stopped = await server.stop();
    assert.equal(stopped.code, 0, server.stderr().slice(-2000));
    assert.deepEqual(stopped.summary?.variants, { default: expected() });
  }
}

test('serve --workers 2: every worker killed after preparing a reload → replacements serve the old run on the same URL, and the reload is logged as aborted', async () => {
  await killAllWorkersAt('prepared', () => fx.runA, /reload of the primary variant to run \S+ aborted \(.*\); workers \d+, \d+ exited while preparing it/);
});

test('serve --workers 2: every worker killed after committing a reload → replacements serve the new run on the same URL, and the reload is logged as committed', async () => {
  await killAllWorkersAt('committed', () => fx.runB, /reload of the primary variant to run \S+ committed; workers \d+, \d+ exited during the commit and are replaced on run \S+/);
});

test('serve --workers 2: one worker killed after committing a reload → its replacement joins the survivor on the shared socket and the new run', async () => {
  await killAllWorkersAt('committed', () => fx.runB, /reload of the primary variant to run \S+ committed; worker \d+ exited during the commit and is replaced on run \S+/, 1);
});
