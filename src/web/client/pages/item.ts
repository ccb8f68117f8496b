import { api, ApiError, enc, imageUrl } from '../api.js';
import { empty, errorBox, field, fmt, h, section, setChildren } from '../dom.js';
import { itemMeta, itemRow } from '../items.js';
import { go, type PageContext } from '../page.js';
import { scoredItems } from '../serving.js';
import type { ItemMeta } from '../../catalog.js';

/** Item page: metadata and image, then the most similar items per modality (text, image, fused, graph) side by side. */

export const MODALITIES = ['text', 'image', 'fused', 'graph'] as const;
const K = 8;

export async function renderItem({ main, params, alive }: PageContext): Promise<void> {
  const id = params.get('id');
  const search = itemSearch(id ?? '');
  main.append(search);
  if (!id) {
    const top = await api<{ items: ItemMeta[] }>('/api/dashboard/items?limit=12');
    if (!alive()) return;
    main.append(section('Popular items', h('ul', { class: 'items', id: 'item-picks' }, ...top.items.map((m) => itemRow(m.itemId, m)))));
    return;
  }
  // The item, its metadata and the four similar lists are requested at once.
  const similarP = new Map(MODALITIES.map((m) => [m, api<unknown>(`/v1/items/${enc(id)}/similar?k=${K}&modality=${m}`)] as const));
  for (const p of similarP.values()) p.catch(() => undefined); // handled per modality below
  const metaP = itemMeta([id]);
  metaP.catch(() => undefined);
  let item: Record<string, unknown>;
  try {
    item = await api<Record<string, unknown>>(`/v1/items/${enc(id)}`);
  } catch (err) {
    if (!alive()) return;
    main.append(errorBox(err instanceof ApiError && err.status === 404 ? `No item ${id} in the served model.` : (err as Error).message));
    return;
  }
  const meta = (await metaP).get(id);
  if (!alive()) return;
  const title = String(item.title ?? meta?.title ?? id);
  const cats = (item.categories as string[] | undefined) ?? meta?.categories ?? [];
  const facts: [string, string][] = [
    ['Item id', id],
    ['Brand', String(item.brand ?? meta?.brand ?? '–')],
    ['Price', item.price !== undefined && item.price !== null ? `$${fmt(Number(item.price), 2)}` : meta?.price !== null && meta?.price !== undefined ? `$${fmt(meta.price, 2)}` : '–'],
    ['Categories', cats.join(' › ') || '–'],
  ];
  main.append(
    section(
      title,
      h(
        'div',
        { class: 'item-hero', id: 'item-detail', 'data-item-id': id },
        meta?.hasImage ? h('img', { src: imageUrl(id), alt: title, width: 240, height: 240 }) : h('p', { class: 'empty' }, 'No local image for this item.'),
        h(
          'div',
          {},
          h('dl', { class: 'stats' }, ...facts.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', { class: 'small' }, v)))),
          meta?.description ? h('p', { class: 'small' }, meta.description) : null,
        ),
      ),
    ),
  );
  const grid = h('div', { class: 'grid four', id: 'similar' });
  main.append(h('h2', {}, 'Similar items by modality'), grid);
  await Promise.all(
    MODALITIES.map(async (m) => {
      const box = h('ul', { class: 'items' });
      const card = h('section', { class: 'card', 'data-modality': m }, h('h3', {}, `${m}`), box);
      grid.append(card);
      try {
        const resp = await similarP.get(m)!;
        const rows = scoredItems(resp);
        const metas = await itemMeta(rows.map((r) => r.itemId));
        if (!alive()) return;
        if (rows.length === 0) setChildren(box, empty('No similar items.'));
        else setChildren(box, ...rows.map((r) => itemRow(r.itemId, metas.get(r.itemId), h('div', { class: 'score' }, `#${r.rank} · score ${fmt(r.score, 4)}`))));
      } catch (err) {
        if (!alive()) return;
        setChildren(box, empty(err instanceof ApiError && err.status === 404 ? `No ${m} index in the serving bundle.` : (err as Error).message));
      }
    }),
  );
}

/** Search by id or title; Enter or the button opens the best match. */
function itemSearch(initial: string): HTMLElement {
  const input = h('input', { type: 'search', name: 'item-q', value: initial, placeholder: 'item id or words of the title', autocomplete: 'off' });
  const results = h('ul', { class: 'pick-list', id: 'item-results', 'aria-live': 'polite' });
  const run = async () => {
    const q = input.value.trim();
    const r = await api<{ items: ItemMeta[] }>(`/api/dashboard/items?q=${enc(q)}&limit=8`);
    if (r.items.length === 1 || r.items[0]?.itemId === q) return go('item', { id: r.items[0]!.itemId });
    setChildren(results, ...(r.items.length ? r.items.map((m) => h('li', {}, h('button', { type: 'button', class: 'secondary', onclick: () => go('item', { id: m.itemId }) }, m.title ?? m.itemId))) : [empty('No item matches.')]));
  };
  const form = h('form', { role: 'search', class: 'card', onsubmit: (e: Event) => (e.preventDefault(), void run()) }, h('div', { class: 'row' }, field('Find an item', input), h('button', { type: 'submit' }, 'Search')), results);
  return form;
}
