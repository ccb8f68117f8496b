import { constants, createReadStream, createWriteStream } from 'node:fs';
import { copyFile, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isDiskFull, isPlotPointeError, ppError } from '../errors.js';
import { sha256File } from '../lake/hash.js';
import type { ManifestInput } from '../lake/manifest.js';
import type { InputFile } from './formats/format.js';
import { download } from './io/download.js';

const isUrl = (s: string) => /^https?:\/\//i.test(s);

/**
 * Expands the user's `--input` values: a file is taken as named; a folder becomes its regular files (sorted,
 * not recursive) whose names the format reads (`accepts`), the others are `skipped`.
 */
async function expandLocal(input: string, accepts?: (name: string) => boolean): Promise<{ files: string[]; skipped: string[] }> {
  const path = resolve(input);
  let s;
  try {
    s = await stat(path);
  } catch (err) {
    throw ppError('PP_INPUT_NOT_FOUND', input, err);
  }
  if (s.isFile()) return { files: [path], skipped: [] };
  if (!s.isDirectory()) throw ppError('PP_INPUT_UNREADABLE', `${input} is neither a file nor a folder`);
  const entries = await readdir(path, { withFileTypes: true });
  const names = entries.filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name).sort();
  if (names.length === 0) throw ppError('PP_INPUT_NOT_FOUND', `folder ${input} holds no files`);
  const taken = accepts ? names.filter(accepts) : names;
  const skipped = names.filter((n) => !taken.includes(n)).map((n) => join(path, n));
  if (taken.length === 0) {
    throw ppError('PP_INPUT_NOT_FOUND', `folder ${input} holds none of the format's files (skipped: ${names.join(', ')})`);
  }
  return { files: taken.map((n) => join(path, n)), skipped };
}

/** Most bytes copied from a file whose size the file system does not report (procfs and the like) when no cap is set. */
const UNSIZED_FILE_CAP = 1 << 30;

/**
 * Copies a local input into raw. A file that reports size 0 may be a kernel pseudo-file (/proc/cpuinfo has
 * content, /proc/self/mem cannot be read at all): it is copied by reading it, so its content or its read
 * error shows, never a silent empty copy. Read errors are PP_INPUT_UNREADABLE; a full disk PP_DISK_FULL.
 */
async function copyInput(path: string, dest: string, size: number, maxInputBytes: number): Promise<void> {
  const fail = (err: unknown, reading: boolean): never => {
    if (isPlotPointeError(err)) throw err;
    if (isDiskFull(err)) throw ppError('PP_DISK_FULL', `copying ${path} into the lake: ${(err as Error).message}`, err);
    throw ppError('PP_INPUT_UNREADABLE', `${path}${reading ? ' cannot be read' : ''}: ${(err as Error).message}`, err);
  };
  if (size > 0) {
    try {
      await copyFile(path, dest, constants.COPYFILE_FICLONE);
    } catch (err) {
      fail(err, false);
    }
    return;
  }
  const cap = maxInputBytes || UNSIZED_FILE_CAP;
  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > cap) done(ppError('PP_INGEST_TOO_LARGE', `${path} reports size 0 but holds more than ${cap} bytes`));
      else done(null, chunk);
    },
  });
  try {
    await pipeline(createReadStream(path), limit, createWriteStream(dest));
  } catch (err) {
    fail(err, true);
  }
}

export interface RawInputs {
  files: InputFile[];
  manifest: ManifestInput[];
  /** Files of input folders left out because the format does not read them (absolute paths). */
  skipped: string[];
}

export interface GatherOptions {
  onStatus?: (msg: string) => void;
  /** The format's file-name test for files found in folders (FormatReader.accepts); all files when absent. */
  accepts?: (name: string) => boolean;
  /** `ingest.max_input_bytes` (0: no cap): a plain local file larger than this is PP_INGEST_TOO_LARGE. */
  maxInputBytes?: number;
}

/**
 * Brings every input into the raw folder `rawDir` (downloads URLs there with retry/resume, copies local files)
 * and records name, origin, size and sha256 of each. Two inputs with the same file name are refused, since the
 * raw folder keeps the source's names. Files of a folder that the format does not read are listed as skipped.
 */
export async function gatherInputs(inputs: readonly string[], rawDir: string, options: GatherOptions = {}): Promise<RawInputs> {
  const { onStatus, accepts, maxInputBytes = 0 } = options;
  if (inputs.length === 0) throw ppError('PP_USAGE', 'at least one --input is required');
  const files: InputFile[] = [];
  const manifest: ManifestInput[] = [];
  const seen = new Set<string>();
  const skipped: string[] = [];
  const claim = (name: string, origin: string) => {
    if (seen.has(name)) throw ppError('PP_USAGE', `two inputs are named ${name} (second: ${origin})`);
    seen.add(name);
  };
  for (const input of inputs) {
    if (isUrl(input)) {
      const name = decodeURIComponent(basename(new URL(input).pathname)) || 'download';
      claim(name, input);
      onStatus?.(`downloading ${input}`);
      const dest = join(rawDir, name);
      const got = await download(input, dest);
      files.push({ path: dest, name, origin: input });
      manifest.push({ name, origin: input, bytes: got.bytes, sha256: got.sha256 });
      continue;
    }
    const expanded = await expandLocal(input, accepts);
    for (const path of expanded.skipped) onStatus?.(`skipped ${path} (not a file this format reads)`);
    skipped.push(...expanded.skipped);
    for (const path of expanded.files) {
      const name = basename(path);
      claim(name, path);
      const dest = join(rawDir, name);
      const { size: srcSize } = await stat(path);
      const gz = /\.gz$/i.test(name);
      if (maxInputBytes > 0 && !gz && srcSize > maxInputBytes) {
        throw ppError('PP_INGEST_TOO_LARGE', `${path} is ${srcSize} bytes (ingest.max_input_bytes = ${maxInputBytes})`);
      }
      await copyInput(path, dest, srcSize, maxInputBytes);
      const [{ size }, sha256] = await Promise.all([stat(dest), sha256File(dest)]);
      files.push({ path: dest, name, origin: path });
      manifest.push({ name, origin: path, bytes: size, sha256 });
    }
  }
  return { files, manifest, skipped };
}
