import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A fresh temporary sibling of `finalPath` (same file system, so the final rename is atomic). */
export function tempSibling(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Builds a folder in a temporary sibling and moves it into place only when `build` succeeds; on failure the
 * temporary folder is removed and any previous `finalDir` is left untouched. A previous folder is replaced.
 */
export async function writeDirAtomically<T>(finalDir: string, build: (tmpDir: string) => Promise<T>): Promise<T> {
  await mkdir(dirname(finalDir), { recursive: true });
  const tmp = tempSibling(finalDir);
  await mkdir(tmp, { recursive: true });
  try {
    const result = await build(tmp);
    await replaceDir(tmp, finalDir);
    return result;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Moves `fromDir` to `toDir`, replacing what was there (the old folder is removed after the swap). */
export async function replaceDir(fromDir: string, toDir: string): Promise<void> {
  const old = tempSibling(toDir) + '-old';
  let hadOld = true;
  try {
    await rename(toDir, old);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    hadOld = false;
  }
  try {
    await rename(fromDir, toDir);
  } catch (err) {
    if (hadOld) await rename(old, toDir);
    throw err;
  }
  if (hadOld) await rm(old, { recursive: true, force: true });
}

/** Writes a file through a temporary sibling and a rename. */
export async function writeFileAtomically(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempSibling(path);
  await writeFile(tmp, data);
  await rename(tmp, path);
}
