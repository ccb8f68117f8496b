/**
 * The NGCF / LightGCN benchmark files (Wang et al. SIGIR 2019, He et al. SIGIR 2020), as in
 * kuandeng/LightGCN `Data/<dataset>/`:
 *
 * - `train.txt` (required), `test.txt`, optionally `valid*.txt`: one line per user, "user item item …",
 *   space separated integer (remapped) ids. Every (user, item) pair is one interaction record with
 *   rating null, ts null and the split named by the file.
 * - `item_list.txt` (optional): "org_id remap_id [more columns…]" with a header line. Each row becomes a
 *   catalog item whose item_id is the remap_id (the id the interaction files use); org_id and any further
 *   columns go to `extra`. The catalog is not authoritative (the files do not promise that every item is listed).
 * - `user_list.txt`: there is no user table in the staging schema, so the file is recognised and skipped.
 *
 * Any other file (README.md, SOURCE.txt, …) is ignored. Files may be gzip-compressed (`train.txt.gz`).
 * A line with a token that is not a non-negative integer is rejected whole (`malformed_line`, counted as
 * one record); a line with a user id and no items holds no pair and yields nothing.
 */
import type { InteractionRecord, RecordSink, SplitTag } from '../records.js';
import { bareItem, clipRaw } from '../records.js';
import { ppError } from '../../errors.js';
import { readLines, rejectBadLine } from '../io/lines.js';
import type { FormatReader, FormatRules, InputFile, ReadContext } from './format.js';

type Role = { kind: 'interactions'; split: SplitTag } | { kind: 'items' } | { kind: 'users' } | { kind: 'other' };

/** The role of a file, by its name (case-insensitive, an optional `.gz` suffix ignored). */
export function lightgcnRole(name: string): Role {
  const n = name.toLowerCase().replace(/\.gz$/, '');
  if (n === 'train.txt') return { kind: 'interactions', split: 'train' };
  if (n === 'test.txt') return { kind: 'interactions', split: 'test' };
  if (/^valid.*\.txt$/.test(n)) return { kind: 'interactions', split: 'valid' };
  if (n === 'item_list.txt') return { kind: 'items' };
  if (n === 'user_list.txt') return { kind: 'users' };
  return { kind: 'other' };
}

const RULES: FormatRules = { rating: null, requireTimestamp: false, catalogIsAuthoritative: false, givenSplit: true };

export const lightgcn: FormatReader = {
  name: 'lightgcn',
  description: 'NGCF/LightGCN benchmark files: train.txt, test.txt ("user item item …"), optional item_list.txt',
  accepts: (name) => lightgcnRole(name).kind !== 'other',
  rules(): FormatRules {
    return { ...RULES };
  },
  async read(inputs: readonly InputFile[], ctx: ReadContext): Promise<void> {
    const roles = inputs.map((f) => ({ file: f, role: lightgcnRole(f.name) }));
    if (!roles.some((r) => r.role.kind === 'interactions' && r.role.split === 'train')) {
      throw ppError(
        'PP_INGEST_MISSING_INPUT',
        `lightgcn needs train.txt (got: ${inputs.map((f) => f.name).join(', ') || 'no files'})`,
      );
    }
    // The catalog first, then train, valid, test: the order the split is meant to be read in.
    const order = (r: Role): number =>
      r.kind === 'items' ? 0 : r.kind === 'interactions' ? { train: 1, valid: 2, test: 3 }[r.split] : 9;
    const sorted = roles.filter((r) => r.role.kind === 'items' || r.role.kind === 'interactions');
    sorted.sort((a, b) => order(a.role) - order(b.role));
    for (const { file, role } of sorted) {
      if (role.kind === 'items') await readItemList(file, ctx);
      else if (role.kind === 'interactions') await readPairs(file, role.split, ctx);
    }
  },
};

/**
 * Scans "user item item …" with a manual char-code loop (no split/map per line): this is the hot path,
 * about a million pairs for Gowalla. Returns false when a token is not a non-negative integer.
 */
function scanIds(text: string, out: string[]): boolean {
  out.length = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    let c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13) {
      i++;
      continue;
    }
    const start = i;
    while (i < n) {
      c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 13) break;
      if (c < 48 || c > 57) return false;
      i++;
    }
    // Canonical form: no leading zeros, so "007" in train.txt and "7" in item_list.txt are one item.
    let s = start;
    while (s < i - 1 && text.charCodeAt(s) === 48) s++;
    out.push(text.slice(s, i));
  }
  return true;
}

async function readPairs(file: InputFile, split: SplitTag, ctx: ReadContext): Promise<void> {
  const sink: RecordSink = ctx.sink;
  const ids: string[] = [];
  for await (const line of readLines(file.path, { onBytes: ctx.onBytes, limits: ctx.limits })) {
    if (rejectBadLine(line, sink, 'interaction', file.name)) continue;
    const { text, lineNo } = line;
    if (!scanIds(text, ids)) {
      const bad = text.split(/[ \t]+/).find((t) => t !== '' && !/^\d+$/.test(t));
      sink.reject('interaction', { file: file.name, line: lineNo }, 'malformed_line', `non-integer id "${bad}"`, clipRaw(text));
      continue;
    }
    if (ids.length < 2) continue; // blank line, or a user without items in this part
    const user = ids[0];
    const src = { file: file.name, line: lineNo };
    for (let k = 1; k < ids.length; k++) {
      const rec: InteractionRecord = { user_id: user, item_id: ids[k], rating: null, ts: null, split };
      sink.interaction(rec, src);
    }
  }
}

async function readItemList(file: InputFile, ctx: ReadContext): Promise<void> {
  let columns = ['org_id', 'remap_id'];
  for await (const line of readLines(file.path, { onBytes: ctx.onBytes, limits: ctx.limits })) {
    if (rejectBadLine(line, ctx.sink, 'item', file.name)) continue;
    const { text, lineNo } = line;
    const tokens = text.trim().split(/[ \t]+/);
    if (tokens.length === 1 && tokens[0] === '') continue;
    if (lineNo === 1 && tokens.includes('remap_id')) {
      columns = tokens;
      continue;
    }
    const src = { file: file.name, line: lineNo };
    const remapAt = columns.indexOf('remap_id');
    const orgAt = columns.indexOf('org_id');
    if (tokens.length < Math.max(remapAt, orgAt) + 1) {
      ctx.sink.reject('item', src, 'malformed_line', `expected ${columns.length} columns (${columns.join(' ')})`, clipRaw(text));
      continue;
    }
    const remap = tokens[remapAt];
    if (!/^\d+$/.test(remap)) {
      ctx.sink.reject('item', src, 'bad_field', `remap_id=${remap}`, clipRaw(text));
      continue;
    }
    const extra: Record<string, unknown> = {};
    tokens.forEach((t, k) => {
      if (k !== remapAt) extra[columns[k] ?? `col${k + 1}`] = t;
    });
    ctx.sink.item(bareItem(remap.replace(/^0+(?=\d)/, ''), { extra }), src);
  }
}
