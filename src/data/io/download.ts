import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, truncate } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isPlotPointeError, ppError } from '../../errors.js';
import { sha256File } from '../../lake/hash.js';

/**
 * Resumable, verified HTTP(S) downloads for ingest URL inputs and `plotpointe data fetch`.
 *
 * The body goes to `<dest>.part`; a failed attempt is retried after an exponential backoff with jitter and
 * continues where it stopped with a `Range: bytes=N-` request. At the end the size and SHA-256 of the whole
 * file are checked and the part file is renamed onto `dest` (an atomic rename: `dest` is either absent,
 * the old file, or the complete new one).
 */

export interface DownloadOptions {
  /** Exact size of the file. Checked against the server's announced size (early) and the final file. */
  expectedBytes?: number;
  /** Expected SHA-256 of the whole file, hex (case-insensitive). */
  sha256?: string;
  /** How many times a failed attempt is retried (so at most `retries + 1` attempts). Default 5. */
  retries?: number;
  /** Per-attempt inactivity timeout: an attempt fails when no connection, headers or body bytes arrive
   * for this long. Default 30 000 ms. */
  timeoutMs?: number;
  /** First backoff delay; attempt k waits about `backoffMs * 2^(k-1)` (between half and all of it,
   * jittered), at most `maxBackoffMs`. Default 500 ms. */
  backoffMs?: number;
  /** Upper bound of one backoff delay. Default 30 000 ms. */
  maxBackoffMs?: number;
  /** Upper bound for a server's `Retry-After` (on 429/5xx). Default 60 000 ms. */
  retryAfterCapMs?: number;
  /** Redirects followed per attempt. Default 5. */
  maxRedirects?: number;
  /** Source of jitter in [0, 1): `seededRandom(seed)` for reproducible delays. Default `Math.random`. */
  random?: () => number;
  /** Continue a `<dest>.part` left by an earlier run (default false: start from zero). Retries within this
   * call always resume. Use only when the part came from the same file (a given sha256 catches the rest). */
  resumePartial?: boolean;
  /** Called as bytes arrive: bytes in the file so far (including a resumed prefix) and the total when known. */
  onProgress?: (bytes: number, total: number | undefined) => void;
  /** Cancels the download (the part file is kept for a later resume). */
  signal?: AbortSignal;
}

export interface DownloadResult {
  /** The destination path (the file is complete and verified). */
  path: string;
  bytes: number;
  /** SHA-256 of the whole file, lowercase hex. */
  sha256: string;
  /** HTTP attempts made (redirect hops within an attempt are not counted). */
  attempts: number;
  /** True when the file was completed from a partial download (a 206 answer to a Range request). */
  resumed: boolean;
  /** The URL that finally served the file, after redirects. */
  finalUrl: string;
}

const USER_AGENT = 'plotpointe (+dataset download)';
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** A failure worth another attempt (network error, timeout, 5xx/429, truncated body). */
class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RetryableError';
  }
}

/** A small deterministic PRNG (mulberry32) for reproducible backoff jitter. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** SHA-256 of a file's bytes, lowercase hex, streamed. */

/** Parses an http(s) URL; anything else is PP_DOWNLOAD_FAILED. */
function parseHttpUrl(raw: string, context?: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    throw ppError('PP_DOWNLOAD_FAILED', `${context ? context + ': ' : ''}not a valid URL: ${raw}`, err);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw ppError(
      'PP_DOWNLOAD_FAILED',
      `${context ? context + ': ' : ''}unsupported URL scheme "${url.protocol}" in ${raw} (only http: and https:)`,
    );
  }
  return url;
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date. */
function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function parseLength(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}

/** `Content-Range: bytes start-end/total` or `bytes *\/total`. */
function parseContentRange(value: string | undefined): { start?: number; end?: number; total?: number } | undefined {
  if (!value) return undefined;
  const m = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)\s*$/i.exec(value);
  if (!m) return undefined;
  return {
    start: m[1] === undefined ? undefined : Number(m[1]),
    end: m[2] === undefined ? undefined : Number(m[2]),
    total: m[3] === '*' ? undefined : Number(m[3]),
  };
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

/** Fires `onFire` when `kick` has not been called for `ms`. */
class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly ms: number,
    private readonly onFire: () => void,
  ) {
    this.kick();
  }
  kick(): void {
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(this.onFire, this.ms);
  }
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

/** Mutable state shared by the attempts of one download. */
interface State {
  readonly url: URL;
  readonly part: string;
  readonly opts: DownloadOptions;
  readonly timeoutMs: number;
  readonly maxRedirects: number;
  resumed: boolean;
  /** Total size announced by the server, when known. */
  total: number | undefined;
  /** Strong ETag or Last-Modified of the file being assembled, sent as If-Range on resumes. */
  validator: string | undefined;
  finalUrl: string;
}

interface Exchange {
  req: http.ClientRequest;
  res: http.IncomingMessage;
  watchdog: Watchdog;
}

function sendRequest(url: URL, headers: Record<string, string>, st: State): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    // agent: false → one connection per request, closed afterwards (no idle keep-alive sockets).
    const req = mod.request(url, { method: 'GET', headers, agent: false });
    let res: http.IncomingMessage | undefined;
    const watchdog = new Watchdog(st.timeoutMs, () => {
      const err = new RetryableError(`no data received for ${st.timeoutMs} ms`);
      res?.destroy(err);
      req.destroy(err);
    });
    const signal = st.opts.signal;
    const onAbort = () => {
      const reason = signal?.reason ?? new Error('download aborted');
      res?.destroy(reason);
      req.destroy(reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.once('close', () => signal?.removeEventListener('abort', onAbort));
    req.on('response', (r) => {
      res = r;
      watchdog.kick();
      resolve({ req, res: r, watchdog });
    });
    // After 'response' errors surface on the response stream; this listener only keeps them from being unhandled.
    req.on('error', (err) => {
      watchdog.stop();
      reject(err);
    });
    req.end();
  });
}

/** Drops a response whose body is not wanted, and its connection. */
function discard(req: http.ClientRequest, res: http.IncomingMessage): void {
  res.destroy();
  req.destroy();
}

/** One attempt: follows redirects, then streams a 200/206 body into the part file. Throws RetryableError
 * for transient failures and PlotPointeError for final ones. */
async function attemptOnce(st: State): Promise<void> {
  const offset = await fileSize(st.part);
  let current = st.url;
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = {
      'user-agent': USER_AGENT,
      accept: '*/*',
      'accept-encoding': 'identity',
    };
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      if (st.validator) headers['if-range'] = st.validator;
    }
    const { req, res, watchdog } = await sendRequest(current, headers, st);
    try {
      const status = res.statusCode ?? 0;
      if (REDIRECT_STATUSES.has(status)) {
        discard(req, res);
        const location = res.headers.location;
        if (!location) throw ppError('PP_DOWNLOAD_FAILED', `${st.url.href}: HTTP ${status} without a Location header`);
        if (hop >= st.maxRedirects) {
          throw ppError('PP_DOWNLOAD_FAILED', `${st.url.href}: more than ${st.maxRedirects} redirects`);
        }
        current = parseHttpUrl(new URL(location, current).href, `${st.url.href} redirected`);
        continue;
      }
      st.finalUrl = current.href;
      if (status === 416 && offset > 0) {
        discard(req, res);
        const full = parseContentRange(res.headers['content-range'])?.total ?? st.total ?? st.opts.expectedBytes;
        if (full !== undefined && full === offset) {
          st.resumed = true;
          st.total = full;
          return;
        }
        await truncate(st.part, 0);
        throw new RetryableError(`HTTP 416 for bytes=${offset}- (server size ${full ?? 'unknown'}); restarting`);
      }
      if (status === 200 || status === 206) {
        await receiveBody(st, res, watchdog, status, offset);
        return;
      }
      discard(req, res);
      const what = `HTTP ${status}${res.statusMessage ? ' ' + res.statusMessage : ''}`;
      if (status >= 500 || status === 429 || status === 408) {
        throw new RetryableError(what, parseRetryAfter(res.headers['retry-after'] as string | undefined));
      }
      throw ppError('PP_DOWNLOAD_FAILED', `${st.url.href}: ${what}`);
    } finally {
      watchdog.stop();
    }
  }
}

async function receiveBody(
  st: State,
  res: http.IncomingMessage,
  watchdog: Watchdog,
  status: number,
  offset: number,
): Promise<void> {
  const contentLength = parseLength(res.headers['content-length']);
  let start = 0;
  let total: number | undefined;
  if (status === 206) {
    const range = parseContentRange(res.headers['content-range']);
    if (!range || range.start !== offset || (range.total !== undefined && st.total !== undefined && range.total !== st.total)) {
      res.destroy();
      await truncate(st.part, 0);
      throw new RetryableError(
        `partial answer "${res.headers['content-range'] ?? ''}" does not continue bytes=${offset}-; restarting`,
      );
    }
    start = offset;
    total = range.total ?? (contentLength === undefined ? undefined : offset + contentLength);
  } else {
    total = contentLength; // 200: the whole file, from zero (a server that ignores Range lands here too)
  }
  const expected = st.opts.expectedBytes;
  if (total !== undefined && expected !== undefined && total !== expected) {
    res.destroy();
    throw ppError('PP_DOWNLOAD_CHECKSUM', `${st.url.href}: server announces ${total} bytes, expected ${expected}`);
  }
  st.resumed = status === 206;
  st.total = total;
  const etag = res.headers.etag;
  const lastModified = res.headers['last-modified'];
  st.validator = etag && !etag.startsWith('W/') ? etag : lastModified;

  const onProgress = st.opts.onProgress;
  const reportTotal = total ?? expected;
  let received = 0;
  onProgress?.(start, reportTotal);
  const out = createWriteStream(st.part, { flags: status === 206 ? 'a' : 'w' });
  try {
    await pipeline(
      res,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          watchdog.kick();
          received += chunk.length;
          onProgress?.(start + received, reportTotal);
          yield chunk;
        }
      },
      out,
    );
  } finally {
    // Make sure no write of this attempt lands after the next attempt has looked at the part file.
    if (!out.closed) await once(out, 'close');
  }
  if (contentLength !== undefined && received !== contentLength) {
    throw new RetryableError(`connection closed after ${received} of ${contentLength} bytes`);
  }
}

/**
 * Downloads `url` (http: or https:) to `destPath`, resuming and retrying as needed, and verifies it.
 *
 * - Retries network errors, inactivity timeouts, truncated bodies, 5xx, 429 (and 408), honouring
 *   `Retry-After` up to `retryAfterCapMs`; any other 4xx fails at once with PP_DOWNLOAD_FAILED and the status.
 * - A retry with data in the part file sends `Range: bytes=N-`: 206 appends, 200 restarts from zero,
 *   416 counts as complete when the server's size equals the part's.
 * - Size (`Content-Length`/`Content-Range`, `expectedBytes`) and `sha256` mismatches throw
 *   PP_DOWNLOAD_CHECKSUM and delete the part file. When the retries run out the part file is kept, so a
 *   later call with `resumePartial: true` can continue it.
 */
export async function download(url: string, destPath: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const start = parseHttpUrl(url);
  const retries = options.retries ?? 5;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const backoffMs = options.backoffMs ?? 500;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const retryAfterCapMs = options.retryAfterCapMs ?? 60_000;
  const maxRedirects = options.maxRedirects ?? 5;
  const random = options.random ?? Math.random;
  for (const [name, v] of Object.entries({ retries, timeoutMs, backoffMs, maxBackoffMs, retryAfterCapMs, maxRedirects })) {
    if (!Number.isFinite(v) || v < 0) throw ppError('PP_DOWNLOAD_FAILED', `invalid download option ${name}=${v}`);
  }
  const wantSha = options.sha256?.toLowerCase();
  if (wantSha !== undefined && !/^[0-9a-f]{64}$/.test(wantSha)) {
    throw ppError('PP_DOWNLOAD_FAILED', `invalid sha256 "${options.sha256}" (64 hex digits expected)`);
  }

  const part = `${destPath}.part`;
  await mkdir(dirname(destPath), { recursive: true });
  if (!options.resumePartial) await rm(part, { force: true });
  const st: State = {
    url: start,
    part,
    opts: options,
    timeoutMs: Math.max(1, timeoutMs),
    maxRedirects,
    resumed: false,
    total: undefined,
    validator: undefined,
    finalUrl: start.href,
  };

  let attempts = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    attempts++;
    try {
      await attemptOnce(st);
      break;
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason ?? err;
      if (isPlotPointeError(err)) {
        // A final answer from the server (4xx, bad redirect) or a size mismatch: the part is of no use.
        await rm(part, { force: true });
        throw err;
      }
      const message = err instanceof Error ? err.message : String(err);
      if (attempts > retries) {
        throw ppError('PP_DOWNLOAD_FAILED', `${url}: ${message} (gave up after ${attempts} attempts)`, err);
      }
      const retryAfter = err instanceof RetryableError ? err.retryAfterMs : undefined;
      let delay: number;
      if (retryAfter !== undefined) {
        delay = Math.min(retryAfter, retryAfterCapMs);
      } else {
        const base = Math.min(maxBackoffMs, backoffMs * 2 ** (attempts - 1));
        delay = base / 2 + (random() * base) / 2;
      }
      await sleep(delay, undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }

  const bytes = await fileSize(part);
  const failVerify = async (detail: string): Promise<never> => {
    await rm(part, { force: true });
    throw ppError('PP_DOWNLOAD_CHECKSUM', `${url}: ${detail}`);
  };
  if (st.total !== undefined && bytes !== st.total) await failVerify(`got ${bytes} bytes, server announced ${st.total}`);
  if (options.expectedBytes !== undefined && bytes !== options.expectedBytes) {
    await failVerify(`got ${bytes} bytes, expected ${options.expectedBytes}`);
  }
  const sha256 = await sha256File(part);
  if (wantSha !== undefined && sha256 !== wantSha) await failVerify(`sha256 is ${sha256}, expected ${wantSha}`);
  await rename(part, destPath);
  return { path: destPath, bytes, sha256, attempts, resumed: st.resumed, finalUrl: st.finalUrl };
}
