/**
 * Early stopping of bad trials: the median stopping rule (Golovin et al. 2017, "Google Vizier"; Optuna's
 * MedianPruner). After each validation of a trial at epoch e, its best valid NDCG@20 so far is compared with
 * the best-so-far at epoch e of the earlier trials that ran at least to e; below their median (and with at
 * least `minTrials` of them, after `warmup` validations of its own) the trial is stopped. A stopped trial
 * keeps its best epoch and is evaluated like any other (it can still be recorded, never silently dropped).
 */

export interface CurvePoint {
  epoch: number;
  value: number;
}

export interface PrunerOptions {
  /** Earlier trials needed at an epoch before pruning there (default 2). */
  minTrials?: number;
  /** Validations a trial always gets (default 1). */
  warmup?: number;
}

export class MedianPruner {
  private readonly curves: CurvePoint[][] = [];
  private readonly minTrials: number;
  private readonly warmup: number;

  constructor(o: PrunerOptions = {}) {
    this.minTrials = o.minTrials ?? 2;
    this.warmup = o.warmup ?? 1;
  }

  /** Records a trial's validation curve once it is over (finished or pruned). */
  addTrial(curve: readonly CurvePoint[]): void {
    if (curve.length) this.curves.push([...curve].sort((a, b) => a.epoch - b.epoch));
  }

  /** Whether a running trial with this curve (validations so far, in order) should stop now. */
  shouldPrune(curve: readonly CurvePoint[]): boolean {
    if (curve.length <= this.warmup) return false;
    const epoch = curve[curve.length - 1]!.epoch;
    const mine = bestUpTo(curve, epoch)!;
    const others = this.curves.filter((c) => c[c.length - 1]!.epoch >= epoch).map((c) => bestUpTo(c, epoch)).filter((v): v is number => v !== null);
    if (others.length < this.minTrials) return false;
    return mine < median(others);
  }
}

function bestUpTo(curve: readonly CurvePoint[], epoch: number): number | null {
  let best: number | null = null;
  for (const p of curve) if (p.epoch <= epoch && Number.isFinite(p.value) && (best === null || p.value > best)) best = p.value;
  return best;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
