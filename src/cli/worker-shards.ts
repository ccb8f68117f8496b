import type { Command } from 'commander';
import { imageEmbedArgs, imageEmbedOptions, intFlag, renderEmbedImage } from './embed-image.js';
import { textEmbedArgs, textEmbedOptions } from './embed.js';
import { mergeTextShards, runTextShard, type TextShardOptions, type TextShardSummary } from '../pipeline/shards/embed-text.js';
import { mergeImageShards, runImageShard, type ImageShardSummary } from '../pipeline/shards/embed-image.js';
import { runCommand, type GlobalOptions } from './output.js';
import { createProgress } from './progress.js';
import { registerEvaluateShardCommands } from './shard-evaluate.js';
import { registerGraphShardCommands } from './graph.js';

/**
 * `plotpointe pipeline shard <step>` and `plotpointe pipeline merge <step>`: the sharded form of a step, as
 * the distributed executor runs it when `pipeline.shards` > 0 (shard jobs on any workers, then the merge).
 * embed-text and embed-image (src/pipeline/shards/; the options are those of `embed text` / `embed image`, so the
 * step's extra arguments from the pipeline file apply to its shards and merge alike), the kNN graphs (graph-knn,
 * options of `graph knn`: src/pipeline/shards/graph-knn.ts) and evaluate (src/cli/shard-evaluate.ts).
 */
function textOptions(cmd: Command): Command {
  return textEmbedOptions(cmd).requiredOption('--of <n>', 'number of shards');
}

const textShardOptions = (o: Record<string, unknown>): TextShardOptions & { of: number } => ({ ...textEmbedArgs(o), of: intFlag(o.of, '--of')! });

export function registerShardCommands(pipeline: Command, setExit: (code: number) => void): void {
  const shard = pipeline.command('shard').description('run one shard of a shardable step (what distributed workers run when pipeline.shards > 0)');
  textOptions(shard.command('embed-text').description('encode one shard (--part i of --of n) of the embed-text encoder batches into a part file under <lake>/pipeline/shards/embed-text/'))
    .requiredOption('--part <i>', 'this shard, 0-based')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
      setExit(
        await runCommand(
          o,
          () => runTextShard({ ...textShardOptions(o), part: intFlag(o.part, '--part')!, progress: createProgress }),
          (s: TextShardSummary) => `embed-text shard ${s.part + 1}/${s.of}: keys [${s.start}, ${s.end}) of ${s.keys} in ${s.batches} batches (cache hits ${s.cache_hits}, encoded ${s.encoded}) in ${s.seconds.toFixed(1)} s\n  ${s.path}`,
        ),
      );
    });
  const merge = pipeline.command('merge').description('assemble the part files of a sharded step into the artifact its unsharded command writes');
  textOptions(merge.command('embed-text').description('merge the --of embed-text part files into <lake>/artifacts/<name>/embeddings/text.{f32,mask,json}')).action(async (_o, cmd: Command) => {
    const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
    setExit(
      await runCommand(
        o,
        () => mergeTextShards(textShardOptions(o)),
        (s) => `merged ${s.shards} shards: ${s.present.toLocaleString('en-US')} of ${s.count.toLocaleString('en-US')} items of ${s.name} with ${s.encoder} (${s.dim}-d)\n  ${s.paths.data}`,
      ),
    );
  });
  registerEvaluateShardCommands(shard, merge, setExit);
  imageEmbedOptions(shard.command('embed-image').description('encode the pictures of one shard (--part i of --of n) of the picture rows into the embedding cache under <lake>/cache/embeddings/'))
    .requiredOption('--of <n>', 'number of shards')
    .requiredOption('--part <i>', 'this shard, 0-based')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
      setExit(
        await runCommand(
          o,
          () => runImageShard({ ...imageEmbedArgs(o), of: intFlag(o.of, '--of')!, part: intFlag(o.part, '--part')!, progress: createProgress }),
          (s: ImageShardSummary) => `embed-image shard ${s.part + 1}/${s.of}: picture rows [${s.start}, ${s.end}) of ${s.rows} (cache hits ${s.cache_hits}, encoded ${s.encoded}, repeated ${s.duplicates}, unreadable ${s.failed}) in ${s.seconds.toFixed(1)} s`,
        ),
      );
    });
  imageEmbedOptions(merge.command('embed-image').description('check the --of embed-image part headers and run embed image on the cache they filled (writes <lake>/artifacts/<name>/embeddings/image.{f32,mask,json})'))
    .requiredOption('--of <n>', 'number of shards')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
      setExit(
        await runCommand(
          o,
          () => mergeImageShards({ ...imageEmbedArgs(o), of: intFlag(o.of, '--of')!, progress: createProgress }),
          (s) => `merged ${s.shards} shards (they encoded ${s.shard_encoded.toLocaleString('en-US')} pictures)\n${renderEmbedImage(s)}`,
        ),
      );
    });
  registerGraphShardCommands(shard, merge, setExit);
}
