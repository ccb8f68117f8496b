import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { shutdownPool } from '../core/index.js';
import { runTraining } from '../orchestration/run-training.js';
import { runCli } from '../test-support/cli.js';
import { buildServeFixture, startServeProcess } from './testkit.js';

after(() => shutdownPool());

test('plotpointe index build + plotpointe serve through the real bin: listen, answer, reload with the env token, stop on SIGTERM', async () => {
  const fx = await buildServeFixture('serve-cli');
  const lakeArgs = ['--lake', fx.lake, '--name', fx.name];

  const built = runCli(['index', 'build', ...lakeArgs, '--run', fx.runA, '--expansion-search', '96'], { json: true });
  assert.equal(built.status, 0, built.stderr);
  assert.equal(built.json.run_id, fx.runA);
  assert.ok(built.json.indexes.graph.size > 0 && built.json.indexes.text.size > 0);

  const pop = await runTraining({ lake: fx.lake, name: fx.name, split: 'default', model: 'pop', ks: [20] });
  const refused = runCli(['index', 'build', ...lakeArgs, '--run', pop.run_id], { json: true });
  assert.equal(refused.status, 2);
  assert.equal(refused.json.error.code, 'PP_INDEX_NO_EMBEDDINGS');
  assert.match(refused.json.error.message, /mf, lightgcn, gat/);
  const noBlessed = runCli(['index', 'build', ...lakeArgs], { json: true });
  assert.equal(noBlessed.json.error.code, 'PP_RUN_NOT_BLESSED');
  const noBundle = runCli(['serve', ...lakeArgs, '--run', pop.run_id, '--port', '0'], { json: true });
  assert.equal(noBundle.json.error.code, 'PP_SERVE_BUNDLE');

  const server = await startServeProcess([...lakeArgs, '--run', fx.runA], { PLOTPOINTE_ADMIN_TOKEN: 'from-env' });
  let stopped: Awaited<ReturnType<typeof server.stop>>;
  try {
    const { listening, variants } = server.listening;
    assert.deepEqual(variants, { default: fx.runA });

    assert.equal((await fetch(`${listening}/healthz`)).status, 200);
    const items = (await (await fetch(`${listening}/readyz`)).json()) as { variants: { default: { indexes: Record<string, number> } } };
    assert.ok(items.variants.default.indexes.text > 0);
    const ids = (await (await fetch(`${listening}/docs/json`)).json()) as { paths: Record<string, unknown> };
    assert.ok(ids.paths['/v1/users/{userId}/recommendations']);
    const unknown = await fetch(`${listening}/v1/users/nobody/recommendations`);
    assert.equal(unknown.status, 404);

    const reload = await fetch(`${listening}/v1/admin/reload`, {
      method: 'POST',
      headers: { authorization: 'Bearer from-env', 'content-type': 'application/json' },
      body: JSON.stringify({ run_id: fx.runB }),
    });
    assert.equal(reload.status, 200, await reload.clone().text());
    assert.equal(((await reload.json()) as { model_version: string }).model_version, fx.runB);

    // Structured JSON logs with request ids on stderr.
    const logLine = server.stderr().split('\n').find((l) => l.includes('"reqId"'));
    assert.ok(logLine, server.stderr().slice(0, 500));
    assert.ok(JSON.parse(logLine!).reqId);
  } finally {
    stopped = await server.stop();
  }
  {
    const { code, summary } = stopped;
    assert.equal(code, 0, server.stderr().slice(-2000));
    assert.equal(summary?.signal, 'SIGTERM');
  }
});
