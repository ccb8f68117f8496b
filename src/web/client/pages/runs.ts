import { api, enc } from '../api.js';
import { chart } from '../charts.js';
import { empty, fmt, h, section, table } from '../dom.js';
import { go, type PageContext } from '../page.js';
import type { AblationFile } from '../../ablations.js';
import type { RunDetails, RunRecord } from '../../../tracking/index.js';
import { searchOf, searchTable } from '../selection.js';

/**
 * Runs: the run table of the dataset (from the run store), training curves of a selected run — loss and
 * validation metrics per epoch — a second run overlaid for comparison with a metric table of deltas, the
 * searches (`plotpointe tune`, `train --model auto`: trials, params, valid metrics, the best) and the
 * ablation tables written by `plotpointe ablate`.
 */

/** The headline metrics shown in the run table, when runs have them. */
const HEADLINE = ['recall@20', 'ndcg@20'];

export async function renderRuns({ main, params, alive }: PageContext): Promise<void> {
  const [{ runs }, { ablations }] = await Promise.all([
    api<{ runs: RunRecord[] }>('/api/dashboard/runs'),
    api<{ ablations: AblationFile[] }>('/api/dashboard/ablations'),
  ]);
  if (!alive()) return;
  const selected = params.get('run') ?? runs.find((r) => r.kind === 'train' && r.status === 'finished')?.id ?? null;
  const compare = params.get('compare');

  if (runs.length === 0) {
    main.append(section('Runs', empty('No runs recorded for this dataset yet (plotpointe train records them).')));
  } else {
    const metricCols = HEADLINE.filter((m) => runs.some((r) => r.metrics.test[m] !== undefined));
    const rows = runs.map((r) => {
      const isSel = r.id === selected;
      const isCmp = r.id === compare;
      return [
        h('button', { type: 'button', class: isSel ? '' : 'secondary', 'aria-pressed': String(isSel), 'data-run-id': r.id, onclick: () => go('runs', { run: r.id, ...(compare && compare !== r.id ? { compare } : {}) }) }, r.id),
        r.model,
        r.kind,
        h('span', { class: `badge ${r.status}` }, r.status, r.blessedIn.length ? ' · blessed' : ''),
        r.startedAt.replace('T', ' ').slice(0, 19),
        fmt(r.wallSeconds, 1),
        r.bestEpoch === null ? '–' : String(r.bestEpoch),
        ...metricCols.map((m) => h('span', { 'data-metric': `test.${m}`, 'data-run-id': r.id }, fmt(r.metrics.test[m] ?? null, 4))),
        selected && r.id !== selected
          ? h('button', { type: 'button', class: 'secondary', 'aria-pressed': String(isCmp), 'data-compare-id': r.id, onclick: () => go('runs', { run: selected, compare: r.id }) }, isCmp ? 'compared' : 'compare')
          : '',
      ];
    });
    main.append(section('Runs', table(`${runs.length} runs, newest first`, ['run', 'model', 'kind', 'status', 'started (UTC)', 'wall s', 'best epoch', ...metricCols.map((m) => `test ${m}`), 'compare with selected'], rows, { id: 'runs-table' })));
  }

  const searches = runs.filter((r) => searchOf(r) !== null);
  main.append(
    section(
      'Searches',
      h('div', { id: 'searches' }, ...(searches.length ? searches.map((r) => searchTable(r, searchOf(r)!)) : [empty('No searches yet (plotpointe tune and train --model auto record them).')])),
    ),
  );

  if (selected) {
    const ids = [selected, ...(compare && compare !== selected ? [compare] : [])];
    const details = await Promise.all(ids.map((id) => api<RunDetails>(`/api/dashboard/runs/${enc(id)}`)));
    if (!alive()) return;
    main.append(curves(details), comparison(details));
  }

  main.append(section('Ablations', ...(ablations.length ? ablations.map(ablationTable) : [empty('No ablation tables yet (plotpointe ablate writes them).')])));
}

/** Loss and validation metrics per epoch; two runs are overlaid, labelled by model and id suffix. */
function curves(runs: RunDetails[]): HTMLElement {
  const epochs = [...new Set(runs.flatMap((r) => r.epochs.map((e) => e.epoch)))].sort((a, b) => a - b);
  if (epochs.length === 0) return section('Training curves', empty(`Run ${runs[0]!.id} logged no epochs (closed-form models have none).`));
  // Two runs: "A lightgcn f079 ndcg@20" solid, "B mf f1c6 ndcg@20" dashed, one colour per metric.
  const tag = (r: RunDetails) => (runs.length > 1 ? `${r === runs[0] ? 'A' : 'B'} ${r.model} ${r.id.split('-').at(-1)} ` : '');
  const at = (r: RunDetails, pick: (e: RunDetails['epochs'][number]) => number | null) => {
    const byEpoch = new Map(r.epochs.map((e) => [e.epoch, pick(e)]));
    return epochs.map((ep) => byEpoch.get(ep) ?? null);
  };
  const metricNames = [...new Set(runs.flatMap((r) => r.epochs.flatMap((e) => Object.keys(e.metrics))))].sort();
  return section(
    `Training curves · ${runs.map((r) => r.id).join(' vs ')}`,
    h(
      'div',
      { class: 'grid two', id: 'run-curves' },
      chart({ title: 'Training loss per epoch', xLabel: 'epoch', yLabel: 'loss', x: epochs, series: runs.map((r, ri) => ({ label: `${tag(r)}loss`, values: at(r, (e) => e.loss), color: ri }) )}),
      metricNames.length
        ? chart({
            title: 'Validation metrics per epoch',
            xLabel: 'epoch',
            yLabel: 'metric',
            x: epochs,
            series: runs.flatMap((r, ri) => metricNames.map((m, mi) => ({ label: `${tag(r)}${m}`, values: at(r, (e) => e.metrics[m] ?? null), color: mi, dashed: ri === 1 }))),
          })
        : empty('No validation metrics were logged per epoch.'),
    ),
  );
}

/** Final metrics, one row per metric: valid and test of each run; with two runs, the test delta B − A. */
function comparison(runs: RunDetails[]): HTMLElement {
  const names = [...new Set(runs.flatMap((r) => [...Object.keys(r.metrics.valid), ...Object.keys(r.metrics.test)]))].sort(byMetric);
  const cell = (r: RunDetails, part: 'valid' | 'test', m: string) => h('span', { 'data-metric': `${part}.${m}`, 'data-run-id': r.id }, fmt(r.metrics[part][m] ?? null, 4));
  const rows = names.map((m) => {
    const a = runs[0]!.metrics.test[m];
    const b = runs[1]?.metrics.test[m];
    const delta = a !== undefined && b !== undefined && a !== null && b !== null ? b - a : null;
    return [m, ...runs.flatMap((r) => [cell(r, 'valid', m), cell(r, 'test', m)]), ...(runs.length === 2 ? [delta === null ? '–' : `${delta >= 0 ? '+' : ''}${delta.toFixed(4)}`] : [])];
  });
  const tag = (r: RunDetails) => (runs.length === 2 ? `${r === runs[0] ? 'A' : 'B'} ${r.model}` : r.model);
  const head = ['metric', ...runs.flatMap((r) => [`${tag(r)} valid`, `${tag(r)} test`]), ...(runs.length === 2 ? ['test B − A'] : [])];
  const caption = runs.length === 2 ? `A = ${runs[0]!.id}, B = ${runs[1]!.id}` : `${runs[0]!.id}: selection on valid, evaluation on test`;
  return section(runs.length === 2 ? 'Comparison' : 'Final metrics', rows.length ? table(caption, head, rows, { id: 'run-metrics' }) : empty('The run has no final metrics yet.'));
}

/** Orders metric names by name, then by cut-off: recall@10 < recall@20 < recall@50. */
function byMetric(a: string, b: string): number {
  const [na, ka] = a.split('@');
  const [nb, kb] = b.split('@');
  return na === nb ? Number(ka) - Number(kb) : na!.localeCompare(nb!);
}

interface Stat {
  mean: number;
  sd: number;
  n: number;
}
interface AblationCell {
  params: Record<string, unknown>;
  status: string;
  test: Record<string, Stat>;
  fit_seconds: Stat | null;
}

/**
 * An ablation report (`plotpointe ablate`, src/orchestration/ablation.ts) as a table: one row per grid cell — its
 * parameters, status, each test metric as mean ± sd over seeds, fit time. Other JSON is shown as its rows
 * (the first array of objects) or, failing that, as text.
 */
function ablationTable(a: AblationFile): HTMLElement {
  const t = (a.table ?? {}) as Record<string, unknown>;
  const ms = (st: Stat | undefined, digits = 4) => (st && typeof st.mean === 'number' ? `${st.mean.toFixed(digits)} ± ${(st.sd ?? 0).toFixed(digits)}` : '–');
  if (Array.isArray(t.cells)) {
    const cells = t.cells as AblationCell[];
    const params = [...new Set(cells.flatMap((c) => Object.keys(c.params ?? {})))];
    const metrics = Array.isArray(t.metrics) ? (t.metrics as string[]) : [...new Set(cells.flatMap((c) => Object.keys(c.test ?? {})))];
    const seeds = Array.isArray(t.seeds) ? (t.seeds as number[]).length : null;
    return h(
      'div',
      { 'data-ablation': a.id },
      table(
        `${a.id}: ${String(t.model ?? '')} on ${String(t.dataset ?? '')}/${String(t.split ?? '')}, test mean ± sd${seeds ? ` over ${seeds} seeds` : ''}`,
        [...params, 'status', ...metrics.map((m) => `test ${m}`), 'fit s'],
        cells.map((c) => [...params.map((p) => String(c.params?.[p] ?? '–')), h('span', { class: `badge ${c.status === 'ok' ? 'ok' : c.status === 'failed' ? 'failed' : 'warn'}` }, c.status), ...metrics.map((m) => ms(c.test?.[m])), ms(c.fit_seconds ?? undefined, 1)]),
      ),
    );
  }
  const rows = (Array.isArray(t) ? t : ((Object.values(t).find((v) => Array.isArray(v) && v.every((x) => x && typeof x === 'object')) as unknown[] | undefined) ?? [])) as Record<string, unknown>[];
  const flat = rows.map((r) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r ?? {})) {
      if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k2, v2] of Object.entries(v)) o[`${k}.${k2}`] = v2;
      else o[k] = v;
    }
    return o;
  });
  const cols = [...new Set(flat.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (typeof v === 'number' ? fmt(v, 4) : v === null || v === undefined ? '–' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  return h(
    'div',
    { 'data-ablation': a.id },
    flat.length ? table(`${a.id} (${a.modifiedAt.slice(0, 19).replace('T', ' ')} UTC)`, cols, flat.map((r) => cols.map((c) => cell(r[c])))) : h('p', {}, `${a.id}: `, h('code', {}, JSON.stringify(a.table).slice(0, 400))),
  );
}
