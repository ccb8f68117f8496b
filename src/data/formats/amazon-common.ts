/**
 * What the two Amazon review-dump readers (McAuley 2014, Ni 2018) share: file roles, the read loop, review
 * lines (identical in both dumps), and field helpers for the meta lines. The readers only differ in how a
 * meta line is written (Python literal vs JSON) and which meta keys feed which staged column.
 */
import { ppError } from '../../errors.js';
import { readLines, rejectBadLine } from '../io/lines.js';
import { clipRaw } from '../records.js';
import type { InteractionRecord, ItemRecord, RecordSink, SourceRef } from '../records.js';
import type { FormatReader, FormatRules, InputFile, ReadContext } from './format.js';
import { localImagePath } from './image-path.js';

/** A field problem that turns the whole line into a reject. */
export class FieldError extends Error {
  constructor(
    readonly reason: 'missing_field' | 'bad_field',
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'FieldError';
  }
}

/** A meta file is any input whose file name contains "meta" (e.g. `meta_Electronics.json.gz`). */
export function isMetaInput(input: InputFile): boolean {
  return /meta/i.test(input.name);
}

/**
 * Files of an input folder an Amazon reader reads: `meta_*` and `reviews_*` JSON lines, and Ni 2018's
 * category files (`Electronics.json.gz`, `All_Beauty_5.json`: a capitalised name), plain or gzip. Sidecars
 * such as `demo-manifest.json` are skipped.
 */
export function isAmazonFile(name: string): boolean {
  return /^(?:meta|reviews)_.+\.jsonl?(?:\.gz)?$/i.test(name) || /^[A-Z][A-Za-z0-9_&-]*\.jsonl?(?:\.gz)?$/.test(name);
}

export function amazonRules(inputs: readonly InputFile[]): FormatRules {
  return {
    rating: { min: 1, max: 5 },
    requireTimestamp: true,
    catalogIsAuthoritative: inputs.some(isMetaInput),
    givenSplit: false,
  };
}

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value for a reject detail: JSON, shortened. */
export function show(v: unknown): string {
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return s.length > 80 ? s.slice(0, 80) + '…' : s;
}

// ---- field helpers -------------------------------------------------------------------------------

/** A required identifier: a non-empty string (trimmed). */
export function requiredId(obj: JsonObject, key: string): string {
  const v = obj[key];
  if (v === undefined || v === null) throw new FieldError('missing_field', `missing ${key}`);
  if (typeof v !== 'string') throw new FieldError('bad_field', `${key}=${show(v)}`);
  const t = v.trim();
  if (t === '') throw new FieldError('missing_field', `empty ${key}`);
  return t;
}

/** An optional string: trimmed, `null` when absent or empty. */
export function optionalText(obj: JsonObject, key: string): string | null {
  const v = obj[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new FieldError('bad_field', `${key}=${show(v)}`);
  const t = v.trim();
  return t === '' ? null : t;
}

/** A string or a list of strings (2018 descriptions): trimmed, empty parts dropped, joined with "\n". */
export function optionalLines(obj: JsonObject, key: string): string | null {
  const v = obj[key];
  if (!Array.isArray(v)) return optionalText(obj, key);
  const parts: string[] = [];
  for (const p of v) {
    if (typeof p !== 'string') throw new FieldError('bad_field', `${key} has a non-string entry ${show(p)}`);
    const t = p.trim();
    if (t !== '') parts.push(t);
  }
  return parts.length === 0 ? null : parts.join('\n');
}

/** The first non-empty entry of a string list (or a lone string), trimmed; `null` when there is none. */
export function firstOfList(obj: JsonObject, key: string): string | null {
  const v = obj[key];
  if (!Array.isArray(v)) return optionalText(obj, key);
  for (const p of v) {
    if (typeof p !== 'string') throw new FieldError('bad_field', `${key} has a non-string entry ${show(p)}`);
    const t = p.trim();
    if (t !== '') return t;
  }
  return null;
}

/**
 * Categories as a flat list, in order, without repeats: accepts a string, a list of strings (2018
 * `category`) or nested lists (2014 `categories`: [["Electronics", "Computers"], ["Electronics", "Audio"]]).
 */
export function flattenCategories(obj: JsonObject, key: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = (v: unknown, depth: number): void => {
    if (typeof v === 'string') {
      const t = v.trim();
      if (t !== '' && !seen.has(t)) {
        seen.add(t);
        out.push(t);
      }
    } else if (Array.isArray(v) && depth < 8) {
      for (const x of v) walk(x, depth + 1);
    } else {
      throw new FieldError('bad_field', `${key} has a non-string entry ${show(v)}`);
    }
  };
  const v = obj[key];
  if (v !== undefined && v !== null) walk(v, 0);
  return out;
}

const AMOUNT = String.raw`(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+`;
const CURRENCY = String.raw`(?:[A-Z]{3}\s*)?[$€£¥]?\s*`;
/** "$12.99", "$1,299.00", "12.99", "$10.99 - $15.99" (the first amount is taken). */
const PRICE = new RegExp(String.raw`^${CURRENCY}(${AMOUNT})(?:\s*-\s*${CURRENCY}(?:${AMOUNT}))?$`);

/**
 * A price: a number as is (a negative or non-finite one is then rejected by the sink: the record is a
 * `bad_field` reject, never a silent null); a string's first amount; `raw` holds an unparsable string
 * (for extra.price_raw).
 */
export function parsePrice(obj: JsonObject, key: string): { price: number | null; raw: string | null } {
  const v = obj[key];
  if (v === undefined || v === null) return { price: null, raw: null };
  if (typeof v === 'number') return { price: v, raw: null };
  if (typeof v !== 'string') throw new FieldError('bad_field', `${key}=${show(v)}`);
  const t = v.trim();
  if (t === '') return { price: null, raw: null };
  const m = PRICE.exec(t);
  if (!m) return { price: null, raw: v };
  return { price: Number(m[1].replace(/,/g, '')), raw: null };
}

/**
 * An image reference: an http(s) URL is remote (`url`); a `file:` URL or any other text is a local path,
 * resolved against the folder of the file it came from (`origin`: a local path, or the URL the file was
 * downloaded from, in which case a relative reference becomes a URL) and kept only inside that folder
 * (`image-path.ts`; else `rejected` says why). Other URL schemes are ignored.
 */
export function resolveImage(ref: string | null, origin: string): { url: string | null; path: string | null; rejected?: string } {
  if (ref === null || ref === '') return { url: null, path: null };
  if (/^https?:\/\//i.test(ref)) return { url: ref, path: null };
  if (!/^file:/i.test(ref) && /^[a-z][a-z0-9+.-]+:/i.test(ref)) return { url: null, path: null };
  if (/^https?:\/\//i.test(origin) && !/^file:/i.test(ref)) {
    try {
      return { url: new URL(ref, origin).href, path: null };
    } catch {
      return { url: null, path: null };
    }
  }
  const local = localImagePath(ref, origin);
  return local.rejected === undefined ? { url: null, path: local.path } : { url: null, path: null, rejected: local.rejected };
}

/**
 * Staged-column candidates in order of preference: the first URL and the first local path win; refused local
 * paths are listed in `image_rejected` (for `extra`), null when none was.
 */
export function pickImage(
  refs: ReadonlyArray<string | null>,
  origin: string,
): { image_url: string | null; image_path: string | null; image_rejected: string | null } {
  let image_url: string | null = null;
  let image_path: string | null = null;
  const rejected: string[] = [];
  for (const ref of refs) {
    const r = resolveImage(ref, origin);
    image_url ??= r.url;
    image_path ??= r.path;
    if (r.rejected !== undefined) rejected.push(r.rejected);
  }
  return { image_url, image_path, image_rejected: rejected.length > 0 ? rejected.join('; ') : null };
}

/** The keys of `obj` not in `staged`, plus `additions`; `null` when that is empty. */
export function extraFields(
  obj: JsonObject,
  staged: ReadonlySet<string>,
  additions: Record<string, unknown> = {},
): Record<string, unknown> | null {
  const extra: Record<string, unknown> = {};
  let any = false;
  for (const k of Object.keys(obj)) {
    if (staged.has(k)) continue;
    extra[k] = obj[k];
    any = true;
  }
  for (const [k, v] of Object.entries(additions)) {
    if (v === undefined || v === null) continue;
    extra[k] = v;
    any = true;
  }
  return any ? extra : null;
}

// ---- reviews -------------------------------------------------------------------------------------

const REVIEW_TIME = /^\s*(\d{1,2})\s+(\d{1,2}),\s*(\d{4})\s*$/;

/** "MM DD, YYYY" (day not always zero-padded, e.g. "06 2, 2013") → unix seconds at UTC midnight. */
export function parseReviewTime(s: string): number | null {
  const m = REVIEW_TIME.exec(s);
  if (!m) return null;
  const month = Number(m[1]);
  const day = Number(m[2]);
  const year = Number(m[3]);
  const ms = Date.UTC(year, month - 1, day);
  const d = new Date(ms);
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  return ms / 1000;
}

function reviewTimestamp(obj: JsonObject): number | null {
  const unix = obj.unixReviewTime;
  if (unix !== undefined && unix !== null) {
    if (typeof unix !== 'number' || !Number.isFinite(unix)) throw new FieldError('bad_field', `unixReviewTime=${show(unix)}`);
    return Math.trunc(unix);
  }
  const text = obj.reviewTime;
  if (text === undefined || text === null) return null;
  const ts = typeof text === 'string' ? parseReviewTime(text) : null;
  if (ts === null) throw new FieldError('bad_field', `reviewTime=${show(text)}`);
  return ts;
}

/**
 * One review (same shape in 2014 and 2018): reviewerID, asin, overall, unixReviewTime or reviewTime.
 * Text, summary, helpful/vote, style and images are not staged.
 */
export function reviewToInteraction(obj: JsonObject): InteractionRecord {
  const user_id = requiredId(obj, 'reviewerID');
  const item_id = requiredId(obj, 'asin');
  const overall = obj.overall;
  if (overall === undefined || overall === null) throw new FieldError('missing_field', 'missing overall');
  if (typeof overall !== 'number' || !Number.isFinite(overall)) throw new FieldError('bad_field', `overall=${show(overall)}`);
  return { user_id, item_id, rating: overall, ts: reviewTimestamp(obj), split: null };
}

// ---- the reader ----------------------------------------------------------------------------------

function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 12 && c !== 11 && c !== 0xfeff) return false;
  }
  return true;
}

async function eachLine(
  input: InputFile,
  kind: 'item' | 'interaction',
  ctx: ReadContext,
  handle: (text: string, src: SourceRef) => void,
): Promise<void> {
  for await (const l of readLines(input.path, { onBytes: (b) => ctx.onBytes(b), limits: ctx.limits })) {
    if (rejectBadLine(l, ctx.sink, kind, input.name)) continue;
    const { text, lineNo } = l;
    if (isBlank(text)) continue;
    const line = lineNo === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    handle(line, { file: input.name, line: lineNo });
  }
}

function rejectField(sink: RecordSink, kind: 'item' | 'interaction', src: SourceRef, err: unknown, line: string): void {
  if (!(err instanceof FieldError)) throw err;
  sink.reject(kind, src, err.reason, err.detail, clipRaw(line));
}

export interface AmazonFlavour {
  name: string;
  description: string;
  /** How a meta line is written, and the reject reason when it cannot be parsed. */
  metaSyntax: { parse(text: string): unknown; malformed: 'malformed_json' | 'malformed_literal'; what: string };
  /** Maps a parsed meta object to an item; throws FieldError for a missing or wrongly typed field. */
  toItem(obj: JsonObject, input: InputFile): ItemRecord;
}

/** A reader for an Amazon dump: meta files first (the catalog), then the review files, each in the order given. */
export function amazonReader(flavour: AmazonFlavour): FormatReader {
  const { metaSyntax } = flavour;
  return {
    name: flavour.name,
    description: flavour.description,
    accepts: isAmazonFile,
    rules: (_options, inputs) => amazonRules(inputs),
    async read(inputs, ctx) {
      const meta = inputs.filter(isMetaInput);
      const reviews = inputs.filter((i) => !isMetaInput(i));
      if (meta.length === 0 && reviews.length === 0) {
        throw ppError('PP_INGEST_MISSING_INPUT', `${flavour.name} needs review files and/or meta files (a name containing "meta"); none were given`);
      }
      const { sink } = ctx;
      for (const input of meta) {
        await eachLine(input, 'item', ctx, (line, src) => {
          let obj: unknown;
          try {
            obj = metaSyntax.parse(line);
          } catch (err) {
            sink.reject('item', src, metaSyntax.malformed, (err as Error).message, clipRaw(line));
            return;
          }
          if (!isObject(obj)) {
            sink.reject('item', src, metaSyntax.malformed, `expected ${metaSyntax.what}, got ${Array.isArray(obj) ? 'a list' : show(obj)}`, clipRaw(line));
            return;
          }
          let item: ItemRecord;
          try {
            item = flavour.toItem(obj, input);
          } catch (err) {
            rejectField(sink, 'item', src, err, line);
            return;
          }
          sink.item(item, src);
        });
      }
      for (const input of reviews) {
        await eachLine(input, 'interaction', ctx, (line, src) => {
          let obj: unknown;
          try {
            obj = JSON.parse(line);
          } catch (err) {
            sink.reject('interaction', src, 'malformed_json', (err as Error).message, clipRaw(line));
            return;
          }
          if (!isObject(obj)) {
            sink.reject('interaction', src, 'malformed_json', `expected a JSON object, got ${Array.isArray(obj) ? 'an array' : show(obj)}`, clipRaw(line));
            return;
          }
          let rec: InteractionRecord;
          try {
            rec = reviewToInteraction(obj);
          } catch (err) {
            rejectField(sink, 'interaction', src, err, line);
            return;
          }
          sink.interaction(rec, src);
        });
      }
    },
  };
}
