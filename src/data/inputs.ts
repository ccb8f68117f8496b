import { constants } from 'node:fs';
import { copyFile, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ppError } from '../errors.js';
import { sha256File } from '../lake/hash.js';
import type { ManifestInput } from '../lake/manifest.js';
import type { InputFile } from './formats/format.js';
import { download } from './io/download.js';

const isUrl = (s: string) => /^https?:\/\//i.test(s);

/** Expands the user's `--input` values: a folder becomes its regular files (sorted, not recursive). */
async function expandLocal(input: string): Promise<string[]> {
  const path = resolve(input);
  let s;
  try {
    s = await stat(path);
  } catch (err) {
    throw ppError('PP_INPUT_NOT_FOUND', input, err);
  }
  if (s.isFile()) return [path];
  if (!s.isDirectory()) throw ppError('PP_INPUT_UNREADABLE', `${input} is neither a file nor a folder`);
  const entries = await readdir(path, { withFileTypes: true });
  const files = entries.filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => join(path, e.name));
  if (files.length === 0) throw ppError('PP_INPUT_NOT_FOUND', `folder ${input} holds no files`);
  return files.sort();
}

export interface RawInputs {
  files: InputFile[];
  manifest: ManifestInput[];
}

/**
 * Brings every input into the raw folder `rawDir` (downloads URLs there with retry/resume, copies local files)
 * and records name, origin, size and sha256 of each. Two inputs with the same file name are refused, since the
 * raw folder keeps the source's names.
 */
export async function gatherInputs(inputs: readonly string[], rawDir: string, onStatus?: (msg: string) => void): Promise<RawInputs> {
  if (inputs.length === 0) throw ppError('PP_USAGE', 'at least one --input is required');
  const files: InputFile[] = [];
  const manifest: ManifestInput[] = [];
  const seen = new Set<string>();
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
    for (const path of await expandLocal(input)) {
      const name = basename(path);
      claim(name, path);
      const dest = join(rawDir, name);
      try {
        await copyFile(path, dest, constants.COPYFILE_FICLONE);
      } catch (err) {
        throw ppError('PP_INPUT_UNREADABLE', `${path}: ${(err as Error).message}`, err);
      }
      const [{ size }, sha256] = await Promise.all([stat(dest), sha256File(dest)]);
      files.push({ path: dest, name, origin: path });
      manifest.push({ name, origin: path, bytes: size, sha256 });
    }
  }
  return { files, manifest };
}
