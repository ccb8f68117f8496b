/**
 * What POST /v1/events accepts beyond its schema, so that every event the route answers 201 for is one the store
 * holds as sent (and nothing it cannot hold reaches it as a 500):
 *
 *   value   finite and |value| ≤ serve.event_value_max (default 1e9: a rating or an amount; 1e308 / 1e19 → 400)
 *   ts      a date-time within [now − serve.event_max_age_days, now + serve.event_max_future_s]
 *           (default 3650 days back, 300 s ahead; 9999-12-31 → 400); default: now
 *
 * Violations are 400 PP_SERVE_BAD_REQUEST naming the field.
 */
import { ppError } from '../errors.js';

export interface EventLimits {
  /** Largest |value|. */
  eventValueMax: number;
  /** Oldest accepted ts, days before now. */
  eventMaxAgeDays: number;
  /** Latest accepted ts, seconds after now. */
  eventMaxFutureS: number;
}

/** Checks an event's value and ts against the limits; returns its time (now when it has none). */
export function checkEvent(e: { value?: number; ts?: string }, limits: EventLimits, now = Date.now()): Date {
  if (e.value !== undefined) {
    if (typeof e.value !== 'number' || !Number.isFinite(e.value)) throw ppError('PP_SERVE_BAD_REQUEST', 'value: must be a finite number');
    if (Math.abs(e.value) > limits.eventValueMax) throw ppError('PP_SERVE_BAD_REQUEST', `value: |${e.value}| is over the limit ${limits.eventValueMax} (serve.event_value_max)`);
  }
  if (e.ts === undefined) return new Date(now);
  const t = Date.parse(e.ts);
  if (Number.isNaN(t)) throw ppError('PP_SERVE_BAD_REQUEST', `ts: not a date-time: ${e.ts.slice(0, 64)}`);
  const earliest = now - limits.eventMaxAgeDays * 86_400_000;
  const latest = now + limits.eventMaxFutureS * 1000;
  if (t < earliest || t > latest) {
    throw ppError('PP_SERVE_BAD_REQUEST', `ts: ${e.ts.slice(0, 64)} is outside the accepted window ${new Date(earliest).toISOString()} … ${new Date(latest).toISOString()} (serve.event_max_age_days, serve.event_max_future_s)`);
  }
  return new Date(t);
}
