import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { unzipSync, type UnzipFileInfo } from 'fflate';
import { isPlotPointeError, ppError, type PlotPointeError } from '../errors.js';
import { download, type DownloadOptions } from './io/download.js';
import { resolveFetchTarget, type FetchFile, type FetchTarget } from './fetch-catalog.js';

/**
 * `plotpointe data fetch`: downloads the files of a catalog target (see fetch-catalog.ts) into a folder,
 * extracts zips, records what was fetched in `fetch-manifest.json` and says how to ingest the result.
 */

/** Environment variable with the same meaning as `baseUrlOverride`. */
export const FETCH_BASE_URL_ENV = 'PLOTPOINTE_FETCH_BASE_URL';
/** Name of the manifest written into the output folder. */
export const FETCH_MANIFEST = 'fetch-manifest.json';
/** Refuse archives that would expand to more than this (zip bombs). */
const MAX_EXTRACTED_BYTES = 8 * 1024 ** 3;

export interface FetchDatasetOptions {
  /** Download progress per file: bytes so far and the file's total when known. */
  onProgress?: (file: string, bytes: number, total: number | undefined) => void;
  /** Replaces the published base URL (scheme + host + path prefix) of every file: the file is fetched from
   * `<baseUrlOverride>/<relPath>` and mirrors are not tried. Defaults to env PLOTPOINTE_FETCH_BASE_URL. */
  baseUrlOverride?: string;
  /** Download again even when the manifest shows a complete earlier download. */
  force?: boolean;
  /** Retry and timeout settings passed to `download()`. */
  download?: Pick<
    DownloadOptions,
    'retries' | 'timeoutMs' | 'backoffMs' | 'maxBackoffMs' | 'retryAfterCapMs' | 'random' | 'signal'
  >;
}

export interface FetchedFile {
  /** File name in the output folder. */
  file: string;
  /** URL it was downloaded from (before redirects). */
  url: string;
  bytes: number;
  sha256: string;
  /** When the download finished (ISO 8601). */
  time: string;
  /** True when an earlier complete download (per the manifest) was kept instead of downloading again. */
  reused: boolean;
  /** Files extracted from this archive, relative to the output folder. */
  extracted?: string[];
}

export interface FetchSummary {
  /** Canonical target name, e.g. `amazon2014:Electronics`. */
  target: string;
  /** The `--format` to ingest these files with. */
  format: string;
  /** Absolute output folder. */
  outDir: string;
  files: FetchedFile[];
  /** Absolute paths of the files to pass to ingest. */
  ingestInputs: string[];
  /** The command to run next, e.g. `plotpointe data ingest --format amazon2014 …`. */
  ingestCommand: string;
  /** Absolute path of `fetch-manifest.json`. */
  manifestPath: string;
}

/** Contents of `fetch-manifest.json`. */
export interface FetchManifest {
  version: 1;
  target: string;
  format: string;
  /** Ingest inputs, relative to the manifest's folder. */
  ingestInputs: string[];
  files: Array<Omit<FetchedFile, 'reused'>>;
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Candidate URLs for a file: the override alone, or the primary location then the mirrors. */
function candidateUrls(target: FetchTarget, file: FetchFile, override: string | undefined): string[] {
  if (override) return [`${override.replace(/\/+$/, '')}/${file.relPath}`];
  return [file.url, ...target.mirrors.map((m) => m + file.relPath)];
}

async function readManifest(path: string): Promise<FetchManifest | undefined> {
  try {
    const m = JSON.parse(await readFile(path, 'utf8')) as FetchManifest;
    return m && m.version === 1 && Array.isArray(m.files) ? m : undefined;
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

/** A zip entry name as a safe path inside `outDir`, or undefined for directories and junk entries. */
function safeEntryPath(outDir: string, name: string, zipPath: string): string | undefined {
  const normalized = name.replace(/\\/g, '/');
  if (normalized.endsWith('/') || normalized.startsWith('__MACOSX/')) return undefined;
  const parts = normalized.split('/');
  if (isAbsolute(normalized) || /^[a-zA-Z]:/.test(normalized) || parts.includes('..')) {
    throw ppError('PP_DOWNLOAD_FAILED', `${zipPath}: archive entry "${name}" would be written outside ${outDir}`);
  }
  const target = resolve(outDir, normalized);
  if (!target.startsWith(resolve(outDir) + sep)) {
    throw ppError('PP_DOWNLOAD_FAILED', `${zipPath}: archive entry "${name}" would be written outside ${outDir}`);
  }
  return target;
}

/**
 * Extracts every file of a zip archive into `outDir`, keeping the archive's folders; returns the extracted
 * paths relative to `outDir`. One entry is inflated at a time. Entries escaping `outDir` are refused.
 */
export async function extractZip(zipPath: string, outDir: string): Promise<string[]> {
  const data = new Uint8Array(await readFile(zipPath));
  const entries: UnzipFileInfo[] = [];
  const bad = (err: unknown): PlotPointeError =>
    ppError('PP_DOWNLOAD_FAILED', `${zipPath}: not a readable zip archive: ${(err as Error).message}`, err);
  try {
    unzipSync(data, {
      filter: (f) => {
        entries.push(f);
        return false;
      },
    });
  } catch (err) {
    throw bad(err);
  }
  const totalSize = entries.reduce((s, e) => s + e.originalSize, 0);
  if (totalSize > MAX_EXTRACTED_BYTES) {
    throw ppError('PP_DOWNLOAD_FAILED', `${zipPath}: archive expands to ${totalSize} bytes, more than allowed`);
  }
  // Check every name before writing anything.
  const targets = entries.map((e) => safeEntryPath(outDir, e.name, zipPath));
  const extracted: string[] = [];
  for (const [i, entry] of entries.entries()) {
    const target = targets[i];
    if (!target) continue;
    let content: Uint8Array | undefined;
    try {
      content = unzipSync(data, { filter: (f) => f.name === entry.name })[entry.name];
    } catch (err) {
      throw bad(err);
    }
    if (!content) throw bad(new Error(`entry ${entry.name} could not be read`));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(`${target}.part`, content);
    await rename(`${target}.part`, target);
    extracted.push(target.slice(resolve(outDir).length + 1).split(sep).join('/'));
  }
  return extracted;
}

/** Downloads one file, trying each candidate location in order. */
async function downloadFile(
  target: FetchTarget,
  file: FetchFile,
  dest: string,
  override: string | undefined,
  options: FetchDatasetOptions,
): Promise<{ url: string; bytes: number; sha256: string }> {
  const urls = candidateUrls(target, file, override);
  const failures: PlotPointeError[] = [];
  for (const [i, url] of urls.entries()) {
    try {
      const r = await download(url, dest, {
        ...options.download,
        expectedBytes: file.bytes,
        sha256: file.sha256,
        // Continue a part left by an interrupted earlier run of the primary location; a fallback starts afresh.
        resumePartial: i === 0,
        onProgress: options.onProgress ? (b, t) => options.onProgress?.(file.file, b, t) : undefined,
      });
      return { url, bytes: r.bytes, sha256: r.sha256 };
    } catch (err) {
      if (!isPlotPointeError(err)) throw err;
      failures.push(err);
    }
  }
  if (failures.length === 1) throw failures[0];
  const allChecksum = failures.every((f) => f.code === 'PP_DOWNLOAD_CHECKSUM');
  throw ppError(
    allChecksum ? 'PP_DOWNLOAD_CHECKSUM' : 'PP_DOWNLOAD_FAILED',
    `${file.file}: every location failed: ${failures.map((f) => f.message).join('; ')}`,
    failures.at(-1),
  );
}

/**
 * Downloads all files of a fetch target (a name such as `amazon2014:Electronics`, or a resolved target) into
 * `outDir`, extracts zip archives there, writes `fetch-manifest.json` (url, file, bytes, sha256, time) and
 * returns a summary with the ingest command to run next.
 *
 * Files that the existing manifest records as complete (same name, same size, matching the catalog's sha256
 * when it has one) are kept unless `force`. Throws PP_FETCH_UNKNOWN_DATASET for an unknown target and
 * PP_DOWNLOAD_FAILED / PP_DOWNLOAD_CHECKSUM from the downloads.
 */
export async function fetchDataset(
  target: string | FetchTarget,
  outDir: string,
  options: FetchDatasetOptions = {},
): Promise<FetchSummary> {
  const t = typeof target === 'string' ? resolveFetchTarget(target) : target;
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const envOverride = process.env[FETCH_BASE_URL_ENV];
  const override = options.baseUrlOverride ?? (envOverride ? envOverride : undefined);
  const manifestPath = join(dir, FETCH_MANIFEST);
  const previous = options.force ? undefined : await readManifest(manifestPath);

  const files: FetchedFile[] = [];
  for (const file of t.files) {
    const dest = join(dir, file.file);
    const before = previous?.files.find((f) => f.file === file.file);
    const size = before ? await exists(dest) : undefined;
    let entry: FetchedFile;
    if (
      before &&
      size === before.bytes &&
      (file.bytes === undefined || file.bytes === size) &&
      (file.sha256 === undefined || file.sha256.toLowerCase() === before.sha256)
    ) {
      entry = { ...before, reused: true };
      options.onProgress?.(file.file, size, size);
    } else {
      const r = await downloadFile(t, file, dest, override, options);
      entry = { file: file.file, url: r.url, bytes: r.bytes, sha256: r.sha256, time: new Date().toISOString(), reused: false };
    }
    if (file.extract === 'zip') {
      const kept = entry.reused && entry.extracted !== undefined;
      const complete =
        kept && (await Promise.all(entry.extracted!.map((p) => exists(join(dir, p))))).every((s) => s !== undefined);
      if (!complete) entry.extracted = await extractZip(dest, dir);
    }
    files.push(entry);
  }

  for (const rel of t.ingestInputs) {
    if ((await exists(join(dir, rel))) === undefined) {
      throw ppError('PP_DOWNLOAD_FAILED', `${t.id}: ${rel} is missing after the download (has the archive layout changed?)`);
    }
  }

  const manifest: FetchManifest = {
    version: 1,
    target: t.id,
    format: t.format,
    ingestInputs: t.ingestInputs,
    files: files.map(({ reused: _reused, ...rest }) => rest),
  };
  await writeFile(`${manifestPath}.part`, JSON.stringify(manifest, null, 2) + '\n');
  await rename(`${manifestPath}.part`, manifestPath);

  const ingestInputs = t.ingestInputs.map((rel) => join(dir, rel));
  return {
    target: t.id,
    format: t.format,
    outDir: dir,
    files,
    ingestInputs,
    ingestCommand: [
      ...['plotpointe', 'data', 'ingest', '--format', t.format, '--input', ...ingestInputs].map(shellQuote),
      '--lake LAKE --name NAME',
    ].join(' '),
    manifestPath,
  };
}
