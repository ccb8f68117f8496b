import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ERRORS, isPlotPointeError, ppError } from '../../errors.js';
import { loadConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { computeDrift, driftOptionsFromConfig } from '../../analytics/drift.js';
import { analyticsQuery } from '../../analytics/query.js';
import { analyticsReport } from '../../analytics/report.js';
import { openAnalytics, type AnalyticsSession, type LogsHandle } from '../../analytics/source.js';
import { clientGone, limitAnalytics } from '../analytics-limits.js';
import { parseDuration, parseSince } from '../../analytics/stats.js';

/**
 * Read-only analytics over the server's own request/event logs, for the dashboard and for
 * `plotpointe analytics … --server URL` (the CLI cannot open serving.duckdb while the server holds it):
 *
 *   GET  /v1/analytics/report?since=&split=&top=               the report (src/analytics/report.ts)
 *   GET  /v1/analytics/drift?window=&reference=&since=&split=&variant=  drift rows computed now (not stored; the CLI
 *                                                                stores what it fetches in drift.parquet)
 *   GET  /v1/analytics/tables                                   the views a query may use, with columns
 *   POST /v1/analytics/query {sql, max_rows?}                   one read-only statement, sandboxed to those
 *                                                                views (sql-guard.ts); needs the bearer admin
 *                                                                token (403 when the server has none)
 *
 * Each request flushes the buffered request rows, opens its own connection on the server's DuckDB instance
 * (lake views are TEMP views of that connection, nothing is written to serving.duckdb) and closes it
 * ({@link runAnalytics}); a cluster worker forwards the request to the primary, which holds the instance.
 * Errors are `{error: {code, message}}`: 400 for a bad query or parameter, 401 for a missing token, 403 for
 * SQL on a server without a token, 404 for a
 * missing dataset/split, 503 when the server runs without logs.
 */

/** The DuckDB store analytics reads (ServingLogs satisfies it). */
export interface AnalyticsLogs {
  instance: LogsHandle;
  flush(): Promise<void>;
}

/** One analytics question, as the routes receive it (and as a cluster worker forwards it to the primary). */
export type AnalyticsRequest =
  | { kind: 'report'; split?: string; since?: string; top?: number }
  | { kind: 'drift'; split?: string; window?: string; reference?: string; since?: string; modality?: 'text' | 'image'; variant?: string }
  | { kind: 'tables'; split?: string }
  | { kind: 'query'; split?: string; sql: string; max_rows?: number };

/** What the plugin needs of the serving context (ServingContext satisfies it). */
export interface AnalyticsHost {
  lake: string;
  name: string;
  /** The store (local analytics); anything else (a cluster worker's RemoteLogs) or null = not here. */
  logs: AnalyticsLogs | object | null;
  /** In a cluster worker: runs the request in the primary, which holds the store. */
  cluster?: { analytics(req: AnalyticsRequest, signal?: AbortSignal): Promise<unknown> } | null;
  settings: { adminToken: string };
}

export interface AnalyticsRoutesOptions {
  ctx: AnalyticsHost;
  /** Drift thresholds and limits (default: the config defaults). */
  config?: Config;
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
  if (!token || !m) return false;
  const a = Buffer.from(m[1].trim());
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

const Split = Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$', description: 'split (default: the split of the served run)' }));
const Since = Type.Optional(Type.String({ maxLength: 64, description: 'ISO time or a duration back from now (24h, 7d)' }));

export const analyticsRoutes: FastifyPluginAsync<AnalyticsRoutesOptions> = async (app, { ctx, config }) => {
  const cfg = config ?? loadConfig();

  app.setErrorHandler((err, req, reply) => {
    if (isPlotPointeError(err)) {
      const status = err.httpStatus;
      if (status >= 500) req.log.error({ err }, 'analytics request failed');
      return reply.code(status).send({ error: { code: err.code, message: status >= 500 ? ERRORS[err.code].message : err.message }, request_id: req.id });
    }
    const e = err as { validation?: unknown; statusCode?: number; message: string };
    if (e.validation) return reply.code(400).send({ error: { code: 'PP_ANALYTICS_INVALID', message: `invalid analytics settings: ${e.message}` }, request_id: req.id });
    const status = e.statusCode && e.statusCode >= 400 ? e.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'analytics request failed');
    return reply.code(status).send({ error: { code: 'PP_INTERNAL', message: status >= 500 ? 'internal error' : e.message }, request_id: req.id });
  });

  // A request whose client disconnects is interrupted (here, or in a cluster's primary, which runs it).
  const run = (r: AnalyticsRequest, reply: FastifyReply): Promise<unknown> => (ctx.cluster ? ctx.cluster.analytics(r, clientGone(reply.raw)) : runAnalytics(ctx, cfg, r, clientGone(reply.raw)));

  app.get<{ Querystring: { since?: string; split?: string; top?: number } }>(
    '/v1/analytics/report',
    {
      schema: {
        tags: ['analytics'],
        summary: 'CTR by variant (95% Wilson interval), catalog coverage, popularity bias, latency percentiles, top items, events by type',
        querystring: Type.Object({ since: Since, split: Split, top: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }),
      },
    },
    async (req, reply) => run({ kind: 'report', ...req.query }, reply),
  );

  app.get<{ Querystring: { window?: string; reference?: string; since?: string; split?: string; modality?: 'text' | 'image'; variant?: string } }>(
    '/v1/analytics/drift',
    {
      schema: {
        tags: ['analytics'],
        summary: 'hourly drift summaries (unknown users/items, 404 share, score PSI, embedding gap of new items) with ok/warn/alert status',
        querystring: Type.Object({
          window: Type.Optional(Type.String({ maxLength: 16 })),
          reference: Type.Optional(Type.String({ maxLength: 16 })),
          since: Since,
          split: Split,
          modality: Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('image')])),
          variant: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'one A/B variant (default: all pooled)' })),
        }),
      },
    },
    async (req, reply) => run({ kind: 'drift', ...req.query }, reply),
  );

  app.get<{ Querystring: { split?: string } }>(
    '/v1/analytics/tables',
    { schema: { tags: ['analytics'], summary: 'the views POST /v1/analytics/query can use, with their columns', querystring: Type.Object({ split: Split }) } },
    async (req, reply) => run({ kind: 'tables', ...req.query }, reply),
  );

  // SQL reads every logged row (user ids, histories of requests): off without an admin token, whoever asks —
  // a loopback peer may be a browser page (DNS rebinding) or any local process.
  const requireQueryAccess = async (req: FastifyRequest) => {
    const token = ctx.settings.adminToken;
    if (!token) throw ppError('PP_SERVE_FORBIDDEN', 'POST /v1/analytics/query is off: the server has no admin token (serve.admin_token or PLOTPOINTE_ADMIN_TOKEN)');
    if (!bearerMatches(req.headers.authorization, token)) throw ppError('PP_SERVE_UNAUTHORIZED', 'POST /v1/analytics/query needs the admin bearer token');
  };

  app.post<{ Body: { sql: string; max_rows?: number; split?: string } }>(
    '/v1/analytics/query',
    {
      schema: {
        tags: ['analytics'],
        summary: 'one read-only SQL statement over the analytics views (SELECT/WITH/DESCRIBE/SHOW/PRAGMA table_info)',
        security: [{ bearer: [] }],
        body: Type.Object({
          sql: Type.String({ minLength: 1, maxLength: 100_000 }),
          max_rows: Type.Optional(Type.Integer({ minimum: 1 })),
          split: Split,
        }),
      },
      preValidation: requireQueryAccess,
    },
    async (req, reply) => run({ kind: 'query', ...req.body }, reply),
  );
};

/**
 * Answers one analytics request over the store of `host` (flushing its buffered request rows first): a session on
 * a fresh connection of the store's DuckDB instance, closed afterwards. Called by the routes, and by a cluster
 * primary for its workers.
 */
export async function runAnalytics(host: Pick<AnalyticsHost, 'lake' | 'name' | 'logs'>, cfg: Config, r: AnalyticsRequest, signal?: AbortSignal): Promise<unknown> {
  const logs = host.logs && 'instance' in host.logs ? (host.logs as AnalyticsLogs) : null;
  if (!logs) throw ppError('PP_ANALYTICS_UNAVAILABLE', 'this server runs without request logs');
  // Time limit, cancel on client disconnect, interrupt at shutdown (analytics-limits.ts).
  const limited = limitAnalytics(logs, logs.instance, r.kind === 'query' ? cfg['analytics.query_timeout_ms'] : cfg['analytics.report_timeout_ms'], signal);
  return limited.run(async () => {
    await logs.flush();
    return answerAnalytics(await openAnalytics({ lake: host.lake, name: host.name, split: r.split }, { logs: limited.handle }), cfg, r);
  });
}

/** Answers `r` on an open session, then closes it. */
async function answerAnalytics(s: AnalyticsSession, cfg: Config, r: AnalyticsRequest): Promise<unknown> {
  try {
    switch (r.kind) {
      case 'report':
        return await analyticsReport(s, { since: r.since ? parseSince(r.since) : undefined, topItems: r.top ?? cfg['analytics.top_items'] });
      case 'drift': {
        const o = driftOptionsFromConfig(cfg, parseDuration(r.window ?? cfg['drift.window'], 'window'), parseDuration(r.reference ?? cfg['drift.reference'], 'reference'));
        return await computeDrift(s, { ...o, since: r.since ? parseSince(r.since) : undefined, modality: r.modality, variant: r.variant });
      }
      case 'tables': {
        const tables = [];
        for (const t of s.tables) {
          const cols = await s.db.all<{ column_name: string; column_type: string }>(`DESCRIBE ${t}`);
          tables.push({ name: t, columns: cols.map((c) => ({ name: c.column_name, type: c.column_type })) });
        }
        return { dataset: s.name, split: s.split, tables };
      }
      case 'query': {
        const maxRows = Math.min(r.max_rows ?? cfg['analytics.max_rows'], cfg['analytics.max_rows']);
        return { dataset: s.name, split: s.split, ...(await analyticsQuery(s, r.sql, { maxRows, sandbox: true })) };
      }
    }
  } finally {
    s.close();
  }
}
