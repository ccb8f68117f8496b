import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { ppError } from '../../errors.js';
import type { ServingContext } from '../context.js';
import { checkEvent } from '../event-guard.js';
import { feedbackKey } from '../feedback/source.js';
import { ErrorBody, EventBody, EventResponse, type EventBodyT } from '../schemas.js';

/**
 * POST /v1/events — a feedback event, stored in `<lake>/logs/serving.duckdb` (table events) before the 201.
 * The item must be known (404 otherwise); a rating event needs a value; value and ts are bounded (event-guard.ts).
 * The variant is the user's assignment.
 * Live feedback: once stored, the event is in this process's feedback store (and, in a cluster, in every
 * worker's: the primary broadcasts it before answering), so the user's (or, without a user id, the session's)
 * next recommendations follow it (src/serving/feedback/).
 */
export const eventRoutes: FastifyPluginAsync<{ ctx: ServingContext }> = async (app, { ctx }) => {
  app.post<{ Body: EventBodyT }>(
    '/v1/events',
    {
      schema: {
        tags: ['events'],
        summary: 'record an impression, click, purchase or rating',
        body: EventBody,
        response: { 201: EventResponse, 400: ErrorBody, 404: ErrorBody, 413: ErrorBody, 503: ErrorBody },
      },
    },
    async (req, reply) => {
      const e = req.body;
      const { variant, model } = ctx.modelFor(e.user_id ?? null);
      model.requireItem(e.item_id);
      if (e.type === 'rating' && e.value === undefined) throw ppError('PP_SERVE_BAD_REQUEST', 'value: a rating event needs a value');
      const ts = checkEvent(e, ctx.settings);
      if (!ctx.logs) throw ppError('PP_SERVE_UNAVAILABLE', 'the analytics store is disabled');
      const event_id = randomUUID();
      const v = e.user_id !== undefined ? variant : null;
      await ctx.logs.insertEvent({ event_id, ts: ts.toISOString(), request_id: e.request_id ?? null, user_id: e.user_id ?? null, item_id: e.item_id, type: e.type, value: e.value ?? null, variant: v, session_id: e.session_id ?? null });
      const key = feedbackKey(e.user_id, e.session_id);
      if (key) ctx.feedback?.record({ event_id, key, item_id: model.itemId(model.requireItem(e.item_id)), type: e.type, ts: ts.getTime(), value: e.value ?? null });
      reply.code(201);
      return { event_id, variant: v, stored: true };
    },
  );
};
