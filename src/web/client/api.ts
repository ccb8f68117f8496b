/**
 * JSON calls from the dashboard to the server: the serving API (`/v1/...`) and the dashboard routes
 * (`/api/dashboard/...`). A non-2xx reply becomes an ApiError carrying the status and the server's error code.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { ...headers, ...(init.headers as Record<string, string> | undefined) } });
  } catch (err) {
    throw new ApiError(0, null, `network error: ${(err as Error).message}`);
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const e = (body as { error?: unknown; code?: string; message?: string } | null) ?? {};
    const inner = typeof e.error === 'object' && e.error !== null ? (e.error as { code?: string; message?: string }) : e;
    const msg = inner.message ?? (typeof e.error === 'string' ? e.error : text.slice(0, 200)) ?? res.statusText;
    throw new ApiError(res.status, inner.code ?? null, `${res.status} ${inner.code ?? ''} ${msg}`.replace(/\s+/g, ' ').trim());
  }
  return body as T;
}

export const enc = encodeURIComponent;

/** An item's image URL on the dashboard's image route. */
export const imageUrl = (itemId: string) => `/api/dashboard/images/${enc(itemId)}`;
