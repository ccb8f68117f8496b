/**
 * bench:scale's per-step table, from the pipeline runner's own step records (wall, CPU, peak RSS of each step's
 * process, src/pipeline/report.ts), with a throughput column:
 *
 *   items_per_s = items / wall_s    items: catalog items for ingest, embed-*, graph-*, index; the split's items for
 *                                   fuse; reviews for split, train, evaluate; none (null) for publish
 *   items_per_cpu_s = items / cpu_s (what a loaded, shared machine distorts least)
 */
import type { PipelineReport } from '../../src/pipeline/report.js';
import type { ScaleSize } from './options.js';

export interface ScaleStep {
  id: string;
  status: string;
  wall_s: number;
  cpu_s: number;
  peak_rss_mb: number;
  items: number | null;
  items_per_s: number | null;
  items_per_cpu_s: number | null;
  shards?: number;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** What one step processes (see the module comment); the fuse step's count comes from its result. */
function itemsOf(step: string, size: ScaleSize, fuseCount: number | null): number | null {
  if (step === 'fuse') return fuseCount;
  if (step === 'split' || step === 'train' || step === 'evaluate') return size.reviews;
  if (step === 'publish') return null;
  return size.catalogItems;
}

export function scaleSteps(report: PipelineReport, size: ScaleSize, fuseCount: number | null): ScaleStep[] {
  return report.steps.map((s) => {
    const items = itemsOf(s.step, size, fuseCount);
    // a step finished by an earlier attempt (resumed or cached) reports what it cost when it ran
    const u = s.status !== 'ran' && s.recorded ? { wall_s: s.recorded.wall_s, cpu_s: s.recorded.cpu_s, peak_rss_mb: s.recorded.peak_rss_mb } : s;
    return {
      id: s.step,
      status: s.status,
      wall_s: r3(u.wall_s),
      cpu_s: r3(u.cpu_s),
      peak_rss_mb: u.peak_rss_mb,
      items,
      items_per_s: items !== null && u.wall_s > 0 ? Math.round(items / u.wall_s) : null,
      items_per_cpu_s: items !== null && u.cpu_s > 0 ? Math.round(items / u.cpu_s) : null,
      ...(s.shards ? { shards: s.shards } : {}),
    };
  });
}

/** The table for people. */
export function renderSteps(steps: readonly ScaleStep[]): string {
  const head = ['step', 'wall s', 'cpu s', 'peak RSS MB', 'items', 'items/s', 'items/cpu-s'];
  const rows = steps.map((s) => [
    s.id + (s.shards ? ` (${s.shards} shards)` : '') + (s.status === 'ran' ? '' : ` [${s.status}]`),
    s.wall_s.toFixed(1),
    s.cpu_s.toFixed(1),
    String(s.peak_rss_mb),
    s.items === null ? '-' : s.items.toLocaleString('en-US'),
    s.items_per_s === null ? '-' : s.items_per_s.toLocaleString('en-US'),
    s.items_per_cpu_s === null ? '-' : s.items_per_cpu_s.toLocaleString('en-US'),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}
