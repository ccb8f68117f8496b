import uPlot from 'uplot';
import { h } from './dom.js';

/**
 * Charts on uPlot. Each chart sits in a figure with a caption (its accessible name) and resizes with its
 * container, so it works at phone and laptop widths. Charts register themselves so a page change can
 * destroy them (`destroyCharts`).
 */

const live = new Set<{ plot: uPlot; observer: ResizeObserver }>();
const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563'];

export interface SeriesSpec {
  label: string;
  values: (number | null)[];
  /** Draw on the right-hand axis (e.g. a metric beside a loss). */
  right?: boolean;
  /** Palette index (default: the series' position): series of one metric from two runs share a colour… */
  color?: number;
  /** …and the second run is dashed. */
  dashed?: boolean;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  yRightLabel?: string;
  x: number[];
  series: SeriesSpec[];
  /** Log scales (degree distributions). */
  logX?: boolean;
  logY?: boolean;
  /** Bars instead of lines (histograms). */
  bars?: boolean;
  /** x values are unix seconds. */
  time?: boolean;
  height?: number;
}

/** A figure holding a uPlot chart for `spec`; the plot is created once the figure is in the document. */
export function chart(spec: ChartSpec): HTMLElement {
  const box = h('div', { class: 'chart-box' });
  const fig = h('figure', { class: 'chart', 'data-chart': spec.title }, h('figcaption', {}, spec.title), box);
  requestAnimationFrame(() => mount(box, spec));
  return fig;
}

function mount(box: HTMLElement, spec: ChartSpec): void {
  // Charts replaced in place (the live traffic chart) leave the document: free them first.
  for (const c of live) {
    if (!c.plot.root.isConnected) {
      c.observer.disconnect();
      c.plot.destroy();
      live.delete(c);
    }
  }
  if (!box.isConnected) return;
  const width = Math.max(240, box.clientWidth);
  const bars = spec.bars ? uPlot.paths.bars!({ size: [0.7, 60] }) : undefined;
  const opts: uPlot.Options = {
    width,
    height: spec.height ?? 220,
    scales: {
      x: spec.logX
        ? { distr: 3, time: false }
        : spec.bars
          ? { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] }
          : { time: Boolean(spec.time) },
      y: spec.logY ? { distr: 3 } : { auto: true },
      ...(spec.yRightLabel ? { r: { auto: true } } : {}),
    },
    axes: [
      { label: spec.xLabel, size: 40 },
      { label: spec.yLabel, size: 56 },
      ...(spec.yRightLabel ? [{ label: spec.yRightLabel, scale: 'r', side: 1, grid: { show: false }, size: 56 } as uPlot.Axis] : []),
    ],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    series: [
      { label: spec.xLabel },
      ...spec.series.map(
        (s, i): uPlot.Series => ({
          label: s.label,
          stroke: PALETTE[(s.color ?? i) % PALETTE.length],
          fill: spec.bars ? `${PALETTE[(s.color ?? i) % PALETTE.length]}99` : undefined,
          dash: s.dashed ? [6, 4] : undefined,
          width: 2,
          paths: bars,
          points: { show: spec.bars ? false : spec.x.length <= 60 },
          scale: s.right ? 'r' : 'y',
          spanGaps: true,
        }),
      ),
    ],
  };
  const data = [spec.x, ...spec.series.map((s) => s.values)] as uPlot.AlignedData;
  const plot = new uPlot(opts, data, box);
  const observer = new ResizeObserver(() => {
    const w = Math.max(240, box.clientWidth);
    if (Math.abs(w - plot.width) > 2) plot.setSize({ width: w, height: plot.height });
  });
  observer.observe(box);
  live.add({ plot, observer });
}

/** Destroys every chart (called when the page changes). */
export function destroyCharts(): void {
  for (const c of live) {
    c.observer.disconnect();
    c.plot.destroy();
  }
  live.clear();
}

/** Horizontal share bars in plain HTML (coverage): label, bar, value. */
export function shareBars(title: string, rows: { label: string; value: number }[]): HTMLElement {
  return h(
    'figure',
    { class: 'chart share-bars', 'data-chart': title },
    h('figcaption', {}, title),
    h(
      'dl',
      {},
      ...rows.flatMap((r) => [
        h('dt', {}, r.label),
        h(
          'dd',
          {},
          h('span', { class: 'bar', style: `width:${Math.max(0, Math.min(1, r.value)) * 100}%` }),
          h('span', { class: 'bar-value' }, `${(r.value * 100).toFixed(1)}%`),
        ),
      ]),
    ),
  );
}
