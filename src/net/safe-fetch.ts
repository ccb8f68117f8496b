import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isPlotPointeError, ppError, type PlotPointeError } from '../errors.js';
import { classifyAddress, isPublicAddress } from './address-policy.js';

/**
 * An SSRF-safe HTTP(S) GET for untrusted URLs (product image links in a catalog).
 *
 * - Only `http:` and `https:`.
 * - Every connection's address is checked *at connect time* (a guarded DNS lookup handed to the socket, so a
 *   name cannot resolve to a public address for a check and to 127.0.0.1 for the connection): loopback,
 *   private, link-local (incl. 169.254.169.254 cloud metadata), unique-local, multicast, unspecified and
 *   reserved addresses are refused with PP_FETCH_BLOCKED unless `allowPrivate`. A name that resolves to any
 *   refused address is refused as a whole. IP-literal hosts are checked before connecting.
 * - Redirects (301/302/303/307/308) are followed at most 3 times, each hop re-checked the same way.
 * - The body is streamed and the request aborted as soon as it exceeds `maxBytes` (PP_FETCH_TOO_LARGE), or
 *   when the Content-Length already says so.
 * - `timeoutMs` bounds one attempt (connect, redirects, headers and body) → PP_FETCH_TIMEOUT.
 * - Transient failures (5xx, 429, timeouts, connection resets) are retried `retries` times with exponential
 *   back-off (100 ms · 2^attempt); refusals, 4xx and size-cap failures are not.
 */
export interface SafeFetchOptions {
  /** Largest accepted body in bytes (default 20 MiB). */
  maxBytes?: number;
  /** Time limit of one attempt in milliseconds (default 15 000). */
  timeoutMs?: number;
  /** Extra attempts after a transient failure (default 2). */
  retries?: number;
  /** Allow loopback/private/link-local/unique-local addresses (tests, intranet catalogs). Default false. */
  allowPrivate?: boolean;
}

export const SAFE_FETCH_DEFAULTS = { maxBytes: 20 * 1024 * 1024, timeoutMs: 15_000, retries: 2 } as const;
const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Decides whether a resolved address may be connected to. */
export type AddressPolicy = (address: string) => boolean;

interface ResolvedOptions {
  maxBytes: number;
  timeoutMs: number;
  retries: number;
  allowAddress: AddressPolicy;
}

/** Failure of one attempt plus whether another attempt may succeed. */
interface AttemptError {
  error: PlotPointeError;
  retryable: boolean;
}

function blockedAddressDetail(host: string, address: string): string {
  return `${host} resolves to ${address} (${classifyAddress(address)}); pass allowPrivate / --allow-private to allow it`;
}

/** A DNS lookup for sockets that refuses non-public answers (unless allowed). Handles `all: true` callers. */
function guardedLookup(allowAddress: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      if (addresses.length === 0) return callback(ppError('PP_FETCH_FAILED', `${hostname} has no address`), '', 0);
      const bad = addresses.find((a) => !allowAddress(a.address));
      if (bad) return callback(ppError('PP_FETCH_BLOCKED', blockedAddressDetail(hostname, bad.address)), '', 0);
      if ((options as { all?: boolean }).all) {
        (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      } else {
        callback(null, addresses[0]!.address, addresses[0]!.family);
      }
    });
  };
}

/** Refuses a URL before any connection: scheme, and an IP-literal host (sockets skip DNS for those). */
function checkUrl(url: URL, allowAddress: AddressPolicy): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw ppError('PP_FETCH_BLOCKED', `scheme ${url.protocol} is not allowed (http and https only): ${url.href}`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && !allowAddress(host)) {
    throw ppError('PP_FETCH_BLOCKED', blockedAddressDetail(host, host));
  }
}

function parseUrl(text: string, base?: URL): URL {
  try {
    return new URL(text, base);
  } catch (err) {
    throw ppError('PP_FETCH_BLOCKED', `not a valid URL: ${text}`, err);
  }
}

/** One GET without following redirects; resolves with the response (body not yet read). */
function request(url: URL, allowAddress: AddressPolicy, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(
      url,
      {
        method: 'GET',
        lookup: guardedLookup(allowAddress),
        signal,
        headers: { 'user-agent': 'plotpointe/0.1 (+image embedding)', accept: 'image/*,*/*;q=0.5' },
        agent: false,
      },
      resolve,
    );
    req.on('error', reject);
    req.end();
  });
}

/** Reads a response body up to `maxBytes`, aborting the stream as soon as it is exceeded. */
function readBody(res: IncomingMessage, maxBytes: number, href: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      reject(ppError('PP_FETCH_TOO_LARGE', `${href} declares ${declared} bytes > cap ${maxBytes}`));
      res.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    res.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) {
        // Reject before destroying: destroy() emits 'aborted' synchronously.
        reject(ppError('PP_FETCH_TOO_LARGE', `${href} sent more than the cap of ${maxBytes} bytes`));
        res.destroy();
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks, total)));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('response aborted')));
  });
}

function classifyFailure(err: unknown, href: string, timedOut: boolean): AttemptError {
  if (timedOut) return { error: ppError('PP_FETCH_TIMEOUT', href, err), retryable: true };
  if (isPlotPointeError(err)) {
    return { error: err, retryable: false };
  }
  const code = (err as { code?: string }).code ?? '';
  const transient = ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNABORTED'].includes(code);
  const message = err instanceof Error ? err.message : String(err);
  return { error: ppError('PP_FETCH_FAILED', `${href}: ${message}`, err), retryable: transient };
}

/** One attempt: follows ≤ 3 redirects (each re-checked) under one time limit. */
async function attempt(start: URL, o: ResolvedOptions): Promise<Buffer | AttemptError> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, o.timeoutMs);
  let url = start;
  try {
    for (let hop = 0; ; hop++) {
      checkUrl(url, o.allowAddress);
      const res = await request(url, o.allowAddress, controller.signal);
      const status = res.statusCode ?? 0;
      if (REDIRECT_STATUSES.has(status)) {
        res.resume();
        const location = res.headers.location;
        if (!location) return { error: ppError('PP_FETCH_FAILED', `${url.href}: redirect ${status} without Location`), retryable: false };
        if (hop >= MAX_REDIRECTS) {
          return { error: ppError('PP_FETCH_FAILED', `${start.href}: more than ${MAX_REDIRECTS} redirects`), retryable: false };
        }
        url = parseUrl(location, url);
        continue;
      }
      if (status < 200 || status >= 300) {
        res.resume();
        return {
          error: ppError('PP_FETCH_FAILED', `${url.href}: HTTP ${status}`),
          retryable: status >= 500 || status === 429,
        };
      }
      return await readBody(res, o.maxBytes, url.href);
    }
  } catch (err) {
    return classifyFailure(err, url.href, timedOut);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** GET `url` safely (see the module comment); resolves with the body bytes or throws a PP_FETCH_* error. */
export function safeFetch(url: string, opts: SafeFetchOptions = {}): Promise<Buffer> {
  return safeFetchWithPolicy(url, opts, opts.allowPrivate ? () => true : isPublicAddress);
}

/**
 * `safeFetch` with an explicit address policy (`allowPrivate` is ignored): lets tests allow exactly the
 * loopback address of their server while still refusing every other non-public address.
 */
export async function safeFetchWithPolicy(url: string, opts: SafeFetchOptions, allowAddress: AddressPolicy): Promise<Buffer> {
  const o: ResolvedOptions = {
    maxBytes: opts.maxBytes ?? SAFE_FETCH_DEFAULTS.maxBytes,
    timeoutMs: opts.timeoutMs ?? SAFE_FETCH_DEFAULTS.timeoutMs,
    retries: Math.max(0, opts.retries ?? SAFE_FETCH_DEFAULTS.retries),
    allowAddress,
  };
  const start = parseUrl(url);
  checkUrl(start, o.allowAddress);
  let last: AttemptError | undefined;
  for (let i = 0; i <= o.retries; i++) {
    if (i > 0) await sleep(Math.min(2000, 100 * 2 ** (i - 1)));
    const out = await attempt(start, o);
    if (Buffer.isBuffer(out)) return out;
    last = out;
    if (!out.retryable) break;
  }
  throw last!.error;
}
