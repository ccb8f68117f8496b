import { fmt, h } from './dom.js';
import { itemLink } from './items.js';

/**
 * An explanation as the serving API returns it, in words: the history items (and edges) that contributed,
 * with their weights. Known shapes are rendered as "because of …" lists; anything else as compact JSON, so
 * the dashboard never hides what the server said.
 */
export function explanation(ex: unknown): HTMLElement | null {
  if (ex === null || ex === undefined) return null;
  if (typeof ex === 'string') return h('div', { class: 'explain' }, ex);
  const o = ex as Record<string, unknown>;
  const list = (['contributors', 'because', 'history', 'items'] as const).map((k) => o[k]).find(Array.isArray) as Record<string, unknown>[] | undefined;
  if (list) {
    const parts = list.slice(0, 3).map((c) => {
      const id = String(c.item_id ?? c.itemId ?? '');
      const w = typeof c.weight === 'number' ? c.weight : typeof c.contribution === 'number' ? c.contribution : typeof c.score === 'number' ? c.score : null;
      const via = typeof c.edge === 'string' ? c.edge : typeof c.via === 'string' ? c.via : typeof c.kind === 'string' ? c.kind : null;
      return h('li', {}, id ? itemLink(id, typeof c.title === 'string' ? c.title : id) : JSON.stringify(c), w !== null ? ` (${fmt(w, 3)})` : '', via ? ` via ${via}` : '');
    });
    const label = typeof o.method === 'string' ? `Because of (${o.method}):` : 'Because of:';
    return h('div', { class: 'explain' }, label, h('ul', {}, ...parts));
  }
  return h('div', { class: 'explain' }, h('code', {}, JSON.stringify(ex).slice(0, 300)));
}
