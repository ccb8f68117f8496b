/**
 * bench:scale's serving check: `plotpointe serve` on the published run of the bench lake (port 0), then a few
 * requests, each timed and checked for a 200 with a non-empty answer:
 *   GET  /v1/users/<a reviewer>/recommendations?k=20
 *   GET  /v1/items/<a reviewed item>/similar?k=10&modality=<m>   for every modality the bundle indexes
 *   POST /v1/items/cold-start  a new item's title, brand, categories (and a catalog picture when there are images)
 * The ids come from the first lines of the generated review file.
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { join } from 'node:path';
import { startServeProcess } from '../../src/serving/testkit.js';

export interface ServeCheck {
  request: string;
  status: number;
  ms: number;
  results: number;
  ok: boolean;
}

export interface ServeSummary {
  ok: boolean;
  startup_s: number;
  checks: ServeCheck[];
  error?: string;
}

/** The first `n` JSON lines of a gzipped file. */
async function firstLines(path: string, n: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const lines = createInterface({ input: createReadStream(path).pipe(createGunzip()) });
  for await (const l of lines) {
    if (l.trim()) out.push(JSON.parse(l) as Record<string, unknown>);
    if (out.length >= n) break;
  }
  lines.close();
  return out;
}

export async function checkServing(o: { lake: string; name: string; reviews: string; meta: string; images: string | null }): Promise<ServeSummary> {
  const t0 = performance.now();
  const server = await startServeProcess(['--lake', o.lake, '--name', o.name, '--log-level', 'warn'], {}, 600_000);
  const startup = (performance.now() - t0) / 1000;
  const checks: ServeCheck[] = [];
  try {
    const base = server.listening.listening;
    const call = async (request: string, count: (body: Record<string, unknown>) => number, init?: RequestInit) => {
      const t = performance.now();
      const res = await fetch(`${base}${request.replace(/^[A-Z]+ /, '')}`, init);
      const body = (await res.json()) as Record<string, unknown>;
      const results = res.status === 200 ? count(body) : 0;
      checks.push({ request, status: res.status, ms: Math.round(performance.now() - t), results, ok: res.status === 200 && results > 0 });
      return body;
    };
    const reviews = await firstLines(o.reviews, 1);
    const user = String(reviews[0]!.reviewerID);
    const item = String(reviews[0]!.asin);
    const len = (k: string) => (b: Record<string, unknown>) => (b[k] as unknown[]).length;
    await call(`GET /v1/users/${encodeURIComponent(user)}/recommendations?k=20`, len('items'));
    const ready = (await (await fetch(`${base}/readyz`)).json()) as { variants: Record<string, { indexes: Record<string, number> }> };
    const modalities = Object.keys(Object.values(ready.variants)[0]?.indexes ?? {});
    for (const m of modalities) await call(`GET /v1/items/${encodeURIComponent(item)}/similar?k=10&modality=${m}`, len('items'));
    const [meta] = await firstLines(o.meta, 1);
    const body: Record<string, unknown> = {
      title: `New ${String(meta?.title ?? 'product')}`,
      brand: String(meta?.brand ?? 'Acme'),
      categories: Array.isArray(meta?.category) ? (meta.category as string[]).slice(0, 3) : ['Electronics'],
      k: 10,
    };
    const picture = o.images ? join(o.images, `${String(meta?.asin)}.png`) : null;
    if (picture && existsSync(picture)) body.image_base64 = readFileSync(picture).toString('base64');
    await call('POST /v1/items/cold-start', (b) => Object.values(b.similar as Record<string, unknown[]>).reduce((s, l) => s + l.length, 0) + (b.users as unknown[]).length, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { ok: checks.every((c) => c.ok), startup_s: Math.round(startup * 10) / 10, checks };
  } catch (err) {
    return { ok: false, startup_s: Math.round(startup * 10) / 10, checks, error: (err as Error).message };
  } finally {
    await server.stop();
  }
}
