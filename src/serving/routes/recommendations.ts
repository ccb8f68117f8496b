import type { FastifyPluginAsync } from 'fastify';
import { ppError } from '../../errors.js';
import { foldInUser } from '../../models/fold-in.js';
import type { ServingContext } from '../context.js';
import { recommendLive } from '../feedback/recommend.js';
import { AnonymousBody, ErrorBody, RecommendationsResponse, type AnonymousBodyT } from '../schemas.js';
import { withTitles } from './shared.js';

/**
 * POST /v1/recommendations — a new or anonymous user from a short history: the user vector is folded in from
 * the history's item embeddings (`foldInUser`, src/models/fold-in.ts; no retraining), then ranked like a known
 * user. Unknown item ids are a 404 naming them. With `session_id`, the session's live feedback (its events,
 * src/serving/feedback/) is blended in like a user's — a session with events needs no item_ids. The A/B variant
 * is chosen from `user_id` when given, else the session, else the sorted history.
 */
export const recommendationRoutes: FastifyPluginAsync<{ ctx: ServingContext }> = async (app, { ctx }) => {
  app.post<{ Body: AnonymousBodyT }>(
    '/v1/recommendations',
    {
      schema: {
        tags: ['recommendations'],
        summary: 'recommendations for a new or anonymous user from a short history and/or the events of a session',
        body: AnonymousBody(ctx.settings.maxK),
        response: { 200: RecommendationsResponse, 400: ErrorBody, 404: ErrorBody, 413: ErrorBody },
      },
    },
    async (req) => {
      const body = req.body;
      const k = body.k ?? 20;
      const itemIds = body.item_ids ?? [];
      const key = body.user_id ?? (body.session_id ? `session:${body.session_id}` : [...itemIds].sort().join('|'));
      const { variant, model } = ctx.modelFor(key);
      req.ppLog = { user_id: body.user_id ?? null, model_version: model.modelVersion, variant, k, items: [] }; // logged as is on a 404
      const unknown = itemIds.filter((id) => !model.itemIndex.has(id));
      if (unknown.length > 0) throw ppError('PP_SERVE_ITEM_UNKNOWN', `item_ids: ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ` (+${unknown.length - 10} more)` : ''}`);
      let entry = body.session_id && body.feedback !== false && ctx.feedback ? ctx.feedback.entry(`s:${body.session_id}`) : null;
      if (entry instanceof Promise) entry = await entry;
      if (itemIds.length === 0 && !body.session_id) throw ppError('PP_SERVE_BAD_REQUEST', 'item_ids: give a history, or a session_id with events');
      const history = Int32Array.from(new Set(itemIds.map((id) => model.itemIndex.get(id)!)));
      const sorted = history.slice().sort();
      const items = recommendLive(model, {
        learned: history.length > 0 ? foldInUser(model.bundle.items, model.dim, history) : null,
        known: sorted,
        explainHistory: history,
        attentionFrom: null,
        entry,
        settings: ctx.feedback?.settings ?? ctx.settings.feedback,
        blend: body.blend,
        k,
        excludeSeen: body.exclude_seen !== false,
        explain: body.explain !== false,
        now: Date.now(),
        unknown: `session ${body.session_id}: no history and no events`,
      });
      req.ppLog = { user_id: body.user_id ?? null, model_version: model.modelVersion, variant, k, items };
      return { request_id: req.id, user_id: body.user_id ?? null, model_version: model.modelVersion, variant, k, items: withTitles(model, items) };
    },
  );
};
