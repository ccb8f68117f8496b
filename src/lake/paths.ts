import { join, resolve } from 'node:path';
import { ppError } from '../errors.js';

/**
 * The lake layout. Stages talk only through it:
 *   <lake>/raw/<name>/                 the inputs as received, with manifest.json (sha256 of each)
 *   <lake>/staging/<name>/             validated Parquet tables, rejects, data card, manifest.json
 *   <lake>/staging/<name>/splits/<s>/  train/valid/test parts with dense id maps
 *   <lake>/artifacts/<name>/<run>/     embeddings, graphs, models, indexes of one run
 */
export interface DatasetPaths {
  lake: string;
  name: string;
  raw: string;
  staging: string;
  artifacts: string;
  split(splitName: string): string;
  run(runId: string): string;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Checks a dataset, split or run name: letters, digits, '.', '_' and '-', no path tricks. */
export function assertName(kind: string, name: string): string {
  if (!NAME_RE.test(name) || name.includes('..')) {
    throw ppError('PP_USAGE', `${kind} name "${name}" must match ${NAME_RE.source}`);
  }
  return name;
}

export function datasetPaths(lake: string, name: string): DatasetPaths {
  assertName('dataset', name);
  const root = resolve(lake);
  return {
    lake: root,
    name,
    raw: join(root, 'raw', name),
    staging: join(root, 'staging', name),
    artifacts: join(root, 'artifacts', name),
    split: (s) => join(root, 'staging', name, 'splits', assertName('split', s)),
    run: (r) => join(root, 'artifacts', name, assertName('run', r)),
  };
}

/** `<lake>/logs/serving.duckdb`: the serving request log and events (schema: src/serving/log-schema.ts). */
export function servingLogsFile(lake: string): string {
  return join(lake, 'logs', 'serving.duckdb');
}
