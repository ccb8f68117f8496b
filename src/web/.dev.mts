import Fastify from 'fastify';
import { chromium } from 'playwright-core';
import { dashboardPlugin } from './plugin.js';
import { CHROMIUM, CHROMIUM_ARGS } from './e2e.testkit.js';
const app = Fastify();
await app.register(dashboardPlugin, { lake: '/tmp/web/e2e/lake', name: 'demo' });
const url = await app.listen({ port: 0, host: '127.0.0.1' });
const ctx = await chromium.launchPersistentContext('/tmp/web/chrome', { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
const page = ctx.pages()[0] ?? (await ctx.newPage());
page.on('console', (m) => console.log('console:', m.type(), m.text()));
page.on('pageerror', (e) => console.log('pageerror:', e.message));
for (const p of (process.argv[2] ?? 'overview,runs,analytics,item,recommendations,cold-start').split(',')) {
  await page.goto(`${url}/#/${p}`);
  await page.waitForSelector('main[data-state="ready"], main[data-state="error"]', { timeout: 10000 }).catch(() => console.log('timeout', p));
  await page.waitForTimeout(500);
  await page.screenshot({ path: `/tmp/web/shot-${p.replace(/[^a-z]/g, '')}.png`, fullPage: true });
  console.log(p, await page.$eval('main', (m) => m.dataset.state));
}
await ctx.close();
await app.close();
