/** What a search run (`plotpointe tune`, `train --model auto`) records under `extra.search`: its trials and the best. */

/** The metric a search selects on (valid part). */
export const SEARCH_METRIC = 'ndcg@20';

export interface TrialRecord {
  trial: number;
  run_id: string | null;
  model: string;
  /** The searched params of this trial (the rest are the model's defaults or the base params). */
  params: Record<string, string | number | boolean>;
  status: 'finished' | 'pruned' | 'failed';
  valid_ndcg20: number | null;
  valid_recall20: number | null;
  test_ndcg20: number | null;
  epochs: number | null;
  fit_seconds: number | null;
  /** auto: whether the model exports embeddings (can be served). */
  servable?: boolean;
  error?: string;
}

/** What a search run stores under `extra.search` (tune and train --model auto alike). */
export interface SearchRecord {
  kind: 'tune' | 'auto';
  selected_by: string;
  best_run_id: string | null;
  best_trial: number | null;
  /** The best trial's full params (base + searched), for `train --params-from`. */
  best_params: Record<string, unknown> | null;
  trials: TrialRecord[];
}
