import { api, enc, imageUrl } from './api.js';
import { fmt, h } from './dom.js';
import type { ItemMeta } from '../catalog.js';

/** Item metadata for many ids in one call, as a map (ids the lake does not know are absent). */
export async function itemMeta(ids: string[]): Promise<Map<string, ItemMeta>> {
  const unique = [...new Set(ids)].slice(0, 200);
  if (unique.length === 0) return new Map();
  const r = await api<{ items: ItemMeta[] }>(`/api/dashboard/item-meta?ids=${enc(unique.join(','))}`);
  return new Map(r.items.map((m) => [m.itemId, m]));
}

/** The item's thumbnail (lazy, from the dashboard image route), or a placeholder when it has none. */
export function thumb(meta: ItemMeta | undefined, itemId: string, size = 72): HTMLElement {
  if (meta?.hasImage) {
    return h('img', { class: 'thumb', src: imageUrl(itemId), alt: meta.title ?? itemId, width: size, height: size, loading: 'lazy', decoding: 'async' });
  }
  return h('span', { class: 'thumb thumb-none', role: 'img', 'aria-label': 'no image', style: `width:${size}px;height:${size}px` }, '—');
}

/** A link to the item page. */
export function itemLink(itemId: string, text?: string): HTMLElement {
  return h('a', { href: `#/item?id=${enc(itemId)}`, class: 'item-link', 'data-item-id': itemId }, text ?? itemId);
}

/**
 * One item as a list row: thumbnail, title (linking to the item page), id and brand, then `extra` (score,
 * rating, explanation…). `data-item-id` lets tests find rows by id.
 */
export function itemRow(itemId: string, meta: ItemMeta | undefined, ...extra: (Node | string | null)[]): HTMLElement {
  return h(
    'li',
    { class: 'item-row', 'data-item-id': itemId },
    thumb(meta, itemId),
    h(
      'div',
      { class: 'item-text' },
      itemLink(itemId, meta?.title ?? itemId),
      h('div', { class: 'muted small' }, h('code', {}, itemId), meta?.brand ? ` · ${meta.brand}` : '', meta?.price !== null && meta?.price !== undefined ? ` · $${fmt(meta.price, 2)}` : ''),
      ...extra,
    ),
  );
}
