import { destroyCharts } from './charts.js';
import { errorBox, h, setChildren } from './dom.js';
import { renderAnalytics } from './pages/analytics.js';
import { renderColdStart } from './pages/cold-start.js';
import { renderItem } from './pages/item.js';
import { renderOverview } from './pages/overview.js';
import { renderRecommendations } from './pages/recommendations.js';
import { renderRuns } from './pages/runs.js';
import type { PageContext } from './page.js';

/**
 * The dashboard's hash router: `#/<page>?<params>`. Each page module renders into <main> and may return a
 * cleanup (timers). Navigating destroys the old page's charts, marks the nav link `aria-current`, and moves
 * focus to the new page's heading (so keyboard and screen-reader users land on the content).
 */

type Page = { title: string; render: (ctx: PageContext) => Promise<(() => void) | void> };

const PAGES: Record<string, Page> = {
  overview: { title: 'Overview', render: renderOverview },
  recommendations: { title: 'Recommendations', render: renderRecommendations },
  item: { title: 'Item', render: renderItem },
  'cold-start': { title: 'Cold start', render: renderColdStart },
  runs: { title: 'Runs', render: renderRuns },
  analytics: { title: 'Analytics', render: renderAnalytics },
};

let generation = 0;
let cleanup: (() => void) | void = undefined;

async function route(focus: boolean): Promise<void> {
  const main = document.getElementById('main')!;
  const [, path = '', query = ''] = /^#\/?([^?]*)\??(.*)$/.exec(location.hash) ?? [];
  const id = PAGES[path] ? path : 'overview';
  const page = PAGES[id]!;
  const mine = ++generation;
  if (typeof cleanup === 'function') cleanup();
  cleanup = undefined;
  destroyCharts();
  for (const a of document.querySelectorAll<HTMLAnchorElement>('#nav a')) {
    if (a.dataset.page === id) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${page.title} · PlotPointe`;
  const heading = h('h1', { tabindex: '-1' }, page.title);
  setChildren(main, heading);
  main.dataset.page = id;
  main.dataset.state = 'loading';
  if (focus) heading.focus();
  try {
    cleanup = await page.render({ main, params: new URLSearchParams(query), alive: () => mine === generation });
    if (mine === generation) {
      main.dataset.state = 'ready';
      // The moment the page's data is on screen, for the page-load bench (bench/web/page-load.bench.ts).
      performance.mark(`pp:ready:${id}`);
    }
  } catch (err) {
    if (mine !== generation) return;
    main.append(errorBox(`This page could not load: ${(err as Error).message}`));
    main.dataset.state = 'error';
  }
}

// The skip link moves focus to the content; it must not change the hash (that would be a route).
document.querySelector<HTMLAnchorElement>('.skip-link')?.addEventListener('click', (e) => {
  e.preventDefault();
  document.getElementById('main')?.focus();
});
window.addEventListener('hashchange', () => void route(true));
void route(false);
