import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { ppError } from '../errors.js';
import { buildItemGraph, type ItemGraphOptions, type ItemGraphSummary } from '../orchestration/item-graphs.js';
import { mergeGraphShards, runGraphShard, type GraphShardSummary } from '../pipeline/shards/graph-knn.js';
import { intFlag } from './embed-image.js';
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

/** The options of `graph knn` (and of its shards and merge) from the flags and the config. */
function knnOptions(o: GlobalOptions & Record<string, unknown>): ItemGraphOptions {
  const c = loadConfig({
    file: o.config as string | undefined,
    overrides: {
      'lake.dir': o.lake as string | undefined,
      'dataset.name': o.name as string | undefined,
      'graph.k': o.k as string | undefined,
      'graph.symmetrize': o.symmetrize as string | undefined,
      'graph.recall_sample': o.recallSample as string | undefined,
    },
  });
  const modality = String(o.modality) as ContentModality;
  if (!['text', 'image', 'fused'].includes(modality)) throw ppError('PP_USAGE', `--modality must be text, image or fused, got ${modality}`);
  return {
    lake: c['lake.dir'],
    name: c['dataset.name'],
    modality,
    split: o.split as string | undefined,
    k: c['graph.k'],
    symmetrize: c['graph.symmetrize'] as Symmetrize,
    recallSample: c['graph.recall_sample'],
  };
}

/** The options of `graph knn`, which its shard and merge commands take too. */
function knnFlags(cmd: Command): Command {
  return cmd
    .requiredOption('--modality <m>', 'text | image (staging item ids) | fused (per split: needs --split)')
    .option('--lake <dir>', 'lake folder (config lake.dir)')
    .option('--name <name>', 'dataset name (config dataset.name)')
    .option('--split <name>', 'split of the fused embeddings (fused only)')
    .option('--k <n>', 'neighbours per item (config graph.k)')
    .option('--symmetrize <s>', 'none (directed kNN) | union (A ∪ Aᵀ) | mutual (A ∩ Aᵀ) (config graph.symmetrize)')
    .option('--recall-sample <n>', 'rows checked against exact kNN, 0 = skip (config graph.recall_sample)');
}

const shardFlags = (cmd: Command): Command => knnFlags(cmd).requiredOption('--of <n>', 'number of shards');

/**
 * `plotpointe pipeline shard graph-knn` / `pipeline merge graph-knn`: the sharded form of the graph steps
 * (src/pipeline/shards/graph-knn.ts), registered under the pipeline command's `shard` and `merge`.
 */
export function registerGraphShardCommands(shard: Command, merge: Command, setExit: (code: number) => void): void {
  shardFlags(shard.command('graph-knn').description('search one shard (--part i of --of n) of the rows of an item–item kNN graph into a part file under <lake>/pipeline/shards/graph-<modality>/'))
    .requiredOption('--part <i>', 'this shard, 0-based')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
      setExit(
        await runCommand(
          o,
          () => runGraphShard({ ...knnOptions(o), part: intFlag(o.part, '--part')!, of: intFlag(o.of, '--of')! }),
          (s: GraphShardSummary) => `${s.step} shard ${s.part + 1}/${s.of}: rows [${s.from}, ${s.to}) of ${s.rows}, ${s.scored.toLocaleString('en-US')} candidates scored in ${s.seconds.toFixed(1)} s\n  ${s.path}`,
        ),
      );
    });
  shardFlags(merge.command('graph-knn').description('merge the --of part files of an item–item kNN graph into the CSR files `graph knn` writes')).action(async (_o, cmd: Command) => {
    const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
    setExit(await runCommand(o, () => mergeGraphShards({ ...knnOptions(o), of: intFlag(o.of, '--of')! }), renderKnn));
  });
}

/** `plotpointe graph knn`: item–item kNN graphs per modality (text, image, fused). */
export function registerGraphCommands(program: Command, setExit: (code: number) => void): void {
  const graph = program.command('graph').description('item–item graphs for content-aware models');
  knnFlags(
    graph
      .command('knn')
      .description('cosine kNN graph over the items that have a modality, built by cluster-probe search, checked against exact search on a sample'),
  ).action(async (_o, cmd: Command) => {
    const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
    setExit(
      await runCommand(
        o,
        async () => {
          const bars: Partial<Record<string, Progress>> = {};
          try {
            return await buildItemGraph({
              ...knnOptions(o),
              onProgress: (phase, done, total) => (bars[phase] ??= createProgress(`knn ${phase}`, total, { unit: 'clusters' })).update(done),
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
