import type { ServedModel } from '../served-model.js';

/** Adds each item's title (from the bundle's metadata) to result rows. */
export function withTitles<T extends { item_id: string }>(model: ServedModel, rows: T[]): (T & { title: string | null })[] {
  return rows.map((r) => ({ ...r, title: model.itemMeta(model.itemIndex.get(r.item_id)!).title }));
}
