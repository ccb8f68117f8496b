import type { FastifyPluginAsync } from 'fastify';
import type { ServingContext } from '../context.js';
import { recommendLive } from '../feedback/recommend.js';
import { ErrorBody, RecommendationsQuery, RecommendationsResponse, UserParams } from '../schemas.js';
import { withTitles } from './shared.js';

/**
 * GET /v1/users/{userId}/recommendations — a user's top-k from the ANN index, with explanations. With live
 * feedback (src/serving/feedback/) the user's recent events shift the vector and their consumed items are
 * dropped; a user the model never saw is served from their events alone (404 without any).
 */
export const userRoutes: FastifyPluginAsync<{ ctx: ServingContext }> = async (app, { ctx }) => {
  app.get<{ Params: { userId: string }; Querystring: { k: number; exclude_seen: boolean; explain: boolean; feedback: boolean; blend?: number } }>(
    '/v1/users/:userId/recommendations',
    {
      schema: {
        tags: ['recommendations'],
        summary: "a user's recommendations",
        description:
          "Top-k items by the model score ⟨u, e_i⟩ (usearch HNSW over the item embeddings, over-fetching to drop the user's known items). " +
          'Each item carries an explanation: the history items with the highest cosine to it in model space, their dot products, the attention ' +
          'weights when the model exports them (GAT) and the item–item kNN edge weights when the bundle has a content kNN graph. ' +
          "Live feedback: the user's recent events (POST /v1/events) are folded into u (serve.feedback.blend), items they consumed (serve.feedback.consume_types) " +
          'are dropped, and an item there because of a recent event says so in `because`.',
        params: UserParams,
        querystring: RecommendationsQuery(ctx.settings.maxK),
        response: { 200: RecommendationsResponse, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      const { userId } = req.params;
      const { k, exclude_seen: excludeSeen, explain, feedback, blend } = req.query;
      const { variant, model } = ctx.modelFor(userId);
      req.ppLog = { user_id: userId, model_version: model.modelVersion, variant, k, items: [] }; // logged as is when the user is unknown (404)
      const uid = model.userIndex.get(userId);
      let entry = feedback && ctx.feedback ? ctx.feedback.entry(`u:${userId}`) : null;
      if (entry instanceof Promise) entry = await entry;
      let items;
      if (!entry) {
        const u = model.requireUser(userId);
        const history = model.history(u);
        items = model.recommend(model.userVector(u), k, excludeSeen ? history : null, explain ? { history, attentionFrom: model.bundle.history.indptr[u] } : null);
      } else {
        items = recommendLive(model, {
          learned: uid === undefined ? null : model.userVector(uid),
          known: uid === undefined ? new Int32Array(0) : model.history(uid),
          attentionFrom: uid === undefined ? null : model.bundle.history.indptr[uid],
          entry,
          settings: ctx.feedback!.settings,
          blend,
          k,
          excludeSeen,
          explain,
          now: Date.now(),
          unknown: userId,
        });
      }
      req.ppLog = { user_id: userId, model_version: model.modelVersion, variant, k, items };
      return { request_id: req.id, user_id: userId, model_version: model.modelVersion, variant, k, items: withTitles(model, items) };
    },
  );
};
