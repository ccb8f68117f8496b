/**
 * The HTTP API (Fastify 5): `buildApp(ctx, opts)` registers the routes (one file per resource under routes/),
 * OpenAPI from the TypeBox route schemas (@fastify/swagger, UI at /docs), Prometheus metrics per route, the
 * request log, request ids (`x-request-id`, echoed back) and the error mapping:
 *
 *   PP_SERVE_USER_UNKNOWN / ITEM_UNKNOWN / MODALITY_MISSING, PP_RUN_NOT_FOUND, unknown routes → 404
 *   validation failures, malformed JSON, PP_SERVE_BAD_REQUEST, PP_FETCH_BLOCKED               → 400 (with `field`)
 *   missing/wrong bearer token → 401;  a Host/Origin not among the server's names (host-guard.ts), analytics SQL
 *   without an admin token → 403;  body over the limit, PP_FETCH_TOO_LARGE → 413;  a request (headers + body)
 *   not received within serve.request_timeout_ms → 408 and the connection closed
 *   PP_SERVE_BUNDLE / PP_RUN_NOT_BLESSED / PP_RUN_INVALID (reload) → 409;  undecodable image, fetch
 *   failure/timeout, PP_SERVE_COLD_START, an encoder the bundle names but this build lacks → 422;
 *   PP_SERVE_UNAVAILABLE, an encoder that fails to load → 503;  anything else → 500 (a bug).
 *
 * Errors answer `{error: {code, message, field?}, request_id}`. Every response of the four recommendation routes
 * (users/{id}/recommendations, recommendations, items/{id}/similar, items/cold-start) is written to the request
 * log, errors included: a 404 (unknown user/item), 400 (invalid request), 422… row carries its status, the user
 * id / query item id the request named, the variant it was assigned and empty items — what analytics drift's
 * not_found_share and unknown_user_share count. Shutdown (`app.close()`) stops accepting,
 * lets in-flight requests finish, flushes the request log and closes the analytics store.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { ERRORS, isPlotPointeError } from '../errors.js';
import { codeVersion } from '../lake/manifest.js';
import type { Config } from '../config/schema.js';
import type { ServingContext } from './context.js';
import { ColdStartEncoders, type EncoderFactory } from './cold-start.js';
import type { Recommendation, SimilarItem } from './served-model.js';
import { adminRoutes } from './routes/admin.js';
import { analyticsRoutes } from './routes/analytics.js';
import { coldStartRoutes } from './routes/cold-start.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { itemRoutes } from './routes/items.js';
import { recommendationRoutes } from './routes/recommendations.js';
import { userRoutes } from './routes/users.js';
import { checkHostAndOrigin, hostPolicy } from './host-guard.js';
import { interruptAnalytics } from './analytics-limits.js';

/** What a recommendation handler leaves for the request log (handed to the store in onSend, just before the response is written; batched off the hot path). */
export interface PendingLogRow {
  user_id: string | null;
  /** The query item of an item route (GET /v1/items/{id}/similar). */
  item_id?: string | null;
  model_version: string;
  variant: string;
  k: number;
  items: (Recommendation | SimilarItem)[];
}

declare module 'fastify' {
  interface FastifyRequest {
    ppLog: PendingLogRow | null;
  }
}

export interface BuildAppOptions {
  /** Fastify logger: true = pino JSON at info, an object = pino options, false = none (default). */
  logger?: FastifyServerOptions['logger'];
  /** Creates cold-start encoders (tests inject fakes; default: the real text encoders). */
  encoderFactory?: EncoderFactory;
  /** Serve the OpenAPI UI at /docs (default true). */
  docs?: boolean;
  /**
   * Start loading the cold-start encoders of the primary model in the background once the app is ready, so the
   * first cold-start request does not pay for it (default false; `plotpointe serve` turns it on).
   */
  warmEncoders?: boolean;
  /**
   * Pino level of the one structured line per request (method, url, route, status, ms), written when the
   * response is sent: 'debug' (default: not written at the CLI's default level info), 'info', 'trace' or 'off'.
   * Fastify's own two lines per request (incoming / completed) are always off: at info they cost ~7 % of a
   * request's CPU at serving rates (pino formatting + stderr writes, bench:serve); errors are logged either way
   * (4xx at info, 5xx at error, with the request id).
   */
  requestLogLevel?: 'off' | 'trace' | 'debug' | 'info';
  /**
   * The loaded config: the analytics routes take their drift thresholds (`drift.*`) and limits (`analytics.*`)
   * from it (default: the config defaults).
   */
  config?: Config;
  /**
   * Plugins the caller composes into the app after the API's routes, each registered with the serving context
   * (`plotpointe serve` passes the dashboard, src/web/plugin.ts; default none). The app imports none of them.
   */
  plugins?: readonly ServingPlugin[];
}

/** A plugin handed to {@link buildApp}: registers its routes on the app, given the serving context. */
export type ServingPlugin = (app: FastifyInstance, ctx: ServingContext) => PromiseLike<unknown>;

/** What a logged route's request names (from params/query/body as sent), for the rows of requests its handler did not describe. */
interface RequestNames {
  /** The A/B assignment key the handler would use (null = the primary variant). */
  key: string | null;
  user_id: string | null;
  item_id: string | null;
  k: unknown;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const field = (o: unknown, name: string): unknown => (o && typeof o === 'object' ? (o as Record<string, unknown>)[name] : undefined);

/** The routes whose every response is logged, and what a request says about itself when it fails before its handler ran (validation). */
const LOGGED_ROUTES: Record<string, (req: FastifyRequest) => RequestNames> = {
  '/v1/users/:userId/recommendations': (req) => {
    const user = str(field(req.params, 'userId'));
    return { key: user, user_id: user, item_id: null, k: field(req.query, 'k') };
  },
  '/v1/recommendations': (req) => {
    const user = str(field(req.body, 'user_id'));
    const session = str(field(req.body, 'session_id'));
    const items = field(req.body, 'item_ids');
    const key = user ?? (session ? `session:${session}` : Array.isArray(items) && items.every((x) => typeof x === 'string') ? [...(items as string[])].sort().join('|') : null);
    return { key, user_id: user, item_id: null, k: field(req.body, 'k') ?? 20 };
  },
  '/v1/items/:itemId/similar': (req) => ({ key: null, user_id: null, item_id: str(field(req.params, 'itemId')), k: field(req.query, 'k') }),
  '/v1/items/cold-start': (req) => ({ key: null, user_id: null, item_id: null, k: field(req.body, 'k') ?? 20 }),
};

/** k as the INTEGER column takes it: the requested k when it is one, else 0 (the request was rejected for it). */
function loggedK(k: unknown): number {
  const n = typeof k === 'number' ? k : typeof k === 'string' && /^\d{1,10}$/.test(k) ? Number(k) : NaN;
  return Number.isSafeInteger(n) && n >= 0 && n <= 0x7fffffff ? n : 0;
}

interface ErrorShape {
  code: string;
  message: string;
  field?: string;
}

/** Status and body of an error (see the module comment). */
function describeError(err: unknown): { status: number; body: ErrorShape } {
  if (isPlotPointeError(err)) {
    const status = err.httpStatus;
    if (status >= 500) return { status, body: { code: err.code, message: ERRORS[err.code].message } };
    // Details name the field first ("k: must be …") for 400s.
    const field = status === 400 ? /: ([a-z_]+(?:\.[a-z_0-9]+)*): /.exec(err.message)?.[1] : undefined;
    return { status, body: { code: err.code, message: err.message, ...(field ? { field } : {}) } };
  }
  const e = err as { statusCode?: number; code?: string; message?: string; validation?: { instancePath?: string; params?: Record<string, unknown>; message?: string }[]; validationContext?: string };
  if (e.validation && e.validation.length > 0) {
    const v = e.validation[0];
    const missing = v.params && typeof v.params.missingProperty === 'string' ? `/${v.params.missingProperty}` : '';
    const extra = v.params && typeof v.params.additionalProperty === 'string' ? `/${v.params.additionalProperty}` : '';
    const path = `${v.instancePath ?? ''}${missing}${extra}`.replace(/^\//, '').replace(/\//g, '.');
    const field = path || e.validationContext || 'request';
    return { status: 400, body: { code: 'PP_SERVE_BAD_REQUEST', message: `${e.validationContext ?? 'request'} ${field}: ${v.message ?? 'invalid'}`, field } };
  }
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, body: { code: 'PP_SERVE_BODY_TOO_LARGE', message: e.message ?? 'body too large' } };
  const status = e.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return { status, body: { code: status === 404 ? 'PP_SERVE_NOT_FOUND' : 'PP_SERVE_BAD_REQUEST', message: e.message ?? 'bad request', field: status === 400 || status === 415 ? 'body' : undefined } };
  }
  return { status: 500, body: { code: 'PP_INTERNAL', message: 'internal error' } };
}

/** The Fastify app over a serving context (not listening; call `listen`, or `inject` in tests). */
export async function buildApp(ctx: ServingContext, opts: BuildAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? false,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: ctx.settings.bodyLimit,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    routerOptions: { maxParamLength: 2048 },
    // Errors raised before routing (a malformed URL): the same error body as everything else.
    frameworkErrors: (err, req, reply) => {
      void reply.code(400 as never).send({ error: { code: 'PP_SERVE_BAD_REQUEST', message: err.message, field: 'url' }, request_id: req.id } as never);
    },
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false, useDefaults: true, allErrors: false } },
    // A request (headers and body) must arrive within requestTimeout, its headers within headersTimeout: 408 and
    // closed after it (Node checks every connectionsCheckingInterval; its default 30 s would let a stalled body
    // hold a connection up to 30 s past the limit).
    requestTimeout: ctx.settings.requestTimeoutMs,
    http: { headersTimeout: Math.min(ctx.settings.headersTimeoutMs, ctx.settings.requestTimeoutMs), connectionsCheckingInterval: Math.min(1000, ctx.settings.requestTimeoutMs) } as object,
  });
  app.decorateRequest('ppLog', null);

  const hosts = hostPolicy(ctx.settings.host, ctx.settings.allowedHosts);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    // Liveness/readiness carry no data and are probed by address (orchestrators): not checked.
    const url = req.routeOptions.url;
    if (url !== '/healthz' && url !== '/readyz') checkHostAndOrigin(hosts, req.headers.host, req.headers.origin);
  });

  // While shutting down, in-flight responses close their keep-alive connection so that close() ends promptly.
  app.addHook('onSend', async (_req, reply) => {
    if (ctx.closing) reply.header('connection', 'close');
  });

  const requestLogLevel = opts.requestLogLevel ?? 'debug';
  // Decided once: the logger's level is fixed for the app's life.
  const logEachRequest = requestLogLevel !== 'off' && (app.log as { isLevelEnabled?: (l: string) => boolean }).isLevelEnabled?.(requestLogLevel) === true;

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    if (logEachRequest) req.log[requestLogLevel as 'debug']({ method: req.method, url: req.url, route, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
    ctx.metrics.requests.inc({ method: req.method, route, status: reply.statusCode });
    ctx.metrics.latency.observe({ method: req.method, route }, seconds);
  });

  // The request-log row is handed to the store in onSend, before the response is written: in a cluster worker
  // it is on its way to the primary (remote-logs.ts) before the client can have the answer, so a worker killed
  // after answering loses no row. latency_ms: the server's time until the response is handed to the socket.
  const logRows = ctx.settings.requestLog;
  app.addHook('onSend', async (req, reply) => {
    if (!ctx.logs || !logRows) return;
    const route = req.routeOptions.url ?? 'unmatched';
    let row = req.ppLog;
    const names = LOGGED_ROUTES[route];
    if (!row && names) {
      // Failed before the handler described it (validation): named from the request as sent.
      const n = names(req);
      const { variant, model } = ctx.modelFor(n.key);
      row = { user_id: n.user_id, item_id: n.item_id, model_version: model.modelVersion, variant, k: loggedK(n.k), items: [] };
    }
    if (row) {
      // A cluster worker's store resolves once the row is on its way to the primary (batched per loop turn).
      await ctx.logs.logRequest({
        request_id: req.id,
        ts: new Date(Date.now() - reply.elapsedTime).toISOString(),
        route,
        user_id: row.user_id,
        model_version: row.model_version,
        variant: row.variant,
        k: row.k,
        items: reply.statusCode >= 400 ? [] : row.items,
        latency_ms: reply.elapsedTime,
        status: reply.statusCode,
        item_id: row.item_id ?? null,
      });
    }
  });

  app.setErrorHandler((err, req, reply) => {
    const { status, body } = describeError(err);
    if (status >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ code: body.code, status }, body.message);
    return reply.code(status).send({ error: body, request_id: req.id });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: { code: 'PP_SERVE_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` }, request_id: req.id }));

  await app.register(swagger, {
    openapi: {
      info: { title: 'PlotPointe recommendation API', version: codeVersion().version, description: 'Recommendations, similar items, cold start and feedback events over a trained PlotPointe run.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  if (opts.docs !== false) await app.register(swaggerUi, { routePrefix: '/docs' });

  const encoders = new ColdStartEncoders(opts.encoderFactory);
  await app.register(healthRoutes, { ctx });
  await app.register(userRoutes, { ctx });
  await app.register(recommendationRoutes, { ctx });
  await app.register(itemRoutes, { ctx });
  await app.register(coldStartRoutes, { ctx, encoders });
  await app.register(eventRoutes, { ctx });
  await app.register(adminRoutes, { ctx });
  await app.register(analyticsRoutes, { ctx, config: opts.config });
  for (const plugin of opts.plugins ?? []) await plugin(app, ctx);

  if (opts.warmEncoders) {
    app.addHook('onReady', async () => {
      const { model } = ctx.modelFor(null);
      for (const m of ['text', 'image'] as const) {
        const spec = model.bundle.manifest.indexes[m]?.encoder_spec;
        if (spec) encoders.get(m, spec).then(() => app.log.info({ modality: m, spec }, 'cold-start encoder ready'), (err) => app.log.warn({ err, modality: m, spec }, 'cold-start encoder unavailable'));
      }
    });
  }

  app.addHook('preClose', async () => {
    ctx.closing = true;
    // Running analytics queries would hold close() until they end (minutes): interrupted now.
    if (ctx.logs) interruptAnalytics(ctx.logs);
  });
  app.addHook('onClose', async () => {
    await encoders.dispose();
    await ctx.close();
  });
  return app;
}
