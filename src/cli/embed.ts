import type { Command } from 'commander';
import { ppError } from '../errors.js';
import { embedItemsText, type EmbedTextSummary } from '../embeddings/embed-items.js';
import { DEFAULT_ITEM_TEXT, parseTextFields } from '../embeddings/text/item-text.js';
import { registerEmbedImageCommand } from './embed-image.js';
import { runCommand, type GlobalOptions } from './output.js';

const renderEmbedText = (s: EmbedTextSummary) =>
  [
    `embedded ${s.present.toLocaleString('en-US')} of ${s.count.toLocaleString('en-US')} items of ${s.name} with ${s.encoder} (${s.dim}-d) in ${s.seconds.toFixed(1)} s (${s.items_per_s.toFixed(1)} items/s)`,
    `  cache hits ${s.cache_hits.toLocaleString('en-US')}, encoded ${s.encoded.toLocaleString('en-US')}` +
      (s.encoded > 0 ? ` (${s.encode_items_per_s.toFixed(1)} texts/s)` : '') +
      `, missing (zero rows) ${s.missing.toLocaleString('en-US')}`,
    `  ${s.paths.data}`,
  ].join('\n');

function intFlag(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw ppError('PP_USAGE', `${flag} expects an integer, got "${String(v)}"`);
  return n;
}

/** `plotpointe embed text|image`: pretrained item embeddings. */
export function registerEmbedCommands(program: Command, setExit: (code: number) => void): void {
  const embed = program.command('embed').description('embed items with pretrained encoders (text, image)');
  embed
    .command('text')
    .description('embed the staged items\' text (title, brand, categories, description) into <lake>/artifacts/<name>/embeddings/text.f32')
    .requiredOption('--lake <dir>', 'lake folder')
    .requiredOption('--name <name>', 'dataset name in the lake')
    .option('--encoder <spec>', 'use-lite (512-d, bundled) or st:<folder> (a local sentence-transformers ONNX export)', 'use-lite')
    .option('--fields <list>', 'comma-separated text fields, in order', DEFAULT_ITEM_TEXT.fields.join(','))
    .option('--max-description-chars <n>', 'cut the description to this many characters', String(DEFAULT_ITEM_TEXT.maxDescriptionChars))
    .option('--max-chars <n>', 'cut the whole text to this many characters', String(DEFAULT_ITEM_TEXT.maxChars))
    .option('--batch <n>', 'texts per encoder call', '32')
    .option('--no-cache', 'encode everything again (skip the content-hash cache under <lake>/cache/embeddings)')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
      setExit(
        await runCommand(
          o,
          () =>
            embedItemsText({
              lake: String(o.lake),
              name: String(o.name),
              encoder: String(o.encoder),
              fields: parseTextFields(String(o.fields)),
              maxDescriptionChars: intFlag(o.maxDescriptionChars, '--max-description-chars'),
              maxChars: intFlag(o.maxChars, '--max-chars'),
              batch: intFlag(o.batch, '--batch'),
              cache: o.cache !== false,
            }),
          renderEmbedText,
        ),
      );
    });
  registerEmbedImageCommand(embed, setExit);
}
