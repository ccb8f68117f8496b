/**
 * The column mapping shared by the `csv` and `parquet` readers: reader options that name the columns,
 * the default column names, how a file is classified by its header (interactions or items), how one row
 * becomes a record or a reject, and the validation rules that follow from the mapping.
 *
 * Values come in as strings (csv) or as typed JS values (parquet through DuckDB: number, bigint, Date,
 * arrays); every conversion here accepts both.
 */
import { ppError } from '../../errors.js';
import type { InteractionRecord, ItemRecord, RecordKind, RejectReason, SplitTag } from '../records.js';
import type { FormatRules, InputFile } from './format.js';
import { localImagePath, type LocalImage } from './image-path.js';

export type Role =
  | 'user'
  | 'item'
  | 'rating'
  | 'ts'
  | 'split'
  | 'title'
  | 'description'
  | 'brand'
  | 'categories'
  | 'price'
  | 'image_url'
  | 'image_path';

export const ROLES: readonly Role[] = [
  'user',
  'item',
  'rating',
  'ts',
  'split',
  'title',
  'description',
  'brand',
  'categories',
  'price',
  'image_url',
  'image_path',
];

/** Roles an interactions row uses, and roles an items row uses. */
const INTERACTION_ROLES: readonly Role[] = ['user', 'item', 'rating', 'ts', 'split'];
const ITEM_ROLES: readonly Role[] = ['item', 'title', 'description', 'brand', 'categories', 'price', 'image_url', 'image_path'];

/** Column names tried, in order, when an option does not name the column (matched exactly, then ignoring case). */
export const ROLE_DEFAULTS: Readonly<Record<Role, readonly string[]>> = {
  user: ['user_id', 'userId', 'user', 'reviewerID'],
  item: ['item_id', 'itemId', 'item', 'asin', 'movieId'],
  rating: ['rating', 'overall', 'stars'],
  ts: ['timestamp', 'ts', 'unixReviewTime', 'time'],
  split: ['split'],
  title: ['title'],
  description: ['description'],
  brand: ['brand'],
  categories: ['categories', 'category', 'genres'],
  price: ['price'],
  image_url: ['image_url', 'imUrl'],
  image_path: ['image_path'],
};

/** Documentation of the mapping options (for `FormatReader.options`). */
export const MAPPING_OPTIONS: Readonly<Record<string, string>> = {
  user: `user id column (default: first of ${ROLE_DEFAULTS.user.join('/')})`,
  item: `item id column (default: first of ${ROLE_DEFAULTS.item.join('/')})`,
  rating: `explicit rating column (default: ${ROLE_DEFAULTS.rating.join('/')}; none → implicit feedback)`,
  ts: `timestamp column (default: ${ROLE_DEFAULTS.ts.join('/')}); when present every interaction needs one`,
  ts_unit: 'timestamp unit: s (unix seconds, default), ms (unix milliseconds) or iso (ISO-8601 date/time, UTC unless a zone is given)',
  split: 'column with the given split (train/valid/test); when present the split is fixed by the source',
  title: 'item title column (default: title)',
  description: 'item description column (default: description)',
  brand: 'item brand column (default: brand)',
  categories: `item categories column (default: ${ROLE_DEFAULTS.categories.join('/')})`,
  categories_sep: 'separator inside the categories column (default: |)',
  price: 'item price column (default: price)',
  image_url: 'item image URL column (default: image_url/imUrl)',
  image_path: 'item local image path column (default: image_path; relative paths resolve against the input file folder)',
  rating_min: 'lowest allowed rating (default 1)',
  rating_max: 'highest allowed rating (default 5)',
};

export interface MappingSettings {
  /** Columns named by options. */
  explicit: Partial<Record<Role, string>>;
  categoriesSep: string;
  tsUnit: 's' | 'ms' | 'iso';
  rating: { min: number; max: number };
}

/** Reads and checks the mapping options; a bad value is PP_USAGE. */
export function mappingSettings(options: Readonly<Record<string, string>>): MappingSettings {
  const explicit: Partial<Record<Role, string>> = {};
  for (const r of ROLES) {
    const v = options[r];
    if (v !== undefined && v.trim() !== '') explicit[r] = v.trim();
  }
  const tsUnit = (options.ts_unit ?? 's').toLowerCase();
  if (tsUnit !== 's' && tsUnit !== 'ms' && tsUnit !== 'iso') {
    throw ppError('PP_USAGE', `ts_unit must be s, ms or iso, got "${options.ts_unit}"`);
  }
  const num = (key: string, dflt: number): number => {
    const v = options[key];
    if (v === undefined || v === '') return dflt;
    const n = Number(v);
    if (!Number.isFinite(n)) throw ppError('PP_USAGE', `${key} must be a number, got "${v}"`);
    return n;
  };
  const rating = { min: num('rating_min', 1), max: num('rating_max', 5) };
  if (rating.min > rating.max) throw ppError('PP_USAGE', `rating_min (${rating.min}) is above rating_max (${rating.max})`);
  const sep = options.categories_sep;
  return { explicit, categoriesSep: sep === undefined || sep === '' ? '|' : sep, tsUnit, rating };
}

export interface FileLayout {
  kind: 'interactions' | 'items';
  header: readonly string[];
  /** Column index per role this file's rows use. */
  columns: Partial<Record<Role, number>>;
  /** Unmapped columns (name, index): kept in `extra` of items. */
  extra: ReadonlyArray<readonly [string, number]>;
}

function findColumn(header: readonly string[], names: readonly string[]): number {
  for (const n of names) {
    const k = header.indexOf(n);
    if (k >= 0) return k;
  }
  const lower = header.map((h) => h.toLowerCase());
  for (const n of names) {
    const k = lower.indexOf(n.toLowerCase());
    if (k >= 0) return k;
  }
  return -1;
}

/** Where each role is in a header (-1 when absent): the option's column, else the first default found. */
export function resolveColumns(header: readonly string[], settings: MappingSettings): Record<Role, number> {
  const out = {} as Record<Role, number>;
  for (const r of ROLES) {
    const named = settings.explicit[r];
    out[r] = findColumn(header, named !== undefined ? [named] : ROLE_DEFAULTS[r]);
  }
  return out;
}

/**
 * Classifies a file by its header: user and item columns → interactions; only an item column → items;
 * no item column → PP_INGEST_BAD_HEADER naming the file and its columns. A column named by an option that
 * the file's kind needs but the header lacks is PP_INGEST_BAD_HEADER too.
 */
export function classifyColumns(fileName: string, header: readonly string[], settings: MappingSettings): FileLayout {
  const at = resolveColumns(header, settings);
  const has = (r: Role) => at[r] >= 0;
  const cols = header.map((h) => `"${h}"`).join(', ') || '(none)';
  if (!has('item')) {
    const wanted = settings.explicit.item ?? ROLE_DEFAULTS.item.join('/');
    throw ppError(
      'PP_INGEST_BAD_HEADER',
      `${fileName}: no item column (${wanted})${has('user') ? '' : ' and no user column'}; its columns are ${cols}`,
    );
  }
  const kind = has('user') ? 'interactions' : 'items';
  const roles = kind === 'interactions' ? INTERACTION_ROLES : ITEM_ROLES;
  const absent = roles.filter((r) => settings.explicit[r] !== undefined && !has(r));
  if (absent.length > 0) {
    throw ppError(
      'PP_INGEST_BAD_HEADER',
      `${fileName}: ${absent.map((r) => `${r}="${settings.explicit[r]}"`).join(', ')} not found; its columns are ${cols}`,
    );
  }
  const columns: Partial<Record<Role, number>> = {};
  for (const r of roles) if (has(r)) columns[r] = at[r];
  const used = new Set(Object.values(columns));
  const extra = header.map((h, k) => [h, k] as const).filter(([, k]) => !used.has(k));
  return { kind, header, columns, extra };
}

/** Validation rules for a set of classified files (null entries: files whose header could not be read). */
export function mappingRules(settings: MappingSettings, layouts: ReadonlyArray<FileLayout | null>): FormatRules {
  const inter = layouts.filter((l): l is FileLayout => l?.kind === 'interactions');
  const known = layouts.length > 0 && layouts.every((l) => l !== null);
  const uses = (r: Role) => inter.some((l) => l.columns[r] !== undefined) || (!known && settings.explicit[r] !== undefined);
  return {
    rating: uses('rating') ? { ...settings.rating } : null,
    requireTimestamp: uses('ts'),
    catalogIsAuthoritative: layouts.some((l) => l?.kind === 'items'),
    givenSplit: uses('split'),
  };
}

export type RowResult =
  | { kind: 'item'; record: ItemRecord }
  | { kind: 'interaction'; record: InteractionRecord }
  | { kind: 'reject'; recordKind: RecordKind; reason: RejectReason; detail: string };

/** A value as trimmed text; null for null/undefined/empty. */
export function asText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  let s: string;
  if (typeof v === 'string') s = v;
  else if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') s = String(v);
  else if (v instanceof Date) s = v.toISOString();
  else s = JSON.stringify(jsonValue(v));
  s = s.trim();
  return s === '' ? null : s;
}

/** A value made JSON-safe for `extra` (bigint → number when safe, else text; Date → ISO text; bytes dropped). */
export function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : String(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof Uint8Array) return null;
  if (Array.isArray(v)) return v.map(jsonValue);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = jsonValue(x);
    return o;
  }
  return v;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A finite number from a number, bigint or numeric text; NaN otherwise. */
export function asNumber(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : NaN;
  if (typeof v === 'bigint') return Number(v);
  const s = asText(v);
  return s !== null && NUMBER.test(s) ? Number(s) : NaN;
}

const ISO = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Unix seconds from a timestamp value in the given unit; NaN when it cannot be read. Dates are taken as they are. */
export function asUnixSeconds(v: unknown, unit: MappingSettings['tsUnit']): number {
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  if (unit === 'iso') {
    const s = asText(v);
    const m = s === null ? null : ISO.exec(s);
    if (!m) return NaN;
    const zone = m[3] ? m[3].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2') : 'Z';
    const ms = Date.parse(m[2] ? `${m[1]}T${m[2]}${zone}` : `${m[1]}T00:00:00Z`);
    return Number.isFinite(ms) ? Math.floor(ms / 1000) : NaN;
  }
  const n = asNumber(v);
  if (!Number.isFinite(n)) return NaN;
  return Math.floor(unit === 'ms' ? n / 1000 : n);
}

/** Split text into distinct, trimmed, non-empty categories (arrays are taken element-wise). */
export function asCategories(v: unknown, sep: string): string[] {
  if (v === null || v === undefined) return [];
  const parts = Array.isArray(v) ? v.map(asText) : (asText(v) ?? '').split(sep).map((s) => s.trim());
  return [...new Set(parts.filter((s): s is string => s !== null && s !== ''))];
}

/** Texts that say "no price": read as absent (null). */
const NO_PRICE = /^(?:n\/?a|none|null|-|\?)$/i;

/**
 * A price from a number or text such as "$1,299.00"; null when absent (empty, "n/a", "none", "-");
 * NaN when present but not a finite number ≥ 0 ("NaN", "1e400", "-3", "call us"): the row is then a
 * `bad_field` reject, never a silent null.
 */
export function asPrice(v: unknown): number | null {
  if (typeof v === 'bigint') return Number(v) >= 0 ? Number(v) : NaN;
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : NaN;
  const s = asText(v);
  if (s === null || NO_PRICE.test(s)) return null;
  const n = asNumber(s.replace(/^[^\d.+-]+/, '').replace(/,(?=\d{3}\b)/g, ''));
  return Number.isFinite(n) && n >= 0 ? n : NaN;
}

/**
 * A local image path, absolute: resolved against the folder of the user's file (`origin`) and kept only
 * inside it (`image-path.ts`); `rejected` says why a path was dropped.
 */
export function asImagePath(v: unknown, origin: InputFile['origin']): LocalImage | null {
  const s = asText(v);
  return s === null ? null : localImagePath(s, origin);
}

const SPLITS: ReadonlySet<string> = new Set(['train', 'valid', 'test']);

function rejectRow(layout: FileLayout, reason: RejectReason, detail: string): RowResult {
  return { kind: 'reject', recordKind: layout.kind === 'interactions' ? 'interaction' : 'item', reason, detail };
}

/** A value shortened for a reject's detail. */
function shown(v: unknown): string {
  const s = asText(v) ?? '';
  return s.length > 80 ? s.slice(0, 80) + '…' : s;
}

function valueOf(layout: FileLayout, values: readonly unknown[], r: Role): unknown {
  const k = layout.columns[r];
  return k === undefined ? undefined : values[k];
}

function columnName(layout: FileLayout, r: Role): string {
  return layout.header[layout.columns[r]!];
}

/**
 * Turns one row (values in header order) into a record or a reject, by the file's layout. (No closures
 * per row: this runs once per input row, and tsx's keep-names helper makes each closure costly.)
 */
export function rowToRecord(layout: FileLayout, values: readonly unknown[], settings: MappingSettings, origin: string): RowResult {
  const c = layout.columns;
  const item = asText(valueOf(layout, values, 'item'));
  if (layout.kind === 'interactions') {
    const user = asText(valueOf(layout, values, 'user'));
    if (user === null) return rejectRow(layout, 'missing_field', `missing ${columnName(layout, 'user')}`);
    if (item === null) return rejectRow(layout, 'missing_field', `missing ${columnName(layout, 'item')}`);
    let rating: number | null = null;
    if (c.rating !== undefined) {
      const v = values[c.rating];
      if (asText(v) === null) return rejectRow(layout, 'missing_field', `missing ${columnName(layout, 'rating')}`);
      rating = asNumber(v);
      if (Number.isNaN(rating)) return rejectRow(layout, 'bad_field', `${columnName(layout, 'rating')}=${shown(v)}`);
    }
    let ts: number | null = null;
    if (c.ts !== undefined) {
      const v = values[c.ts];
      if (asText(v) !== null) {
        ts = asUnixSeconds(v, settings.tsUnit);
        if (Number.isNaN(ts)) {
          return rejectRow(layout, 'bad_timestamp', `${columnName(layout, 'ts')}=${shown(v)} (ts_unit ${settings.tsUnit})`);
        }
      }
    }
    let split: SplitTag | null = null;
    if (c.split !== undefined) {
      const v = values[c.split];
      const s = asText(v)?.toLowerCase() ?? '';
      if (!SPLITS.has(s)) return rejectRow(layout, 'bad_field', `${columnName(layout, 'split')}=${shown(v)} (expected train, valid or test)`);
      split = s as SplitTag;
    }
    return { kind: 'interaction', record: { user_id: user, item_id: item, rating, ts, split } };
  }

  if (item === null) return rejectRow(layout, 'missing_field', `missing ${columnName(layout, 'item')}`);
  let price: number | null = null;
  if (c.price !== undefined && asText(values[c.price]) !== null) {
    price = asPrice(values[c.price]);
    if (price !== null && Number.isNaN(price)) return rejectRow(layout, 'bad_field', `${columnName(layout, 'price')}=${shown(values[c.price])} (a price is a finite number ≥ 0)`);
  }
  const image = c.image_path === undefined ? null : asImagePath(values[c.image_path], origin);
  let extra: Record<string, unknown> | null = null;
  for (const [col, k] of layout.extra) {
    const v = values[k];
    if (v === null || v === undefined || (typeof v === 'string' && v.trim() === '')) continue;
    extra ??= {};
    extra[col] = jsonValue(v);
  }
  if (image?.rejected !== undefined) (extra ??= {}).image_rejected = image.rejected;
  return {
    kind: 'item',
    record: {
      item_id: item,
      title: asText(valueOf(layout, values, 'title')),
      description: asText(valueOf(layout, values, 'description')),
      brand: asText(valueOf(layout, values, 'brand')),
      categories: asCategories(valueOf(layout, values, 'categories'), settings.categoriesSep),
      price,
      image_url: asText(valueOf(layout, values, 'image_url')),
      image_path: image?.path ?? null,
      extra,
    },
  };
}
