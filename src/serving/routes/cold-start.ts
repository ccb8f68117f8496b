import type { FastifyPluginAsync } from 'fastify';
import { ppError } from '../../errors.js';
import { safeFetch } from '../../net/safe-fetch.js';
import type { ServingContext } from '../context.js';
import { coldStart, type ColdStartEncoders } from '../cold-start.js';
import { ColdStartBody, ColdStartResponse, ErrorBody, type ColdStartBodyT } from '../schemas.js';
import { withTitles } from './shared.js';

/**
 * POST /v1/items/cold-start — similar warm items and likely users for a new item from its content (see
 * cold-start.ts). Image URLs go through the SSRF-safe fetch (http/https only, no private/loopback/link-local
 * targets, size cap, timeout).
 */
export const coldStartRoutes: FastifyPluginAsync<{ ctx: ServingContext; encoders: ColdStartEncoders }> = async (app, { ctx, encoders }) => {
  app.post<{ Body: ColdStartBodyT }>(
    '/v1/items/cold-start',
    {
      schema: {
        tags: ['items'],
        summary: 'similar items and likely users for a new item (content only, no retraining)',
        description:
          'Encodes the text (title, brand, categories, description) with the text encoder of the lake\'s text embeddings and the image with its image encoder, ' +
          'fuses them with the fusion MLP when the bundle carries it (fused space), finds the nearest warm items per content index (cosine), and ranks users by ⟨u, v⟩ where v is the similarity-weighted mean of the model ' +
          'vectors of those warm items.',
        body: ColdStartBody(ctx.settings.maxK),
        response: { 200: ColdStartResponse, 400: ErrorBody, 404: ErrorBody, 413: ErrorBody, 422: ErrorBody },
      },
    },
    async (req) => {
      const b = req.body;
      const { variant, model } = ctx.modelFor(null);
      const k = b.k ?? 20;
      req.ppLog = { user_id: null, model_version: model.modelVersion, variant, k, items: [] }; // logged as is on an error
      if (b.image_url !== undefined && b.image_base64 !== undefined) throw ppError('PP_SERVE_BAD_REQUEST', 'image_url: give image_url or image_base64, not both');
      let image: Buffer | undefined;
      if (b.image_base64 !== undefined) {
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b.image_base64.replace(/\s+/g, ''))) throw ppError('PP_SERVE_BAD_REQUEST', 'image_base64: not base64');
        image = Buffer.from(b.image_base64, 'base64');
        if (image.length === 0) throw ppError('PP_SERVE_BAD_REQUEST', 'image_base64: empty');
        if (image.length > ctx.settings.imageMaxBytes) throw ppError('PP_SERVE_BODY_TOO_LARGE', `image_base64: ${image.length} bytes > ${ctx.settings.imageMaxBytes}`);
      } else if (b.image_url !== undefined) {
        image = await safeFetch(b.image_url, { maxBytes: ctx.settings.imageMaxBytes, timeoutMs: ctx.settings.imageTimeoutMs, retries: 0, allowPrivate: ctx.settings.allowPrivateImageUrls });
      }
      const r = await coldStart(model, encoders, { title: b.title, description: b.description, brand: b.brand, categories: b.categories, image }, { k, usersK: b.users_k ?? 20 });
      const first = r.modalities[0];
      req.ppLog = { user_id: null, model_version: model.modelVersion, variant, k, items: first ? r.similar[first] : [] };
      const similar = Object.fromEntries(Object.entries(r.similar).map(([m, rows]) => [m, withTitles(model, rows)]));
      return { request_id: req.id, model_version: model.modelVersion, variant, modalities: r.modalities, similar, users: r.users, neighbours_used: r.neighbours_used };
    },
  );
};
