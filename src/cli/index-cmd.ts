import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { buildServingBundle, type BuildServingSummary } from '../index/build-serving.js';
import { createProgress, type Progress } from './progress.js';
import { runCommand, type GlobalOptions } from './output.js';

const renderBuild = (s: BuildServingSummary) =>
  [
    `serving bundle of run ${s.run_id} (${s.model}, ${s.dim}-d): ${s.users.toLocaleString('en-US')} users, ${s.items.toLocaleString('en-US')} items, ${s.history_edges.toLocaleString('en-US')} history edges${s.attention ? ' with attention' : ''} in ${s.seconds.toFixed(1)} s`,
    ...Object.entries(s.indexes).map(([m, x]) => `  index ${m}: ${x.size.toLocaleString('en-US')} × ${x.dim} (${x.metric}) in ${x.build_seconds.toFixed(1)} s`),
    `  item graph for explanations: ${s.item_graph ?? 'none'}`,
    `  ${s.dir}`,
  ].join('\n');

/** `plotpointe index build`: the serving bundle of a run (embeddings, id maps, metadata, ANN indexes). */
export function registerIndexCommands(program: Command, setExit: (code: number) => void): void {
  const index = program.command('index').description('serving indexes: build the serving bundle of a run');
  index
    .command('build')
    .description('write <lake>/artifacts/<name>/<run>/serving/: embeddings, id maps, item metadata and one usearch index per modality (graph, text, image, fused)')
    .option('--lake <dir>', 'lake folder (config lake.dir)')
    .option('--name <name>', 'dataset name (config dataset.name)')
    .option('--run <id>', 'the run to serve (default: the blessed run of the dataset)')
    .option('--connectivity <n>', 'HNSW M (config index.connectivity)')
    .option('--expansion-add <n>', 'HNSW efConstruction (config index.expansion_add)')
    .option('--expansion-search <n>', 'HNSW ef at query time (config index.expansion_search)')
    .option('--quantization <q>', 'f32 | f16 (config index.quantization)')
    .option('--similar-k <k>', 'precomputed similar items per item and modality, 0 = none (config index.similar_k)')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, string | undefined>;
      setExit(
        await runCommand(
          o,
          async () => {
            const c = loadConfig({
              file: o.config,
              overrides: {
                'lake.dir': o.lake,
                'dataset.name': o.name,
                'index.connectivity': o.connectivity,
                'index.expansion_add': o.expansionAdd,
                'index.expansion_search': o.expansionSearch,
                'index.quantization': o.quantization,
                'index.similar_k': o.similarK,
              },
            });
            const bars = new Map<string, Progress>();
            try {
              return await buildServingBundle({
                lake: c['lake.dir'],
                name: c['dataset.name'],
                runId: o.run,
                connectivity: c['index.connectivity'],
                expansionAdd: c['index.expansion_add'],
                expansionSearch: c['index.expansion_search'],
                quantization: c['index.quantization'] as 'f32' | 'f16',
                similarK: c['index.similar_k'],
                onProgress: (stage, done, total) => {
                  let bar = bars.get(stage);
                  if (!bar) bars.set(stage, (bar = createProgress(stage, total, { unit: 'vectors' })));
                  bar.update(done);
                },
              });
            } finally {
              for (const b of bars.values()) b.stop();
            }
          },
          renderBuild,
        ),
      );
    });
}
