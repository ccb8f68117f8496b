import type { Progress } from '../core/progress.js';
import type { KnnGraph } from '../graphs/knn-graph.js';
import type { SplitData } from '../graphs/split-data.js';

/**
 * The contract of every recommender in the registry (one file per model under src/models/). A model is
 * fitted on a split's train part (valid is for model selection only, never test), scores users over all
 * items, saves and loads itself, and exports embeddings when it has them (for the ANN index).
 */

/** Hyperparameters of a model: documented defaults, overridden from config/CLI (`--param key=value`). */
export type Params = Readonly<Record<string, number | string | boolean>>;

export interface ParamSpec {
  readonly default: number | string | boolean;
  readonly doc: string;
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
}

/** What a model learnt, as the trainer reports it once per epoch. */
export interface EpochReport {
  epoch: number;
  loss: number;
  /** Validation metrics (full ranking on valid, train items masked), e.g. {"ndcg@20": 0.12}. */
  metrics: Record<string, number>;
  seconds: number;
  lr?: number;
}

/** An item-content modality: the pretrained encoders' outputs, or the fusion MLP's output for a split. */
export type ContentModality = 'text' | 'image' | 'fused';

/** One modality's item vectors, aligned to the split's dense item ids. */
export interface ItemContent {
  modality: ContentModality;
  /** Row-major `numItems × dim`; row i = split item i; rows of items without this modality are zero. */
  vectors: Float32Array;
  dim: number;
  /** One byte per split item: 1 = a real vector, 0 = the item lacks this modality. */
  present: Uint8Array;
  /** The encoder's display name (from the embedding meta). */
  encoder: string;
}

/**
 * Item content and item–item graphs for a split (the lake's embeddings remapped from staging iids to the
 * split's item ids by item_id). Models that use content take it from here; ID-only models ignore it.
 */
export interface ContentSource {
  /** The modality's vectors, or null when the lake has none for this dataset (not embedded yet). */
  modality(name: ContentModality): Promise<ItemContent | null>;
  /** The item–item kNN graph of a modality over split item ids (similarity weights), or null when not built. */
  itemGraph(name: ContentModality): Promise<KnnGraph | null>;
}

export interface FitContext {
  data: SplitData;
  /** Item content of the split's lake (absent in unit tests of ID-only models). */
  content?: ContentSource;
  params: Params;
  seed: number;
  /** Wall-clock budget for fitting, seconds (Infinity = none); the trainer stops and keeps the best checkpoint. */
  budgetSeconds: number;
  /** Folder for checkpoints (resumable training) and the saved model. */
  workDir: string;
  /** Resume from the checkpoint in workDir when there is one. */
  resume: boolean;
  /** Validation NDCG/Recall on the valid part (train masked); models use it for early stopping. */
  validate(model: Recommender): Promise<Record<string, number>>;
  /** Called after every epoch (experiment tracking, progress). */
  onEpoch(report: EpochReport): void;
  /** Asked after each validation: true ends training there, keeping the best epoch (a search pruning a trial). */
  stop?(): boolean;
  progress(label: string, total: number): Progress;
}

export interface Recommender {
  readonly modelName: string;
  readonly numUsers: number;
  readonly numItems: number;
  /**
   * Scores `users` over all items into `out` (row-major users.length × numItems). Higher is better.
   * Masking of seen items is the caller's job (the evaluator masks train items).
   */
  scoreUsers(users: Int32Array, out: Float32Array): void | Promise<void>;
  /** Writes the model into `dir` (created by the caller). */
  save(dir: string): Promise<void>;
  /** User and item embeddings whose dot product is the score, when the model has them. */
  embeddings?(): { users: Float32Array; items: Float32Array; dim: number } | null;
  /** Graph-attention models: the attention the user pays to each of their train items, by item id (explanations, the serving bundle). */
  historyAttention?(user: number): Map<number, number>;
  /** Frees native or pooled memory. */
  dispose?(): void;
}

export interface ModelSpec {
  readonly name: string;
  /** One line for `plotpointe models` and the README. */
  readonly description: string;
  /** Trainable by gradient descent (BPR), or fitted in closed form / by counting. */
  readonly kind: 'trained' | 'closed-form' | 'heuristic';
  /** Reads item content (embeddings, item–item graphs) through `FitContext.content`: the pipeline's train step then waits for the content steps. */
  readonly readsContent?: boolean;
  /**
   * The content a fit with these params reads (embeddings and stored item–item graphs, by modality); absent = every
   * modality and graph. The pipeline's train step waits only for the steps that produce them.
   */
  contentReads?(params: Readonly<Record<string, unknown>>): { embeddings: ContentModality[]; graphs: ContentModality[] };
  readonly params: Readonly<Record<string, ParamSpec>>;
  fit(ctx: FitContext): Promise<Recommender>;
  load(dir: string, data: SplitData, content?: ContentSource): Promise<Recommender>;
}
