import type { Command } from 'commander';
import { ppError } from '../errors.js';
import { loadConfig } from '../config/load.js';
import { embedItemsImage, type EmbedImagesOptions, type EmbedImagesSummary } from '../embeddings/image/embed-images.js';
import { runCommand, type GlobalOptions } from './output.js';
import { createProgress } from './progress.js';

export const renderEmbedImage = (s: EmbedImagesSummary) =>
  [
    `embedded ${s.present.toLocaleString('en-US')} of ${s.count.toLocaleString('en-US')} items of ${s.name} with ${s.encoder} (${s.dim}-d${s.normalised ? ', L2-normalised' : ''}) in ${s.seconds.toFixed(1)} s (${s.items_per_s.toFixed(1)} items/s)`,
    `  cache hits ${s.cache_hits.toLocaleString('en-US')}, encoded ${s.encoded.toLocaleString('en-US')}` +
      (s.encoded > 0 ? ` (${s.encode_items_per_s.toFixed(1)} images/s)` : '') +
      (s.duplicates > 0 ? `, repeated pictures ${s.duplicates.toLocaleString('en-US')}` : ''),
    `  sources: ${s.local_files.toLocaleString('en-US')} local files, ${s.downloaded.toLocaleString('en-US')} downloaded (${(s.downloaded_bytes / 1e6).toFixed(1)} MB), ${s.download_cache_hits.toLocaleString('en-US')} from the download cache`,
    `  missing (zero rows) ${s.missing.toLocaleString('en-US')}: no image ${s.no_image.toLocaleString('en-US')}, failed ${s.failed.toLocaleString('en-US')}` +
      (s.failed > 0 ? ` (${Object.entries(s.failure_counts).map(([c, n]) => `${c} ${n}`).join(', ')})` : ''),
    ...s.failures.slice(0, 3).map((f) => `    item ${f.iid}: ${f.code} ${f.message}`),
    `  ${s.paths.data}`,
  ].join('\n');

/** An optional integer flag (undefined when not given); PP_USAGE when it is not an integer. */
export function intFlag(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw ppError('PP_USAGE', `${flag} expects an integer, got "${String(v)}"`);
  return n;
}

/** The options of `embed image` (also those of the sharded embed-image step's shard and merge commands). */
export function imageEmbedOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--lake <dir>', 'lake folder')
    .requiredOption('--name <name>', 'dataset name in the lake')
    .option('--encoder <spec>', 'bundled-ort[?size=128&layer=out_relu&threads=2] (npm-shipped MobileNetV2 on onnxruntime, offline, 1280-d), bundled (the same weights on tfjs-wasm, 224 px, slow) or onnx:<path>[?size=224&resize=256&mean=r,g,b&std=r,g,b&layout=nchw&output=features&threads=2] (default: config embed.image.encoder)')
    .option('--batch <n>', 'images per encoder call (default: config embed.image.batch)')
    .option('--concurrency <n>', 'image files read / URLs downloaded at once (default: config embed.image.concurrency)')
    .option('--timeout-ms <n>', 'time limit of one download attempt (default: config embed.image.timeout_ms)')
    .option('--retries <n>', 'extra download attempts after 5xx/timeouts (default: config embed.image.retries)')
    .option('--max-bytes <n>', 'largest image accepted (default: config embed.image.max_bytes)')
    .option('--allow-private', 'allow image URLs on loopback/private addresses (SSRF guard off)')
    .option('--no-cache', 'download and encode everything again (skip <lake>/cache/images and <lake>/cache/embeddings)');
}

/** The parsed values of {@link imageEmbedOptions}: flags override the config keys embed.image.*. */
export function imageEmbedArgs(o: Record<string, unknown>): EmbedImagesOptions & { encoder: string } {
  const c = loadConfig({
    file: o.config as string | undefined,
    overrides: {
      'embed.image.encoder': o.encoder,
      'embed.image.batch': intFlag(o.batch, '--batch'),
      'embed.image.concurrency': intFlag(o.concurrency, '--concurrency'),
      'embed.image.timeout_ms': intFlag(o.timeoutMs, '--timeout-ms'),
      'embed.image.retries': intFlag(o.retries, '--retries'),
      'embed.image.max_bytes': intFlag(o.maxBytes, '--max-bytes'),
      'embed.image.allow_private': o.allowPrivate === true ? true : undefined,
    },
  });
  return {
    lake: String(o.lake),
    name: String(o.name),
    encoder: c['embed.image.encoder'],
    batch: c['embed.image.batch'],
    concurrency: c['embed.image.concurrency'],
    timeoutMs: c['embed.image.timeout_ms'],
    retries: c['embed.image.retries'],
    maxBytes: c['embed.image.max_bytes'],
    allowPrivate: c['embed.image.allow_private'],
    cache: o.cache !== false,
  };
}

/** `plotpointe embed image`: flags override the config keys embed.image.*. */
export function registerEmbedImageCommand(embed: Command, setExit: (code: number) => void): void {
  imageEmbedOptions(
    embed.command('image').description("embed the staged items' pictures (local files, or URLs fetched SSRF-safely) into <lake>/artifacts/<name>/embeddings/image.f32"),
  ).action(async (_o, cmd: Command) => {
    const o = cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
    setExit(await runCommand(o, () => embedItemsImage({ ...imageEmbedArgs(o), progress: createProgress }), renderEmbedImage));
  });
}
