/**
 * The serving logs' schema: `<lake>/logs/serving.duckdb` with
 *
 *   requests  one row per recommendation response (GET /v1/users/{id}/recommendations, POST /v1/recommendations,
 *             GET /v1/items/{id}/similar, POST /v1/items/cold-start), error responses included (404 unknown
 *             user/item, 400 invalid request, 422…: empty items), shaped like the reference's BigQuery log:
 *             request_id, ts (UTC), route (the route pattern), user_id (null for anonymous/item routes),
 *             model_version (run id), variant (A/B), k, items JSON [{item_id, score, rank}], latency_ms, status,
 *             item_id (the query item of GET /v1/items/{id}/similar, else null — a column added after the
 *             contract's ten, last and nullable, so writers that insert the ten positionally into a table made
 *             from REQUESTS_DDL keep working; the server adds it with REQUESTS_ITEM_COLUMN_DDL)
 *   events    feedback events: event_id, ts, request_id (the response they follow, may be null), user_id,
 *             item_id, type (impression | click | purchase | rating), value (rating or amount, may be null), variant,
 *             session_id (an anonymous session's id, may be null — added after the contract's eight, last and nullable,
 *             by EVENTS_SESSION_COLUMN_DDL, like requests.item_id)
 *
 * Owned by analytics/ (the reader, src/analytics/source.ts); the server writes them (src/serving/request-log.ts).
 */
export const EVENT_TYPES = ['impression', 'click', 'purchase', 'rating'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const REQUESTS_DDL =
  'CREATE TABLE IF NOT EXISTS requests(request_id VARCHAR, ts TIMESTAMP, route VARCHAR, user_id VARCHAR, model_version VARCHAR, variant VARCHAR, k INTEGER, items JSON, latency_ms DOUBLE, status INTEGER)';
/** Adds the query-item column to a requests table made from REQUESTS_DDL (idempotent). */
export const REQUESTS_ITEM_COLUMN_DDL = 'ALTER TABLE requests ADD COLUMN IF NOT EXISTS item_id VARCHAR';
export const EVENTS_DDL =
  'CREATE TABLE IF NOT EXISTS events(event_id VARCHAR, ts TIMESTAMP, request_id VARCHAR, user_id VARCHAR, item_id VARCHAR, type VARCHAR, value DOUBLE, variant VARCHAR)';

/** Adds the session column to an events table made from EVENTS_DDL (idempotent). */
export const EVENTS_SESSION_COLUMN_DDL = 'ALTER TABLE events ADD COLUMN IF NOT EXISTS session_id VARCHAR';

export interface RequestLogRow {
  request_id: string;
  /** ISO 8601 UTC */
  ts: string;
  route: string;
  user_id: string | null;
  model_version: string;
  variant: string;
  k: number;
  items: { item_id: string; score: number; rank: number }[];
  latency_ms: number;
  status: number;
  /** The query item of an item route (GET /v1/items/{id}/similar), even when unknown (404); else null. */
  item_id?: string | null;
}

export interface EventRow {
  event_id: string;
  ts: string;
  request_id: string | null;
  user_id: string | null;
  item_id: string | null;
  type: EventType;
  value: number | null;
  variant: string | null;
  /** An anonymous session's id (live feedback without a user id), else null. */
  session_id?: string | null;
}
