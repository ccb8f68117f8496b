import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { ppError } from '../errors.js';
import { buildItemGraph, type ItemGraphSummary } from '../orchestration/item-graphs.js';
import type { ContentModality } from '../models/model.js';
import type { Symmetrize } from '../graphs/knn-graph.js';
import { createProgress, type Progress } from './progress.js';
import { runCommand, type GlobalOptions } from './output.js';

const renderKnn = (s: ItemGraphSummary) =>
  [
    `${s.modality} kNN graph of ${s.dataset}${s.split ? `/${s.split}` : ''}: ${s.items_with_modality.toLocaleString('en-US')} of ${s.items.toLocaleString('en-US')} items (${s.dim}-d, ${s.encoder}), k ${s.k}, cosine, symmetrize ${s.symmetrize}, built in ${s.seconds.build.toFixed(1)} s`,
    `  recall@${s.recall?.k ?? s.k} vs exact: ${s.recall ? `${s.recall.value.toFixed(4)} on ${s.recall.sample_rows} rows` : 'not measured'}`,
    `  degree min/mean/max ${s.stats.degree.min}/${s.stats.degree.mean.toFixed(2)}/${s.stats.degree.max}, isolated ${s.stats.isolated}, symmetry ${s.stats.symmetry.toFixed(3)}, similarity mean ${s.stats.similarity.mean.toFixed(4)}`,
    ...(s.warning ? [`  warning: ${s.warning}`] : []),
    `  ${s.paths.header}`,
  ].join('\n');

/** `plotpointe graph knn`: item–item kNN graphs per modality (text, image, fused). */
export function registerGraphCommands(program: Command, setExit: (code: number) => void): void {
  const graph = program.command('graph').description('item–item graphs for content-aware models');
  graph
    .command('knn')
    .description('cosine kNN graph over the items that have a modality, built with the ANN index, checked against exact search on a sample')
    .requiredOption('--modality <m>', 'text | image (staging item ids) | fused (per split: needs --split)')
    .option('--lake <dir>', 'lake folder (config lake.dir)')
    .option('--name <name>', 'dataset name (config dataset.name)')
    .option('--split <name>', 'split of the fused embeddings (fused only)')
    .option('--k <n>', 'neighbours per item (config graph.k)')
    .option('--symmetrize <s>', 'none (directed kNN) | union (A ∪ Aᵀ) | mutual (A ∩ Aᵀ) (config graph.symmetrize)')
    .option('--recall-sample <n>', 'rows checked against exact kNN, 0 = skip (config graph.recall_sample)')
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
                'graph.k': o.k,
                'graph.symmetrize': o.symmetrize,
                'graph.recall_sample': o.recallSample,
              },
            });
            const modality = String(o.modality) as ContentModality;
            if (!['text', 'image', 'fused'].includes(modality)) throw ppError('PP_USAGE', `--modality must be text, image or fused, got ${modality}`);
            const bars: Partial<Record<string, Progress>> = {};
            try {
              return await buildItemGraph({
                lake: c['lake.dir'],
                name: c['dataset.name'],
                modality,
                split: o.split,
                k: c['graph.k'],
                symmetrize: c['graph.symmetrize'] as Symmetrize,
                recallSample: c['graph.recall_sample'],
                onProgress: (phase, done, total) => (bars[phase] ??= createProgress(`knn ${phase}`, total, { unit: 'items' })).update(done),
              });
            } finally {
              for (const b of Object.values(bars)) b?.stop();
            }
          },
          renderKnn,
        ),
      );
    });
}
