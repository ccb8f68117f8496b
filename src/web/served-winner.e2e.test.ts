import { after, before, test } from 'node:test';
import { datasetPaths } from '../lake/paths.js';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { runCli } from '../test-support/cli.js';
import { tempDir } from '../test-support/fixtures.js';
import { RunStore, type RunDetails } from '../tracking/index.js';
import type { SearchRecord } from '../orchestration/search/run-search.js';
import { CHROMIUM, CHROMIUM_ARGS, chromiumSkip, startServer, type DemoServing, type RunningServer } from './e2e.testkit.js';

/**
 * `plotpointe demo` (model auto, DEMO_DEFAULTS) on a tiny demo through the real bin: the served bundle is the
 * winner of the candidates on valid NDCG@20, and the dashboard says so — the overview names the served model
 * and shows every candidate's valid metrics, the Runs page shows that selection and a `tune` search with
 * their trials and best — in real Chromium against the real `plotpointe serve`.
 */

const skip = chromiumSkip;
const dir = tempDir('served-winner');
const lake = join(dir, 'lake');
const config = join(dir, 'demo.yaml');
/** The same lake for the plain commands (tune, serve), which read JSON config files. */
const cliConfig = join(dir, 'plotpointe.json');
let demoRun: string;
let autoSearch: RunDetails;
let tuneId: string;
let server: RunningServer;
let browser: BrowserContext;
let page: Page;
let url: string;

async function ready(): Promise<void> {
  const state = await page.waitForFunction(() => {
    const m = document.querySelector<HTMLElement>('main');
    return m?.dataset.state === 'ready' || m?.dataset.state === 'error' ? m.dataset.state : false;
  }, undefined, { timeout: 60_000 });
  assert.equal(await state.jsonValue(), 'ready', await page.$eval('main', (m) => m.textContent ?? ''));
}

before(async () => {
  writeFileSync(
    config,
    [
      `lake: { dir: ${JSON.stringify(lake)} }`,
      'demo: { users: 120, items: 80, catalog_items: 90 }',
      // no pipeline.model: the demo's default (auto) applies; small candidates keep the test short
      'train: { auto_candidates: "itemknn,ease:variant=lowrank:rank=16,lightgcn:epochs=4:eval_every=2:batch=256:lr=0.01" }',
      'graph: { k: 5, recall_sample: 20 }',
      'steps: { fuse: { args: ["--epochs", "3", "--dim", "16", "--hidden", "32"] }, embed-image: { skip: true } }',
    ].join('\n') + '\n',
  );
  writeFileSync(cliConfig, JSON.stringify({ lake: { dir: lake }, dataset: { name: 'demo' } }));
  const demo = runCli(['demo', '--no-serve', '--config', config], { cwd: dir, json: true });
  assert.equal(demo.status, 0, demo.stderr.slice(-3000));
  demoRun = String(demo.json.run);
  const store = await RunStore.open(lake, { create: false });
  try {
    const run = await store.require(demoRun);
    autoSearch = await store.require(run.parentRunId!);
  } finally {
    store.close();
  }
  const tune = runCli(['tune', '--model', 'itemknn', '--trials', '3', '--space', 'k=5..40:int', '--config', cliConfig], { cwd: dir, json: true });
  assert.equal(tune.status, 0, tune.stderr);
  tuneId = String(tune.json.search_id);
  if (skip) return;
  server = await startServer({ dir, lake, name: 'demo', config: cliConfig, servedRun: demoRun } as DemoServing);
  url = server.url;
  browser = await chromium.launchPersistentContext(join(dir, 'chromium'), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
  page = browser.pages()[0] ?? (await browser.newPage());
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('demo --no-serve trains auto and serves its winner: the best valid NDCG@20 among the servable candidates', () => {
  assert.equal(autoSearch.kind, 'search');
  assert.equal(autoSearch.model, 'auto');
  const s = (autoSearch.extra as { search: SearchRecord }).search;
  assert.deepEqual(s.trials.map((t) => t.model).sort(), ['ease', 'itemknn', 'lightgcn']);
  const servable = s.trials.filter((t) => t.servable && t.valid_ndcg20 !== null);
  const best = servable.reduce((a, b) => (b.valid_ndcg20! > a.valid_ndcg20! ? b : a));
  assert.equal(s.best_run_id, best.run_id);
  assert.equal(demoRun, best.run_id, 'the pipeline trained, indexed and published the winner');
  const manifest = JSON.parse(readFileSync(join(datasetPaths(lake, 'demo').run(demoRun).serving, 'manifest.json'), 'utf8')) as { model_version: string; model: string };
  assert.equal(manifest.model_version, demoRun, 'the serving manifest is the winner’s');
  assert.equal(manifest.model, best.model);
});

test('the overview says which model is served and why: every candidate with its valid metrics, the winner marked', { skip }, async () => {
  await page.goto(`${url}/#/overview`);
  await ready();
  const s = (autoSearch.extra as { search: SearchRecord }).search;
  const why = page.locator('#why-served [data-why="selected"]');
  await why.waitFor({ timeout: 30_000 });
  const text = (await why.textContent()) ?? '';
  const winner = s.trials.find((t) => t.run_id === demoRun)!;
  assert.match(text, new RegExp(`${winner.model} is served because it had the best valid ndcg@20 of the 3 candidates`));
  for (const t of s.trials) {
    assert.equal(await page.textContent(`#why-served [data-metric="valid.ndcg@20"][data-run-id="${t.run_id}"]`), t.valid_ndcg20!.toFixed(4), `${t.model}'s valid NDCG@20`);
  }
  assert.equal(await page.getAttribute(`#why-served [data-search="${autoSearch.id}"] [data-best="true"]`, 'data-trial'), String(winner.trial));
  assert.match(await page.locator('#why-served').textContent() ?? '', /served/);
});

test('the Runs page shows the searches: tune and auto, their trials, params, valid metrics and the best', { skip }, async () => {
  await page.goto(`${url}/#/runs`);
  await ready();
  const store = await RunStore.open(lake, { create: false });
  const tune = await store.require(tuneId);
  store.close();
  const s = (tune.extra as { search: SearchRecord }).search;
  const box = `#searches [data-search="${tuneId}"]`;
  assert.equal(await page.locator(`${box} [data-trial]`).count(), 3);
  for (const t of s.trials) {
    assert.equal(await page.textContent(`${box} [data-metric="valid.ndcg@20"][data-run-id="${t.run_id}"]`), t.valid_ndcg20!.toFixed(4));
    assert.match((await page.locator(`${box} tr`, { has: page.locator(`[data-trial-run="${t.run_id}"]`) }).textContent()) ?? '', new RegExp(`k=${t.params.k}\\b`));
  }
  const best = s.trials.reduce((a, b) => (b.valid_ndcg20! > a.valid_ndcg20! ? b : a));
  assert.equal(await page.getAttribute(`${box} [data-best="true"]`, 'data-trial'), String(best.trial));
  assert.ok(await page.locator(`#searches [data-search="${autoSearch.id}"]`).count(), 'the auto selection is listed too');
  // a trial's run button opens that run
  await page.click(`${box} [data-trial-run="${best.run_id}"]`);
  await page.waitForURL(new RegExp(`run=${best.run_id}`));
  await ready();
  assert.equal(await page.getAttribute(`#runs-table button[data-run-id="${best.run_id}"]`, 'aria-pressed'), 'true');
});
