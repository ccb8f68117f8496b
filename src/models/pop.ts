/**
 * Most-popular baseline: every user gets the same scores, score(u, i) = number of train interactions of
 * item i (repeated interactions count each time). The evaluator masks what a user has already seen, so
 * each user is recommended the most popular items they have not interacted with; ties go to the lower
 * item id (the evaluator's tie rule).
 */

import { join } from 'node:path';
import { ppError } from '../errors.js';
import { columnCounts } from '../core/csr-pattern.js';
import type { SplitData } from '../graphs/split-data.js';
import { loadState, saveState } from '../train/checkpoint.js';
import type { FitContext, ModelSpec, Recommender } from './model.js';
import { registerModel } from './registry.js';

export class PopModel implements Recommender {
  readonly modelName = 'pop';

  constructor(
    readonly numUsers: number,
    /** counts[i] = train interactions of item i. */
    readonly counts: Float32Array,
  ) {}

  get numItems(): number {
    return this.counts.length;
  }

  scoreUsers(users: Int32Array, out: Float32Array): void {
    const n = this.counts.length;
    for (let r = 0; r < users.length; r++) out.set(this.counts, r * n);
  }

  /** `<dir>/state/`: counts.f32 and state.json (the project's checkpoint format). */
  async save(dir: string): Promise<void> {
    await saveState(join(dir, 'state'), { tensors: { counts: this.counts }, meta: { model: 'pop', format: 1, numUsers: this.numUsers, numItems: this.numItems } });
  }
}

/** Item popularity from the split's train part. */
export function fitPop(data: SplitData): PopModel {
  return new PopModel(data.numUsers, columnCounts(data.train, data.numItems));
}

export const popSpec: ModelSpec = registerModel({
  name: 'pop',
  description: 'Most popular items (train interaction counts), the same list for every user',
  kind: 'heuristic',
  params: {},
  async fit(ctx: FitContext): Promise<Recommender> {
    return fitPop(ctx.data);
  },
  async load(dir: string, data: SplitData): Promise<Recommender> {
    const state = await loadState(join(dir, 'state'));
    if (!state || state.meta.model !== 'pop') throw ppError('PP_MODEL_LOAD', `pop: no saved pop model in ${dir}`);
    const counts = state.tensors.counts;
    if (!counts || counts.length !== data.numItems || state.meta.numUsers !== data.numUsers) {
      throw ppError('PP_MODEL_LOAD', `pop: saved for ${String(state.meta.numUsers)} users × ${counts?.length ?? 0} items, the split has ${data.numUsers} × ${data.numItems}`);
    }
    return new PopModel(data.numUsers, counts);
  },
});
