import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RunStore, type RunDetails, type RunRecord } from '../tracking/index.js';
import { lakePaths } from '../lake/paths.js';

/**
 * The dashboard's read-only view of the run store, cached. Every RunStore call opens `<lake>/runs.duckdb`
 * (tens of ms, more under load; see run-store.ts), so answers are kept until the file changes: the cache key
 * is the size and mtime of runs.duckdb and its write-ahead log, which every commit (a logged epoch, a
 * finished run, a blessing) changes. A run whose process died changes nothing in the file until a reader
 * records it as interrupted (which these reads do, see run-store.ts), so answers that hold a `running` run
 * are kept for at most RUNNING_TTL_MS.
 */
const RUNNING_TTL_MS = 5000;

export class RunsView {
  private readonly path: string;
  private key = '';
  private lists = new Map<number, RunRecord[]>();
  private details = new Map<string, RunDetails | null>();
  /** When the oldest cached answer with a running run was read; 0 when none. */
  private runningSince = 0;

  constructor(
    private readonly lake: string,
    private readonly dataset: string,
  ) {
    this.path = lakePaths(lake).runStore;
  }

  /** size:mtime of the store and its WAL ('-' when absent). */
  private fileKey(): string {
    const part = (p: string) => {
      try {
        const s = statSync(p);
        return `${s.size}:${s.mtimeMs}`;
      } catch {
        return '-';
      }
    };
    return `${part(this.path)}|${part(`${this.path}.wal`)}`;
  }

  private fresh(): void {
    const k = this.fileKey();
    if (k !== this.key || (this.runningSince > 0 && Date.now() - this.runningSince > RUNNING_TTL_MS)) {
      this.key = k;
      this.lists.clear();
      this.details.clear();
      this.runningSince = 0;
    }
  }

  private noteRunning(runs: readonly (RunRecord | null)[]): void {
    if (this.runningSince === 0 && runs.some((r) => r?.status === 'running')) this.runningSince = Date.now();
  }

  private async withStore<T>(job: (s: RunStore) => Promise<T>): Promise<T | null> {
    if (!existsSync(this.path)) return null;
    const store = await RunStore.open(this.lake, { create: false });
    try {
      return await job(store);
    } finally {
      store.close();
    }
  }

  /** The dataset's runs, newest first (at most `limit`). */
  async list(limit: number): Promise<RunRecord[]> {
    this.fresh();
    const hit = this.lists.get(limit);
    if (hit) return hit;
    const runs = (await this.withStore((s) => s.list({ dataset: this.dataset, limit }))) ?? [];
    this.lists.set(limit, runs);
    this.noteRunning(runs);
    return runs;
  }

  /** One run of the dataset with its epochs; null when unknown or of another dataset. */
  async get(runId: string): Promise<RunDetails | null> {
    this.fresh();
    if (this.details.has(runId)) return this.details.get(runId)!;
    const run = await this.withStore((s) => s.get(runId));
    const mine = run && run.dataset === this.dataset ? run : null;
    this.details.set(runId, mine);
    this.noteRunning([mine]);
    return mine;
  }
}
