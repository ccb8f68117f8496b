/**
 * Live feedback of one API process: the in-memory store (store.ts) filled from the event log at start and by
 * every event this process (or, in a cluster, any worker: the primary re-broadcasts each stored event before the
 * 201, cluster/primary.ts) records, and read back from the log for keys the store may have lost (source.ts).
 *
 * Start-up: the `loadEvents` most recent stored events (restart durability). A key the store does not hold is
 * read back only when the store is not complete (the load was cut at its limit or a key was dropped); concurrent
 * requests of one key share one read, and events recorded during it are applied on top.
 */
import type { LogStore } from '../log-store.js';
import type { FeedbackSettings } from './settings.js';
import type { StoredEvent } from './source.js';
import { FeedbackStore, type FeedbackEntry } from './store.js';

export class FeedbackService {
  readonly settings: FeedbackSettings;
  readonly store: FeedbackStore;
  readonly #source: Pick<LogStore, 'recentEvents'>;
  readonly #reading = new Map<string, { done: Promise<FeedbackEntry | null>; during: StoredEvent[] }>();
  /** Stored events read back for keys not in memory (a diagnostic). */
  readBacks = 0;

  constructor(settings: FeedbackSettings, source: Pick<LogStore, 'recentEvents'>) {
    this.settings = settings;
    this.#source = source;
    this.store = new FeedbackStore({ maxKeys: settings.maxKeys, maxEvents: settings.maxEvents, maxConsumed: settings.maxConsumed, consumeTypes: new Set(settings.consumeTypes) });
  }

  /** Reads the most recent stored events into memory; returns how many. */
  async load(): Promise<number> {
    const limit = this.settings.loadEvents;
    if (limit <= 0) {
      this.store.markIncomplete();
      return 0;
    }
    const rows = await this.#source.recentEvents({ kind: 'recent', limit });
    for (const e of rows) this.store.add(e);
    if (rows.length >= limit) this.store.markIncomplete();
    return rows.length;
  }

  /** One event, stored already (in time order). */
  record(e: StoredEvent): void {
    this.store.add(e);
    this.#reading.get(e.key)?.during.push(e);
  }

  /**
   * The live feedback of `key` (null when it has none): synchronously when memory answers (the key is held, or the
   * store is complete), a promise only while the key is read back from the log — a request awaits only then.
   */
  entry(key: string): FeedbackEntry | null | Promise<FeedbackEntry | null> {
    const held = this.store.get(key);
    if (held) return held.items.length > 0 || held.consumed.size > 0 ? held : null;
    if (this.store.complete) return null;
    let r = this.#reading.get(key);
    if (!r) {
      const during: StoredEvent[] = [];
      const s = this.settings;
      const done = this.#source.recentEvents({ kind: 'key', key, limit: s.maxEvents, consumeTypes: s.consumeTypes, consumedLimit: s.maxConsumed }).then(
        (rows) => {
          this.readBacks++;
          this.store.set(key, rows);
          for (const e of during) this.store.add(e);
          const got = this.store.get(key)!;
          return got.items.length > 0 || got.consumed.size > 0 ? got : null;
        },
      );
      r = { done, during };
      this.#reading.set(key, r);
      void done.finally(() => this.#reading.delete(key)).catch(() => undefined);
    }
    return r.done;
  }
}
