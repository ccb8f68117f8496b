import { access } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { ppError } from '../errors.js';

/**
 * Where a distributed worker finds a step's inputs and leaves its outputs. Paths are lake-relative.
 *
 * - `SharedFsStorage` (the default, and the one implemented): every worker mounts the same lake folder
 *   (local disk for workers on one machine, NFS/EFS/SMB for several); `pull` checks that the inputs are
 *   visible (a worker on a host without the mount fails the job with PP_PIPELINE_STORAGE instead of running
 *   on nothing), `push` checks that the outputs landed.
 * - An object store (S3-compatible) would implement the same interface: `pull` downloads the input keys into a
 *   worker-local lake copy, `push` uploads the outputs after the step. Not implemented here.
 */
export interface ArtifactStorage {
  readonly kind: string;
  /** The lake folder as seen by this process. */
  readonly lake: string;
  /** Makes `paths` available under `lake` before a step runs. */
  pull(paths: readonly string[]): Promise<void>;
  /** Publishes `paths` after a step ran. */
  push(paths: readonly string[]): Promise<void>;
}

export class SharedFsStorage implements ArtifactStorage {
  readonly kind = 'shared-fs';
  readonly lake: string;

  constructor(lake: string) {
    this.lake = resolve(lake);
  }

  private abs(p: string): string {
    return isAbsolute(p) ? p : join(this.lake, p);
  }

  private async check(paths: readonly string[], what: string): Promise<void> {
    const missing: string[] = [];
    for (const p of paths) {
      try {
        await access(this.abs(p));
      } catch {
        missing.push(p);
      }
    }
    if (missing.length) throw ppError('PP_PIPELINE_STORAGE', `${what} not visible under ${this.lake} on this host: ${missing.join(', ')} (is the lake mounted here?)`);
  }

  pull(paths: readonly string[]): Promise<void> {
    return this.check(paths, 'step inputs');
  }

  push(paths: readonly string[]): Promise<void> {
    return this.check(paths, 'step outputs');
  }
}

/** The storage of a URL-ish spec: a folder (shared file system). Object stores are not built in. */
export function openStorage(spec: string): ArtifactStorage {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec) && !spec.startsWith('file://')) {
    throw ppError('PP_PIPELINE_STORAGE', `${spec}: only shared file-system lakes are supported (an object store needs an ArtifactStorage implementation)`);
  }
  return new SharedFsStorage(spec.startsWith('file://') ? new URL(spec).pathname : spec);
}
