import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServingContext } from '../context.js';
import { ServingLogs } from '../request-log.js';
import { analyticsStats } from '../analytics-limits.js';

/** GET /healthz (the process is up), GET /readyz (models loaded, not shutting down), GET /metrics (Prometheus). */
export const healthRoutes: FastifyPluginAsync<{ ctx: ServingContext }> = async (app, { ctx }) => {
  app.get('/healthz', { schema: { tags: ['ops'], summary: 'liveness', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({ status: 'ok' as const }));

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['ops'],
        summary: 'readiness: the served variants, their model versions and index sizes',
        response: {
          200: Type.Object({ status: Type.String(), variants: Type.Record(Type.String(), Type.Object({ model_version: Type.String(), model: Type.String(), bundle_created_at: Type.String({ description: 'when the served bundle was built (its manifest created_at): tells two builds of one run apart' }), indexes: Type.Record(Type.String(), Type.Integer()) })) }),
          503: Type.Object({ status: Type.String() }),
        },
      },
    },
    async (_req, reply) => {
      if (ctx.closing) return reply.code(503).send({ status: 'shutting down' });
      const variants: Record<string, { model_version: string; model: string; bundle_created_at: string; indexes: Record<string, number> }> = {};
      for (const [name, m] of ctx.state.variants) variants[name] = { model_version: m.modelVersion, model: m.model, bundle_created_at: m.bundle.manifest.created_at, indexes: m.indexSizes() };
      return { status: 'ready', variants };
    },
  );

  app.get('/metrics', { schema: { tags: ['ops'], summary: 'Prometheus metrics (of every process of a cluster)' } }, async (_req, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType);
    if (ctx.cluster) return ctx.cluster.metrics();
    if (ctx.logs instanceof ServingLogs) {
      ctx.metrics.setLogRows(ctx.logs);
      ctx.metrics.setAnalytics(analyticsStats(ctx.logs));
    }
    return ctx.metrics.registry.metrics();
  });
};
