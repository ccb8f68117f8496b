import type { ServedModel } from '../served-model.js';

/** Adds each item's title (from the bundle's metadata) to result rows that lack one (ServedModel rows carry it). */
export function withTitles<T extends { item_id: string; title?: string | null }>(model: ServedModel, rows: T[]): (T & { title: string | null })[] {
  if (rows.every((r) => r.title !== undefined)) return rows as (T & { title: string | null })[];
  return rows.map((r) => ({ ...r, title: r.title ?? model.itemMeta(model.itemIndex.get(r.item_id)!).title }));
}
