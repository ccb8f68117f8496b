/**
 * Live feedback's reads of the stored events (`<lake>/logs/serving.duckdb`, table events): what a server loads
 * at start (the most recent events, restart durability) and what it reads back for one user or session that is
 * not in memory (evicted, or older than the start-up window). The SQL runs on the process that holds the store
 * (the single server, or a cluster's primary); workers ask it over IPC (cluster/remote-logs.ts).
 *
 * Keys: `u:<user_id>` for events with a user id, `s:<session_id>` for anonymous ones (no user id, a session id).
 * Timestamps cross as epoch milliseconds (numbers: IPC is JSON and BIGINT would not survive it).
 */
import type { DuckDBValue } from '@duckdb/node-api';
import { ppError } from '../../errors.js';
import type { EventType } from '../../analytics/log-schema.js';

/** One stored event as live feedback uses it. */
export interface StoredEvent {
  event_id: string;
  /** `u:<user_id>` or `s:<session_id>` */
  key: string;
  item_id: string;
  type: EventType;
  /** epoch ms */
  ts: number;
  value: number | null;
}

export type StoredEventsQuery =
  /** The `limit` most recent events that name a user or a session, returned oldest first. */
  | { kind: 'recent'; limit: number }
  /**
   * One key's `limit` most recent events, preceded by its consumed items (the latest event of each of at most
   * `consumedLimit` items with a type in `consumeTypes`) older than those: oldest first.
   */
  | { kind: 'key'; key: string; limit: number; consumeTypes: string[]; consumedLimit: number };

/** The feedback key of an event or request: the user when there is one, else the session; null for neither. */
export function feedbackKey(userId: string | null | undefined, sessionId: string | null | undefined): string | null {
  if (userId) return `u:${userId}`;
  if (sessionId) return `s:${sessionId}`;
  return null;
}

const COLUMNS = 'event_id, epoch_ms(ts) AS ts, user_id, session_id, item_id, type, value';

/** WHERE clause and parameter of one key. */
function keyFilter(key: string): { where: string; param: string } {
  if (key.startsWith('u:')) return { where: 'user_id = ?', param: key.slice(2) };
  if (key.startsWith('s:')) return { where: 'user_id IS NULL AND session_id = ?', param: key.slice(2) };
  throw ppError('PP_INTERNAL', `not a feedback key: ${key}`);
}

function toEvent(r: Record<string, unknown>): StoredEvent {
  return {
    event_id: String(r.event_id),
    key: feedbackKey(r.user_id as string | null, r.session_id as string | null)!,
    item_id: String(r.item_id),
    type: r.type as EventType,
    ts: Number(r.ts),
    value: r.value === null || r.value === undefined ? null : Number(r.value),
  };
}

/** Runs a {@link StoredEventsQuery} with `query` (a read on the store's connection). */
export async function readStoredEvents(query: (sql: string, params: DuckDBValue[]) => Promise<Record<string, unknown>[]>, q: StoredEventsQuery): Promise<StoredEvent[]> {
  if (q.kind === 'recent') {
    if (q.limit <= 0) return [];
    const rows = await query(`SELECT ${COLUMNS} FROM events WHERE item_id IS NOT NULL AND (user_id IS NOT NULL OR session_id IS NOT NULL) ORDER BY ts DESC, event_id DESC LIMIT ?`, [q.limit]);
    return rows.map(toEvent).reverse();
  }
  const { where, param } = keyFilter(q.key);
  const recent = (await query(`SELECT ${COLUMNS} FROM events WHERE ${where} AND item_id IS NOT NULL ORDER BY ts DESC, event_id DESC LIMIT ?`, [param, q.limit])).map(toEvent).reverse();
  if (q.consumeTypes.length === 0 || q.consumedLimit <= 0) return recent;
  const oldest = recent.length > 0 ? recent[0].ts : Infinity;
  const types = q.consumeTypes.map(() => '?').join(', ');
  const consumed = await query(
    `SELECT arg_max(event_id, ts) AS event_id, max(epoch_ms(ts)) AS ts, any_value(user_id) AS user_id, any_value(session_id) AS session_id, item_id, arg_max(type, ts) AS type, arg_max(value, ts) AS value ` +
      `FROM events WHERE ${where} AND item_id IS NOT NULL AND type IN (${types}) GROUP BY item_id ORDER BY ts DESC, item_id LIMIT ?`,
    [param, ...q.consumeTypes, q.consumedLimit],
  );
  const inRecent = new Set(recent.map((e) => e.event_id));
  const older = consumed.map(toEvent).filter((e) => !inRecent.has(e.event_id) && e.ts <= oldest);
  older.sort((a, b) => a.ts - b.ts);
  return [...older, ...recent];
}
