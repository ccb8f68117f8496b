import { join, resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { generateDemo, type DemoSummary } from '../data/demo/generate.js';
import { ingest, type IngestSummary } from '../data/ingest.js';
import type { SplitSummary } from '../data/split/index.js';
import { runSplit, splitOptionsFromConfig } from '../cli/split.js';

export interface DemoJobSummary {
  lake: string;
  dataset: string;
  demo: Pick<DemoSummary, 'out' | 'counts' | 'seconds'>;
  ingest: Pick<IngestSummary, 'users' | 'items' | 'interactions' | 'records' | 'seconds' | 'paths'>;
  split: Pick<SplitSummary, 'name' | 'strategy' | 'users' | 'items' | 'interactions' | 'outDir'>;
  seconds: number;
}

/**
 * The main job on the embedded default data set (`npm start` → `plotpointe demo`): generate the demo
 * catalog, ingest it into the lake (validation, Parquet staging, data card) and split it. Later stages
 * (embeddings, graphs, training, index, serving) join as they land, through the pipeline runner.
 */
export async function runDemoJob(config: Config): Promise<DemoJobSummary> {
  const started = performance.now();
  const lake = resolve(config['lake.dir']);
  const dataset = config['dataset.name'];
  const demo = await generateDemo({
    out: resolve(config['demo.dir']),
    seed: config['demo.seed'],
    users: config['demo.users'],
    items: config['demo.items'],
    catalogItems: Math.max(config['demo.catalog_items'], config['demo.items']),
    images: config['demo.images'],
    format: 'amazon2018',
  });
  const ing = await ingest({
    format: 'amazon2018',
    inputs: [demo.files.meta, demo.files.reviews],
    lake,
    name: dataset,
    memoryLimit: config['ingest.memory_limit'],
  });
  const split = await runSplit(lake, dataset, config['split.name'], splitOptionsFromConfig(config));
  return {
    lake,
    dataset,
    demo: { out: demo.out, counts: demo.counts, seconds: demo.seconds },
    ingest: { users: ing.users, items: ing.items, interactions: ing.interactions, records: ing.records, seconds: ing.seconds, paths: ing.paths },
    split: { name: split.name, strategy: split.strategy, users: split.users, items: split.items, interactions: split.interactions, outDir: split.outDir },
    seconds: (performance.now() - started) / 1000,
  };
}

export const renderDemoJob = (s: DemoJobSummary) =>
  [
    `PlotPointe demo: ${s.demo.counts.catalogItems.toLocaleString('en-US')} products, ${s.demo.counts.users.toLocaleString('en-US')} users, ${s.demo.counts.reviews.toLocaleString('en-US')} reviews generated in ${s.demo.out}`,
    `  ingested into ${join(s.lake, 'staging', s.dataset)}: ${s.ingest.interactions.toLocaleString('en-US')} interactions, ${s.ingest.records.total.rejected} rejected`,
    `  split "${s.split.name}" (${s.split.strategy}): train ${s.split.interactions.train.toLocaleString('en-US')}, valid ${s.split.interactions.valid.toLocaleString('en-US')}, test ${s.split.interactions.test.toLocaleString('en-US')}`,
    `  data card: ${s.ingest.paths.datacard}`,
    `done in ${s.seconds.toFixed(1)} s`,
  ].join('\n');
