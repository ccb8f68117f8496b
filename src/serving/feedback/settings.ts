/**
 * Live feedback's settings (config keys `serve.feedback.*`, documented in src/config/schema.ts): which event
 * types consume an item, the fold-in weight of each type, its time decay, the blend weight α and the memory
 * bounds of the per-process store (store.ts).
 */
import type { Config } from '../../config/schema.js';
import { ppError } from '../../errors.js';
import { EVENT_TYPES, type EventType } from '../../analytics/log-schema.js';

export interface FeedbackSettings {
  enabled: boolean;
  consumeTypes: EventType[];
  /** α of u = ‖u‖·((1−α)·û + α·f) */
  blend: number;
  weights: Record<EventType, number>;
  /** ratings below this weigh 0 in the fold-in */
  minRating: number;
  halfLifeHours: number;
  maxEvents: number;
  maxConsumed: number;
  maxKeys: number;
  loadEvents: number;
}

export const DEFAULT_FEEDBACK_SETTINGS: FeedbackSettings = {
  enabled: true,
  consumeTypes: ['purchase', 'rating'],
  blend: 0.25,
  weights: { impression: 0, click: 1, purchase: 1, rating: 1 },
  minRating: 3,
  halfLifeHours: 24,
  maxEvents: 50,
  maxConsumed: 1000,
  maxKeys: 300_000,
  loadEvents: 1_000_000,
};

/** Parses a comma-separated list of event types (`serve.feedback.consume_types`, `train.event_types`; empty = none). */
export function parseConsumeTypes(spec: string, key = 'serve.feedback.consume_types'): EventType[] {
  const out: EventType[] = [];
  for (const t of spec.split(',').map((x) => x.trim()).filter(Boolean)) {
    if (!(EVENT_TYPES as readonly string[]).includes(t)) throw ppError('PP_CONFIG_INVALID', `${key}: ${t} is not an event type (${EVENT_TYPES.join(', ')})`);
    if (!out.includes(t as EventType)) out.push(t as EventType);
  }
  return out;
}

export function feedbackSettingsFromConfig(c: Config): FeedbackSettings {
  return {
    enabled: c['serve.feedback.enabled'],
    consumeTypes: parseConsumeTypes(c['serve.feedback.consume_types']),
    blend: c['serve.feedback.blend'],
    weights: { impression: c['serve.feedback.weight_impression'], click: c['serve.feedback.weight_click'], purchase: c['serve.feedback.weight_purchase'], rating: c['serve.feedback.weight_rating'] },
    minRating: c['serve.feedback.min_rating'],
    halfLifeHours: c['serve.feedback.half_life_hours'],
    maxEvents: c['serve.feedback.max_events'],
    maxConsumed: c['serve.feedback.max_consumed'],
    maxKeys: c['serve.feedback.max_keys'],
    loadEvents: c['serve.feedback.load_events'],
  };
}
