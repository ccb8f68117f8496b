/**
 * Progress reporting as an interface: library code (ingest, embedding runs, training, the pipeline's shards)
 * reports through a {@link Progress} made by a {@link ProgressFactory} its caller passes in; the CLI supplies the
 * implementation that draws (src/cli/progress.ts). Without one, work reports to {@link silentProgress}.
 */

export interface Progress {
  /** Advance by `n` units (default 1); `extra` is shown next to the bar (e.g. loss, metrics). */
  tick(n?: number, extra?: Record<string, string | number>): void;
  /** Set the absolute position. */
  update(value: number, extra?: Record<string, string | number>): void;
  setTotal(total: number): void;
  stop(): void;
}

/** Makes one progress display of `total` units labelled `label` (`unit` names the units, e.g. `items`). */
export type ProgressFactory = (label: string, total: number, options?: { unit?: string }) => Progress;

export const silentProgress: Progress = { tick() {}, update() {}, setTotal() {}, stop() {} };

/** The factory library code falls back to when its caller passes none: reports nothing. */
export const silentProgressFactory: ProgressFactory = () => silentProgress;
