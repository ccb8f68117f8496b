import { api, ApiError } from '../api.js';
import { chart, shareBars } from '../charts.js';
import { empty, fmt, h, pct, section, setChildren, table } from '../dom.js';
import type { PageContext } from '../page.js';
import { interval, parsePrometheus, scrapeRequests, type Scrape } from '../prometheus.js';
import type { DashboardSummary } from '../../catalog.js';
import { whyServed } from '../selection.js';

/**
 * Overview: the data card as charts, the model in service and why it was chosen (the search it won: its
 * candidates' valid metrics), live request rate and latency from /metrics.
 */

const POLL_MS = 2000;
const WINDOW = 60;

export async function renderOverview({ main, alive }: PageContext): Promise<() => void> {
  const [summary, ready] = await Promise.all([
    api<DashboardSummary>('/api/dashboard/summary'),
    api<Record<string, unknown>>('/readyz').catch((e: ApiError) => ({ error: e.message })),
  ]);
  if (!alive()) return () => undefined;
  const card = summary.card;
  const counts = card?.counts;
  const stat = (label: string, value: string, key: string) => h('div', { 'data-stat': key }, h('dt', {}, label), h('dd', {}, value));

  const dataSection = section(
    `Data set ${summary.dataset}${summary.split ? ` · split ${summary.split}` : ''}`,
    counts
      ? h(
          'dl',
          { class: 'stats' },
          stat('Users', fmt(counts.users), 'users'),
          stat('Items', fmt(counts.items), 'items'),
          stat('Interactions', fmt(counts.interactions), 'interactions'),
          stat('Density', pct(counts.density, 2), 'density'),
          stat('Rejected records', fmt(counts.rejects), 'rejects'),
          ...Object.entries(summary.splitCounts ?? {}).filter(([part]) => part !== 'total').map(([part, n]) => stat(`${part} part`, fmt(n), `split-${part}`)),
        )
      : empty('No data card for this data set yet (it is written by plotpointe data ingest).'),
  );

  const charts = h('div', { class: 'grid two' });
  if (card) {
    const hist = card.ratings.histogram.filter((r) => r.rating !== null);
    charts.append(
      section(
        'Ratings',
        hist.length
          ? chart({ title: 'Rating histogram', xLabel: 'rating', yLabel: 'interactions', x: hist.map((r) => r.rating as number), series: [{ label: 'interactions', values: hist.map((r) => r.count) }], bars: true })
          : empty('All interactions are implicit (no ratings).'),
        h('p', { class: 'muted small' }, `Mean rating ${fmt(card.ratings.mean, 2)} · implicit share ${pct(card.ratings.implicit_share)}`),
      ),
      section(
        'Metadata coverage',
        shareBars(
          'Share of catalog items with each field',
          Object.entries(card.coverage).map(([label, value]) => ({ label, value })),
        ),
      ),
    );
  }
  const degreeChart = (title: string, who: string, pts: DashboardSummary['userDegree'], stats?: { median: number; p90: number; max: number }) =>
    section(
      title,
      pts.length
        ? chart({ title: `${title} (log–log)`, xLabel: 'degree (interactions)', yLabel: `${who}`, x: pts.map((p) => p.degree), series: [{ label: who, values: pts.map((p) => p.count) }], logX: true, logY: true })
        : empty('No interactions.'),
      stats ? h('p', { class: 'muted small' }, `median ${fmt(stats.median, 1)} · p90 ${fmt(stats.p90, 1)} · max ${fmt(stats.max)}`) : null,
    );
  charts.append(degreeChart('User degree distribution', 'users', summary.userDegree, card?.user_degree), degreeChart('Item degree distribution', 'items', summary.itemDegree, card?.item_degree));

  const variants = Object.entries(((ready as { variants?: Record<string, { model: string; model_version: string; indexes: Record<string, number> }> }).variants ?? {}));
  const servingSection = section(
    'Model in service',
    variants.length
      ? table(
          'Served A/B variants (from /readyz)',
          ['variant', 'model', 'run (model version)', 'ANN indexes (vectors)'],
          variants.map(([name, v]) => [name, v.model, h('code', { 'data-model-version': v.model_version }, v.model_version), Object.entries(v.indexes).map(([m, n]) => `${m} ${fmt(n)}`).join(' · ')]),
          { id: 'serving-variants' },
        )
      : empty(`The serving API reports no model (${(ready as { error?: string }).error ?? 'not ready'}).`),
  );

  // Fetched now, shown after the page is in the document: charts mount on the next frame only if connected.
  const whysPending = Promise.all(variants.map(([, v]) => whyServed(v.model_version)));

  const liveBox = h('div', { id: 'live-traffic' }, empty('Waiting for two scrapes of /metrics…'));
  const liveSection = section('Live traffic (API routes, from /metrics every 2 s)', liveBox);
  main.append(dataSection, charts, h('div', { class: 'grid two' }, servingSection, liveSection));

  if (variants.length) {
    const whys = await whysPending;
    if (!alive()) return () => undefined;
    servingSection.append(
      h(
        'div',
        { id: 'why-served' },
        ...variants.flatMap(([name, v], i) => [h('h3', {}, variants.length > 1 ? `Why ${v.model} (variant ${name})` : `Why ${v.model}`), whys[i]!]),
      ),
    );
  }

  // Live request rate and latency: one point per scrape interval, the last WINDOW points.
  const points: { t: number; rate: number; mean: number | null; p95: number | null }[] = [];
  let prev: Scrape | null = null;
  let stopped = false;
  const tick = async () => {
    let text: string;
    try {
      const res = await fetch('/metrics');
      if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
      text = await res.text();
    } catch (err) {
      if (!stopped) setChildren(liveBox, empty(`No metrics: ${(err as Error).message}`));
      return;
    }
    if (stopped || !alive()) return;
    const now = scrapeRequests(parsePrometheus(text), Date.now());
    if (!now.histogram) {
      setChildren(liveBox, empty('/metrics has no request latency histogram yet.'));
      return;
    }
    if (prev) {
      const iv = interval(prev, now);
      points.push({ t: now.t / 1000, rate: iv.rate, mean: iv.meanMs, p95: iv.p95Ms });
      if (points.length > WINDOW) points.shift();
      const last = points[points.length - 1]!;
      setChildren(
        liveBox,
        h(
          'dl',
          { class: 'stats' },
          stat('Requests/s', fmt(last.rate, 1), 'rate'),
          stat('Mean latency', last.mean === null ? '–' : `${fmt(last.mean, 2)} ms`, 'mean-latency'),
          stat('p95 latency (bucket)', last.p95 === null ? '–' : `≤ ${fmt(last.p95, 1)} ms`, 'p95-latency'),
          stat('Requests served', fmt(now.count), 'total'),
          stat('Mean latency since start', now.count > 0 ? `${fmt((now.sum / now.count) * (now.seconds ? 1000 : 1), 2)} ms` : '–', 'mean-latency-all'),
        ),
        points.length >= 2
          ? chart({
              title: 'Request rate and mean latency',
              xLabel: 'time',
              yLabel: 'requests/s',
              yRightLabel: 'ms',
              time: true,
              height: 180,
              x: points.map((p) => p.t),
              series: [
                { label: 'requests/s', values: points.map((p) => p.rate) },
                { label: 'mean latency ms', values: points.map((p) => p.mean), right: true },
              ],
            })
          : null,
      );
    }
    prev = now;
  };
  await tick();
  const timer = setInterval(() => void tick(), POLL_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
