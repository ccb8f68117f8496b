import { ppError } from '../../errors.js';
import type { ItemRecord } from '../../data/records.js';

/** The item fields that can make up an item's text. */
export const TEXT_FIELDS = ['title', 'brand', 'categories', 'description'] as const;
export type TextField = (typeof TEXT_FIELDS)[number];

export interface ItemTextOptions {
  /** Fields to use, in this order (default: title, brand, categories, description). */
  fields: readonly TextField[];
  /** The description is cut to at most this many characters, at a word boundary (default 300). */
  maxDescriptionChars: number;
  /** The whole text is cut to at most this many characters (default 1000). */
  maxChars: number;
}

export const DEFAULT_ITEM_TEXT: ItemTextOptions = {
  fields: TEXT_FIELDS,
  maxDescriptionChars: 300,
  maxChars: 1000,
};

/** The fields of an item that the text is built from. */
export type ItemTextSource = Pick<ItemRecord, 'title' | 'brand' | 'description'> & { categories: readonly string[] | null };

/** Parses `--fields title,brand,…` (checked against TEXT_FIELDS, duplicates dropped). */
export function parseTextFields(spec: string | readonly string[]): TextField[] {
  const parts = (typeof spec === 'string' ? spec.split(',') : [...spec]).map((s) => s.trim()).filter(Boolean);
  const out: TextField[] = [];
  for (const p of parts) {
    if (!(TEXT_FIELDS as readonly string[]).includes(p)) {
      throw ppError('PP_EMBED_INVALID', `unknown text field "${p}" (known: ${TEXT_FIELDS.join(', ')})`);
    }
    if (!out.includes(p as TextField)) out.push(p as TextField);
  }
  if (out.length === 0) throw ppError('PP_EMBED_INVALID', 'no text fields given');
  return out;
}

/** Checks and completes text options. */
export function resolveItemTextOptions(partial: Partial<ItemTextOptions> = {}): ItemTextOptions {
  const o: ItemTextOptions = {
    fields: parseTextFields(partial.fields ?? DEFAULT_ITEM_TEXT.fields),
    maxDescriptionChars: partial.maxDescriptionChars ?? DEFAULT_ITEM_TEXT.maxDescriptionChars,
    maxChars: partial.maxChars ?? DEFAULT_ITEM_TEXT.maxChars,
  };
  for (const k of ['maxDescriptionChars', 'maxChars'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 0) throw ppError('PP_EMBED_INVALID', `${k} must be a non-negative integer, got ${o[k]}`);
  }
  return o;
}

/** Collapses whitespace and drops HTML tags and entities' markup (Amazon descriptions often carry HTML). */
export function cleanText(s: string | null | undefined): string {
  if (!s) return '';
  return s
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/&amp;/gi, '&')
    .replace(/&quot;/gi, '"')
    .replace(/&#39;|&apos;/gi, "'")
    .replace(/&lt;/gi, '<')
    .replace(/&gt;/gi, '>')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Cuts `s` to at most `max` characters, at the last space when there is one in the second half. */
export function truncateAtWord(s: string, max: number): string {
  if (s.length <= max) return s;
  const cut = s.slice(0, max);
  const sp = cut.lastIndexOf(' ');
  return (sp >= max / 2 ? cut.slice(0, sp) : cut).trimEnd();
}

/**
 * The text of an item: the chosen fields in the given order, e.g.
 * `Sony WH-1000XM4. Brand: Sony. Category: Electronics > Headphones. Wireless noise cancelling …`.
 * Pure and deterministic (the cache keys on it). Returns null when no chosen field has text: such items get a
 * zero row and are marked missing.
 */
export function itemText(item: ItemTextSource, options: ItemTextOptions = DEFAULT_ITEM_TEXT): string | null {
  const parts: string[] = [];
  for (const f of options.fields) {
    if (f === 'title') {
      const t = cleanText(item.title);
      if (t) parts.push(t);
    } else if (f === 'brand') {
      const b = cleanText(item.brand);
      if (b) parts.push(`Brand: ${b}`);
    } else if (f === 'categories') {
      const cats = (item.categories ?? []).map(cleanText).filter(Boolean);
      if (cats.length) parts.push(`Category: ${cats.join(' > ')}`);
    } else {
      const d = truncateAtWord(cleanText(item.description), options.maxDescriptionChars);
      if (d) parts.push(d);
    }
  }
  if (parts.length === 0) return null;
  const text = truncateAtWord(parts.map((p) => (/[.!?]$/.test(p) ? p : p + '.')).join(' '), options.maxChars);
  return text || null;
}
