import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ppError } from '../errors.js';
import { datasetPaths } from '../lake/paths.js';
import { FORMATS } from '../data/formats/registry.js';
import { ingest, type IngestSummary } from '../data/ingest.js';
import { renderDataCard, type DataCard } from '../data/datacard.js';
import { fetchDataset, type FetchSummary } from '../data/fetch.js';
import { fetchCatalog } from '../data/fetch-catalog.js';
import { createProgress, type Progress } from './progress.js';
import { loadConfig } from '../config/load.js';
import { registerSplitCommand, renderSplit } from './split.js';
import { runSplit, splitOptionsFromConfig } from '../data/split/run-split.js';
import { generateDemo, type DemoSummary } from '../data/demo/generate.js';
import { runCommand, type GlobalOptions } from './output.js';

/** Parses repeated `key=value` flags. */
export function parseKeyValues(values: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of values ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw ppError('PP_USAGE', `${flag} expects key=value, got "${kv}"`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

const renderIngest = (s: IngestSummary) =>
  [
    `ingested ${s.name} (${s.format}) in ${s.seconds.toFixed(1)} s (${Math.round(s.records_per_s).toLocaleString('en-US')} records/s)`,
    `  users ${s.users.toLocaleString('en-US')}, items ${s.items.toLocaleString('en-US')}, interactions ${s.interactions.toLocaleString('en-US')}` +
      (s.given_split ? ` (${Object.entries(s.given_split).map(([k, v]) => `${v.toLocaleString('en-US')} ${k}`).join(' + ')})` : ''),
    `  records read ${s.records.total.read.toLocaleString('en-US')} = staged ${s.records.total.staged.toLocaleString('en-US')} + rejected ${s.records.total.rejected.toLocaleString('en-US')}`,
    ...Object.entries(s.rejects_by_reason).map(([k, v]) => `    rejected ${k}: ${v.toLocaleString('en-US')}`),
    ...(s.skipped_files.length > 0 ? [`  skipped (not ${s.format} files): ${s.skipped_files.join(', ')}`] : []),
    `  staging: ${s.paths.staging}`,
    `  data card: ${s.paths.datacard}`,
  ].join('\n');

export function registerDataCommands(program: Command, setExit: (code: number) => void): void {
  const data = program.command('data').description('ingest, validate, split and generate data sets');
  const globals = (cmd: Command) => cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;

  data
    .command('ingest')
    .description('read raw files into validated Parquet staging with rejects and a data card')
    .requiredOption('--format <format>', `input format: ${[...FORMATS.keys()].join(', ')}`)
    .requiredOption('--input <paths...>', 'input files, folders or http(s) URLs (plain or gzip)')
    .requiredOption('--lake <dir>', 'lake folder')
    .requiredOption('--name <name>', 'dataset name in the lake')
    .option('--opt <key=value...>', 'reader options, e.g. csv column mapping user=reviewerID')
    .option('--memory-limit <size>', 'DuckDB memory limit for validation (spills to disk beyond it)', '2GB')
    .option('--max-line-bytes <n>', 'longest input line in bytes; longer lines are rejected unread (ingest.max_line_bytes, default 16 MiB)')
    .option('--max-input-bytes <n>', 'most bytes one input may decompress to, 0 = no cap (ingest.max_input_bytes)')
    .action(async (_o, cmd: Command) => {
      const o = globals(cmd);
      setExit(
        await runCommand(
          o,
          () => {
            const config = loadConfig({
              file: o.config as string | undefined,
              overrides: { 'ingest.max_line_bytes': o.maxLineBytes, 'ingest.max_input_bytes': o.maxInputBytes },
            });
            return ingest({
              format: String(o.format),
              inputs: o.input as string[],
              lake: String(o.lake),
              name: String(o.name),
              readerOptions: parseKeyValues(o.opt as string[] | undefined, '--opt'),
              memoryLimit: String(o.memoryLimit),
              limits: { maxLineBytes: config['ingest.max_line_bytes'], maxInputBytes: config['ingest.max_input_bytes'] },
              progress: createProgress,
            });
          },
          renderIngest,
        ),
      );
    });

  registerSplitCommand(data, async (cmd) => {
    const o = globals(cmd);
    setExit(
      await runCommand(
        o,
        async () => {
          const config = loadConfig({
            file: o.config as string | undefined,
            overrides: {
              'split.name': o.split,
              'split.strategy': o.strategy,
              'split.ratio': o.ratio,
              'split.leave_k': o.leaveK,
              'split.kcore': o.kcore,
              'split.valid_share': o.validShare,
              'split.cold_share': o.coldShare,
              'split.seed': o.seed,
            },
          });
          const minRating = o.minRating === undefined ? undefined : Number(o.minRating);
          const options = splitOptionsFromConfig(config, {
            validFrom: o.validFrom as string | undefined,
            testFrom: o.testFrom as string | undefined,
            minRating,
          });
          return runSplit(String(o.lake), String(o.name), config['split.name'], options, createProgress);
        },
        renderSplit,
      ),
    );
  });

  data
    .command('formats')
    .description('list the input formats and their reader options')
    .action(async (_o, cmd: Command) => {
      setExit(
        await runCommand(
          globals(cmd),
          async () => ({
            formats: [...FORMATS.values()].map((f) => ({ name: f.name, description: f.description, options: f.options ?? {} })),
          }),
          (r) =>
            r.formats
              .map((f) =>
                [`${f.name.padEnd(11)} ${f.description}`, ...Object.entries(f.options).map(([k, doc]) => `${''.padEnd(11)}   --opt ${k}=…  ${doc}`)].join('\n'),
              )
              .join('\n'),
        ),
      );
    });

  data
    .command('card')
    .description("print a staged dataset's data card")
    .requiredOption('--lake <dir>', 'lake folder')
    .requiredOption('--name <name>', 'dataset name in the lake')
    .action(async (_o, cmd: Command) => {
      const o = globals(cmd);
      const { staging, stagingFiles } = datasetPaths(String(o.lake), String(o.name));
      setExit(
        await runCommand(
          o,
          async () => {
            try {
              return JSON.parse(await readFile(stagingFiles.datacardJson, 'utf8')) as DataCard;
            } catch (err) {
              throw ppError('PP_LAKE_NOT_FOUND', `no data card in ${staging}; run plotpointe data ingest first`, err);
            }
          },
          renderDataCard,
        ),
      );
    });

  data
    .command('fetch')
    .description('download a public data set (Amazon 2014/2018 categories, MovieLens, Gowalla) for later ingest')
    .option('--dataset <target>', 'e.g. amazon2014:Electronics, amazon2018:Industrial_and_Scientific, movielens:ml-100k, gowalla')
    .option('--out <dir>', 'folder for the downloaded files')
    .option('--list', 'list the known data sets instead of downloading')
    .option('--force', 'download again even when the fetch manifest says a file is complete')
    .option('--base-url <url>', 'a mirror serving the same relative paths (also PLOTPOINTE_FETCH_BASE_URL)')
    .action(async (_o, cmd: Command) => {
      const o = globals(cmd);
      if (o.list) {
        setExit(
          await runCommand(
            o,
            async () => ({ datasets: fetchCatalog() }),
            (r) => r.datasets.map((d) => `${d.name.padEnd(12)} ${d.format.padEnd(11)} ${d.title}`).join('\n'),
          ),
        );
        return;
      }
      setExit(
        await runCommand(
          o,
          async () => {
            if (!o.dataset || !o.out) throw ppError('PP_USAGE', 'data fetch needs --dataset and --out (or --list)');
            const bars = new Map<string, Progress>();
            try {
              return await fetchDataset(String(o.dataset), String(o.out), {
                force: Boolean(o.force),
                baseUrlOverride: o.baseUrl as string | undefined,
                onProgress: (file, bytes, total) => {
                  let bar = bars.get(file);
                  if (!bar) bars.set(file, (bar = createProgress(`fetch ${file}`, Math.ceil((total ?? 0) / 1e6), { unit: 'MB' })));
                  bar.update(Math.round(bytes / 1e6));
                },
              });
            } finally {
              for (const b of bars.values()) b.stop();
            }
          },
          (s: FetchSummary) =>
            [`fetched ${s.target} into ${s.outDir} (${s.files.length} files)`, `next: ${s.ingestCommand}`].join('\n'),
        ),
      );
    });

  data
    .command('demo')
    .description('generate the demo electronics catalog (Amazon 2018 or 2014 format) with product images')
    .requiredOption('--out <dir>', 'output folder')
    .option('--seed <n>', 'seed: the same seed gives the same bytes', '42')
    .option('--preset <p>', 'default | reference (192K users, 63K reviewed items, 498K catalog items, 1.69M reviews)')
    .option('--users <n>', 'users')
    .option('--items <n>', 'items with reviews')
    .option('--catalog-items <n>', 'catalog size (the extra items are never reviewed)')
    .option('--reviews <n>', 'exact total number of reviews')
    .option('--no-images', 'skip rendering product PNGs')
    .option('--format <f>', 'amazon2018 | amazon2014', 'amazon2018')
    .action(async (_o, cmd: Command) => {
      const o = globals(cmd);
      const int = (v: unknown) => (v === undefined ? undefined : Number(v));
      setExit(
        await runCommand(
          o,
          () =>
            generateDemo({
              out: String(o.out),
              seed: int(o.seed),
              preset: o.preset as 'default' | 'reference' | undefined,
              users: int(o.users),
              items: int(o.items),
              catalogItems: int(o.catalogItems),
              reviews: int(o.reviews),
              images: Boolean(o.images),
              format: o.format as 'amazon2018' | 'amazon2014',
            }, createProgress),
          (s: DemoSummary) =>
            `generated ${s.counts.catalogItems.toLocaleString('en-US')} products (${s.counts.images} images), ${s.counts.users.toLocaleString('en-US')} users and ${s.counts.reviews.toLocaleString('en-US')} reviews in ${s.out} (${s.seconds.toFixed(1)} s)`,
        ),
      );
    });
}
