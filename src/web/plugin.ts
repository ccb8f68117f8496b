import { createReadStream, existsSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, sep } from 'node:path';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import type {} from '@fastify/swagger'; // route schema fields tags/summary/hide
import { Type, type Static } from '@sinclair/typebox';
import type { ServedModel } from '../serving/served-model.js';
import { datasetPaths } from '../lake/paths.js';
import { ERRORS, type ErrorCode } from '../errors.js';
import { readAblations } from './ablations.js';
import { RunsView } from './runs-view.js';
import { dashboardAssets } from './assets.js';
import { DashboardCatalog, ITEM_ID_RE, USER_ID_RE } from './catalog.js';

/**
 * The web dashboard as a Fastify plugin: the single-page app at `/` (assets bundled in memory, no CDN) and the
 * dashboard-only JSON routes under `/api/dashboard/` that read the lake directly — data card and degree
 * distributions, user/item search, a user's training history, item metadata, item images, runs with their
 * epochs, ablation tables. Recommendations, similar items, cold start, metrics and analytics come from the
 * serving API itself (`/v1/...`, `/metrics`), which the client calls directly.
 *
 * Handed to the serving app by `plotpointe serve`: `buildApp(ctx, { plugins: [servedDashboard] })`, which is
 * `app.register(dashboardPlugin, { serving: ctx })` (lake, dataset and split from the served bundle); standalone:
 * `{ lake, name, split }`.
 */
export interface DashboardPluginOptions {
  /** Lake folder (default: the serving context's). */
  lake?: string;
  /** Dataset name in the lake (default: the serving context's). */
  name?: string;
  /**
   * Split whose training history the explorer shows (default: the split of the primary served bundle, else
   * `default`, else the first split on disk).
   */
  split?: string;
  /** What the server is serving, shown on the overview (run id, model, version, …); called per request. */
  servingInfo?: () => Record<string, unknown> | null;
  /**
   * The serving context (ServingContext satisfies it): lets the explorer put every A/B variant's
   * recommendations for one user side by side (`/api/dashboard/users/{id}/variants`).
   */
  serving?: DashboardServingHost;
}

/** What the dashboard reads of the serving context: the current snapshot of served variants. */
export interface DashboardServingHost {
  readonly lake: string;
  readonly name: string;
  readonly state: {
    readonly variants: ReadonlyMap<string, ServedModel>;
    readonly primary: string;
    readonly assigner: { assign(key: string): string };
  };
}

/** Image types the image route serves, by file extension. */
const IMAGE_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
};
/** Largest image file served (bytes). */
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;

const Limit = (max: number, dflt: number) => Type.Integer({ minimum: 1, maximum: max, default: dflt });
const SearchQuery = Type.Object({ q: Type.String({ maxLength: 200, default: '' }), limit: Limit(100, 20) }, { additionalProperties: false });
const ItemParams = Type.Object({ itemId: Type.String({ pattern: ITEM_ID_RE.source }) });
const UserParams = Type.Object({ userId: Type.String({ pattern: USER_ID_RE.source }) });
const RunParams = Type.Object({ runId: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' }) });
const IdsQuery = Type.Object({ ids: Type.String({ maxLength: 20_000 }) });

/** An error answer with the status the error registry gives its code. */
function sendError(reply: FastifyReply, code: ErrorCode, message: string) {
  return reply.code(ERRORS[code].http).send({ error: { code, message } });
}

/** The dashboard as a plugin of the serving app (`buildApp(ctx, { plugins: [servedDashboard] })`). */
export const servedDashboard = (app: FastifyInstance, ctx: DashboardServingHost) => app.register(dashboardPlugin, { serving: ctx });

export const dashboardPlugin: FastifyPluginAsync<DashboardPluginOptions> = async (app: FastifyInstance, opts) => {
  const lake = opts.lake ?? opts.serving?.lake;
  const name = opts.name ?? opts.serving?.name;
  if (!lake || !name) throw new Error('dashboardPlugin needs lake and name, or a serving context');
  const primary = opts.serving?.state.variants.get(opts.serving.state.primary);
  const split = opts.split ?? primary?.bundle.manifest.split;
  // Without a staged dataset (e.g. a synthetic serving bundle) the shell still loads and the data routes say
  // what is missing with a 404.
  let catalog: DashboardCatalog | null = null;
  let missing = '';
  try {
    catalog = new DashboardCatalog(lake, name, split);
  } catch (err) {
    missing = (err as Error).message;
  }
  const data = (reply: FastifyReply): DashboardCatalog | null => {
    if (!catalog) void sendError(reply, 'PP_LAKE_NOT_FOUND', missing);
    return catalog;
  };
  const assets = await dashboardAssets();
  app.addHook('onClose', async () => catalog?.close());
  const hide = { hide: true, tags: ['dashboard'] };

  app.get('/', { schema: hide }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(assets.html),
  );
  app.get('/assets/app.js', { schema: hide }, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=31536000, immutable').send(assets.js),
  );
  app.get('/assets/app.css', { schema: hide }, async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=31536000, immutable').send(assets.css),
  );

  app.get('/api/dashboard/summary', { schema: { tags: ['dashboard'], summary: 'data card, split counts and degree distributions' } }, async (_req, reply) => {
    const c = data(reply);
    return c ? { ...(await c.summary()), serving: opts.servingInfo?.() ?? null } : reply;
  });

  app.get<{ Querystring: Static<typeof SearchQuery> }>(
    '/api/dashboard/users',
    { schema: { tags: ['dashboard'], summary: 'users with training history, most active first', querystring: SearchQuery } },
    async (req, reply) => {
      const c = data(reply);
      return c ? { users: await c.searchUsers(req.query.q.trim(), req.query.limit) } : reply;
    },
  );

  app.get<{ Params: Static<typeof UserParams>; Querystring: { limit: number } }>(
    '/api/dashboard/users/:userId/history',
    {
      schema: {
        tags: ['dashboard'],
        summary: "a user's training interactions with item metadata, newest first",
        params: UserParams,
        querystring: Type.Object({ limit: Limit(500, 50) }),
      },
    },
    async (req, reply) => {
      const c = data(reply);
      if (!c) return reply;
      const h = await c.history(req.params.userId, req.query.limit);
      return h ?? sendError(reply, 'PP_SERVE_USER_UNKNOWN', `no user ${req.params.userId} with training history in split ${c.split}`);
    },
  );

  app.get<{ Params: Static<typeof UserParams>; Querystring: { k: number } }>(
    '/api/dashboard/users/:userId/variants',
    {
      schema: {
        tags: ['dashboard'],
        summary: "one user's recommendations from every served A/B variant, side by side (not logged)",
        description:
          'Computed exactly as GET /v1/users/{userId}/recommendations (exclude_seen=true, explain=true) but for each variant, not only the ' +
          "one the user is assigned to. Not written to the request log, so browsing the dashboard does not bias the A/B analytics.",
        params: UserParams,
        querystring: Type.Object({ k: Limit(100, 10) }),
      },
    },
    async (req, reply) => {
      if (!opts.serving) return sendError(reply, 'PP_SERVE_UNAVAILABLE', 'the dashboard runs without a serving context');
      const { userId } = req.params;
      const state = opts.serving.state;
      const assigned = state.variants.size === 1 ? state.primary : state.assigner.assign(userId);
      const variants = [...state.variants].map(([variant, model]) => {
        const uid = model.userIndex.get(userId);
        if (uid === undefined) return { variant, model: model.model, model_version: model.modelVersion, assigned: variant === assigned, items: null };
        const history = model.history(uid);
        const items = model.recommend(model.userVector(uid), req.query.k, history, { history, attentionFrom: model.bundle.history.indptr[uid]! });
        return {
          variant,
          model: model.model,
          model_version: model.modelVersion,
          assigned: variant === assigned,
          items: items.map((r) => ({ ...r, title: model.itemMeta(model.itemIndex.get(r.item_id)!).title })),
        };
      });
      if (variants.every((v) => v.items === null)) return sendError(reply, 'PP_SERVE_USER_UNKNOWN', `user ${userId} is unknown to every served variant`);
      return { user_id: userId, assigned, variants };
    },
  );

  app.get<{ Querystring: Static<typeof SearchQuery> }>(
    '/api/dashboard/items',
    { schema: { tags: ['dashboard'], summary: 'items by id or title, most popular first', querystring: SearchQuery } },
    async (req, reply) => {
      const c = data(reply);
      return c ? { items: await c.searchItems(req.query.q.trim(), req.query.limit) } : reply;
    },
  );

  app.get<{ Querystring: Static<typeof IdsQuery> }>(
    '/api/dashboard/item-meta',
    { schema: { tags: ['dashboard'], summary: 'metadata of comma-separated item ids (at most 200)', querystring: IdsQuery } },
    async (req, reply) => {
      const ids = req.query.ids.split(',').filter((s) => s.length > 0);
      if (ids.length > 200 || ids.some((id) => !ITEM_ID_RE.test(id))) {
        return sendError(reply, 'PP_USAGE', 'ids: at most 200 comma-separated item ids');
      }
      const c = data(reply);
      return c ? { items: await c.items(ids) } : reply;
    },
  );

  app.get<{ Params: Static<typeof ItemParams> }>(
    '/api/dashboard/images/:itemId',
    { schema: { tags: ['dashboard'], summary: "an item's local image, as its metadata names it", params: ItemParams } },
    async (req, reply) => {
      const c = data(reply);
      if (!c) return reply;
      const path = await c.imagePath(req.params.itemId);
      const type = path ? IMAGE_TYPES[extname(path).toLowerCase()] : undefined;
      if (!path || !type || !existsSync(path)) return sendError(reply, 'PP_INPUT_NOT_FOUND', `no local image for item ${req.params.itemId}`);
      // Resolve links and check what is really there: a regular file of an image type, within the size cap,
      // inside the lake or the dataset's input folders (whatever path the metadata names).
      const real = await realpath(path);
      const roots = await c.imageRoots();
      if (!roots.some((r) => real.startsWith(r.endsWith(sep) ? r : r + sep))) {
        return sendError(reply, 'PP_INPUT_NOT_FOUND', `no servable image for item ${req.params.itemId}`);
      }
      const info = await stat(real);
      if (!info.isFile() || !IMAGE_TYPES[extname(real).toLowerCase()] || info.size > MAX_IMAGE_BYTES) {
        return sendError(reply, 'PP_INPUT_NOT_FOUND', `no servable image for item ${req.params.itemId}`);
      }
      return reply
        .type(type)
        .header('content-length', info.size)
        .header('cache-control', 'public, max-age=3600')
        .header('x-content-type-options', 'nosniff')
        .send(createReadStream(real));
    },
  );

  const runs = new RunsView(lake, name);

  app.get<{ Querystring: { limit: number } }>(
    '/api/dashboard/runs',
    { schema: { tags: ['dashboard'], summary: "the dataset's runs, newest first", querystring: Type.Object({ limit: Limit(1000, 200) }) } },
    async (req) => ({ runs: await runs.list(req.query.limit) }),
  );

  app.get<{ Params: Static<typeof RunParams> }>(
    '/api/dashboard/runs/:runId',
    { schema: { tags: ['dashboard'], summary: 'one run with its per-epoch log', params: RunParams } },
    async (req, reply) => (await runs.get(req.params.runId)) ?? sendError(reply, 'PP_RUN_NOT_FOUND', `no run ${req.params.runId} of dataset ${name}`),
  );

  app.get('/api/dashboard/ablations', { schema: { tags: ['dashboard'], summary: 'ablation tables (ablate output), newest first' } }, async () => ({
    ablations: await readAblations(datasetPaths(lake, name)),
  }));
};
