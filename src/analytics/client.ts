import { ERRORS, ppError, type ErrorCode } from '../errors.js';

/**
 * The CLI side of `--server URL`: calls the running server's analytics routes (src/serving/routes/analytics.ts)
 * when the server holds serving.duckdb. A coded error from the server (`{error: {code, message}}`) is
 * re-thrown with its code; anything else (connection refused, timeout, a non-JSON reply) is
 * PP_ANALYTICS_SERVER.
 */

export interface ServerOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8080 */
  url: string;
  /** Bearer token (the server's admin token), needed by POST /v1/analytics/query when the server has one. */
  token?: string;
  timeoutMs?: number;
}

export async function callServer<T>(server: ServerOptions, path: string, init: { method?: 'GET' | 'POST'; query?: Record<string, string | number | undefined>; body?: unknown } = {}): Promise<T> {
  let url: URL;
  try {
    url = new URL(path, server.url.endsWith('/') ? server.url : server.url + '/');
  } catch {
    throw ppError('PP_USAGE', `--server "${server.url}" is not a URL`);
  }
  for (const [k, v] of Object.entries(init.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const headers: Record<string, string> = { accept: 'application/json' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (server.token) headers.authorization = `Bearer ${server.token}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method ?? 'GET',
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(server.timeoutMs ?? 120_000),
    });
  } catch (err) {
    throw ppError('PP_ANALYTICS_SERVER', `${url.origin}: ${(err as Error).message}`, err);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw ppError('PP_ANALYTICS_SERVER', `${res.status} from ${url.pathname}: not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const e = (body as { error?: { code?: string; message?: string } }).error;
    const code = e?.code && e.code in ERRORS ? (e.code as ErrorCode) : 'PP_ANALYTICS_SERVER';
    const spec = ERRORS[code];
    // The server's message already starts with the code's message; keep only its detail.
    const detail = (e?.message ?? text.slice(0, 200)).replace(`${spec.message}: `, '');
    throw ppError(code, code === 'PP_ANALYTICS_SERVER' ? `${res.status} from ${url.pathname}: ${detail}` : detail);
  }
  return body as T;
}
