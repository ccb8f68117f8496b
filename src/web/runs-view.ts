import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RunStore, RUN_STORE_FILE, type RunDetails, type RunRecord } from '../tracking/index.js';

/**
 * The dashboard's read-only view of the run store, cached. Every RunStore call opens `<lake>/runs.duckdb`
 * (tens of ms, more under load; see run-store.ts), so answers are kept until the file changes: the cache key
 * is the size and mtime of runs.duckdb and its write-ahead log, which every commit (a logged epoch, a
 * finished run, a blessing) changes.
 */
export class RunsView {
  private readonly path: string;
  private key = '';
  private lists = new Map<number, RunRecord[]>();
  private details = new Map<string, RunDetails | null>();

  constructor(
    private readonly lake: string,
    private readonly dataset: string,
  ) {
    this.path = join(lake, RUN_STORE_FILE);
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
    if (k !== this.key) {
      this.key = k;
      this.lists.clear();
      this.details.clear();
    }
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
    return runs;
  }

  /** One run of the dataset with its epochs; null when unknown or of another dataset. */
  async get(runId: string): Promise<RunDetails | null> {
    this.fresh();
    if (this.details.has(runId)) return this.details.get(runId)!;
    const run = await this.withStore((s) => s.get(runId));
    const mine = run && run.dataset === this.dataset ? run : null;
    this.details.set(runId, mine);
    return mine;
  }
}
