/**
 * The deadline of the epoch in progress, so that a budget can stop training inside an epoch.
 *
 * The trainer runs each `trainEpoch` inside {@link runWithEpochDeadline} (an AsyncLocalStorage context,
 * so it reaches the sampler through the model without a parameter); the BPR sampler asks
 * {@link pastEpochDeadline} before each batch after the first and ends the epoch early when the time is up.
 * A cut epoch's loss is the mean over the batches it ran. Outside a trainer (tests, benchmarks) there is no
 * deadline and an epoch always runs to its end.
 */

import { AsyncLocalStorage } from 'node:async_hooks';

interface DeadlineState {
  /** performance.now() in ms at which batches stop. */
  readonly at: number;
  /** Set when a batch was skipped because of the deadline. */
  cut: boolean;
}

const storage = new AsyncLocalStorage<DeadlineState>();

/** Runs `fn` (one epoch) with a deadline at `atMs` (performance.now() ms); reports whether it was cut. */
export async function runWithEpochDeadline<T>(atMs: number, fn: () => T | Promise<T>): Promise<{ value: T; cut: boolean }> {
  const state: DeadlineState = { at: atMs, cut: false };
  const value = await storage.run(state, fn);
  return { value, cut: state.cut };
}

/** True when the current epoch's deadline has passed (and records the cut); false outside a trainer. */
export function pastEpochDeadline(): boolean {
  const s = storage.getStore();
  if (!s || performance.now() < s.at) return false;
  s.cut = true;
  return true;
}
