import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { ppError } from '../../errors.js';
import type { ServingContext } from '../context.js';
import { ErrorBody, ReloadBody, ReloadResponse } from '../schemas.js';

function tokenMatches(header: string | undefined, token: string): boolean {
  if (!token || !header) return false;
  const m = /^Bearer\s+(.+)$/i.exec(header);
  if (!m) return false;
  const a = Buffer.from(m[1].trim());
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * POST /v1/admin/reload (bearer token) — swaps a variant to another run: the new bundle is opened completely,
 * then one reference is replaced, so no request fails or mixes versions during the swap.
 */
export const adminRoutes: FastifyPluginAsync<{ ctx: ServingContext }> = async (app, { ctx }) => {
  app.post<{ Body: { run_id?: string; variant?: string } | undefined }>(
    '/v1/admin/reload',
    {
      schema: {
        tags: ['admin'],
        summary: 'swap a variant to another run atomically (bearer token)',
        security: [{ bearer: [] }],
        body: ReloadBody,
        response: { 200: ReloadResponse, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      },
      preValidation: async (req) => {
        if (!tokenMatches(req.headers.authorization, ctx.settings.adminToken)) throw ppError('PP_SERVE_UNAUTHORIZED');
        // No body = reload the primary variant to the blessed run.
        if (req.body === undefined || req.body === null) req.body = {};
      },
    },
    async (req) => {
      const body = req.body ?? {};
      if (body.run_id !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(body.run_id)) throw ppError('PP_SERVE_BAD_REQUEST', `run_id: not a run id: ${body.run_id}`);
      return ctx.reload({ variant: body.variant, runId: body.run_id });
    },
  );
};
