import { mkdtempSync, writeFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** A fresh temporary folder for one test file. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `pp-${prefix}-`));
}

/** Writes lines (joined with "\n") to `dir/name`, gzip-compressed when the name ends in .gz. */
export function writeLines(dir: string, name: string, lines: string[]): string {
  const path = join(dir, name);
  const text = lines.join('\n') + '\n';
  writeFileSync(path, name.endsWith('.gz') ? gzipSync(text) : text);
  return path;
}

/** The repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * `../shared` beside the checkout: real data and models that are not part of the repository. Returns the
 * path, or a skip message for `test(..., { skip })` when it is absent (a fresh clone on a user's machine).
 */
export function sharedPath(...parts: string[]): { path: string; skip: string | false } {
  const path = join(repoRoot, '..', 'shared', ...parts);
  return { path, skip: existsSync(path) ? false : `needs ${path} (../shared beside the checkout), which is absent` };
}
