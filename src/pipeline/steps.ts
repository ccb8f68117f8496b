import { join, relative, resolve, sep } from 'node:path';
import { datasetPaths, lakePaths } from '../lake/paths.js';
import { getModel } from '../models/index.js';
import type { ContentModality } from '../models/model.js';
import type { ArtifactRef, StepContext, StepSpec } from './dag.js';

/**
 * The PlotPointe DAG as data:
 *
 *   demo → ingest → split ──────────────────────────────┐
 *                 ├→ embed-text ─┬→ graph-text            ├→ train → evaluate ─┐
 *                 └→ embed-image ┴→ fuse → graph-fused ───┘        └→ index ───┴→ publish
 *                                └→ graph-image
 *
 * (train waits only for the content steps whose output its models read — mmgat's features and item–item graph;
 * index takes the embeddings, the fused vectors and the item graphs either way.)
 *
 * Every step is one `plotpointe` command. A step whose command is not registered in this checkout (its stage
 * has not landed) is left out of the default DAG with a note; steps that need it are left out too unless the
 * dependency is optional (`optionalNeeds`: train uses whatever content exists).
 */

/** A step of the catalog: the DAG step plus the CLI command it needs and its optional dependencies. */
export interface CatalogStep extends Omit<StepSpec, 'needs'> {
  /** The command path that must be registered, e.g. ['embed', 'image']. */
  requires: string[];
  /** Dependencies without which the step cannot run. */
  needs: readonly string[];
  /** Dependencies used when present in the DAG (dropped otherwise); a function of the config when only some settings use them. */
  optionalNeeds?: readonly string[] | ((config: Readonly<Record<string, unknown>>) => readonly string[]);
  /** Only in the DAG when this holds for the config (e.g. the demo generator when pipeline.source = demo). */
  when?(config: Readonly<Record<string, unknown>>): boolean;
}

const s = (v: unknown) => String(v);
const splitName = (ctx: StepContext) => s(ctx.config['split.name']);
/** Lake-relative form (with '/') of a location the lake layout (src/lake/paths.ts) gives. */
const rel = (ctx: StepContext, abs: string) => relative(resolve(ctx.lake), abs).split(sep).join('/');
const lake = (ctx: StepContext) => datasetPaths(ctx.lake, ctx.name);
const embeddingFiles = (ctx: StepContext, modality: 'text' | 'image'): ArtifactRef[] => {
  const loc = lake(ctx).embeddingOf(modality);
  return ['f32', 'mask', 'json'].map((ext) => ({ path: rel(ctx, join(loc.dir, `${loc.file}.${ext}`)) }));
};
const csrFiles = (ctx: StepContext, loc: { dir: string; file: string }): ArtifactRef[] =>
  ['indptr.i32', 'indices.i32', 'weights.f32', 'json'].map((ext) => ({ path: rel(ctx, join(loc.dir, `${loc.file}.${ext}`)) }));
/** `sub` relative to `dir` (with '/'): an exclude prefix of an output folder. */
const inside = (dir: string, sub: string) => relative(dir, sub).split(sep).join('/');
const split = (ctx: StepContext) => lake(ctx).split(splitName(ctx));
/** The demo generator's output: raw input of the ingest step. */
const sources = (ctx: StepContext) => lakePaths(ctx.lake).sources(ctx.name);
const lakeArgs = (ctx: StepContext) => ['--lake', ctx.lake, '--name', ctx.name];
/**
 * The sharded form of a graph step: shards search slices of the rows, the merge assembles and writes the graph
 * `graph knn` writes (src/pipeline/shards/graph-knn.ts).
 */
const graphSharded = (modality: string, extra: (ctx: StepContext) => string[] = () => []) => ({
  shards: (ctx: StepContext, count: number) =>
    Array.from({ length: count }, (_, i) => ['pipeline', 'shard', 'graph-knn', '--modality', modality, ...extra(ctx), ...lakeArgs(ctx), '--part', s(i), '--of', s(count)]),
  merge: (ctx: StepContext, count: number) => ['pipeline', 'merge', 'graph-knn', '--modality', modality, ...extra(ctx), ...lakeArgs(ctx), '--of', s(count)],
});
/** The train step's run id (from its JSON result). */
const trainRun = (ctx: StepContext) => s(ctx.results.train?.run_id);
/** The models the train step fits, with their params: pipeline.model with pipeline.model_params, or with `auto` train.auto_candidates (`name:key=value:…,…`). */
export const trainModels = (c: Readonly<Record<string, unknown>>): { model: string; params: Record<string, string> }[] => {
  // `key=value`; a pair without '=' keeps an empty value (the model's param check then rejects it)
  const pair = (kv: string) => {
    const eq = kv.indexOf('=');
    return eq < 0 ? [kv, ''] : [kv.slice(0, eq), kv.slice(eq + 1)];
  };
  const entry = (model: string, kvs: string[]) => ({ model: model.trim(), params: Object.fromEntries(kvs.map(pair)) });
  if (s(c['pipeline.model']) !== 'auto') return [entry(s(c['pipeline.model']), parseParamList(c['pipeline.model_params']))];
  return parseParamList(c['train.auto_candidates']).map((x) => {
    const [model, ...kvs] = x.split(':');
    return entry(model, kvs);
  });
};
const EMBEDDING_STEP: Record<ContentModality, string> = { text: 'embed-text', image: 'embed-image', fused: 'fuse' };
const ALL_CONTENT_STEPS = ['embed-text', 'embed-image', 'fuse', 'graph-text', 'graph-image', 'graph-fused'];
/**
 * The content steps the train step waits for: those producing what its models read (ModelSpec.contentReads);
 * none for ID-only models, all for a model that reads content without saying which (or an unknown name: its train
 * step then fails on its own).
 */
export const trainContentNeeds = (c: Readonly<Record<string, unknown>>): string[] => {
  const needs = new Set<string>();
  for (const { model, params } of trainModels(c)) {
    let spec;
    try {
      spec = getModel(model);
    } catch {
      return ALL_CONTENT_STEPS;
    }
    if (!spec.readsContent) continue;
    if (!spec.contentReads) return ALL_CONTENT_STEPS;
    let reads;
    try {
      reads = spec.contentReads(params);
    } catch {
      return ALL_CONTENT_STEPS; // a bad param: the train step reports it
    }
    for (const m of reads.embeddings) needs.add(EMBEDDING_STEP[m]);
    for (const m of reads.graphs) needs.add(`graph-${m}`);
  }
  return ALL_CONTENT_STEPS.filter((id) => needs.has(id));
};
/** `a=1,b=2` → ['a=1', 'b=2'] */
export const parseParamList = (v: unknown) =>
  s(v ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export const STEP_CATALOG: readonly CatalogStep[] = [
  {
    id: 'demo',
    title: 'generate the demo catalog (products, reviews, images) as the raw input',
    requires: ['data', 'demo'],
    needs: [],
    resource: 'cpu',
    when: (c) => c['pipeline.source'] === 'demo',
    configKeys: ['pipeline.source', 'demo.seed', 'demo.users', 'demo.items', 'demo.catalog_items', 'demo.images'],
    inputs: () => [],
    outputs: (ctx) => [{ path: rel(ctx, sources(ctx)) }],
    command: (ctx) => [
      'data', 'demo', '--out', join(ctx.lake, rel(ctx, sources(ctx))),
      '--seed', s(ctx.config['demo.seed']), '--users', s(ctx.config['demo.users']), '--items', s(ctx.config['demo.items']),
      '--catalog-items', s(Math.max(Number(ctx.config['demo.catalog_items']), Number(ctx.config['demo.items']))),
      ...(ctx.config['demo.images'] ? [] : ['--no-images']),
    ],
  },
  {
    id: 'ingest',
    title: 'validate the raw files into Parquet staging with rejects and a data card',
    requires: ['data', 'ingest'],
    needs: [],
    optionalNeeds: ['demo'],
    resource: 'io',
    configKeys: ['pipeline.source', 'pipeline.format', 'pipeline.inputs'],
    inputs: (ctx) => (ctx.config['pipeline.source'] === 'files' ? parseParamList(ctx.config['pipeline.inputs']).map((p) => ({ path: p })) : []),
    outputs: (ctx) => [{ path: rel(ctx, lake(ctx).raw) }, { path: rel(ctx, lake(ctx).staging), exclude: [inside(lake(ctx).staging, lake(ctx).splits)] }],
    command: (ctx) => {
      const demo = ctx.results.demo as { files?: { meta: string; reviews: string } } | undefined;
      const inputs = ctx.config['pipeline.source'] === 'demo' ? [s(demo?.files?.meta), s(demo?.files?.reviews)] : parseParamList(ctx.config['pipeline.inputs']);
      const format = ctx.config['pipeline.source'] === 'demo' ? 'amazon2018' : s(ctx.config['pipeline.format']);
      return ['data', 'ingest', '--format', format, '--input', ...inputs, ...lakeArgs(ctx), '--memory-limit', s(ctx.config['ingest.memory_limit'])];
    },
  },
  {
    id: 'split',
    title: 'split the interactions into train/valid/test with dense id maps',
    requires: ['data', 'split'],
    needs: ['ingest'],
    resource: 'io',
    configKeys: ['split.name', 'split.strategy', 'split.ratio', 'split.leave_k', 'split.kcore', 'split.valid_share', 'split.cold_share', 'split.seed'],
    inputs: () => [],
    outputs: (ctx) => [{ path: rel(ctx, split(ctx).dir) }],
    command: (ctx) => ['data', 'split', ...lakeArgs(ctx)],
  },
  {
    id: 'embed-text',
    title: 'embed item text with a pretrained encoder',
    requires: ['embed', 'text'],
    needs: ['ingest'],
    resource: 'cpu',
    configKeys: ['pipeline.text_encoder'],
    inputs: () => [],
    outputs: (ctx) => embeddingFiles(ctx, 'text'),
    command: (ctx) => ['embed', 'text', ...lakeArgs(ctx), '--encoder', s(ctx.config['pipeline.text_encoder'])],
    // Shards split the encoder batches; the merge writes text.{f32,mask,json} (src/pipeline/shards/embed-text.ts).
    sharded: {
      shards: (ctx, count) =>
        Array.from({ length: count }, (_, i) => ['pipeline', 'shard', 'embed-text', ...lakeArgs(ctx), '--encoder', s(ctx.config['pipeline.text_encoder']), '--part', s(i), '--of', s(count)]),
      merge: (ctx, count) => ['pipeline', 'merge', 'embed-text', ...lakeArgs(ctx), '--encoder', s(ctx.config['pipeline.text_encoder']), '--of', s(count)],
    },
  },
  {
    id: 'embed-image',
    title: 'embed product images with a pretrained encoder',
    requires: ['embed', 'image'],
    needs: ['ingest'],
    optionalNeeds: ['demo'],
    resource: 'cpu',
    configKeys: ['embed.image.encoder', 'embed.image.batch', 'embed.image.max_bytes', 'embed.image.allow_private'],
    inputs: (ctx) => [{ path: rel(ctx, sources(ctx)), optional: true }],
    outputs: (ctx) => embeddingFiles(ctx, 'image'),
    command: (ctx) => ['embed', 'image', ...lakeArgs(ctx)],
    // Shards split the picture rows and fill the embedding cache; the merge is `embed image` on a warm cache
    // (src/pipeline/shards/embed-image.ts).
    sharded: {
      shards: (ctx, count) => Array.from({ length: count }, (_, i) => ['pipeline', 'shard', 'embed-image', ...lakeArgs(ctx), '--part', s(i), '--of', s(count)]),
      merge: (ctx, count) => ['pipeline', 'merge', 'embed-image', ...lakeArgs(ctx), '--of', s(count)],
    },
  },
  {
    id: 'fuse',
    title: 'fuse text and image vectors into one item vector, trained on the split\'s train part',
    requires: ['embed', 'fuse'],
    needs: ['split', 'embed-text'],
    optionalNeeds: ['embed-image'],
    resource: 'cpu',
    configKeys: ['split.name'],
    inputs: () => [],
    outputs: (ctx) => [{ path: rel(ctx, split(ctx).embeddings) }],
    command: (ctx) => ['embed', 'fuse', ...lakeArgs(ctx), '--split', splitName(ctx)],
  },
  {
    id: 'graph-text',
    title: 'item–item kNN graph over the text vectors',
    requires: ['graph', 'knn'],
    needs: ['embed-text'],
    resource: 'cpu',
    configKeys: ['graph.k', 'graph.symmetrize', 'graph.recall_sample'],
    inputs: () => [],
    outputs: (ctx) => csrFiles(ctx, lake(ctx).graphOf('text')),
    command: (ctx) => ['graph', 'knn', '--modality', 'text', ...lakeArgs(ctx)],
    sharded: graphSharded('text'),
  },
  {
    id: 'graph-image',
    title: 'item–item kNN graph over the image vectors',
    requires: ['graph', 'knn'],
    needs: ['embed-image'],
    resource: 'cpu',
    configKeys: ['graph.k', 'graph.symmetrize', 'graph.recall_sample'],
    inputs: () => [],
    outputs: (ctx) => csrFiles(ctx, lake(ctx).graphOf('image')),
    command: (ctx) => ['graph', 'knn', '--modality', 'image', ...lakeArgs(ctx)],
    sharded: graphSharded('image'),
  },
  {
    id: 'graph-fused',
    title: 'item–item kNN graph over the fused vectors of the split',
    requires: ['graph', 'knn'],
    needs: ['fuse'],
    resource: 'cpu',
    configKeys: ['split.name', 'graph.k', 'graph.symmetrize', 'graph.recall_sample'],
    inputs: () => [],
    outputs: (ctx) => csrFiles(ctx, split(ctx).graphOf('fused')),
    command: (ctx) => ['graph', 'knn', '--modality', 'fused', '--split', splitName(ctx), ...lakeArgs(ctx)],
    sharded: graphSharded('fused', (ctx) => ['--split', splitName(ctx)]),
  },
  {
    id: 'train',
    title: 'fit the model on the split (content-aware models read the embeddings and graphs), evaluate, record the run',
    requires: ['train'],
    needs: ['split'],
    // Only a model that reads content waits for it: ID-only models (the demo's candidates) train beside the embeddings.
    optionalNeeds: trainContentNeeds,
    resource: 'cpu',
    configKeys: ['split.name', 'pipeline.model', 'pipeline.model_params', 'train.auto_candidates', 'train.seed', 'train.budget_min', 'train.valid_users', 'eval.ks'],
    // auto takes each candidate's params from train.auto_candidates; one named model reads pipeline.model_params
    unusedKeys: (c) => (c['pipeline.model'] === 'auto' ? ['pipeline.model_params'] : ['train.auto_candidates']),
    inputs: () => [],
    outputs: (ctx) => {
      const run = lake(ctx).run(trainRun(ctx));
      return [{ path: rel(ctx, run.dir), exclude: [inside(run.dir, run.work), inside(run.dir, run.serving)] }];
    },
    command: (ctx) => {
      const model = s(ctx.config['pipeline.model']);
      // auto: the candidates come from train.auto_candidates; the index step serves the winner, so it must export embeddings
      if (model === 'auto') return ['train', ...lakeArgs(ctx), '--split', splitName(ctx), '--model', 'auto', '--candidates', s(ctx.config['train.auto_candidates']), '--servable'];
      const params = parseParamList(ctx.config['pipeline.model_params']);
      return ['train', ...lakeArgs(ctx), '--split', splitName(ctx), '--model', model, ...(params.length ? ['--param', ...params] : [])];
    },
  },
  {
    id: 'evaluate',
    title: 'reload the saved model and evaluate it on test by full ranking (an eval run in the run store)',
    requires: ['eval'],
    needs: ['train'],
    resource: 'cpu',
    configKeys: ['eval.ks'],
    inputs: () => [],
    outputs: () => [],
    command: (ctx) => ['eval', '--run', trainRun(ctx), '--lake', ctx.lake, '--part', 'test'],
    // Shards rank contiguous user ranges; the merge records the eval run (src/pipeline/shards/evaluate.ts).
    sharded: {
      shards: (ctx, count) =>
        Array.from({ length: count }, (_, i) => ['pipeline', 'shard', 'evaluate', '--run', trainRun(ctx), '--lake', ctx.lake, '--part', 'test', '--shard', s(i), '--of', s(count)]),
      merge: (ctx, count) => ['pipeline', 'merge', 'evaluate', '--run', trainRun(ctx), '--lake', ctx.lake, '--part', 'test', '--of', s(count)],
    },
  },
  {
    id: 'index',
    title: 'build the serving bundle of the run: embeddings, id maps, metadata, one ANN index per modality',
    requires: ['index', 'build'],
    needs: ['train'],
    // the bundle carries the first item graph of fused, text, image that exists: wait for them, or it would
    // depend on which graph step happened to finish first
    optionalNeeds: ['embed-text', 'embed-image', 'fuse', 'graph-fused', 'graph-text', 'graph-image'],
    resource: 'cpu',
    configKeys: ['index.connectivity', 'index.expansion_add', 'index.expansion_search', 'index.quantization'],
    inputs: () => [],
    outputs: (ctx) => [{ path: rel(ctx, lake(ctx).run(trainRun(ctx)).serving) }],
    command: (ctx) => ['index', 'build', ...lakeArgs(ctx), '--run', trainRun(ctx)],
  },
  {
    id: 'publish',
    title: 'bless the evaluated, indexed run: the server and `index build` default to it',
    requires: ['runs', 'bless'],
    needs: ['evaluate'],
    optionalNeeds: ['index'],
    resource: 'io',
    configKeys: [],
    inputs: () => [],
    outputs: () => [],
    command: (ctx) => ['runs', 'bless', trainRun(ctx), '--lake', ctx.lake, '--note', 'published by plotpointe pipeline run'],
  },
];

/** A step left out of the DAG, and why. */
export interface LeftOut {
  step: string;
  reason: string;
}

/**
 * The default DAG for this checkout: catalog steps whose command is registered (`hasCommand`) and whose
 * required dependencies are in; optional dependencies that are out are dropped; `disabled` steps (pipeline
 * file `steps.<id>.skip: true`) are out with their dependants.
 */
export function buildDag(
  config: Readonly<Record<string, unknown>>,
  hasCommand: (path: string[]) => boolean,
  disabled: ReadonlySet<string> = new Set(),
): { steps: StepSpec[]; leftOut: LeftOut[] } {
  const inDag = new Map<string, StepSpec>();
  const leftOut: LeftOut[] = [];
  for (const c of STEP_CATALOG) {
    if (c.when && !c.when(config)) continue;
    if (disabled.has(c.id)) {
      leftOut.push({ step: c.id, reason: 'skipped in the pipeline file' });
      continue;
    }
    if (!hasCommand(c.requires)) {
      leftOut.push({ step: c.id, reason: `\`plotpointe ${c.requires.join(' ')}\` is not in this checkout yet` });
      continue;
    }
    const missing = c.needs.filter((d) => !inDag.has(d));
    if (missing.length) {
      leftOut.push({ step: c.id, reason: `needs ${missing.join(', ')}, which is left out` });
      continue;
    }
    const { requires: _r, optionalNeeds, when: _w, ...rest } = c;
    const optional = typeof optionalNeeds === 'function' ? optionalNeeds(config) : (optionalNeeds ?? []);
    inDag.set(c.id, { ...rest, needs: [...c.needs, ...optional.filter((d) => inDag.has(d))] });
  }
  return { steps: [...inDag.values()], leftOut };
}
