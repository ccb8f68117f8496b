import { lstat, mkdir, readdir, readlink, rename, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { failpoint } from '../core/failpoint.js';
import { ownerAlive, ownerToken } from './owner.js';

/**
 * All-or-nothing publication in the lake. A published folder `<dir>/<base>` is a symlink to a complete version
 * folder `<dir>/.<base>@<utc>-<pid>-<start>-<host>`; a new version is built in a temporary sibling
 * `.<base>.tmp-<pid>-<start>-<host>-<rand>`, renamed to its version name, and published by renaming a fresh symlink over
 * `<base>` — rename(2) replaces a symlink atomically, so a reader sees the old version or the new one, never a mix
 * and never nothing. What a killed writer leaves (temporaries, an unpublished version, the replaced version) is
 * removed by the next `sweepDir` of that folder once its owner (pid + start time, see owner.ts) is dead; a missing
 * pointer with complete versions beside it is restored to the newest one.
 */

/** `.<base>.tmp-<pid>-<start>-<host>-<rand>` (also the older `.<base>.tmp-<pid>-<rand>`): 1 base, 2 pid, 3 start, 4 host. */
export const TEMP_RE = /^\.(.+)\.tmp-(\d+)-(?:(\d+)-([0-9a-f]{6})-)?[0-9a-f]{8}/;
/** `.<base>@<utc>-<pid>-<start>-<host>`: 1 base, 2 time, 3 pid, 4 start, 5 host. */
export const VERSION_RE = /^\.(.+)@(\d{8}T\d{9}Z)-(\d+)-(\d+)-([0-9a-f]{6})$/;

/** A fresh temporary sibling of `finalPath` (same file system, so the final rename is atomic). */
export function tempSibling(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.tmp-${ownerToken()}-${randomBytes(4).toString('hex')}`);
}

/** A new version name for `base`: `.<base>@<utc>-<owner>` (sorts by time). */
export function versionName(base: string): string {
  return `.${base}@${new Date().toISOString().replace(/[-:.]/g, '')}-${ownerToken()}`;
}

/**
 * Builds a folder in a temporary sibling and publishes it as a new version of `finalDir` only when `build`
 * succeeds; on failure the temporary folder, and any parent folders this call created, are removed and the
 * previous version stays published.
 */
export async function writeDirAtomically<T>(finalDir: string, build: (tmpDir: string) => Promise<T>): Promise<T> {
  const target = resolve(finalDir);
  const firstCreated = await mkdir(dirname(target), { recursive: true });
  await sweepDir(dirname(target));
  const tmp = tempSibling(target);
  await mkdir(tmp);
  try {
    const result = await build(tmp);
    await publishDir(tmp, target);
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

/**
 * Publishes the complete folder `fromDir` as the new version of `toPath` (see the file header) and removes the
 * version it replaces. Failpoints: `publish.before-rename`, `publish.before-swap`, `publish.after-swap`.
 */
export async function publishDir(fromDir: string, toPath: string): Promise<void> {
  const parent = dirname(toPath);
  const version = join(parent, versionName(basename(toPath)));
  failpoint('publish.before-rename');
  await rename(fromDir, version);
  failpoint('publish.before-swap');
  const replaced = await pointTo(toPath, basename(version));
  failpoint('publish.after-swap');
  if (replaced) await rm(join(parent, replaced), { recursive: true, force: true });
}

/**
 * Makes `linkPath` a symlink to `target` (relative to its folder) in one rename. Returns the name of what it
 * replaced inside the same folder (the previous version, or a legacy real folder moved aside), if anything.
 */
export async function pointTo(linkPath: string, target: string): Promise<string | null> {
  const tmp = tempSibling(linkPath);
  await symlink(target, tmp);
  let previous: string | null = null;
  try {
    const st = await lstat(linkPath);
    if (st.isSymbolicLink()) {
      const t = await readlink(linkPath);
      if (!t.includes('/') && t !== target) previous = t;
    } else {
      // A folder from before versioned publication: moved aside (a temporary of ours, swept if we die now).
      const aside = tempSibling(linkPath);
      await rename(linkPath, aside);
      previous = basename(aside);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await rename(tmp, linkPath);
  return previous;
}

/**
 * Cleans what killed writers left in `dir`: temporaries and unpublished or replaced versions whose owner is dead
 * are removed; a pointer that is missing while complete versions exist is restored to the newest. Returns the
 * names removed.
 */
export async function sweepDir(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  const versions = new Map<string, string[]>();
  for (const name of names) {
    const t = TEMP_RE.exec(name);
    if (t) {
      if (!ownerAlive(Number(t[2]), Number(t[3] ?? 0), t[4])) {
        await rm(join(dir, name), { recursive: true, force: true });
        removed.push(name);
      }
      continue;
    }
    const v = VERSION_RE.exec(name);
    if (v) versions.set(v[1]!, [...(versions.get(v[1]!) ?? []), name]);
  }
  for (const [base, list] of versions) {
    const link = join(dir, base);
    let current: string | null = null;
    try {
      current = await readlink(link);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        current = list.sort().at(-1)!;
        await pointTo(link, current);
      } else if (code !== 'EINVAL') throw err; // EINVAL: a real folder (legacy layout) holds the name
    }
    for (const name of list) {
      const v = VERSION_RE.exec(name)!;
      if (name !== current && !ownerAlive(Number(v[3]), Number(v[4]), v[5])) {
        await rm(join(dir, name), { recursive: true, force: true });
        removed.push(name);
      }
    }
  }
  return removed;
}

/** `sweepDir` over `root` and its real (not symlinked) subfolders down to `depth` levels. */
export async function sweepTree(root: string, depth: number): Promise<string[]> {
  const removed = (await sweepDir(root)).map((n) => join(root, n));
  if (depth <= 0) return removed;
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch {
    return removed;
  }
  for (const e of entries) {
    if (e.isDirectory() && !TEMP_RE.test(e.name)) removed.push(...(await sweepTree(join(root, e.name), depth - 1)));
  }
  return removed;
}

/** Whether a folder entry is a published name (not a temporary, not a version folder, not hidden). */
export function isPublishedName(name: string): boolean {
  return !name.startsWith('.');
}

/** Writes a file through a temporary sibling and a rename. */
export async function writeFileAtomically(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempSibling(path);
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** What a folder holds in publication terms: published names, version folders and temporaries (for checks). */
export async function folderState(dir: string): Promise<{ published: string[]; versions: string[]; temps: string[] }> {
  const names = (await readdir(dir)).sort();
  return {
    published: names.filter(isPublishedName),
    versions: names.filter((n) => VERSION_RE.test(n)),
    temps: names.filter((n) => TEMP_RE.test(n)),
  };
}
