import { api, enc } from './api.js';
import { empty, fmt, h, table } from './dom.js';
import { go } from './page.js';
import type { RunDetails, RunRecord } from '../../tracking/index.js';
import type { SearchRecord } from '../../tracking/search-record.js';

/**
 * Model selection as the dashboard shows it: a `search` run (`plotpointe tune`, or `train --model auto`)
 * and its trials — params, status, valid metrics, the best one (selected on valid NDCG@20) marked — from the
 * run's `extra.search`; and, for the served run, the search it won (its parent run), i.e. why it is served.
 */

export function searchOf(run: RunRecord): SearchRecord | null {
  const s = (run.extra as { search?: SearchRecord } | null)?.search;
  return run.kind === 'search' && s && Array.isArray(s.trials) ? s : null;
}

const paramText = (p: Record<string, unknown>) => Object.entries(p).map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : String(v)}`).join(' ') || '(defaults)';

/** The trials of a search, one row each; `served` marks the served run. */
export function searchTable(run: RunRecord, s: SearchRecord, served?: string): HTMLElement {
  const auto = s.kind === 'auto';
  const best = s.trials.find((t) => t.run_id === s.best_run_id);
  const rows = s.trials.map((t) => {
    const isBest = t.run_id !== null && t.run_id === s.best_run_id;
    return [
      h('span', { 'data-trial': String(t.trial), 'data-best': String(isBest) }, `${isBest ? '★ ' : ''}${t.trial}`),
      t.run_id ? h('button', { type: 'button', class: 'secondary', 'data-trial-run': t.run_id, onclick: () => go('runs', { run: t.run_id! }) }, t.run_id) : '–',
      t.model,
      h('code', {}, paramText(t.params)),
      h('span', { class: `badge ${t.status === 'finished' ? 'ok' : t.status === 'pruned' ? 'warn' : 'failed'}` }, t.status, t.run_id && t.run_id === served ? ' · served' : ''),
      h('span', { 'data-metric': 'valid.ndcg@20', 'data-run-id': t.run_id ?? '' }, fmt(t.valid_ndcg20, 4)),
      fmt(t.valid_recall20, 4),
      fmt(t.test_ndcg20, 4),
      ...(auto ? [t.servable === undefined ? '–' : t.servable ? 'yes' : 'no'] : [t.epochs === null ? '–' : String(t.epochs)]),
      fmt(t.fit_seconds, 1),
    ];
  });
  const caption =
    `${auto ? 'auto' : 'tune'} ${run.id}: ${run.model} on ${run.dataset}/${run.split}, ${s.trials.length} ${auto ? 'candidates' : 'trials'}, selected by ${s.selected_by}` +
    (best ? ` — best: ${best.model} (trial ${best.trial}, valid ndcg@20 ${fmt(best.valid_ndcg20, 4)})` : ' — no best yet') +
    (run.status === 'running' ? ' (running)' : '');
  return h(
    'div',
    { 'data-search': run.id },
    table(caption, ['trial', 'run', 'model', 'params', 'status', 'valid ndcg@20', 'valid recall@20', 'test ndcg@20', auto ? 'servable' : 'epochs', 'fit s'], rows),
  );
}

/** Why the run `servedRun` is served: the search it won (its parent), or a note that it was trained alone. */
export async function whyServed(servedRun: string): Promise<HTMLElement> {
  let run: RunDetails;
  try {
    run = await api<RunDetails>(`/api/dashboard/runs/${enc(servedRun)}`);
  } catch {
    return empty(`Run ${servedRun} is not in this lake's run store.`);
  }
  const parent = run.parentRunId ? await api<RunDetails>(`/api/dashboard/runs/${enc(run.parentRunId)}`).catch(() => null) : null;
  const s = parent ? searchOf(parent) : null;
  if (!parent || !s) {
    return h('p', { 'data-why': 'single', class: 'muted' }, `${run.model} (run ${run.id}) was trained on its own, not selected among candidates: valid ndcg@20 ${fmt(run.metrics.valid['ndcg@20'] ?? null, 4)}.`);
  }
  const won = s.best_run_id === run.id;
  const others = s.trials.filter((t) => t.run_id !== run.id && t.valid_ndcg20 !== null);
  const beaten = others.filter((t) => (t.valid_ndcg20 ?? -Infinity) < (run.metrics.valid['ndcg@20'] ?? -Infinity)).length;
  return h(
    'div',
    { 'data-why': won ? 'selected' : 'not-best' },
    h(
      'p',
      {},
      won
        ? `${run.model} is served because it had the best ${s.selected_by} of the ${s.trials.length} ${s.kind === 'auto' ? 'candidates' : 'trials'} of ${s.kind === 'auto' ? 'train --model auto' : 'tune'} ` +
            `(${fmt(run.metrics.valid['ndcg@20'] ?? null, 4)}; above ${beaten} of ${others.length} others)` +
            (parent.config && (parent.config as { servable_only?: boolean }).servable_only ? ', among the candidates that export embeddings (servable).' : '.')
        : `${run.model} is served, though search ${parent.id} selected ${s.best_run_id ?? 'no run'}.`,
    ),
    searchTable(parent, s, run.id),
  );
}
