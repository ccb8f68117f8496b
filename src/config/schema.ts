/**
 * PlotPointe's one configuration: every key with its meaning, type and default. Config files (JSON) and
 * CLI flags override the defaults, in that order; the result is validated and frozen (`load.ts`).
 * `plotpointe config show` prints the effective values; `plotpointe config docs` prints this table.
 */

export type KeySpec =
  | { type: 'string'; default: string; doc: string }
  | { type: 'enum'; choices: readonly string[]; default: string; doc: string }
  | { type: 'integer'; default: number; min?: number; max?: number; doc: string }
  | { type: 'number'; default: number; min?: number; max?: number; doc: string }
  | { type: 'boolean'; default: boolean; doc: string }
  | { type: 'numbers'; default: readonly number[]; doc: string };

export const CONFIG_SCHEMA = {
  'lake.dir': { type: 'string', default: './lake', doc: 'Folder of the data lake (raw/, staging/, artifacts/).' },
  'dataset.name': { type: 'string', default: 'demo', doc: 'Dataset name in the lake used by commands that take no --name.' },

  'demo.dir': { type: 'string', default: './lake/sources/demo', doc: 'Where `plotpointe demo` writes the generated catalog files.' },
  'demo.seed': { type: 'integer', default: 42, min: 0, doc: 'Seed of the demo catalog: the same seed gives the same bytes.' },
  'demo.users': { type: 'integer', default: 1500, min: 10, doc: 'Demo users.' },
  'demo.items': { type: 'integer', default: 2000, min: 10, doc: 'Demo items that receive interactions.' },
  'demo.catalog_items': { type: 'integer', default: 2000, min: 10, doc: 'Demo catalog size (≥ items; the rest are cold, never reviewed).' },
  'demo.images': { type: 'boolean', default: true, doc: 'Render a PNG per demo product.' },

  'ingest.memory_limit': { type: 'string', default: '2GB', doc: 'DuckDB memory limit during validation (spills to disk beyond it).' },

  'split.name': { type: 'string', default: 'default', doc: 'Name of the split folder under staging/<name>/splits/.' },
  'split.strategy': {
    type: 'enum',
    choices: ['ratio', 'loo', 'temporal', 'given', 'cold-item'],
    default: 'ratio',
    doc: 'ratio: per-user random; loo: per-user leave-last-k; temporal: global cut-off; given: the source split; cold-item: items held out of training.',
  },
  'split.ratio': { type: 'numbers', default: [0.8, 0.1, 0.1], doc: 'train/valid/test shares for ratio (and for warm items in cold-item).' },
  'split.leave_k': { type: 'integer', default: 1, min: 1, doc: 'Interactions per user held out for test (and again for valid) by loo.' },
  'split.kcore': { type: 'integer', default: 0, min: 0, doc: 'Iterative k-core filter on users and items before splitting (0 = off).' },
  'split.valid_share': { type: 'number', default: 0.1, min: 0, max: 0.9, doc: "given: share of each user's train rows held out for validation when the source has none." },
  'split.cold_share': { type: 'number', default: 0.2, min: 0.01, max: 0.9, doc: 'cold-item: share of items held out of training.' },
  'split.seed': { type: 'integer', default: 42, min: 0, doc: 'Seed of every random choice in splitting.' },

  'train.seed': { type: 'integer', default: 42, min: 0, doc: 'Seed of initialisation, sampling and dropout in training.' },
  'train.budget_min': { type: 'number', default: 0, min: 0, doc: 'Wall-clock budget for fitting, minutes (0 = none); the best checkpoint so far is kept.' },
  'eval.ks': { type: 'numbers', default: [10, 20, 50], doc: 'Cut-offs K of the final evaluation (Recall@K, NDCG@K, …).' },
} as const satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof CONFIG_SCHEMA;

type ValueOf<S> = S extends { type: 'string' | 'enum' }
  ? string
  : S extends { type: 'integer' | 'number' }
    ? number
    : S extends { type: 'boolean' }
      ? boolean
      : S extends { type: 'numbers' }
        ? readonly number[]
        : never;

export type Config = { readonly [K in ConfigKey]: ValueOf<(typeof CONFIG_SCHEMA)[K]> };
