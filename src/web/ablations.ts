import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatasetPaths } from '../lake/paths.js';

/**
 * Ablation tables written by `plotpointe ablate` as `<lake>/artifacts/<name>/ablations/<id>/ablation.json`.
 * The dashboard does not interpret them beyond finding their rows: it returns each file's JSON as written,
 * newest first, and the client renders rows generically (see client/pages/runs.ts).
 */
export interface AblationFile {
  id: string;
  /** ISO time of the file's last change. */
  modifiedAt: string;
  table: unknown;
}

/** Reads every ablation.json of a dataset's ablations (a file that is not JSON is skipped). */
export async function readAblations(dataset: DatasetPaths): Promise<AblationFile[]> {
  const root = dataset.ablations;
  if (!existsSync(root)) return [];
  const out: AblationFile[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const file = join(root, entry.name, 'ablation.json');
    try {
      const [text, info] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
      out.push({ id: entry.name, modifiedAt: info.mtime.toISOString(), table: JSON.parse(text) });
    } catch {
      // absent or half-written (ablate writes atomically, so a parse failure is a foreign file): skip it
    }
  }
  return out.sort((a, b) => b.modifiedAt.localeCompare(a.modifiedAt));
}
