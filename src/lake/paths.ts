import { join, resolve } from 'node:path';
import { ppError } from '../errors.js';

/**
 * The lake layout: every artifact location is computed here and nowhere else (src/lake/layout-rule.test.ts keeps
 * it so). A command resolves a handle once (`lakePaths`, `datasetPaths`/`openDataset`, `.split(s)`, `.run(r)`) and
 * passes it down; stages talk only through it:
 *   <lake>/datasets/<name>              → .<name>@<version>/ : the ONE pointer switching raw and staging together
 *   <lake>/raw/<name>/                  (→ ../datasets/<name>/raw) the inputs as received, manifest.json (sha256)
 *   <lake>/staging/<name>/              (→ ../datasets/<name>/staging) validated Parquet, rejects, data card
 *   <lake>/staging/<name>/splits/<s>/   (→ .<s>@<version>/) train/valid/test parts with dense id maps
 *   <lake>/artifacts/<name>/embeddings/ text and image matrices (staging iid order)
 *   <lake>/artifacts/<name>/graphs/     item–item kNN graphs over them
 *   <lake>/artifacts/<name>/splits/<s>/ per-split artifacts: embeddings/ (fused), graphs/ (knn-fused), work/
 *   <lake>/artifacts/<name>/<run>/      model and work files of one run; serving/ (→ .serving@<version>/)
 *   <lake>/runs.duckdb                  the run store;  <lake>/logs/ serving.duckdb, drift.parquet
 *   <lake>/pipeline/                    pipeline locks, cache records, journals, shards
 *   <lake>/cache/                       content-addressed caches (embeddings/<encoder>, images)
 * Published folders are symlinks to complete versions (src/lake/atomic.ts, src/lake/dataset.ts).
 */

/** Staged tables (one Parquet file each) and the data card, inside `<lake>/staging/<name>/`. */
export const STAGING_FILES = {
  items: 'items.parquet',
  interactions: 'interactions.parquet',
  rejects: 'rejects.parquet',
  userMap: 'user_map.parquet',
  itemMap: 'item_map.parquet',
} as const;
export const DATACARD_FILES = { md: 'datacard.md', json: 'datacard.json' } as const;
/** The manifest file name of a lake folder (raw, split, embeddings, serving bundle …). */
export const MANIFEST_FILE = 'manifest.json';

/** The three parts of a split. */
export type SplitPart = 'train' | 'valid' | 'test';
export const SPLIT_PARTS: readonly SplitPart[] = ['train', 'valid', 'test'];

/** The files of one split folder (`<lake>/staging/<name>/splits/<s>/`, or any folder laid out as one). */
export interface SplitFiles {
  dir: string;
  /** `<dir>/<part>.parquet` */
  part(p: SplitPart): string;
  userMap: string;
  itemMap: string;
  manifest: string;
}

/** Item content kinds with a stored matrix and kNN graph: text and image per dataset, fused per split. */
export type ContentKind = 'text' | 'image' | 'fused';
export type DatasetContentKind = Exclude<ContentKind, 'fused'>;

/**
 * Where a content matrix or graph lives: folder, file stem, and the item order of its rows — text and image
 * are per dataset in staging iid order; fused is per split in split iid order.
 */
export interface ContentLocation {
  dir: string;
  file: string;
  order: 'staging' | 'split';
}

/** One split of a dataset: its staged files and its per-split artifacts. */
export interface SplitPaths extends SplitFiles {
  name: string;
  /** The dataset the split belongs to (its staging files, its run folders). */
  dataset: DatasetPaths;
  /** `<lake>/artifacts/<name>/splits/<s>`: per-split artifacts. */
  artifacts: string;
  /** Fused embedding matrices (split iid order). */
  embeddings: string;
  /** The fused item–item graph (split iid order). */
  graphs: string;
  /** Scratch of per-split builds (the fusion MLP's checkpoints). */
  work: string;
  /** `<modality>.{f32,mask,json}`: the content matrix of a modality (see {@link ContentLocation}). */
  embeddingOf(modality: ContentKind): ContentLocation;
  /** `knn-<modality>` (CSR): the item–item graph of a modality. */
  graphOf(modality: ContentKind): ContentLocation;
}

/** One run of a dataset: model files, resumable work files and the serving bundle. */
export interface RunPaths {
  id: string;
  dir: string;
  /** Checkpoints a killed run resumes from. */
  work: string;
  /** The saved model (the model's own files). */
  model: string;
  /** The evaluation reports (metrics.json). */
  metrics: string;
  /** The cold-start report of the run (`eval cold-start`). */
  coldStart: string;
  /** The event pairs `train --since` added to the split's train part (absent when it added none). */
  trainAdded: string;
  /** The serving bundle (a symlink to `.serving@<version>/`). */
  serving: string;
}

/** The files of a staging folder (the published one, or the temporary one an ingest fills). */
export type StagingFiles = { [K in keyof typeof STAGING_FILES]: string } & { datacardMd: string; datacardJson: string; manifest: string };

export function stagingFiles(dir: string): StagingFiles {
  const files = Object.fromEntries(Object.entries(STAGING_FILES).map(([k, f]) => [k, join(dir, f)])) as { [K in keyof typeof STAGING_FILES]: string };
  return { ...files, datacardMd: join(dir, DATACARD_FILES.md), datacardJson: join(dir, DATACARD_FILES.json), manifest: join(dir, MANIFEST_FILE) };
}

export interface DatasetPaths {
  lake: string;
  name: string;
  raw: string;
  staging: string;
  /** `<staging>/<file>` for each staged table and the data card. */
  stagingFiles: StagingFiles;
  artifacts: string;
  /** Text and image embedding matrices in staging iid order. */
  embeddings: string;
  /** Item–item graphs in staging iid order. */
  graphs: string;
  /** `<staging>/splits`: the folder listing the dataset's splits. */
  splits: string;
  split(splitName: string): SplitPaths;
  run(runId: string): RunPaths;
  /** `<modality>.{f32,mask,json}` in {@link embeddings} (staging iid order). */
  embeddingOf(modality: DatasetContentKind): ContentLocation;
  /** `knn-<modality>` (CSR) in {@link graphs} (staging iid order). */
  graphOf(modality: DatasetContentKind): ContentLocation;
  /** `<lake>/artifacts/<name>/ablations`: one folder per ablation. */
  ablations: string;
  /** `<lake>/artifacts/<name>/ablations/<id>`: the cells of one ablation. */
  ablation(ablationId: string): string;
}

/** `<lake>/pipeline/`: what `pipeline run` keeps between runs. */
export interface PipelinePaths {
  dir: string;
  /** The lock one `pipeline run` holds at a time. */
  lock: string;
  /** sha256 of artifact files by size and mtime. */
  hashCache: string;
  /** `cache/<step>/<key>.json`: the record of a finished step. */
  record(step: string, key: string): string;
  /** One pipeline run's journal, config and step logs. */
  run(runId: string): { dir: string; journal: string; config: string; logs: string; log(step: string): string };
  /** Scratch of a sharded step's parts. */
  shards(step: string): string;
}

/** Locations at the lake's root, shared by all datasets. */
export interface LakePaths {
  root: string;
  datasets: string;
  rawRoot: string;
  stagingRoot: string;
  /** `<lake>/artifacts`: every dataset's derived artifacts. */
  artifactsRoot: string;
  /** The run store. */
  runStore: string;
  logs: string;
  /** The serving request log and events (schema: src/serving/log-schema.ts). */
  servingLog: string;
  /** Stored drift summaries. */
  drift: string;
  /** Pipeline locks, cache records, journals and shard scratch. */
  pipeline: PipelinePaths;
  /** `<lake>/sources/<name>`: raw inputs the pipeline generates (the demo catalog) before ingest. */
  sources(name: string): string;
  /** Content-hash cache of encoder outputs, one folder per encoder. */
  embeddingCache(encoderDir: string): string;
  /** Downloaded pictures, by content hash. */
  imageCache: string;
  dataset(name: string): DatasetPaths;
}

/** The serving bundle's folder name inside a run folder. */
export const SERVING_DIR = 'serving';
/** The run store's file name at the lake root. */
export const RUN_STORE_FILE = 'runs.duckdb';
export const LOGS_DIR = 'logs';
export const SERVING_LOG_FILE = 'serving.duckdb';
export const DRIFT_FILE = 'drift.parquet';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** True for a valid dataset, split or run name (so never a hidden `.x@…` version or temporary folder). */
export function isName(name: string): boolean {
  return NAME_RE.test(name) && !name.includes('..');
}

/** Checks a dataset, split or run name: letters, digits, '.', '_' and '-', no path tricks. */
export function assertName(kind: string, name: string): string {
  if (!isName(name)) {
    throw ppError('PP_USAGE', `${kind} name "${name}" must match ${NAME_RE.source}`);
  }
  return name;
}

/** The files of a split folder (tests and tools that hold a bare split folder; commands use `dataset.split(s)`). */
export function splitFiles(dir: string): SplitFiles {
  return {
    dir,
    part: (p) => join(dir, `${p}.parquet`),
    userMap: join(dir, STAGING_FILES.userMap),
    itemMap: join(dir, STAGING_FILES.itemMap),
    manifest: join(dir, MANIFEST_FILE),
  };
}

function pipelinePaths(dir: string): PipelinePaths {
  return {
    dir,
    lock: join(dir, 'lock'),
    hashCache: join(dir, 'hash-cache.json'),
    record: (step, key) => join(dir, 'cache', step, `${key}.json`),
    run: (runId) => {
      const run = join(dir, runId);
      const logs = join(run, LOGS_DIR);
      return { dir: run, journal: join(run, 'journal.jsonl'), config: join(run, 'config.json'), logs, log: (step) => join(logs, `${step}.log`) };
    },
    shards: (step) => join(dir, 'shards', step),
  };
}

export function lakePaths(lake: string): LakePaths {
  const root = resolve(lake);
  const logs = join(root, LOGS_DIR);
  return {
    root,
    datasets: join(root, 'datasets'),
    rawRoot: join(root, 'raw'),
    stagingRoot: join(root, 'staging'),
    artifactsRoot: join(root, 'artifacts'),
    runStore: join(root, RUN_STORE_FILE),
    logs,
    servingLog: join(logs, SERVING_LOG_FILE),
    drift: join(logs, DRIFT_FILE),
    pipeline: pipelinePaths(join(root, 'pipeline')),
    sources: (name) => join(root, 'sources', assertName('dataset', name)),
    embeddingCache: (encoderDir) => join(root, 'cache', 'embeddings', encoderDir),
    imageCache: join(root, 'cache', 'images'),
    dataset: (name) => datasetPaths(root, name),
  };
}

/**
 * The paths of a dataset. `raw` and `staging` default to the published links (`<lake>/raw/<name>`,
 * `<lake>/staging/<name>`); openDataset passes the version folder it resolved so a command reads one version.
 */
export function datasetPaths(lake: string, name: string, resolved?: { raw: string; staging: string }): DatasetPaths {
  assertName('dataset', name);
  const root = resolve(lake);
  const artifacts = join(lakePaths(root).artifactsRoot, name);
  const raw = resolved?.raw ?? join(root, 'raw', name);
  const staging = resolved?.staging ?? join(root, 'staging', name);
  const splits = join(staging, 'splits');
  const embeddings = join(artifacts, 'embeddings');
  const graphs = join(artifacts, 'graphs');
  const dataset: DatasetPaths = {
    lake: root,
    name,
    raw,
    staging,
    stagingFiles: stagingFiles(staging),
    artifacts,
    embeddings,
    graphs,
    splits,
    split: (s) => {
      const splitArtifacts = join(artifacts, 'splits', assertName('split', s));
      const splitEmbeddings = join(splitArtifacts, 'embeddings');
      const splitGraphs = join(splitArtifacts, 'graphs');
      return {
        ...splitFiles(join(splits, s)),
        name: s,
        dataset,
        artifacts: splitArtifacts,
        embeddings: splitEmbeddings,
        graphs: splitGraphs,
        work: join(splitArtifacts, 'work'),
        embeddingOf: (m) => (m === 'fused' ? { dir: splitEmbeddings, file: m, order: 'split' } : dataset.embeddingOf(m)),
        graphOf: (m) => (m === 'fused' ? { dir: splitGraphs, file: `knn-${m}`, order: 'split' } : dataset.graphOf(m)),
      };
    },
    run: (r) => {
      const dir = join(artifacts, assertName('run', r));
      return { id: r, dir, work: join(dir, 'work'), model: join(dir, 'model'), metrics: join(dir, 'metrics.json'), coldStart: join(dir, 'cold-start.json'), trainAdded: join(dir, 'train-added.json'), serving: join(dir, SERVING_DIR) };
    },
    embeddingOf: (m) => ({ dir: embeddings, file: m, order: 'staging' }),
    graphOf: (m) => ({ dir: graphs, file: `knn-${m}`, order: 'staging' }),
    ablations: join(artifacts, 'ablations'),
    ablation: (id) => join(artifacts, 'ablations', assertName('ablation', id)),
  };
  return dataset;
}
