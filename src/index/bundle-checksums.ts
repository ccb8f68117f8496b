/**
 * Checksums of a serving bundle's files: `index build` records every file of the bundle (but manifest.json)
 * with its size and sha256 in the manifest (`files`), and the server checks them before it serves a bundle
 * (startup and reload), so a file overwritten after the build — same size or not — is refused instead of
 * served. Files are hashed as streams (bundles reach GBs).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ppError } from '../errors.js';
import { sha256File } from '../lake/hash.js';

export interface FileChecksum {
  bytes: number;
  sha256: string;
}

export type FileChecksums = Record<string, FileChecksum>;

/** Size and sha256 of every regular file directly in `dir`, except `exclude` (manifest.json by default). */
export async function fileChecksums(dir: string, exclude: readonly string[] = ['manifest.json']): Promise<FileChecksums> {
  const out: FileChecksums = {};
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && !exclude.includes(e.name)).map((e) => e.name).sort();
  for (const name of entries) {
    const path = join(dir, name);
    out[name] = { bytes: (await stat(path)).size, sha256: await sha256File(path) };
  }
  return out;
}

/** Throws PP_SERVE_BUNDLE naming the first file of `files` that is missing or differs in size or sha256. */
export async function verifyChecksums(dir: string, files: FileChecksums): Promise<void> {
  for (const [name, want] of Object.entries(files)) {
    if (name.includes('/') || name.includes('\\') || name.startsWith('..')) throw ppError('PP_SERVE_BUNDLE', `${dir}/manifest.json names a file outside the bundle: ${name}`);
    const path = join(dir, name);
    let bytes: number;
    try {
      bytes = (await stat(path)).size;
    } catch {
      throw ppError('PP_SERVE_BUNDLE', `${path} is missing (named by the manifest)`);
    }
    if (bytes !== want.bytes) throw ppError('PP_SERVE_BUNDLE', `${path} has ${bytes} bytes, the manifest says ${want.bytes}`);
    if ((await sha256File(path)) !== want.sha256) throw ppError('PP_SERVE_BUNDLE', `${path} does not match its sha256 in the manifest (changed after the build)`);
  }
}
