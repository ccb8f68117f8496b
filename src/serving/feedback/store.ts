/**
 * Live feedback's memory of one API process: per key (`u:<user>` / `s:<session>`, source.ts) the most recent
 * events (at most `maxEvents`, oldest first: the fold-in's input) and the consumed items (at most `maxConsumed`
 * item ids: excluded from that key's recommendations). At most `maxKeys` keys are held, least recently used
 * dropped first (a Map re-inserted on each touch keeps that order).
 *
 * Memory: a key costs ~200 B plus ~60 B per recent event and ~40 B per consumed item (item ids are the bundle's
 * strings when they come from a route); 300K keys × 10 events ≈ 250 MB at most, and far less in practice since
 * most users have a few events.
 *
 * Completeness: the store knows it holds every stored event of every key (`complete`) until a start-up load was
 * cut at its limit or a key was dropped; after that a key that is not here may have stored events, and the
 * service reads it back from the log (service.ts). Keys read back with no events are held as empty entries, so
 * a user without events costs that read once.
 */
import type { EventType } from '../../analytics/log-schema.js';
import type { StoredEvent } from './source.js';

export interface FeedbackEntry {
  /** Recent events, oldest first (parallel arrays). */
  readonly eventIds: string[];
  readonly items: string[];
  readonly types: EventType[];
  /** epoch ms */
  readonly ts: number[];
  readonly values: (number | null)[];
  /** Consumed item ids, in the order consumed (oldest first). */
  readonly consumed: Set<string>;
  /** Bumped on every change of the entry (what a request derives from it is cached per version: profile.ts). */
  version: number;
}

export interface FeedbackStoreLimits {
  maxKeys: number;
  maxEvents: number;
  maxConsumed: number;
  /** Types that consume their item. */
  consumeTypes: ReadonlySet<string>;
}

export class FeedbackStore {
  readonly limits: FeedbackStoreLimits;
  readonly #entries = new Map<string, FeedbackEntry>();
  #complete = true;

  constructor(limits: FeedbackStoreLimits) {
    this.limits = limits;
  }

  /** True while every stored event of every key is held here (see the module comment). */
  get complete(): boolean {
    return this.#complete;
  }

  /** Marks the store as possibly missing keys (a start-up load cut at its limit). */
  markIncomplete(): void {
    this.#complete = false;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entry of `key`, touched (most recently used), or undefined when not held. */
  get(key: string): FeedbackEntry | undefined {
    const e = this.#entries.get(key);
    if (e) {
      this.#entries.delete(key);
      this.#entries.set(key, e);
    }
    return e;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /**
   * Adds one event (in time order per key; an event id already among the key's recent events is ignored, so a
   * replayed or re-broadcast event counts once). Creates the key's entry.
   */
  add(e: StoredEvent): void {
    const entry = this.#entry(e.key);
    if (entry.eventIds.includes(e.event_id)) return;
    entry.version++;
    entry.eventIds.push(e.event_id);
    entry.items.push(e.item_id);
    entry.types.push(e.type);
    entry.ts.push(e.ts);
    entry.values.push(e.value);
    if (entry.eventIds.length > this.limits.maxEvents) {
      const drop = entry.eventIds.length - this.limits.maxEvents;
      for (const a of [entry.eventIds, entry.items, entry.types, entry.ts, entry.values] as unknown[][]) a.splice(0, drop);
    }
    if (this.limits.consumeTypes.has(e.type)) {
      entry.consumed.delete(e.item_id);
      entry.consumed.add(e.item_id);
      if (entry.consumed.size > this.limits.maxConsumed) entry.consumed.delete(entry.consumed.values().next().value!);
    }
  }

  /** Holds `key` with exactly these events (oldest first; an empty list = known to have none). */
  set(key: string, events: readonly StoredEvent[]): void {
    this.#entries.delete(key);
    this.#entry(key).version++;
    for (const e of events) this.add(e);
  }

  /** The entry of `key`, created empty when missing (dropping the least recently used key beyond maxKeys). */
  #entry(key: string): FeedbackEntry {
    let e = this.get(key);
    if (!e) {
      e = { eventIds: [], items: [], types: [], ts: [], values: [], consumed: new Set(), version: 0 };
      this.#entries.set(key, e);
      if (this.#entries.size > this.limits.maxKeys) {
        this.#entries.delete(this.#entries.keys().next().value!);
        this.#complete = false;
      }
    }
    return e;
  }
}
