/**
 * Dashboard page load on loopback: the real `plotpointe serve` (dashboard included) on a demo lake, Debian
 * Chromium through playwright-core, every page loaded as a fresh document `--iterations` times.
 *
 * Per page and mode, two times from the browser's own clocks (ms since navigation start):
 *   load   the document's load event end (HTML, the JS bundle, CSS parsed; PerformanceNavigationTiming)
 *   data   the page's data on screen: the `pp:ready:<page>` mark the client sets once the page module has
 *          rendered what its API calls returned (overview: data card charts, /readyz; recommendations: history,
 *          both recommendation lists; item: the four similar lists; runs: table and curves; …)
 * Each row is preceded by one unmeasured load (its data time is printed as `first`): the server's first answer
 * of a route can be slower (the dashboard materialises the lake tables on first use; the run-store view is
 * cached until runs.duckdb changes).
 * Modes: `cold` = browser cache disabled (every asset fetched again), `warm` = cache on (the hashed assets come
 * from the cache, API calls still go to the server). Target: < 1 s.
 *
 *   node --import tsx bench/web/page-load.bench.ts [--users 1500] [--items 2000] [--epochs 5] [--iterations 5]
 *     [--dir DIR (reuse a lake prepared by an earlier run)] [--content (also text + image embeddings)]
 *
 * Prints a table and, last, one JSON object with every figure, the machine and its load (uptime).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, chromiumSkip, prepareDemoServing, startServer, type DemoServing } from '../../src/web/e2e.testkit.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] && !process.argv[i + 1]!.startsWith('--') ? process.argv[i + 1]! : dflt;
}
const has = (name: string) => process.argv.includes(`--${name}`);

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  if (chromiumSkip) {
    console.log(`skipped: ${chromiumSkip}`);
    return;
  }
  const users = Number(arg('users', '1500'));
  const items = Number(arg('items', '2000'));
  const epochs = Number(arg('epochs', '5'));
  const iterations = Number(arg('iterations', '5'));
  const dir = arg('dir', join(tmpdir(), `pp-web-bench-${users}x${items}${has('content') ? '-content' : ''}`));
  const prepared = join(dir, 'prepared.json');
  let d: DemoServing;
  const t0 = performance.now();
  if (existsSync(prepared)) {
    d = JSON.parse(readFileSync(prepared, 'utf8')) as DemoServing;
    console.log(`reusing the lake in ${dir}`);
  } else {
    mkdirSync(dir, { recursive: true });
    console.log(`preparing a demo lake of ${users} users × ${items} items, mf + lightgcn (${epochs} epochs) in ${dir} …`);
    d = await prepareDemoServing(dir, { users, items, epochs, content: has('content') });
    writeFileSync(prepared, JSON.stringify(d));
  }
  const prepSeconds = (performance.now() - t0) / 1000;
  const server = await startServer(d, ['--variants', d.variants]);
  const results: { page: string; mode: 'cold' | 'warm'; load: number[]; data: number[]; first: number }[] = [];
  try {
    const top = (await (await fetch(`${server.url}/api/dashboard/users?limit=1`)).json()) as { users: { userId: string }[] };
    const userId = top.users[0]!.userId;
    const rec = (await (await fetch(`${server.url}/v1/users/${userId}/recommendations?k=1`)).json()) as { items: { item_id: string }[] };
    const itemId = rec.items[0]?.item_id ?? (await (await fetch(`${server.url}/api/dashboard/items?limit=1`)).json() as { items: { itemId: string }[] }).items[0]!.itemId;
    const pages: [string, string][] = [
      ['overview', '#/overview'],
      ['recommendations', `#/recommendations?user=${encodeURIComponent(userId)}`],
      ['item', `#/item?id=${encodeURIComponent(itemId)}`],
      ['cold-start', '#/cold-start'],
      ['runs', '#/runs'],
      ['analytics', '#/analytics'],
    ];
    const ctx = await chromium.launchPersistentContext(join(dir, `chromium-${process.pid}`), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
    try {
      for (const mode of ['cold', 'warm'] as const) {
        for (const [name, hash] of pages) {
          const row = { page: name, mode, load: [] as number[], data: [] as number[], first: NaN };
          // One unmeasured load first (server-side caches, the warm mode's browser cache).
          for (let i = -1; i < iterations; i++) {
            const page = await ctx.newPage();
            const cdp = await ctx.newCDPSession(page);
            await cdp.send('Network.setCacheDisabled', { cacheDisabled: mode === 'cold' });
            await page.goto(`${server.url}/${hash}`, { waitUntil: 'load' });
            await page.waitForSelector('main[data-state="ready"]', { timeout: 30_000 });
            const t = await page.evaluate((id) => {
              const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
              const ready = performance.getEntriesByName(`pp:ready:${id}`)[0];
              return { load: nav.loadEventEnd, data: ready ? ready.startTime : NaN };
            }, name);
            if (i >= 0) {
              row.load.push(t.load);
              row.data.push(t.data);
            } else row.first = t.data;
            await cdp.detach();
            await page.close();
          }
          results.push(row);
        }
      }
    } finally {
      await ctx.close();
    }
  } finally {
    await server.stop();
  }
  const f = (x: number) => x.toFixed(0).padStart(6);
  console.log(`\nDashboard page load on loopback (ms from navigation start; ${iterations} loads per row; median / max)`);
  console.log('page             mode   load med  load max  data med  data max  data of the unmeasured first load');
  for (const r of results) console.log(`${r.page.padEnd(16)} ${r.mode.padEnd(5)} ${f(median(r.load))}    ${f(Math.max(...r.load))}    ${f(median(r.data))}    ${f(Math.max(...r.data))}    ${f(r.first)}`);
  const worst = Math.max(...results.flatMap((r) => r.data));
  const uptime = loadavg().map((x) => x.toFixed(2)).join(', ');
  console.log(`\nworst data-on-screen ${worst.toFixed(0)} ms (target < 1000 ms) · load average ${uptime} · ${cpus().length} cores · lake prepared in ${prepSeconds.toFixed(0)} s`);
  console.log(
    JSON.stringify({
      bench: 'web-page-load',
      users,
      items,
      iterations,
      pages: results.map((r) => ({ page: r.page, mode: r.mode, load_ms: { median: median(r.load), p90: quantile(r.load, 0.9), max: Math.max(...r.load) }, data_ms: { median: median(r.data), p90: quantile(r.data, 0.9), max: Math.max(...r.data) }, first_data_ms: r.first })),
      worst_data_ms: worst,
      target_ms: 1000,
      pass: worst < 1000,
      loadavg: loadavg(),
      cores: cpus().length,
    }),
  );
}

await main();
