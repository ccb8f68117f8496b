import { join } from 'node:path';
import { ppError } from '../errors.js';
import type { FitContext, Recommender } from '../models/model.js';
import { loadState, saveState, type TensorState } from './checkpoint.js';
import { runWithEpochDeadline } from './epoch-deadline.js';

/** A model trained epoch by epoch (MF, LightGCN, GAT, …): the trainer drives it. */
export interface TrainableModel extends Recommender {
  /** Runs one epoch of optimisation; returns the mean training loss. */
  trainEpoch(epoch: number): Promise<number> | number;
  /** Parameters and optimiser state, for checkpoints (resume) and for keeping the best epoch. */
  getState(): TensorState;
  setState(state: TensorState): void;
  /** Current learning rate, for the log. */
  learningRate?(): number;
}

export interface TrainLoopOptions {
  maxEpochs: number;
  /** Validate every `evalEvery` epochs (and after the last). */
  evalEvery: number;
  /** Stop after this many validations without improvement of `monitor`. */
  patience: number;
  /** Validation metric to select on (default ndcg@20). */
  monitor?: string;
}

export interface TrainLoopResult {
  epochs: number;
  bestEpoch: number;
  bestMetrics: Record<string, number>;
  stoppedBy: 'max-epochs' | 'patience' | 'budget' | 'pruned';
  seconds: number;
  resumedFrom: number | null;
}

/**
 * The training loop shared by every trained model: epochs, validation on the valid part (never test) every
 * `evalEvery` epochs, early stopping on `monitor` with `patience`, the best epoch's state kept and restored
 * at the end, a wall-clock budget, and a checkpoint after every validation so an interrupted run resumes
 * (`ctx.resume`) where it stopped. A non-finite loss stops with PP_TRAIN_DIVERGED.
 *
 * The budget is kept inside an epoch too: each epoch runs with a deadline (budget end minus the last
 * validation's duration, which still has to run) that the BPR sampler checks between batches, so a model
 * with 40-s epochs stops within a batch of its budget instead of finishing the epoch (epoch-deadline.ts).
 */
export async function trainLoop(ctx: FitContext, model: TrainableModel, options: TrainLoopOptions): Promise<TrainLoopResult> {
  const started = performance.now();
  const monitor = options.monitor ?? 'ndcg@20';
  const lastDir = join(ctx.workDir, 'checkpoint-last');
  const bestDir = join(ctx.workDir, 'checkpoint-best');
  let startEpoch = 1;
  let best = { epoch: 0, value: -Infinity, metrics: {} as Record<string, number> };
  let bad = 0;
  let resumedFrom: number | null = null;
  if (ctx.resume) {
    const last = await loadState(lastDir);
    if (last) {
      model.setState(last);
      const m = last.meta as { epoch: number; best: typeof best; bad: number };
      startEpoch = m.epoch + 1;
      best = m.best;
      bad = m.bad;
      resumedFrom = m.epoch;
    }
  }
  let bestState: TensorState | null = best.epoch > 0 ? await loadState(bestDir) : null;
  const progress = ctx.progress(`train ${model.modelName}`, options.maxEpochs);
  progress.update(startEpoch - 1);
  let epoch = startEpoch - 1;
  let stoppedBy: TrainLoopResult['stoppedBy'] = 'max-epochs';
  const elapsed = () => (performance.now() - started) / 1000;
  let validateSeconds = 0;
  try {
    for (epoch = startEpoch; epoch <= options.maxEpochs; epoch++) {
      const t0 = performance.now();
      const deadline = started + (ctx.budgetSeconds - validateSeconds) * 1000;
      const { value: loss, cut } = await runWithEpochDeadline(deadline, () => model.trainEpoch(epoch));
      if (!Number.isFinite(loss)) throw ppError('PP_TRAIN_DIVERGED', `${model.modelName} epoch ${epoch}: loss ${loss}`);
      const overBudget = cut || elapsed() >= ctx.budgetSeconds;
      const validateNow = epoch % options.evalEvery === 0 || epoch === options.maxEpochs || overBudget;
      let metrics: Record<string, number> = {};
      if (validateNow) {
        const v0 = performance.now();
        metrics = await ctx.validate(model);
        validateSeconds = (performance.now() - v0) / 1000;
        const value = metrics[monitor] ?? -Infinity;
        if (value > best.value) {
          best = { epoch, value, metrics };
          bad = 0;
          bestState = cloneState(model.getState());
          await saveState(bestDir, { ...bestState, meta: { epoch } });
        } else {
          bad++;
        }
        await saveState(lastDir, { ...model.getState(), meta: { epoch, best, bad } });
      }
      ctx.onEpoch({ epoch, loss, metrics, seconds: (performance.now() - t0) / 1000, lr: model.learningRate?.() });
      // Let timers and I/O callbacks run between epochs (synchronous epochs otherwise hold them until the next
      // validation): the run store's epoch writes and heartbeat, and its file lock, are released promptly.
      await new Promise((r) => setImmediate(r));
      // no best= before the first validation (it would print -Infinity)
      progress.update(epoch, { loss, ...(validateNow ? { [monitor]: metrics[monitor] ?? NaN } : {}), ...(best.epoch > 0 ? { best: best.value } : {}) });
      if (validateNow && bad >= options.patience) {
        stoppedBy = 'patience';
        break;
      }
      if (validateNow && ctx.stop?.()) {
        stoppedBy = 'pruned';
        break;
      }
      if (overBudget) {
        stoppedBy = 'budget';
        break;
      }
    }
  } finally {
    progress.stop();
  }
  if (bestState) model.setState(bestState);
  return {
    epochs: Math.min(epoch, options.maxEpochs),
    bestEpoch: best.epoch,
    bestMetrics: best.metrics,
    stoppedBy,
    seconds: elapsed(),
    resumedFrom,
  };
}

function cloneState(s: TensorState): TensorState {
  return { meta: { ...s.meta }, tensors: Object.fromEntries(Object.entries(s.tensors).map(([k, v]) => [k, v.slice()])) };
}
