import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diskFullOr, ppError } from '../errors.js';
import { openDb } from '../lake/duckdb.js';
import { failpoint } from '../core/failpoint.js';
import { writeManifest } from '../lake/manifest.js';
import { datasetPaths, STAGING_FILES, stagingFiles } from '../lake/paths.js';
import { newDatasetBuild, openDataset, publishDatasetVersion } from '../lake/dataset.js';
import { silentProgressFactory, type ProgressFactory } from '../core/progress.js';
import { getFormat } from './formats/registry.js';
import { gatherInputs } from './inputs.js';
import { DEFAULT_LIMITS, type InputLimits } from './io/line-guard.js';
import { StagingSink } from './staging-sink.js';
import { stageValidated } from './validate.js';
import { computeDataCard, renderDataCard, type DataCard } from './datacard.js';

export interface IngestOptions {
  format: string;
  /** Files, folders (their files) or http(s) URLs. */
  inputs: string[];
  lake: string;
  name: string;
  /** Reader options (`--opt key=value`), e.g. csv column mappings. */
  readerOptions?: Record<string, string>;
  /** DuckDB memory limit for validation (default 2GB). */
  memoryLimit?: string;
  /** Progress display (the CLI passes its bar); default silent. */
  progress?: ProgressFactory;
  /** Line and input size caps (`ingest.max_line_bytes`, `ingest.max_input_bytes`); default DEFAULT_LIMITS. */
  limits?: InputLimits;
}

/** Records read = staged + rejected, per kind. */
export interface Reconciliation {
  read: number;
  staged: number;
  rejected: number;
}

export interface IngestSummary {
  name: string;
  format: string;
  users: number;
  /** Catalog items (staged from metadata, plus items known only from interactions). */
  items: number;
  items_with_interactions: number;
  interactions: number;
  given_split: Record<string, number> | null;
  records: { items: Reconciliation; interactions: Reconciliation; total: Reconciliation };
  reconciled: boolean;
  items_without_metadata: number;
  rejects_by_reason: Record<string, number>;
  /** Files of an input folder that are not the format's files (by name), left out of raw and not read. */
  skipped_files: string[];
  seconds: number;
  records_per_s: number;
  /** Peak resident memory of this process so far (DuckDB's native memory included). */
  peak_rss_mb: number;
  /** Seconds per phase: gather (copy/download + sha256), parse, validate (DuckDB → Parquet), datacard. */
  timings: Record<string, number>;
  paths: { raw: string; staging: string; rejects: string; datacard: string };
}

/**
 * `plotpointe data ingest`: inputs → raw (copies + sha256 manifest) → format reader → validation →
 * staging Parquet (items, interactions, id maps, rejects) + data card + manifest.
 * Every record ends staged or rejected with a reason; a fatal problem (missing input, truncated gzip, unknown
 * format) throws a coded error and leaves no partial output, because raw and staging are built in one temporary
 * version folder and published together by one atomic pointer switch at the end (src/lake/dataset.ts).
 */
export async function ingest(options: IngestOptions): Promise<IngestSummary> {
  const started = performance.now();
  const reader = getFormat(options.format);
  const readerOptions = options.readerOptions ?? {};
  // Opening the dataset cleans what a killed ingest left; the new version is built beside the current one.
  await openDataset(options.lake, options.name);
  const paths = datasetPaths(options.lake, options.name);
  const makeProgress = options.progress ?? silentProgressFactory;

  const build = await newDatasetBuild(options.lake, options.name);
  const rawTmp = build.raw;
  const stagingTmp = build.staging;
  const workDir = join(stagingTmp, '_work');
  await mkdir(workDir, { recursive: true });
  try {
    const timings: Record<string, number> = {};
    let mark = performance.now();
    const lap = (phase: string) => {
      const now = performance.now();
      timings[phase] = Math.round(now - mark) / 1000;
      mark = now;
    };
    const limits = options.limits ?? DEFAULT_LIMITS;
    const raw = await gatherInputs(options.inputs, rawTmp, {
      onStatus: (m) => process.stderr.write(m + '\n'),
      accepts: reader.accepts,
      maxInputBytes: limits.maxInputBytes,
    });
    lap('gather_s');
    failpoint('ingest.after-gather');
    const totalBytes = raw.manifest.reduce((s, m) => s + m.bytes, 0);
    const rules = reader.rules(readerOptions, raw.files);

    // Parse.
    const sink = new StagingSink(workDir);
    const progress = makeProgress(`ingest ${options.name}`, Math.ceil(totalBytes / 1e6), { unit: 'MB' });
    // Readers report bytes read within the current file; a smaller value means the next file has started.
    let doneBytes = 0;
    let lastBytes = 0;
    try {
      await reader.read(raw.files, {
        sink,
        options: readerOptions,
        limits,
        onBytes: (bytes) => {
          if (bytes < lastBytes) doneBytes += lastBytes;
          lastBytes = bytes;
          progress.update(Math.round((doneBytes + bytes) / 1e6));
        },
      });
      progress.update(Math.ceil(totalBytes / 1e6));
    } finally {
      sink.close();
      progress.stop();
    }
    lap('parse_s');
    failpoint('ingest.after-parse');

    // Validate and stage.
    const db = await openDb({ memoryLimit: options.memoryLimit ?? '2GB', tempDirectory: join(workDir, 'duckdb') });
    let counts;
    let card: DataCard;
    try {
      counts = await stageValidated(db, workDir, stagingTmp, rules);
      lap('validate_s');
      card = await computeDataCard(db, options.name, options.format);
      lap('datacard_s');
    } finally {
      db.close();
    }
    await rm(workDir, { recursive: true, force: true });

    const items: Reconciliation = {
      read: sink.counts.items + sink.counts.itemRejects,
      staged: counts.itemsStaged,
      rejected: counts.itemsRejected,
    };
    const interactions: Reconciliation = {
      read: sink.counts.interactions + sink.counts.interactionRejects,
      staged: counts.interactionsStaged,
      rejected: counts.interactionsRejected,
    };
    const total: Reconciliation = {
      read: items.read + interactions.read,
      staged: items.staged + interactions.staged,
      rejected: items.rejected + interactions.rejected,
    };
    const reconciled = [items, interactions].every((r) => r.read === r.staged + r.rejected);
    if (!reconciled) {
      throw ppError('PP_INTERNAL', `records do not reconcile: ${JSON.stringify({ items, interactions })}`);
    }
    if (counts.interactionsStaged === 0 && counts.itemsStaged === 0) {
      throw ppError('PP_INGEST_NO_RECORDS', `${total.read} records read, all rejected (${JSON.stringify(counts.rejectsByReason)})`);
    }

    await writeFile(stagingFiles(stagingTmp).datacardJson, JSON.stringify(card, null, 2) + '\n');
    await writeFile(stagingFiles(stagingTmp).datacardMd, renderDataCard(card));
    const seconds = (performance.now() - started) / 1000;
    const tallies = {
      users: counts.users,
      items: counts.items,
      items_staged: counts.itemsStaged,
      items_derived: counts.itemsDerived,
      interactions: counts.interactionsStaged,
      rejects: total.rejected,
      records_read: total.read,
    };
    await writeManifest(rawTmp, {
      stage: 'raw',
      config: { format: options.format },
      inputs: raw.manifest,
      counts: { files: raw.files.length, bytes: totalBytes },
      seconds: 0,
    });
    await writeManifest(stagingTmp, {
      stage: 'ingest',
      config: { format: options.format, reader_options: readerOptions, rules },
      inputs: raw.manifest,
      counts: tallies,
      seconds,
      files: STAGING_FILES,
    });

    // raw and staging switch together: one rename of the dataset pointer (src/lake/dataset.ts).
    await publishDatasetVersion(options.lake, options.name, build.dir);
    return {
      name: options.name,
      format: options.format,
      users: counts.users,
      items: counts.items,
      items_with_interactions: card.counts.items_with_interactions,
      interactions: counts.interactionsStaged,
      given_split: card.given_split,
      records: { items, interactions, total },
      reconciled,
      items_without_metadata: counts.itemsDerived,
      rejects_by_reason: counts.rejectsByReason,
      skipped_files: raw.skipped,
      seconds,
      records_per_s: total.read / seconds,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      timings,
      paths: {
        raw: paths.raw,
        staging: paths.staging,
        rejects: paths.stagingFiles.rejects,
        datacard: paths.stagingFiles.datacardMd,
      },
    };
  } catch (err) {
    // A full disk anywhere (raw copies, the sink's work files, DuckDB, the data card) is PP_DISK_FULL.
    throw diskFullOr(err, `ingest ${options.name}`);
  } finally {
    await rm(build.dir, { recursive: true, force: true });
  }
}
