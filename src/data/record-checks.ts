/**
 * The per-record gate every reader's output passes on its way to staging (`StagingSink`): what a record must
 * be to be stored, whatever reader made it. A record that fails is a reject with a reason, never a crash of
 * the whole ingest and never a silent change of value:
 * - ids (user_id, item_id): well-formed UTF-16 (no lone surrogate) → else `bad_encoding`; no control
 *   character (U+0000–U+001F, U+007F) → else `bad_field`; at most MAX_ID_CHARS → else `too_large`;
 * - every other string (title, categories, image paths, keys and strings in `extra`): well-formed and without
 *   U+0000 → else `bad_encoding` / `bad_field`;
 * - rating finite; price null or finite and ≥ 0 → else `bad_field`;
 * - ts null or an integer number of seconds within ±MAX_TS_SECONDS (JavaScript's date range, well inside
 *   BIGINT) → else `bad_timestamp`;
 * - `extra` nested at most MAX_NESTING deep → else `too_deep`, and free of non-finite numbers (JSON would
 *   turn them into null) → else `bad_field`. The walk is iterative, so depth cannot overflow the stack.
 */
import { MAX_ID_CHARS, MAX_NESTING, type InteractionRecord, type ItemRecord, type RejectReason } from './records.js';

/** ±8.64e12 s: the range of a JavaScript Date (±100,000,000 days). */
export const MAX_TS_SECONDS = 8.64e12;

export interface RecordProblem {
  reason: RejectReason;
  detail: string;
}

/** String.prototype.isWellFormed / toWellFormed (Node 20; not yet in the ES2023 lib typings). */
type Wf = { isWellFormed(): boolean; toWellFormed(): string };
export const isWellFormed = (s: string): boolean => (s as unknown as Wf).isWellFormed();
/** Lone surrogates replaced by U+FFFD: for diagnostic text (reject details and raw lines), never for values. */
export const toWellFormed = (s: string): string => (s as unknown as Wf).toWellFormed();

const CONTROL = /[\u0000-\u001f\u007f]/;
const NUL = '\u0000';

/** A value for a detail: short, well-formed, control characters shown as \uXXXX. */
export function shortShow(v: string): string {
  const s = v.length > 60 ? v.slice(0, 60) + `… (${v.length} chars)` : v;
  return JSON.stringify(toWellFormed(s)).slice(1, -1);
}

export function checkId(field: string, v: unknown): RecordProblem | null {
  if (typeof v !== 'string') return { reason: 'bad_field', detail: `${field} is not a string` };
  if (v.length > MAX_ID_CHARS) return { reason: 'too_large', detail: `${field} is ${v.length} characters (at most ${MAX_ID_CHARS})` };
  if (!isWellFormed(v)) return { reason: 'bad_encoding', detail: `${field}=${shortShow(v)} holds a lone surrogate` };
  const c = CONTROL.exec(v);
  if (c) {
    const code = c[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return { reason: 'bad_field', detail: `${field}=${shortShow(v)} holds the control character U+${code}` };
  }
  return null;
}

function checkText(field: string, v: string | null): RecordProblem | null {
  if (v === null) return null;
  if (!isWellFormed(v)) return { reason: 'bad_encoding', detail: `${field} holds a lone surrogate` };
  if (v.includes(NUL)) return { reason: 'bad_field', detail: `${field} holds a NUL character` };
  return null;
}

/** Walks `extra` without recursion: depth, string well-formedness, finite numbers. */
function checkExtra(extra: Record<string, unknown> | null): RecordProblem | null {
  if (extra === null) return null;
  const stack: Array<[unknown, number]> = [[extra, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v === 'string') {
      const p = checkText('extra', v);
      if (p) return p;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return { reason: 'bad_field', detail: `extra holds the number ${v}` };
    } else if (typeof v === 'bigint') {
      return { reason: 'bad_field', detail: `extra holds a bigint` };
    } else if (v !== null && typeof v === 'object') {
      if (depth > MAX_NESTING) return { reason: 'too_deep', detail: `extra is nested deeper than ${MAX_NESTING} levels` };
      if (Array.isArray(v)) {
        for (const x of v) stack.push([x, depth + 1]);
      } else {
        for (const [k, x] of Object.entries(v)) {
          const p = checkText('extra key', k);
          if (p) return p;
          stack.push([x, depth + 1]);
        }
      }
    }
  }
  return null;
}

export function checkInteraction(r: InteractionRecord): RecordProblem | null {
  const id = checkId('user_id', r.user_id) ?? checkId('item_id', r.item_id);
  if (id) return id;
  if (r.rating !== null && !Number.isFinite(r.rating)) return { reason: 'bad_field', detail: `rating=${r.rating}` };
  if (r.ts !== null && !(Number.isFinite(r.ts) && Math.abs(r.ts) <= MAX_TS_SECONDS)) {
    return { reason: 'bad_timestamp', detail: `ts=${r.ts} is outside ±${MAX_TS_SECONDS} s` };
  }
  return null;
}

export function checkItem(r: ItemRecord): RecordProblem | null {
  const id = checkId('item_id', r.item_id);
  if (id) return id;
  if (r.price !== null && !(Number.isFinite(r.price) && r.price >= 0)) {
    return { reason: 'bad_field', detail: `price=${r.price} (a price is a finite number ≥ 0)` };
  }
  for (const [field, v] of [
    ['title', r.title],
    ['description', r.description],
    ['brand', r.brand],
    ['image_url', r.image_url],
    ['image_path', r.image_path],
  ] as const) {
    const p = checkText(field, v);
    if (p) return p;
  }
  for (const c of r.categories) {
    const p = checkText('categories', c);
    if (p) return p;
  }
  return checkExtra(r.extra);
}
