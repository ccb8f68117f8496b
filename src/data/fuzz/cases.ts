/**
 * fast-check generators of hostile ingest inputs, one per reader (amazon2014, amazon2018, lightgcn, unisrec,
 * movielens, csv, parquet): well-formed records mixed with malformed lines, huge fields, deep nesting, invalid
 * UTF-8 and lone surrogates, NUL and control characters, numbers at every edge (±0, 2^53+1, 2^63, 1e20, 1e308,
 * 1e400, NaN, Infinity, hex), gzip or not, and gzip bombs (one line of BOMB_LINE_BYTES in a few KB).
 * Each generated line carries what the checks need (`LineInfo`): whether it is a record, the raw id bytes it
 * names, and the reject reason the line guard must give it.
 */
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';

export interface LineInfo {
  /** The line is one input record (ends staged or rejected, under its own 1-based line number). */
  record: boolean;
  /** Raw bytes of the user / item id the line names (for the "never merged" check). */
  user?: Buffer;
  item?: Buffer;
  /** The reason the line guard must reject it with (too long, not UTF-8). */
  guard?: 'line_too_long' | 'bad_encoding';
}

export interface FuzzFile {
  name: string;
  lines: Buffer[];
  info: LineInfo[];
  gzip: boolean;
  /** Insert a gzip bomb line before line `bomb` (1-based; the bomb becomes that line). */
  bomb?: number;
  /** Parquet: the rows as text columns (`lines` unused); row k is "line" k + 1. */
  table?: { columns: string[]; rows: string[][] };
}

export interface FuzzCase {
  format: string;
  files: FuzzFile[];
  /** Give the folder (plus sidecar files the format must skip) instead of the files. */
  asFolder: boolean;
}

/** Line cap used by the fuzzer (small, so that huge fields are cheap to make). */
export const FUZZ_MAX_LINE_BYTES = 64 * 1024;
/** Decompressed size of a bomb line. */
export const BOMB_LINE_BYTES = 32 * 1024 * 1024;

const b = (s: string | Buffer): Buffer => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s);
const cat = (...parts: Array<string | Buffer>): Buffer => Buffer.concat(parts.map(b));

const INVALID: readonly Buffer[] = [[0xff], [0xfe], [0xc3], [0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf]].map((a) => Buffer.from(a));

/** An id: mostly plain, sometimes hostile. `json`: the id sits inside a JSON string (escapes allowed). */
function idArb(prefix: string, json: boolean): fc.Arbitrary<Buffer> {
  const plain = fc.integer({ min: 0, max: 40 }).map((n) => b(`${prefix}${n}`));
  const hostile: Array<fc.Arbitrary<Buffer>> = [
    fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constantFrom(...INVALID)).map(([n, bad]) => cat(prefix, bad, String(n))),
    fc.constantFrom('\u0000', '\u0001', '\u001f', '\u007f').map((c) => b(`${prefix}${json ? JSON.stringify(c).slice(1, -1) : c}1`)),
    fc.constantFrom('', ' ', '\t'),
    fc.constantFrom(100, 4097, FUZZ_MAX_LINE_BYTES + 10).map((n) => b('x'.repeat(n))),
    fc.constantFrom('é', '漢字', '🙂', '\u00a0', 'Ω', '\ufffd').map((c) => b(`${prefix}${c}`)),
  ].map((a) => a.map(b));
  if (json) hostile.push(fc.constantFrom('\\ud800', '\\udc00', '\\ud83d').map((e) => b(`${prefix}${e}1`)));
  return fc.oneof({ weight: 12, arbitrary: plain }, ...hostile.map((arbitrary) => ({ weight: 1, arbitrary })));
}

/** Numbers at every edge, as source text. */
const EDGE_NUMBERS = ['0', '-0', '-1', '4.5', '1e20', '1E20', '9007199254740993', '9223372036854775808', '1e308', '1e400', '-1e400', 'NaN', 'Infinity', '0x10', '1_0', '.5', '5.', '', ' 3 ', 'five', '8640000000000', '8640000000001'];

const ratingArb = fc.oneof({ weight: 8, arbitrary: fc.constantFrom('1', '2', '3', '4', '5') }, { weight: 2, arbitrary: fc.constantFrom(...EDGE_NUMBERS) });
const tsArb = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1_000_000_000, max: 1_700_000_000 }).map(String) }, { weight: 2, arbitrary: fc.constantFrom(...EDGE_NUMBERS) });

/** A JSON value for a number field: bare when it is valid JSON, else a quoted string or the bare junk. */
function jsonNumber(text: string): string {
  return /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text) ? text : JSON.stringify(text);
}

function deep(n: number): string {
  return '['.repeat(n) + ']'.repeat(n);
}

/** A line that is not what any format expects. */
const junkArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc.string({ maxLength: 30 }).map((s) => b(s.replace(/[\r\n]/g, ' '))),
  fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a.map((x) => (x === 10 || x === 13 ? 32 : x)))),
  fc.constantFrom('{', '[]', 'null', '{"a":', '"', "'", '\u0000', deep(5000), 'x'.repeat(FUZZ_MAX_LINE_BYTES + 1)).map(b),
);

function file(name: string, header: string | null, rows: Array<{ line: Buffer; info: LineInfo }>, gzip: boolean, bomb: boolean): FuzzFile {
  const lines: Buffer[] = header === null ? [] : [b(header)];
  const info: LineInfo[] = header === null ? [] : [{ record: false }];
  for (const r of rows) {
    lines.push(r.line);
    info.push(guarded(r.line, r.info));
  }
  const f: FuzzFile = { name: gzip ? `${name}.gz` : name, lines, info, gzip };
  if (bomb && gzip) f.bomb = lines.length + 1;
  return f;
}

/** The guard's verdict on a line (it applies to every line, record or not). */
function guarded(line: Buffer, info: LineInfo): LineInfo {
  if (line.length > FUZZ_MAX_LINE_BYTES) return { ...info, guard: 'line_too_long' };
  if (!isUtf8(line)) return { ...info, guard: 'bad_encoding' };
  return info;
}

type Row = { line: Buffer; info: LineInfo };
const rowsOf = (row: fc.Arbitrary<Row>) =>
  fc.array(fc.oneof({ weight: 8, arbitrary: row }, { weight: 1, arbitrary: junkArb.map((line) => ({ line, info: { record: true } })) }), { minLength: 1, maxLength: 25 });

/** A delimited field, RFC 4180-quoted when it holds a quote or a comma (bytes kept as they are). */
function csvField(v: Buffer): Buffer {
  const s = v.toString('latin1');
  if (!/[",]/.test(s)) return v;
  return cat('"', Buffer.from(s.replace(/"/g, '""'), 'latin1'), '"');
}

const csvRow = (sep: string): fc.Arbitrary<Row> =>
  fc.tuple(idArb('u', false), idArb('i', false), ratingArb, tsArb, fc.integer({ min: 0, max: 20 })).map(([u, i, r, t, shape]) => {
    const fields = [u, i, b(r), b(t)].map(csvField);
    if (shape === 0) fields.pop(); // wrong field count
    return { line: Buffer.concat(fields.flatMap((f, k) => (k === 0 ? [f] : [b(sep), f]))), info: { record: true, user: u, item: i } };
  });

const itemCsvRow: fc.Arbitrary<Row> = fc
  .tuple(idArb('i', false), fc.constantFrom('Mug', 'T"shirt', 'a,b', ''), fc.oneof(fc.constantFrom('12.5', '$1,299.00', 'n/a', '-3', 'free'), fc.constantFrom(...EDGE_NUMBERS)), fc.constantFrom('img/a.png', '../../../../etc/shadow.png', '/etc/passwd', ''))
  .map(([i, t, p, img]) => ({ line: Buffer.concat([csvField(i), b(','), csvField(b(t)), b(','), csvField(b(p)), b(','), b(img)]), info: { record: true, item: i } }));

function jsonStr(v: Buffer): Buffer {
  // Escapes the generator wrote (lone surrogates, control characters) and raw invalid bytes go in as they are.
  if (/\\u[0-9a-f]{4}/i.test(v.toString('latin1')) || !isUtf8(v)) return cat('"', v, '"');
  return b(JSON.stringify(v.toString('utf8')));
}

const reviewRow: fc.Arbitrary<Row> = fc
  .tuple(idArb('U', true), idArb('B', true), ratingArb, tsArb, fc.integer({ min: 0, max: 12 }))
  .map(([u, i, r, t, shape]) => {
    const ts = shape === 0 ? `"reviewTime": "13 45, 2014"` : shape === 1 ? `"reviewTime": "06 2, 2013"` : `"unixReviewTime": ${jsonNumber(t)}`;
    const line = cat('{"reviewerID": ', jsonStr(u), ', "asin": ', jsonStr(i), `, "overall": ${jsonNumber(r)}, ${ts}, "reviewText": "ok"}`);
    return { line, info: { record: true, user: u, item: i } };
  });

const metaRow = (python: boolean): fc.Arbitrary<Row> =>
  fc
    .tuple(
      idArb('B', !python),
      fc.constantFrom('12.5', '-5', '1e400', '0', '"$3.99"', '"call"', '1e308'),
      fc.constantFrom('images/a.png', '../../../../etc/shadow.png', '/etc/shadow.png', 'file:///etc/passwd', 'http://x.example/a.jpg'),
      fc.constantFrom(0, 3, 70, 10_000),
    )
    .map(([i, price, img, depth]) => {
      const q = python ? "'" : '"';
      const id = python ? cat("'", i, "'") : jsonStr(i);
      const imgKey = python ? 'imUrl' : 'imageURL';
      const imgVal = python ? `'${img}'` : `["${img}"]`;
      const line = cat(`{${q}asin${q}: `, id, `, ${q}title${q}: ${q}T${q}, ${q}price${q}: ${python ? price.replace(/"/g, "'") : price}, ${q}${imgKey}${q}: ${imgVal}, ${q}related${q}: ${deep(depth) || '[]'}}`);
      return { line, info: { record: true, item: i } };
    });

/** lightgcn: "user item item …" with integer tokens at every edge. */
const tokenArb = fc.oneof({ weight: 10, arbitrary: fc.integer({ min: 0, max: 60 }).map(String) }, { weight: 1, arbitrary: fc.constantFrom('-1', '1e5', '99999999999999999999', 'x', '\u0000', '') });
const lightgcnRow: fc.Arbitrary<Row> = fc.tuple(tokenArb, fc.array(tokenArb, { maxLength: 6 })).map(([u, items]) => ({
  line: b([u, ...items].join(' ')),
  info: { record: true, user: b(u) },
}));

export const FORMATS_FUZZED = ['csv', 'amazon2018', 'amazon2014', 'lightgcn', 'movielens', 'unisrec', 'parquet'] as const;

const gz = fc.boolean();
const bomb = fc.integer({ min: 0, max: 14 }).map((n) => n === 0);

export function caseArb(format: (typeof FORMATS_FUZZED)[number]): fc.Arbitrary<FuzzCase> {
  switch (format) {
    case 'csv':
      return fc
        .tuple(rowsOf(csvRow(',')), fc.option(rowsOf(itemCsvRow), { nil: undefined }), gz, bomb, fc.boolean())
        .map(([rows, items, g, bo, asFolder]) => ({
          format,
          asFolder,
          files: [file('r.csv', 'user_id,item_id,rating,timestamp', rows, g, bo), ...(items ? [file('items.csv', 'item_id,title,price,image_path', items, false, false)] : [])],
        }));
    case 'movielens':
      return fc.tuple(rowsOf(csvRow(',')), gz, bomb, fc.boolean()).map(([rows, g, bo, asFolder]) => ({
        format,
        asFolder,
        files: [file('ratings.csv', 'userId,movieId,rating,timestamp', rows, g, bo)],
      }));
    case 'amazon2018':
    case 'amazon2014':
      return fc.tuple(rowsOf(reviewRow), fc.option(rowsOf(metaRow(format === 'amazon2014')), { nil: undefined }), gz, bomb, fc.boolean()).map(([rows, meta, g, bo, asFolder]) => ({
        format,
        asFolder,
        files: [file('reviews_F.json', null, rows, g, bo), ...(meta ? [file('meta_F.json', null, meta, g, false)] : [])],
      }));
    case 'lightgcn':
      return fc.tuple(rowsOf(lightgcnRow), rowsOf(lightgcnRow), gz, bomb, fc.boolean()).map(([train, test, g, bo, asFolder]) => ({
        format,
        asFolder,
        files: [file('train.txt', null, train, g, bo), file('test.txt', null, test, false, false)],
      }));
    case 'unisrec':
      return fc.tuple(fc.array(fc.tuple(tokenArb, fc.array(tokenArb, { maxLength: 4 }), tokenArb), { minLength: 1, maxLength: 20 }), gz, bomb).map(([rows, g, bo]) => {
        const index = (p: string) => Array.from({ length: 61 }, (_, k) => ({ line: b(`${p}${k}\t${k}`), info: { record: false } }));
        const inter = rows.map(([u, h, t]) => ({ line: b(`${u}\t${h.join(' ')}\t${t}`), info: { record: true } }));
        return {
          format,
          asFolder: false,
          files: [
            file('X.item2index', null, index('B'), false, false),
            file('X.user2index', null, index('U'), false, false),
            file('X.train.inter', 'user_id:token\titem_id_list:token_seq\titem_id:token', inter, g, bo),
          ],
        };
      });
    case 'parquet':
      // A Parquet file of text columns (Parquet text is UTF-8: ids with invalid bytes are left out).
      return fc
        .array(fc.tuple(idArb('u', false), idArb('i', false), ratingArb, tsArb), { minLength: 1, maxLength: 25 })
        .map((rows) => {
          const kept = rows.filter(([u, i]) => isUtf8(u) && isUtf8(i));
          return {
            format,
            asFolder: false,
            files: [
              {
                name: 'r.parquet',
                lines: [],
                gzip: false,
                info: kept.map(([u, i]) => ({ record: true, user: u, item: i })),
                table: { columns: ['user_id', 'item_id', 'rating', 'timestamp'], rows: kept.map(([u, i, r, t]) => [u.toString('utf8'), i.toString('utf8'), r, t]) },
              },
            ],
          };
        });
  }
}

export const anyCaseArb: fc.Arbitrary<FuzzCase> = fc.constantFrom(...FORMATS_FUZZED).chain((f) => caseArb(f));
