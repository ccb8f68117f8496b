/**
 * Local image references in metadata (`imUrl: "images/B001.png"`, an `image_path` column, a `file:` URL):
 * resolved against the folder of the input file that names them, and kept only when they stay inside that
 * folder — lexically (no `..` or absolute path leading out) and, when the file exists, after following
 * symlinks. Anything else (`../../../../etc/shadow.png`, `/etc/passwd`, a symlink out, a local path in a
 * downloaded file) is dropped with the reason, which the readers keep in the item's `extra.image_rejected`,
 * so that nothing downstream (embeddings, the dashboard's image route) ever opens a file the input's owner
 * did not put beside the input.
 */
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type LocalImage = { path: string; rejected?: undefined } | { path: null; rejected: string };

function inside(base: string, target: string): boolean {
  const rel = relative(base, target);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

function real(path: string): string | null {
  try {
    return realpathSync.native(path);
  } catch {
    return null;
  }
}

/**
 * The absolute path of a local image reference `ref` (a path, absolute or relative, or a `file:` URL) named
 * by the input file at `origin` (a local path or `file:` URL; an http(s) URL has no local folder), or the
 * reason it is refused.
 */
export function localImagePath(ref: string, origin: string): LocalImage {
  const shown = ref.length > 200 ? ref.slice(0, 200) + '…' : ref;
  if (/^https?:\/\//i.test(origin)) return { path: null, rejected: `${shown}: a downloaded input cannot name local files` };
  let path = ref;
  if (/^file:/i.test(ref)) {
    try {
      path = fileURLToPath(ref);
    } catch {
      return { path: null, rejected: `${shown}: not a valid file: URL` };
    }
  }
  if (path.includes('\u0000')) return { path: null, rejected: `${shown.replace(/\u0000/g, '\\0')}: holds a NUL character` };
  const base = dirname(/^file:/i.test(origin) ? fileURLToPath(origin) : origin);
  const target = resolve(base, path);
  if (!inside(base, target)) return { path: null, rejected: `${shown}: outside the input folder ${base}` };
  const realTarget = real(target);
  if (realTarget !== null) {
    const realBase = real(base) ?? base;
    if (!inside(realBase, realTarget)) return { path: null, rejected: `${shown}: a link to ${realTarget}, outside the input folder` };
  }
  return { path: target };
}
