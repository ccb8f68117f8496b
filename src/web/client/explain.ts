import { fmt, h } from './dom.js';
import { itemLink } from './items.js';

/**
 * An explanation as the serving API returns it, in words: the history items (and edges) that contributed,
 * with their weights. Known shapes are rendered as "because of …" lists; anything else as compact JSON, so
 * the dashboard never hides what the server said.
 */
export function explanation(ex: unknown, titles: Map<string, { title: string | null }> = new Map()): HTMLElement | null {
  if (ex === null || ex === undefined) return null;
  if (typeof ex === 'string') return h('div', { class: 'explain' }, ex);
  if (Array.isArray(ex)) return entries(ex as Record<string, unknown>[], titles);
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

/**
 * The serving API's explanation entries: per history item of the user, the model-space cosine and dot
 * product with the recommended item, the user's attention on that item (models that export it) and the
 * weight of an item–item kNN edge between the two (null when none).
 */
function entries(list: Record<string, unknown>[], titles: Map<string, { title: string | null }>): HTMLElement | null {
  if (list.length === 0) return null;
  const num = (v: unknown, label: string) => (typeof v === 'number' ? `${label} ${fmt(v, 3)}` : null);
  return h(
    'div',
    { class: 'explain' },
    'Because of:',
    h(
      'ul',
      {},
      ...list.slice(0, 3).map((c) => {
        const id = String(c.item_id ?? '');
        const facts = [num(c.cosine, 'cos'), num(c.attention, 'attention'), num(c.knn_edge, 'kNN edge')].filter(Boolean).join(', ');
        return h('li', { 'data-explain-item': id }, itemLink(id, titles.get(id)?.title ?? id), facts ? ` (${facts})` : '');
      }),
    ),
  );
}
