/**
 * The Host/Origin check of the API (DNS rebinding, cross-site requests): a browser page on attacker.example
 * whose name is re-pointed at this server's address sends `Host: attacker.example`; a page of another site
 * calling this server directly sends its own `Origin`. A request is answered only when
 *
 *   host(Host header) ∈ allowed   and   (no Origin header, or host(Origin) ∈ allowed)
 *
 * where allowed = {localhost, 127.0.0.1, [::1], the bound address} ∪ serve.allowed_hosts, compared without port,
 * case-insensitively, a trailing dot dropped; `*` in the list accepts any host. Origin `null` (sandboxed frames,
 * file: pages) is refused. Everything else is 403 PP_SERVE_FORBIDDEN.
 */
import { ppError } from '../errors.js';

/** Names every server answers to. */
export const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'] as const;

export interface HostPolicy {
  /** null = any host. */
  names: ReadonlySet<string> | null;
}

/** Canonical host name: lower case, no trailing dot, IPv6 literals in brackets. */
function canonical(name: string): string {
  let h = name.trim().toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h.includes(':') && !h.startsWith('[')) h = `[${h}]`; // a bare IPv6 literal (serve.host '::1')
  return h;
}

/** The policy of a server bound to `boundHost` with the extra names `extra` (serve.allowed_hosts entries). */
export function hostPolicy(boundHost: string | undefined, extra: readonly string[]): HostPolicy {
  const list = extra.map((s) => s.trim()).filter((s) => s.length > 0);
  if (list.includes('*')) return { names: null };
  const names = new Set<string>(LOOPBACK_NAMES);
  if (boundHost) names.add(canonical(boundHost));
  for (const n of list) names.add(canonical(n));
  return { names };
}

/** The host part of a Host header value (`name[:port]`, `[v6][:port]`); null when malformed. */
export function hostOfHeader(value: string): string | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s/@]+)(?::\d{1,5})?$/.exec(value.trim());
  return m ? canonical(m[1]) : null;
}

/** Throws PP_SERVE_FORBIDDEN unless the request's Host and Origin name an allowed host. */
export function checkHostAndOrigin(policy: HostPolicy, host: string | undefined, origin: string | undefined): void {
  if (policy.names === null) return;
  // HTTP/1.1 requires Host (Node answers 400 without one); an HTTP/1.0 request may omit it: no name to check.
  if (host !== undefined) {
    const h = hostOfHeader(host);
    if (h === null || !policy.names.has(h)) throw ppError('PP_SERVE_FORBIDDEN', `Host ${JSON.stringify(host.slice(0, 200))} is not one of this server's names (serve.allowed_hosts)`);
  }
  if (origin !== undefined) {
    let o: string | null = null;
    try {
      const u = new URL(origin);
      o = u.protocol === 'http:' || u.protocol === 'https:' ? canonical(u.hostname) : null;
    } catch {
      o = null;
    }
    if (o === null || !policy.names.has(o)) throw ppError('PP_SERVE_FORBIDDEN', `Origin ${JSON.stringify(origin.slice(0, 200))} is not one of this server's names (serve.allowed_hosts)`);
  }
}
