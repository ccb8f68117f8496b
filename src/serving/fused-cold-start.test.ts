import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../config/load.js';
import { shutdownPool } from '../core/index.js';
import { fuseSplit } from '../orchestration/fuse-split.js';
import { openContentSource } from '../embeddings/split-content.js';
import { DEFAULT_ITEM_TEXT, itemText } from '../embeddings/text/item-text.js';
import { CountingEncoder } from '../embeddings/testkit.js';
import { buildServingBundle } from '../index/build-serving.js';
import { openServingBundle, type ServingBundle } from '../index/serving-bundle.js';
import { buildApp } from './app.js';
import { ServingContext } from './context.js';
import { fusionForward } from './fusion-forward.js';
import { FAKE_TEXT_DIM, buildServeFixture, fakeEncoderFactory, fakeImageVector, type ServeFixture } from './testkit.js';
import { datasetPaths } from '../lake/paths.js';

/**
 * Cold start in fused space: `embed fuse` saves the fusion MLP beside the fused vectors, `index build` copies it
 * into the bundle, and the serve-time forward (fusion-forward.ts) reproduces the stored fused vector of a warm
 * item from its content; POST /v1/items/cold-start then answers fused-space neighbours.
 */

let fx: ServeFixture;
let split: string;
let bundle: ServingBundle;
let buildStatus: string;

before(async () => {
  fx = await buildServeFixture('fused-cold-start');
  split = loadConfig()['split.name'];
  // A small GELU fusion over text (16-d) + image (8-d, every 5th item without one), a couple of epochs.
  await fuseSplit({ lake: fx.lake, name: fx.name, split, seed: 3, train: { dim: 12, hidden: 24, epochs: 2, evalEvery: 1, patience: 1, lr: 0.01 } });
  buildStatus = (await buildServingBundle({ lake: fx.lake, name: fx.name, runId: fx.runA, threads: 1 })).fusion;
  bundle = await openServingBundle(datasetPaths(fx.lake, fx.name).run(fx.runA).serving);
});

after(() => shutdownPool());

test('index build exports the fusion MLP of the split into the bundle', () => {
  assert.equal(buildStatus, 'exported');
  assert.ok(bundle.fusion, 'the bundle has fusion weights');
  assert.deepEqual(bundle.fusion.modalities.map((m) => [m.name, m.dim]), [['text', FAKE_TEXT_DIM], ['image', 8]]);
  assert.deepEqual(bundle.manifest.fusion, { modalities: ['text', 'image'], hidden: 24, out: 12, activation: 'gelu' });
});

test("the serve-time forward of a warm item's content equals its stored fused vector to 1e-5 (with and without an image)", async () => {
  const content = openContentSource(datasetPaths(fx.lake, fx.name).split(split));
  const text = (await content.modality('text'))!;
  const image = (await content.modality('image'))!;
  const fused = (await content.modality('fused'))!;
  assert.equal(fused.dim, 12);
  let withImage = 0;
  let withoutImage = 0;
  let worst = 0;
  for (let i = 0; i < fused.present.length; i++) {
    if (!text.present[i]) continue;
    const f = fusionForward(bundle.fusion!, {
      text: text.vectors.subarray(i * text.dim, (i + 1) * text.dim),
      image: image.present[i] ? image.vectors.subarray(i * image.dim, (i + 1) * image.dim) : null,
    });
    for (let d = 0; d < fused.dim; d++) worst = Math.max(worst, Math.abs(f[d] - fused.vectors[i * fused.dim + d]));
    if (image.present[i]) withImage++;
    else withoutImage++;
  }
  assert.ok(withImage > 50 && withoutImage > 10, `${withImage} items with an image, ${withoutImage} without`);
  assert.ok(worst <= 1e-5, `largest difference ${worst}`);
  // A different input gives a different vector (the comparison above can fail).
  const other = fusionForward(bundle.fusion!, { text: text.vectors.subarray(0, text.dim), image: null });
  const withImg = fusionForward(bundle.fusion!, { text: text.vectors.subarray(0, text.dim), image: fakeImageVector(Buffer.from('x')) });
  assert.ok(other.some((v, d) => Math.abs(v - withImg[d]) > 1e-4));
});

test('POST /v1/items/cold-start answers fused-space neighbours (the forward of the encoded content) and uses them for reach', async () => {
  const ctx = await ServingContext.load({ lake: fx.lake, name: fx.name, runId: fx.runA, logs: false });
  const app: FastifyInstance = await buildApp(ctx, { encoderFactory: fakeEncoderFactory, docs: false });
  try {
    const body = { title: 'Wireless over-ear headphones', brand: 'Acme', categories: ['Electronics', 'Audio'], image_base64: Buffer.from('new-item-image').toString('base64'), k: 5, users_k: 5 };
    const r = await app.inject({ method: 'POST', url: '/v1/items/cold-start', payload: body });
    assert.equal(r.statusCode, 200, r.body);
    const res = r.json();
    assert.deepEqual(res.modalities, ['text', 'image', 'fused']);
    assert.equal(res.similar.fused.length, 5);
    assert.ok(res.users.length > 0);

    // Expected: the fused vector of the same encoders' outputs, its exact nearest warm items by cosine.
    const t = await new CountingEncoder(FAKE_TEXT_DIM).encode([itemText({ title: body.title, brand: body.brand, description: null, categories: body.categories }, DEFAULT_ITEM_TEXT)!]);
    const q = fusionForward(bundle.fusion!, { text: t.slice(0, FAKE_TEXT_DIM), image: fakeImageVector(Buffer.from('new-item-image')) });
    const qn = Math.hypot(...q);
    const c = bundle.content.fused!;
    const sims: [number, number][] = [];
    for (let i = 0; i < c.present.length; i++) {
      if (!c.present[i]) continue;
      let s = 0;
      for (let d = 0; d < c.dim; d++) s += c.vectors[i * c.dim + d] * q[d];
      sims.push([i, s / qn]);
    }
    sims.sort((a, b) => b[1] - a[1]);
    assert.equal(res.similar.fused[0].item_id, bundle.itemIds[sims[0][0]]);
    assert.ok(Math.abs(res.similar.fused[0].score - sims[0][1]) < 1e-3, `${res.similar.fused[0].score} vs ${sims[0][1]}`);
    // Reach counts the fused neighbours too: without the fusion weights the same request reaches fewer
    // neighbours and scores its users differently.
    const served = ctx.state.variants.get('default')!.bundle;
    served.fusion = null;
    const plain = (await app.inject({ method: 'POST', url: '/v1/items/cold-start', payload: body })).json();
    assert.deepEqual(plain.modalities, ['text', 'image']);
    assert.ok(res.neighbours_used > plain.neighbours_used, `${res.neighbours_used} vs ${plain.neighbours_used}`);
    assert.notDeepEqual(res.users.map((u: { score: number }) => u.score), plain.users.map((u: { score: number }) => u.score));
  } finally {
    await app.close();
  }
});
