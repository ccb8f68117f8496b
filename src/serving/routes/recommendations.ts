import type { FastifyPluginAsync } from 'fastify';
import { ppError } from '../../errors.js';
import { foldInUser } from '../../models/fold-in.js';
import type { ServingContext } from '../context.js';
import { AnonymousBody, ErrorBody, RecommendationsResponse, type AnonymousBodyT } from '../schemas.js';
import { withTitles } from './shared.js';

/**
 * POST /v1/recommendations — a new or anonymous user from a short history: the user vector is folded in from
 * the history's item embeddings (`foldInUser`, src/models/fold-in.ts; no retraining), then ranked like a known
 * user. Unknown item ids are a 404 naming them. The A/B variant is chosen from `user_id` when given, else from
 * the sorted history.
 */
export const recommendationRoutes: FastifyPluginAsync<{ ctx: ServingContext }> = async (app, { ctx }) => {
  app.post<{ Body: AnonymousBodyT }>(
    '/v1/recommendations',
    {
      schema: {
        tags: ['recommendations'],
        summary: 'recommendations for a new or anonymous user from a short history',
        body: AnonymousBody(ctx.settings.maxK),
        response: { 200: RecommendationsResponse, 400: ErrorBody, 404: ErrorBody, 413: ErrorBody },
      },
    },
    async (req) => {
      const body = req.body;
      const k = body.k ?? 20;
      const key = body.user_id ?? [...body.item_ids].sort().join('|');
      const { variant, model } = ctx.modelFor(key);
      req.ppLog = { user_id: body.user_id ?? null, model_version: model.modelVersion, variant, k, items: [] }; // logged as is on a 404
      const unknown = body.item_ids.filter((id) => !model.itemIndex.has(id));
      if (unknown.length > 0) throw ppError('PP_SERVE_ITEM_UNKNOWN', `item_ids: ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ` (+${unknown.length - 10} more)` : ''}`);
      const history = Int32Array.from(new Set(body.item_ids.map((id) => model.itemIndex.get(id)!)));
      const vector = foldInUser(model.bundle.items, model.dim, history);
      const sorted = history.slice().sort();
      const items = model.recommend(vector, k, body.exclude_seen === false ? null : sorted, body.explain === false ? null : { history, attentionFrom: null });
      req.ppLog = { user_id: body.user_id ?? null, model_version: model.modelVersion, variant, k, items };
      return { request_id: req.id, user_id: body.user_id ?? null, model_version: model.modelVersion, variant, k, items: withTitles(model, items) };
    },
  );
};
