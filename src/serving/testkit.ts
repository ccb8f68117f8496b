/**
 * Test fixture of the serving tests: a small demo lake with two trained MF runs (different seeds), text
 * embeddings from a deterministic fake encoder (CountingEncoder, 16-d) and the serving bundles of both runs.
 */
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { generateDemo } from '../data/demo/generate.js';
import { ingest } from '../data/ingest.js';
import { runSplit, splitOptionsFromConfig } from '../cli/split.js';
import { runTraining } from '../train/run-training.js';
import { embedItemsText } from '../embeddings/embed-items.js';
import { CountingEncoder } from '../embeddings/testkit.js';
import { silentProgress } from '../cli/progress.js';
import { buildServingBundle } from '../index/build-serving.js';
import { tempDir } from '../test-support/fixtures.js';
import type { EncoderFactory } from './cold-start.js';

export interface ServeFixture {
  dir: string;
  lake: string;
  name: string;
  runA: string;
  runB: string;
}

export const FAKE_TEXT_DIM = 16;

/** Cold-start encoders for the fixture: the same fake text encoder the lake was embedded with. */
export const fakeEncoderFactory: EncoderFactory = async (modality, spec) => {
  if (modality === 'text' && spec === 'fake') return new CountingEncoder(FAKE_TEXT_DIM);
  throw new Error(`no fake ${modality} encoder ${spec}`);
};

export async function buildServeFixture(prefix: string): Promise<ServeFixture> {
  const dir = tempDir(prefix);
  const lake = join(dir, 'lake');
  const config = loadConfig({
    overrides: { 'lake.dir': lake },
  });
  const name = 'demo';
  const demo = await generateDemo({ out: join(dir, 'demo'), seed: 42, users: 200, items: 240, catalogItems: 240, images: false, format: 'amazon2018' });
  await ingest({ format: 'amazon2018', inputs: [demo.files.meta, demo.files.reviews], lake, name, progress: () => silentProgress });
  await runSplit(lake, name, config['split.name'], splitOptionsFromConfig(config));
  const params = { epochs: 8, evalEvery: 4, lr: 0.01, batch: 256, dim: 32 };
  const a = await runTraining({ lake, name, split: config['split.name'], model: 'mf', params, seed: 1, ks: [20] });
  const b = await runTraining({ lake, name, split: config['split.name'], model: 'mf', params, seed: 2, ks: [20] });
  await embedItemsText({ lake, name, encoder: new CountingEncoder(FAKE_TEXT_DIM), cache: false, progress: () => silentProgress });
  for (const runId of [a.run_id, b.run_id]) await buildServingBundle({ lake, name, runId, threads: 1 });
  return { dir, lake, name, runA: a.run_id, runB: b.run_id };
}
