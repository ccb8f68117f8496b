import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { writeFileAtomically } from './atomic.js';
import { ppError } from '../errors.js';

/** One input of a stage: where it came from and its checksum. */
export interface ManifestInput {
  name: string;
  origin: string;
  bytes: number;
  sha256: string;
}

/**
 * Every artifact folder carries a manifest.json: what produced it (stage, config, code version), its inputs
 * (with sha256), counts and times. A stage's cache key is the hash of its inputs' manifests and its config.
 */
export interface ManifestBody {
  stage: string;
  config: Record<string, unknown>;
  inputs: ManifestInput[];
  counts: Record<string, number>;
  seconds: number;
  [extra: string]: unknown;
}

export type Manifest = ManifestBody & { created_at: string; code_version: CodeVersion };

export interface CodeVersion {
  package: string;
  version: string;
  /** git commit of the code that ran, with "+dirty" when the work tree had changes; null outside a checkout. */
  commit: string | null;
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let cached: CodeVersion | undefined;

export function codeVersion(): CodeVersion {
  if (cached) return cached;
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string };
  let commit: string | null = null;
  try {
    const opts = { cwd: repoRoot, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'], encoding: 'utf8' as const };
    commit = execFileSync('git', ['rev-parse', 'HEAD'], opts).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], opts).trim();
    if (dirty) commit += '+dirty';
  } catch {
    commit = null;
  }
  cached = { package: pkg.name, version: pkg.version, commit };
  return cached;
}

export async function writeManifest(dir: string, manifest: ManifestBody): Promise<Manifest> {
  const full: Manifest = { ...manifest, created_at: new Date().toISOString(), code_version: codeVersion() };
  await writeFileAtomically(join(dir, 'manifest.json'), JSON.stringify(full, null, 2) + '\n');
  return full;
}

export async function readManifest(dir: string): Promise<Manifest> {
  try {
    return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch (err) {
    throw ppError('PP_LAKE_NOT_FOUND', `no manifest in ${dir}`, err);
  }
}
