/**
 * The records every format reader produces, and the sink they hand them to. Readers only parse: they turn
 * a source line into typed records or into a reject with a reason code. Validation that needs the whole
 * data set (rating range, timestamps, duplicates, foreign keys) happens afterwards, in `validate.ts`.
 */

/** A catalog item, as staged in `items.parquet`. Missing values are `null`, never empty strings. */
export interface ItemRecord {
  item_id: string;
  title: string | null;
  description: string | null;
  brand: string | null;
  /** Flattened, de-duplicated category path(s), most general first. */
  categories: string[];
  /** Price in the source currency, `null` when absent or unparsable. */
  price: number | null;
  /** Remote image (http/https). */
  image_url: string | null;
  /** Local image file, absolute path (e.g. the demo catalog's rendered PNGs). */
  image_path: string | null;
  /** Other source fields kept verbatim (related, salesRank, also_buy, …), stored as JSON text. */
  extra: Record<string, unknown> | null;
}

/** An item with only an id and the given fields (every other field missing). */
export function bareItem(item_id: string, fields: Partial<Omit<ItemRecord, 'item_id'>> = {}): ItemRecord {
  return {
    item_id,
    title: null,
    description: null,
    brand: null,
    categories: [],
    price: null,
    image_url: null,
    image_path: null,
    extra: null,
    ...fields,
  };
}

export type SplitTag = 'train' | 'valid' | 'test';

/** A user–item interaction, as staged in `interactions.parquet`. */
export interface InteractionRecord {
  user_id: string;
  item_id: string;
  /** Explicit rating, `null` for implicit feedback (a click, a check-in, a purchase). */
  rating: number | null;
  /** Unix seconds, `null` when the source has none. */
  ts: number | null;
  /** For sources with a given split (lightgcn, unisrec): which part this interaction belongs to. */
  split: SplitTag | null;
}

/** Where a record came from: the input file (as named in the raw manifest) and its 1-based line. */
export interface SourceRef {
  file: string;
  line: number;
}

/** Reason codes for rejected records. Readers use the parse-level ones; `validate.ts` the rest. */
export const REJECT_REASONS = {
  malformed_json: 'the line is not valid JSON',
  malformed_literal: 'the line is not a valid Python literal',
  malformed_line: 'the line does not have the fields the format expects',
  missing_field: 'a required field is missing or empty',
  bad_field: 'a field has the wrong type or an unparsable value',
  rating_out_of_range: 'the rating is outside the allowed range',
  bad_timestamp: 'the timestamp is missing, not a number or outside a plausible range',
  duplicate: 'the same record appeared earlier (the first one is kept)',
  unknown_item: 'the interaction names an item that is not in the catalog',
  unknown_user: 'the record names a user that is not in the user list',
  line_too_long: 'the line is longer than ingest.max_line_bytes (it is skipped unread)',
  bad_encoding: 'the text is not valid UTF-8 (or a string holds a lone surrogate)',
  too_large: 'a field or the whole record is over its size cap (ids: MAX_ID_CHARS; a record: MAX_RECORD_BYTES)',
  too_deep: 'a value is nested deeper than MAX_NESTING levels',
} as const;

/** Longest id (user_id, item_id) staged, in UTF-16 code units; a longer one is a `too_large` reject. */
export const MAX_ID_CHARS = 4096;
/** Deepest nesting of arrays/objects in a record's `extra`; deeper is a `too_deep` reject. */
export const MAX_NESTING = 64;
/** Largest staged record as serialized JSON, in bytes; larger is a `too_large` reject. */
export const MAX_RECORD_BYTES = 32 * 1024 * 1024;

export type RejectReason = keyof typeof REJECT_REASONS;

export type RecordKind = 'item' | 'interaction';

export interface RejectRecord {
  kind: RecordKind;
  reason: RejectReason;
  /** Which field or what exactly, e.g. "overall=7" or "missing asin". */
  detail: string;
  /** The raw line (truncated to 2,000 characters), or the record as JSON for validation rejects. */
  raw: string;
}

/**
 * Where a reader sends what it parsed. Every input record must end in exactly one call: `item`,
 * `interaction` or `reject` (a line that yields several interactions, as in lightgcn's "user item item …",
 * calls `interaction` once per pair and counts each pair as a record).
 */
export interface RecordSink {
  item(record: ItemRecord, src: SourceRef): void;
  interaction(record: InteractionRecord, src: SourceRef): void;
  reject(kind: RecordKind, src: SourceRef, reason: RejectReason, detail: string, raw: string): void;
}

/** Truncates raw text kept in rejects (never between the two halves of a surrogate pair). */
export function clipRaw(raw: string, max = 2000): string {
  if (raw.length <= max) return raw;
  const cut = raw.charCodeAt(max - 1) >= 0xd800 && raw.charCodeAt(max - 1) <= 0xdbff ? max - 1 : max;
  return raw.slice(0, cut) + '…';
}
