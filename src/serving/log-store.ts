import type { EventRow, RequestLogRow } from '../analytics/log-schema.js';
import type { StoredEvent, StoredEventsQuery } from './feedback/source.js';

/**
 * Where a server's request log and feedback events go: the DuckDB store itself (ServingLogs, request-log.ts) or,
 * in a cluster worker, the primary process that holds it (RemoteLogs, cluster/remote-logs.ts) — DuckDB lets one
 * process open the file.
 */
export interface LogStore {
  /**
   * Buffers one request row (written in batches). A cluster worker's store returns a promise that resolves once
   * the row has been handed to the primary's channel (the app holds the response until then).
   */
  logRequest(row: RequestLogRow): void | Promise<void>;
  /** Writes the waiting request rows (a cluster worker: hands them to the primary's store); resolves when done. */
  flush(): Promise<void>;
  /** Stores one event; resolves when it is durable. */
  insertEvent(e: EventRow): Promise<void>;
  /** Stored events for live feedback: the most recent ones, or one user's or session's (feedback/source.ts). */
  recentEvents(q: StoredEventsQuery): Promise<StoredEvent[]>;
  /** Flushes and releases the store. */
  close(): Promise<void>;
}
