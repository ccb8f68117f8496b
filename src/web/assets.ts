import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The dashboard's static assets, built in memory with esbuild when the server starts (~0.2 s): one ES module
 * bundle of src/web/client/ (uPlot included), one stylesheet (ours + uPlot's), and the HTML shell. Nothing is
 * fetched from a CDN: the page works offline. Asset URLs carry a content hash so browsers may cache them for
 * a year while index.html is revalidated.
 */
export interface DashboardAssets {
  html: string;
  js: string;
  css: string;
  /** First 12 hex digits of sha256(js + css): the `?v=` of asset URLs. */
  version: string;
}

const here = dirname(fileURLToPath(import.meta.url));
let cached: Promise<DashboardAssets> | null = null;

/** Builds the assets once per process; later calls share the result. */
export function dashboardAssets(): Promise<DashboardAssets> {
  cached ??= buildAssets().catch((err) => {
    cached = null;
    throw err;
  });
  return cached;
}

async function buildAssets(): Promise<DashboardAssets> {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [join(here, 'client', 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020'],
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const js = out.outputFiles[0]!.text;
  const require = createRequire(import.meta.url);
  const uplotCss = await readFile(join(dirname(require.resolve('uplot')), 'uPlot.min.css'), 'utf8');
  const ownCss = await readFile(join(here, 'client', 'styles.css'), 'utf8');
  const css = `${uplotCss}\n${ownCss}`;
  const version = createHash('sha256').update(js).update(css).digest('hex').slice(0, 12);
  return { html: shell(version), js, css, version };
}

/** The HTML shell: navigation, a skip link and the main region each page renders into. */
function shell(version: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PlotPointe dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css?v=${version}">
<script type="module" src="/assets/app.js?v=${version}"></script>
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="top">
  <span class="brand">PlotPointe</span>
  <nav aria-label="Pages">
    <ul id="nav">
      <li><a href="#/overview" data-page="overview">Overview</a></li>
      <li><a href="#/recommendations" data-page="recommendations">Recommendations</a></li>
      <li><a href="#/item" data-page="item">Item</a></li>
      <li><a href="#/cold-start" data-page="cold-start">Cold start</a></li>
      <li><a href="#/runs" data-page="runs">Runs</a></li>
      <li><a href="#/analytics" data-page="analytics">Analytics</a></li>
    </ul>
  </nav>
</header>
<main id="main" tabindex="-1" aria-live="polite"><p class="muted">Loading…</p></main>
<noscript><p>The dashboard needs JavaScript. The API is documented at <a href="/docs">/docs</a>.</p></noscript>
</body>
</html>
`;
}
