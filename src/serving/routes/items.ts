import type { FastifyPluginAsync } from 'fastify';
import type { ServingContext } from '../context.js';
import type { ServingModality } from '../../index/serving-bundle.js';
import { ErrorBody, ItemParams, ItemResponse, SimilarQuery, SimilarResponse } from '../schemas.js';
import { withTitles } from './shared.js';

/** GET /v1/items/{itemId} and GET /v1/items/{itemId}/similar (served by the primary variant). */
export const itemRoutes: FastifyPluginAsync<{ ctx: ServingContext }> = async (app, { ctx }) => {
  app.get<{ Params: { itemId: string } }>(
    '/v1/items/:itemId',
    { schema: { tags: ['items'], summary: 'an item and its metadata', params: ItemParams, response: { 200: ItemResponse, 404: ErrorBody } } },
    async (req) => {
      const { variant, model } = ctx.modelFor(null);
      const iid = model.requireItem(req.params.itemId);
      const meta = model.itemMeta(iid);
      const modalities = model.modalities.filter((m) => m === 'graph' || model.bundle.content[m]?.present[iid]);
      return { item_id: req.params.itemId, ...meta, modalities, model_version: model.modelVersion, variant };
    },
  );

  app.get<{ Params: { itemId: string }; Querystring: { k: number; modality?: ServingModality } }>(
    '/v1/items/:itemId/similar',
    {
      schema: {
        tags: ['items'],
        summary: 'similar items in one modality',
        description:
          'fused | text | image: cosine of the content vectors (usearch, metric cos). graph: cosine of the model item embeddings (candidates from the ' +
          'inner-product index, re-ranked exactly). Default modality: fused when the bundle has it, else graph.',
        params: ItemParams,
        querystring: SimilarQuery(ctx.settings.maxK),
        response: { 200: SimilarResponse, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      const { variant, model } = ctx.modelFor(null);
      const k = req.query.k;
      req.ppLog = { user_id: null, item_id: req.params.itemId, model_version: model.modelVersion, variant, k, items: [] }; // logged as is on a 404
      const iid = model.requireItem(req.params.itemId);
      const modality = req.query.modality ?? (model.bundle.indexes.fused ? 'fused' : 'graph');
      const items = model.similar(iid, modality, k);
      req.ppLog = { user_id: null, item_id: req.params.itemId, model_version: model.modelVersion, variant, k, items };
      return { request_id: req.id, item_id: req.params.itemId, modality, model_version: model.modelVersion, variant, k, items: withTitles(model, items) };
    },
  );
};
