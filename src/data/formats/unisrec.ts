/**
 * RecBole atomic files as used by UniSRec (Hou et al., KDD 2022) for its downstream data sets
 * (e.g. `Scientific.*`), tab separated:
 *
 * - `<X>.item2index` / `<X>.user2index` (required): "ASIN \t index" / "reviewerID \t index", no header.
 *   The interaction files use the integer indices; records use the source string ids.
 * - `<X>.text` (optional, the catalog): header `item_id:token \t text:token_seq`; each row is an item with the
 *   ASIN as item_id and the whole text as title ("title. categories. brand." cannot be split reliably, so
 *   `extra.text_format` says what the title holds).
 * - `<X>.train.inter`, `<X>.valid.inter`, `<X>.test.inter` (at least one): header
 *   `user_id:token \t item_id_list:token_seq \t item_id:token`; a row is a user index, the history (space
 *   separated item indices, at most the 50 most recent) and the target item index. Train has one row per
 *   prefix (leave-one-out: valid and test hold the last two targets).
 *
 * Each user's sequence is rebuilt and emitted in order, so ingest's emission order is chronological:
 * the items of the shortest train history (usually the single first item, split 'train', attributed to
 * that row), the train targets in prefix order, the valid target, the test target. A user without train rows
 * takes its first items from the valid (else the test) history. rating and ts are null.
 *
 * Record accounting: every .inter data row ends in at least one sink call (its target: an interaction, or a
 * reject); the row that supplies the first items also emits one call per first item. Rows of the *2index
 * files are not records; a malformed one is still reported as a reject (kind 'item' for item2index,
 * 'interaction' for user2index) so that it shows up in the rejects table.
 */
import type { InteractionRecord, RecordKind, SourceRef, SplitTag } from '../records.js';
import { bareItem, clipRaw } from '../records.js';
import { ppError } from '../../errors.js';
import { readLines, rejectBadLine } from '../io/lines.js';
import type { FormatReader, FormatRules, InputFile, ReadContext } from './format.js';

type Role = 'text' | 'item2index' | 'user2index' | SplitTag;

const SUFFIXES: ReadonlyArray<[string, Role]> = [
  ['.train.inter', 'train'],
  ['.valid.inter', 'valid'],
  ['.test.inter', 'test'],
  ['.text', 'text'],
  ['.item2index', 'item2index'],
  ['.user2index', 'user2index'],
];

/** The role and data set prefix of a file, by its name (an optional `.gz` suffix ignored). */
export function unisrecRole(name: string): { role: Role; prefix: string } | null {
  const n = name.replace(/\.gz$/i, '');
  for (const [suffix, role] of SUFFIXES) {
    if (n.toLowerCase().endsWith(suffix)) return { role, prefix: n.slice(0, n.length - suffix.length) };
  }
  return null;
}

export const unisrec: FormatReader = {
  name: 'unisrec',
  description: 'UniSRec/RecBole atomic files: <X>.text, <X>.{train,valid,test}.inter, <X>.item2index, <X>.user2index',
  accepts: (name) => unisrecRole(name) !== null,
  rules(_options, inputs): FormatRules {
    const hasText = inputs.some((f) => unisrecRole(f.name)?.role === 'text');
    // Leave-one-out sequences: buying the same item again is a real event, not a duplicate.
    return { rating: null, requireTimestamp: false, catalogIsAuthoritative: hasText, givenSplit: true, repeatsAllowed: true };
  },
  async read(inputs: readonly InputFile[], ctx: ReadContext): Promise<void> {
    const byRole = new Map<Role, InputFile>();
    const prefixes = new Set<string>();
    for (const f of inputs) {
      const r = unisrecRole(f.name);
      if (!r) continue; // README, SOURCE.txt, feature files (.feat1CLS), …
      prefixes.add(r.prefix);
      if (byRole.has(r.role)) {
        throw ppError('PP_USAGE', `unisrec: two ${r.role} files (${byRole.get(r.role)!.name}, ${f.name}); give one data set`);
      }
      byRole.set(r.role, f);
    }
    if (prefixes.size > 1) {
      throw ppError('PP_USAGE', `unisrec: files of more than one data set (${[...prefixes].join(', ')}); give one`);
    }
    const missing = (['item2index', 'user2index'] as const).filter((r) => !byRole.has(r));
    const inters = (['train', 'valid', 'test'] as const).filter((r) => byRole.has(r));
    if (missing.length > 0 || inters.length === 0) {
      const need = [...missing.map((r) => `<X>.${r}`), ...(inters.length === 0 ? ['<X>.train.inter (or .valid/.test.inter)'] : [])];
      throw ppError(
        'PP_INGEST_MISSING_INPUT',
        `unisrec needs ${need.join(', ')} (got: ${inputs.map((f) => f.name).join(', ') || 'no files'})`,
      );
    }

    const items = await readIndex(byRole.get('item2index')!, 'item', ctx);
    const users = await readIndex(byRole.get('user2index')!, 'interaction', ctx);
    const text = byRole.get('text');
    if (text) await readText(text, ctx);

    const seqs = new Map<number, UserRows>();
    let maxHistory = 0;
    for (const split of inters) {
      const m = await readInter(byRole.get(split)!, split, items, users, seqs, ctx);
      maxHistory = Math.max(maxHistory, m);
    }
    for (const [uidx, rows] of seqs) emitUser(users.get(uidx)!, rows, items, maxHistory, ctx);
  },
};

/** Reads "string id \t integer index" into index → id. */
async function readIndex(file: InputFile, kind: RecordKind, ctx: ReadContext): Promise<Map<number, string>> {
  const map = new Map<number, string>();
  for await (const line of readLines(file.path, { onBytes: ctx.onBytes, limits: ctx.limits })) {
    if (rejectBadLine(line, ctx.sink, kind, file.name)) continue;
    const { text, lineNo } = line;
    if (text.trim() === '') continue;
    const parts = text.split('\t');
    const id = parts[0]?.trim() ?? '';
    const idx = parts[1]?.trim() ?? '';
    if (parts.length !== 2 || id === '' || !/^\d+$/.test(idx)) {
      if (lineNo === 1 && parts.length === 2) continue; // a header such as "item_id:token\tindex:token"
      ctx.sink.reject(kind, { file: file.name, line: lineNo }, 'malformed_line', 'expected "id \\t integer index"', clipRaw(text));
      continue;
    }
    const n = Number(idx);
    if (!map.has(n)) map.set(n, id);
  }
  return map;
}

/** Column positions from a RecBole header ("name:type" fields). */
function headerColumns(file: InputFile, text: string, need: readonly string[]): number[] {
  const names = text.split('\t').map((h) => h.split(':')[0].trim());
  const at = need.map((n) => names.indexOf(n));
  if (at.some((k) => k < 0)) {
    throw ppError(
      'PP_INGEST_BAD_HEADER',
      `${file.name}: expected columns ${need.join(', ')}, found ${names.map((n) => `"${n}"`).join(', ')}`,
    );
  }
  return at;
}

async function readText(file: InputFile, ctx: ReadContext): Promise<void> {
  let cols: number[] | null = null;
  for await (const line of readLines(file.path, { onBytes: ctx.onBytes, limits: ctx.limits })) {
    const { text, lineNo } = line;
    if (cols === null) {
      if (line.bad) throw ppError('PP_INGEST_BAD_HEADER', `${file.name}: the header line is ${line.bad.reason} (${line.bad.detail})`);
      cols = headerColumns(file, text, ['item_id', 'text']);
      continue;
    }
    if (rejectBadLine(line, ctx.sink, 'item', file.name)) continue;
    if (text.trim() === '') continue;
    const src = { file: file.name, line: lineNo };
    const parts = text.split('\t');
    if (parts.length <= Math.max(cols[0], cols[1])) {
      ctx.sink.reject('item', src, 'malformed_line', 'expected "item_id \\t text"', clipRaw(text));
      continue;
    }
    const id = parts[cols[0]].trim();
    if (id === '') {
      ctx.sink.reject('item', src, 'missing_field', 'missing item_id', clipRaw(text));
      continue;
    }
    const title = parts[cols[1]].trim();
    ctx.sink.item(bareItem(id, { title: title === '' ? null : title, extra: { text_format: 'title. categories. brand.' } }), src);
  }
}

interface InterRow {
  src: SourceRef;
  raw: string;
  history: number[];
  target: number;
}

interface UserRows {
  train: InterRow[];
  valid: InterRow[];
  test: InterRow[];
}

const INT = /^\d+$/;

/** Reads one .inter file into per-user rows; returns the longest history seen (the truncation length). */
async function readInter(
  file: InputFile,
  split: SplitTag,
  items: Map<number, string>,
  users: Map<number, string>,
  seqs: Map<number, UserRows>,
  ctx: ReadContext,
): Promise<number> {
  let cols: number[] | null = null;
  let maxHistory = 0;
  for await (const line of readLines(file.path, { onBytes: ctx.onBytes, limits: ctx.limits })) {
    const { text, lineNo } = line;
    if (cols === null) {
      if (line.bad) throw ppError('PP_INGEST_BAD_HEADER', `${file.name}: the header line is ${line.bad.reason} (${line.bad.detail})`);
      cols = headerColumns(file, text, ['user_id', 'item_id_list', 'item_id']);
      continue;
    }
    if (rejectBadLine(line, ctx.sink, 'interaction', file.name)) continue;
    if (text.trim() === '') continue;
    const src = { file: file.name, line: lineNo };
    const reject = (reason: 'malformed_line' | 'missing_field' | 'unknown_user' | 'unknown_item', detail: string) =>
      ctx.sink.reject('interaction', src, reason, detail, clipRaw(text));
    const parts = text.split('\t');
    if (parts.length <= Math.max(...cols)) {
      reject('malformed_line', 'expected "user_id \\t item_id_list \\t item_id"');
      continue;
    }
    const u = parts[cols[0]].trim();
    const histText = parts[cols[1]].trim();
    const t = parts[cols[2]].trim();
    if (u === '' || t === '') {
      reject('missing_field', u === '' ? 'missing user_id' : 'missing target item_id');
      continue;
    }
    const histTokens = histText === '' ? [] : histText.split(/ +/);
    const bad = [u, t, ...histTokens].find((x) => !INT.test(x));
    if (bad !== undefined) {
      reject('malformed_line', `non-integer index "${bad}"`);
      continue;
    }
    const uidx = Number(u);
    const target = Number(t);
    if (!users.has(uidx)) {
      reject('unknown_user', `user index ${uidx} is not in the user2index file`);
      continue;
    }
    if (!items.has(target)) {
      reject('unknown_item', `item index ${target} is not in the item2index file`);
      continue;
    }
    const history = histTokens.map(Number);
    maxHistory = Math.max(maxHistory, history.length);
    let rows = seqs.get(uidx);
    if (!rows) {
      rows = { train: [], valid: [], test: [] };
      seqs.set(uidx, rows);
    }
    rows[split].push({ src, raw: clipRaw(text), history, target });
  }
  return maxHistory;
}

/**
 * Orders a user's train rows by prefix: each next row's history is the last (up to `maxHistory`) items of
 * the sequence so far, which also orders rows whose histories were truncated to the same length. Rows that
 * do not chain (inconsistent data) follow by history length, then file order.
 */
export function orderTrainRows<T extends { history: number[]; target: number }>(rows: readonly T[], maxHistory: number): T[] {
  const rest = [...rows].sort((a, b) => a.history.length - b.history.length);
  if (rest.length === 0) return [];
  const byHistory = new Map<string, T[]>();
  for (const r of rest) {
    const k = r.history.join(' ');
    const list = byHistory.get(k);
    if (list) list.push(r);
    else byHistory.set(k, [r]);
  }
  const used = new Set<T>();
  const out: T[] = [];
  const take = (r: T) => {
    used.add(r);
    out.push(r);
    const list = byHistory.get(r.history.join(' '))!;
    list.splice(list.indexOf(r), 1);
  };
  const seq: number[] = [...rest[0].history];
  while (out.length < rest.length) {
    const window = seq.slice(Math.max(0, seq.length - Math.max(maxHistory, 1)));
    const next = byHistory.get(window.join(' '))?.[0] ?? rest.find((r) => !used.has(r))!;
    take(next);
    seq.push(next.target);
  }
  return out;
}

function emitUser(user: string, rows: UserRows, items: Map<number, string>, maxHistory: number, ctx: ReadContext): void {
  const emit = (itemIdx: number, split: SplitTag, src: SourceRef, raw: string) => {
    const item = items.get(itemIdx);
    if (item === undefined) {
      ctx.sink.reject('interaction', src, 'unknown_item', `history item index ${itemIdx} is not in the item2index file`, raw);
      return;
    }
    const rec: InteractionRecord = { user_id: user, item_id: item, rating: null, ts: null, split };
    ctx.sink.interaction(rec, src);
  };
  const train = orderTrainRows(rows.train, maxHistory);
  const first = train[0] ?? rows.valid[0] ?? rows.test[0];
  if (first) for (const i of first.history) emit(i, 'train', first.src, first.raw);
  for (const r of train) emit(r.target, 'train', r.src, r.raw);
  for (const r of rows.valid) emit(r.target, 'valid', r.src, r.raw);
  for (const r of rows.test) emit(r.target, 'test', r.src, r.raw);
}
