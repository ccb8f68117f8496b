import { join, resolve } from 'node:path';
import { ppError } from '../errors.js';

/**
 * The lake layout: every artifact location is computed here and nowhere else. Stages talk only through it:
 *   <lake>/datasets/<name>              → .<name>@<version>/ : the ONE pointer switching raw and staging together
 *   <lake>/raw/<name>/                  (→ ../datasets/<name>/raw) the inputs as received, manifest.json (sha256)
 *   <lake>/staging/<name>/              (→ ../datasets/<name>/staging) validated Parquet, rejects, data card
 *   <lake>/staging/<name>/splits/<s>/   (→ .<s>@<version>/) train/valid/test parts with dense id maps
 *   <lake>/artifacts/<name>/embeddings/ text and image matrices (staging iid order)
 *   <lake>/artifacts/<name>/graphs/     item–item kNN graphs over them
 *   <lake>/artifacts/<name>/splits/<s>/ per-split artifacts (fused embeddings, fused graph)
 *   <lake>/artifacts/<name>/<run>/      model and work files of one run; serving/ (→ .serving@<version>/)
 * Published folders are symlinks to complete versions (src/lake/atomic.ts, src/lake/dataset.ts).
 */
export interface DatasetPaths {
  lake: string;
  name: string;
  raw: string;
  staging: string;
  artifacts: string;
  /** Text and image embedding matrices in staging iid order. */
  embeddings: string;
  /** Item–item graphs in staging iid order. */
  graphs: string;
  split(splitName: string): string;
  /** Per-split artifacts (fused embeddings and graph, split iid order). */
  splitArtifacts(splitName: string): string;
  run(runId: string): string;
  /** The serving bundle of a run. */
  serving(runId: string): string;
}

/** The serving bundle's folder name inside a run folder. */
export const SERVING_DIR = 'serving';

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
  const artifacts = join(root, 'artifacts', name);
  return {
    lake: root,
    name,
    raw: join(root, 'raw', name),
    staging: join(root, 'staging', name),
    artifacts,
    embeddings: join(artifacts, 'embeddings'),
    graphs: join(artifacts, 'graphs'),
    split: (s) => join(root, 'staging', name, 'splits', assertName('split', s)),
    splitArtifacts: (s) => join(artifacts, 'splits', assertName('split', s)),
    run: (r) => join(artifacts, assertName('run', r)),
    serving: (r) => join(artifacts, assertName('run', r), SERVING_DIR),
  };
}

/** `<lake>/logs/serving.duckdb`: the serving request log and events (schema: src/serving/log-schema.ts). */
export function servingLogsFile(lake: string): string {
  return join(lake, 'logs', 'serving.duckdb');
}
