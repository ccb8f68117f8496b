import type { FastifyPluginAsync } from 'fastify';
import type { ServingContext } from '../context.js';
import { ErrorBody, RecommendationsQuery, RecommendationsResponse, UserParams } from '../schemas.js';
import { withTitles } from './shared.js';

/** GET /v1/users/{userId}/recommendations — a known user's top-k from the ANN index, with explanations. */
export const userRoutes: FastifyPluginAsync<{ ctx: ServingContext }> = async (app, { ctx }) => {
  app.get<{ Params: { userId: string }; Querystring: { k: number; exclude_seen: boolean; explain: boolean } }>(
    '/v1/users/:userId/recommendations',
    {
      schema: {
        tags: ['recommendations'],
        summary: "a user's recommendations",
        description:
          "Top-k items by the model score ⟨u, e_i⟩ (usearch HNSW over the item embeddings, over-fetching to drop the user's known items). " +
          'Each item carries an explanation: the history items with the highest cosine to it in model space, their dot products, the attention ' +
          'weights when the model exports them (GAT) and the item–item kNN edge weights when the bundle has a content kNN graph.',
        params: UserParams,
        querystring: RecommendationsQuery(ctx.settings.maxK),
        response: { 200: RecommendationsResponse, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      const { userId } = req.params;
      const { k, exclude_seen: excludeSeen, explain } = req.query;
      const { variant, model } = ctx.modelFor(userId);
      req.ppLog = { user_id: userId, model_version: model.modelVersion, variant, k, items: [] }; // logged as is when the user is unknown (404)
      const uid = model.requireUser(userId);
      const history = model.history(uid);
      const items = model.recommend(model.userVector(uid), k, excludeSeen ? history : null, explain ? { history, attentionFrom: model.bundle.history.indptr[uid] } : null);
      req.ppLog = { user_id: userId, model_version: model.modelVersion, variant, k, items };
      return { request_id: req.id, user_id: userId, model_version: model.modelVersion, variant, k, items: withTitles(model, items) };
    },
  );
};
