import { mkdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A fresh temporary sibling of `finalPath` (same file system, so the final rename is atomic). */
export function tempSibling(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Builds a folder in a temporary sibling and moves it into place only when `build` succeeds; on failure the
 * temporary folder, and any parent folders this call created, are removed and a previous `finalDir` is left
 * untouched. A previous folder is replaced.
 */
export async function writeDirAtomically<T>(finalDir: string, build: (tmpDir: string) => Promise<T>): Promise<T> {
  const target = resolve(finalDir);
  const firstCreated = await mkdir(dirname(target), { recursive: true });
  const tmp = tempSibling(target);
  await mkdir(tmp);
  try {
    const result = await build(tmp);
    await replaceDir(tmp, target);
    return result;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if (firstCreated) await removeEmptyDirs(dirname(target), firstCreated);
    throw err;
  }
}

/** Removes `dir` and its parents up to and including `top` while they are empty. */
async function removeEmptyDirs(dir: string, top: string): Promise<void> {
  for (let d = dir; ; d = dirname(d)) {
    try {
      await rmdir(d);
    } catch {
      return;
    }
    if (d === resolve(top) || relative(top, d).startsWith('..')) return;
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
