import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, startServer } from './e2e.testkit.js';
const d = JSON.parse((await import('node:fs')).readFileSync('/tmp/web/prep.log', 'utf8').split('\n')[0].replace(/ [\d.]+ s$/, ''));
const server = await startServer(d, ['--variants', d.variants]);
console.log('server', server.url);
try {
  const ctx = await chromium.launchPersistentContext('/tmp/web/chrome', { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('console', (m) => console.log('console:', m.type(), m.text()));
  page.on('pageerror', (e) => console.log('pageerror:', e.message));
  for (const p of (process.argv[2] ?? 'overview,runs,analytics,item,recommendations,cold-start').split(',')) {
    await page.goto(`${server.url}/#/${p}`);
    await page.waitForSelector('main[data-state="ready"], main[data-state="error"]', { timeout: 20000 }).catch(() => console.log('timeout', p));
    await page.waitForTimeout(2500);
    await page.screenshot({ path: `/tmp/web/shot-${p.replace(/[^a-z]/g, '')}.png`, fullPage: true });
    console.log(p, await page.$eval('main', (m) => (m as HTMLElement).dataset.state));
  }
  await ctx.close();
} finally {
  await server.stop();
}
