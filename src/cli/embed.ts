import type { Command } from 'commander';
import { ppError } from '../errors.js';
import { embedItemsText, type EmbedTextSummary } from '../embeddings/embed-items.js';
import { DEFAULT_ITEM_TEXT, parseTextFields } from '../embeddings/text/item-text.js';
import { intFlag, registerEmbedImageCommand } from './embed-image.js';
import { fuseSplit, type FuseSummary } from '../orchestration/fuse-split.js';
import type { ContentModality } from '../models/model.js';
import { FUSION_TRAIN_DEFAULTS, FUSION_USER_TOWERS, type FusionUserTower } from '../models/fusion/fusion-bpr.js';
import { runCommand, type GlobalOptions } from './output.js';
import { createProgress } from './progress.js';

const renderEmbedText = (s: EmbedTextSummary) =>
  [
    `embedded ${s.present.toLocaleString('en-US')} of ${s.count.toLocaleString('en-US')} items of ${s.name} with ${s.encoder} (${s.dim}-d) in ${s.seconds.toFixed(1)} s (${s.items_per_s.toFixed(1)} items/s)`,
    `  cache hits ${s.cache_hits.toLocaleString('en-US')}, encoded ${s.encoded.toLocaleString('en-US')}` +
      (s.encoded > 0 ? ` (${s.encode_items_per_s.toFixed(1)} texts/s)` : '') +
      `, missing (zero rows) ${s.missing.toLocaleString('en-US')}`,
    `  ${s.paths.data}`,
  ].join('\n');

const renderFuse = (s: FuseSummary) =>
  [
    `fused ${s.modalities.join(' + ')} of ${s.count.toLocaleString('en-US')} items of ${s.name}/${s.split} into ${s.dim}-d in ${s.seconds.toFixed(1)} s` +
      (s.missing_modalities.length ? ` (no ${s.missing_modalities.join(', ')} embeddings)` : ''),
    `  best epoch ${s.best_epoch} of ${s.epochs} (${s.stopped_by}); valid ndcg@20 ${(s.valid['ndcg@20'] ?? NaN).toFixed(4)}, content-only test ndcg@20 ${(s.test['ndcg@20'] ?? NaN).toFixed(4)}`,
    `  ${s.paths.data}`,
  ].join('\n');

/** The options of `embed text` (also those of the sharded embed-text step's shard and merge commands). */
export function textEmbedOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--lake <dir>', 'lake folder')
    .requiredOption('--name <name>', 'dataset name in the lake')
    .option('--encoder <spec>', 'use-lite-static (512-d, USE lite distilled into a token table; fast), use-lite (512-d, the transformer, bundled) or st:<folder> (a local sentence-transformers ONNX export)', 'use-lite-static')
    .option('--fields <list>', 'comma-separated text fields, in order', DEFAULT_ITEM_TEXT.fields.join(','))
    .option('--max-description-chars <n>', 'cut the description to this many characters', String(DEFAULT_ITEM_TEXT.maxDescriptionChars))
    .option('--max-chars <n>', 'cut the whole text to this many characters', String(DEFAULT_ITEM_TEXT.maxChars))
    .option('--batch <n>', 'texts per encoder call', '32')
    .option('--no-cache', 'encode everything again (skip the content-hash cache under <lake>/cache/embeddings)');
}

/** The parsed values of {@link textEmbedOptions}. */
export function textEmbedArgs(o: Record<string, unknown>) {
  return {
    lake: String(o.lake),
    name: String(o.name),
    encoder: String(o.encoder),
    fields: parseTextFields(String(o.fields)),
    maxDescriptionChars: intFlag(o.maxDescriptionChars, '--max-description-chars'),
    maxChars: intFlag(o.maxChars, '--max-chars'),
    batch: intFlag(o.batch, '--batch'),
    cache: o.cache !== false,
    progress: createProgress,
  };
}

/** `plotpointe embed text|image`: pretrained item embeddings. */
export function registerEmbedCommands(program: Command, setExit: (code: number) => void): void {
  const embed = program.command('embed').description('embed items with pretrained encoders (text, image)');
  textEmbedOptions(
    embed
      .command('text')
      .description('embed the staged items\' text (title, brand, categories, description) into <lake>/artifacts/<name>/embeddings/text.f32'),
  )
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
      setExit(
        await runCommand(
          o,
          () =>
            embedItemsText(textEmbedArgs(o)),
          renderEmbedText,
        ),
      );
    });
  embed
    .command('fuse')
    .description("train the fusion MLP of a split by content-only BPR (early stopping on valid) and write every split item's fused vector to <lake>/artifacts/<name>/splits/<split>/embeddings/fused.f32")
    .requiredOption('--lake <dir>', 'lake folder')
    .requiredOption('--name <name>', 'dataset name in the lake')
    .requiredOption('--split <name>', 'split whose train part trains the fusion')
    .option('--modalities <list>', 'comma-separated content modalities (text,image); default: those the lake has')
    .option('--dim <n>', 'fused vector size', '128')
    .option('--hidden <n>', 'hidden units of the MLP', '256')
    .option('--epochs <n>', 'maximum epochs', '200')
    .option('--steps-per-epoch <n>', 'BPR batches per epoch, sampled from the train interactions (0 = one full pass: cost grows with the interactions)', '32')
    .option('--eval-users <n>', 'users in the seeded sample that valid (early stopping) and test NDCG are computed on (0 = all)', '2000')
    .option('--user-tower <t>', 'mean (a user is the mean of their train items\' fused vectors: learns at any number of users), free (a learned vector per user) or mean+free (the mean plus a learned residual)', FUSION_TRAIN_DEFAULTS.userTower)
    .option('--lr <x>', 'Adam learning rate', '0.001')
    .option('--seed <n>', 'seed', '42')
    .option('--budget-min <m>', 'wall-clock budget for training, minutes')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
      const lr = Number(o.lr);
      const budget = o.budgetMin === undefined ? undefined : Number(o.budgetMin);
      setExit(
        await runCommand(
          o,
          () => {
            if (!(lr > 0)) throw ppError('PP_USAGE', `--lr expects a positive number, got "${String(o.lr)}"`);
            if (!FUSION_USER_TOWERS.includes(o.userTower as FusionUserTower)) throw ppError('PP_USAGE', `--user-tower expects ${FUSION_USER_TOWERS.join(' or ')}, got "${String(o.userTower)}"`);
            if (budget !== undefined && !(budget > 0)) throw ppError('PP_USAGE', `--budget-min expects a positive number, got "${String(o.budgetMin)}"`);
            return fuseSplit({
              lake: String(o.lake),
              name: String(o.name),
              split: String(o.split),
              modalities: o.modalities === undefined ? undefined : (String(o.modalities).split(',').map((x) => x.trim()).filter(Boolean) as ContentModality[]),
              seed: intFlag(o.seed, '--seed'),
              budgetMinutes: budget,
              evalUsers: intFlag(o.evalUsers, '--eval-users'),
              train: { dim: intFlag(o.dim, '--dim'), hidden: intFlag(o.hidden, '--hidden'), epochs: intFlag(o.epochs, '--epochs'), stepsPerEpoch: intFlag(o.stepsPerEpoch, '--steps-per-epoch'), lr, userTower: o.userTower as FusionUserTower },
              progress: createProgress,
            });
          },
          renderFuse,
        ),
      );
    });
  registerEmbedImageCommand(embed, setExit);
}
