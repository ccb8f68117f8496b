import { lstat, mkdir, readlink, realpath, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { failpoint } from '../core/failpoint.js';
import { pointTo, publishDir, sweepDir, sweepTree, tempSibling } from './atomic.js';
import { datasetPaths, lakePaths, type DatasetPaths } from './paths.js';

/**
 * Dataset versions: raw and staging of one ingest live together in `<lake>/datasets/.<name>@<version>/{raw,staging}`
 * and switch together through ONE pointer, the symlink `<lake>/datasets/<name>` (renamed over atomically, see
 * atomic.ts). `<lake>/raw/<name>` and `<lake>/staging/<name>` are fixed symlinks through that pointer
 * (`../datasets/<name>/raw`), so the familiar paths keep working and always name one version.
 */

/** A dataset opened once per command: its paths resolved to the version current at open time. */
export interface DatasetHandle extends DatasetPaths {
  /** The version folder's name (`.<name>@<utc>-<owner>`), or null for a dataset from before versioned ingest. */
  version: string | null;
}

const linkTarget = (name: string, kind: 'raw' | 'staging') => join('..', 'datasets', name, kind);
/** raw/ and staging/ inside a version folder (or a build folder about to become one). */
const versionPaths = (dir: string) => ({ raw: join(dir, 'raw'), staging: join(dir, 'staging') });

/** Makes raw/<name> and staging/<name> the fixed symlinks through the dataset pointer (restores them after a kill). */
async function ensureLinks(p: DatasetPaths): Promise<void> {
  for (const kind of ['raw', 'staging'] as const) {
    const root = kind === 'raw' ? lakePaths(p.lake).rawRoot : lakePaths(p.lake).stagingRoot;
    const link = join(root, p.name);
    const target = linkTarget(p.name, kind);
    try {
      if ((await lstat(link)).isSymbolicLink() && (await readlink(link)) === target) continue;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await mkdir(root, { recursive: true });
    const replaced = await pointTo(link, target);
    if (replaced) await rm(join(root, replaced), { recursive: true, force: true });
  }
}

/**
 * Opens a dataset for a command: cleans what killed commands left (temporaries, unpublished versions, a missing
 * link) and resolves the current version once, so the whole command reads one version even if another
 * command publishes a new one meanwhile.
 */
export async function openDataset(lake: string, name: string): Promise<DatasetHandle> {
  const p = datasetPaths(lake, name);
  const l = lakePaths(lake);
  const pointer = join(l.datasets, name);
  await sweepDir(l.datasets);
  await sweepDir(l.rawRoot);
  await sweepDir(l.stagingRoot);
  let version: string | null = null;
  try {
    version = basename(await realpath(pointer));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (version === null) {
    await sweepTree(p.staging, 3);
    await sweepTree(p.artifacts, 5);
    return { ...p, version: null };
  }
  await ensureLinks(p);
  const dir = join(l.datasets, version);
  await sweepTree(dir, 4);
  await sweepTree(p.artifacts, 5);
  return { ...datasetPaths(lake, name, versionPaths(dir)), version };
}

/** A fresh folder to build a new version in: `<tmp>/raw` and `<tmp>/staging` (publish it with publishDatasetVersion). */
export async function newDatasetBuild(lake: string, name: string): Promise<{ dir: string; raw: string; staging: string }> {
  const l = lakePaths(lake);
  datasetPaths(lake, name);
  await mkdir(l.datasets, { recursive: true });
  await sweepDir(l.datasets);
  const dir = tempSibling(join(l.datasets, name));
  const v = versionPaths(dir);
  await mkdir(v.raw, { recursive: true });
  await mkdir(v.staging, { recursive: true });
  return { dir, ...v };
}

/**
 * Publishes a complete build as the dataset's current version: raw and staging switch in one rename of the
 * pointer; the replaced version is removed. Failpoints: `ingest.before-swap`, then publishDir's, then
 * `ingest.before-links`.
 */
export async function publishDatasetVersion(lake: string, name: string, buildDir: string): Promise<void> {
  const p = datasetPaths(lake, name);
  failpoint('ingest.before-swap');
  await publishDir(buildDir, join(lakePaths(lake).datasets, name));
  failpoint('ingest.before-links');
  await ensureLinks(p);
}
