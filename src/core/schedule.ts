/**
 * Learning-rate schedules: functions from the (0-based) optimiser step t to a learning rate.
 *
 * | schedule | lr(t) |
 * |---|---|
 * | {@link constantLr} | lr |
 * | {@link stepLr} | lr · γ^⌊t / stepSize⌋ |
 * | {@link cosineLr} | lrMin + (lr − lrMin) · (1 + cos(π · min(t, T) / T)) / 2 |
 * | {@link withWarmup} | t < W: inner(0) · (t + 1) / W;  t ≥ W: inner(t − W) |
 */
export type LrSchedule = (step: number) => number;

function checkStep(t: number): void {
  if (!(Number.isInteger(t) && t >= 0)) throw new RangeError(`schedule step must be a non-negative integer, got ${t}`);
}

/** lr(t) = lr. */
export function constantLr(lr: number): LrSchedule {
  return (t) => {
    checkStep(t);
    return lr;
  };
}

/** lr(t) = lr · gamma^⌊t / stepSize⌋ (PyTorch StepLR). */
export function stepLr(lr: number, stepSize: number, gamma = 0.1): LrSchedule {
  if (!(stepSize >= 1)) throw new RangeError('stepLr: stepSize must be ≥ 1');
  return (t) => {
    checkStep(t);
    return lr * gamma ** Math.floor(t / stepSize);
  };
}

/** Cosine annealing from lr to lrMin over `totalSteps`, then constant lrMin. */
export function cosineLr(lr: number, totalSteps: number, lrMin = 0): LrSchedule {
  if (!(totalSteps >= 1)) throw new RangeError('cosineLr: totalSteps must be ≥ 1');
  return (t) => {
    checkStep(t);
    const x = Math.min(t, totalSteps) / totalSteps;
    return lrMin + ((lr - lrMin) * (1 + Math.cos(Math.PI * x))) / 2;
  };
}

/** Linear warm-up over `warmupSteps` to the inner schedule's first value, then the inner schedule shifted by W. */
export function withWarmup(inner: LrSchedule, warmupSteps: number): LrSchedule {
  if (!(warmupSteps >= 0)) throw new RangeError('withWarmup: warmupSteps must be ≥ 0');
  return (t) => {
    checkStep(t);
    if (t < warmupSteps) return (inner(0) * (t + 1)) / warmupSteps;
    return inner(t - warmupSteps);
  };
}
