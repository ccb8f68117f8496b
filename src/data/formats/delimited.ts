/**
 * Delimited-text reading shared by the csv and movielens readers: RFC 4180 parsing through csv-parse
 * (quoted fields with embedded delimiters, quotes and newlines), plain or gzip input, the 1-based source
 * line where each record starts, and a synchronous header sniff for `FormatReader.rules`.
 */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { constants as zc, createGunzip, gunzipSync } from 'node:zlib';
import { parse, type CsvError } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { ppError } from '../../errors.js';
import { assertReadableFile, isGzipFile, streamError } from '../io/lines.js';
import { DEFAULT_LIMITS, LineGuard, MARK, parseMarker, type InputLimits, type MarkedLine } from '../io/line-guard.js';

export interface CsvRecord {
  ok: true;
  fields: string[];
  /** 1-based line where the record starts (a quoted field may span lines). */
  line: number;
  /** The record's source text without its terminator. */
  raw: string;
}

export interface CsvBadRecord {
  ok: false;
  line: number;
  raw: string;
  /** What the parser objected to, e.g. "Quote Not Closed: …". */
  error: string;
  /** The reject reason: `malformed_line`, or the guard's `line_too_long` / `bad_encoding`. */
  reason: 'malformed_line' | MarkedLine['reason'];
}

export interface CsvReadOptions {
  delimiter: string;
  /** Text encoding of the (decompressed) bytes; utf8 by default. */
  encoding?: BufferEncoding;
  onBytes?: (bytes: number) => void;
  /** Line and input size caps (default DEFAULT_LIMITS); a CSV record spanning lines is capped at maxLineBytes too. */
  limits?: InputLimits;
}

/**
 * The file's bytes, gunzipped when it starts with the gzip magic, through a `LineGuard` (line cap, UTF-8
 * check, input cap). Progress is counted in a Transform in the pipe (a 'data' listener would start the flow
 * before the caller has attached its consumer).
 */
export async function openDecompressed(
  path: string,
  onBytes?: (bytes: number) => void,
  limits: InputLimits = DEFAULT_LIMITS,
): Promise<{ stream: Readable; gz: boolean; close(): void }> {
  await assertReadableFile(path);
  const gz = await isGzipFile(path);
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  let counted: Readable = raw;
  if (onBytes) {
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        onBytes(bytes);
        done(null, chunk);
      },
    });
    raw.on('error', (e) => counter.destroy(e));
    counted = raw.pipe(counter);
  }
  const close = () => {
    raw.destroy();
    if (counted !== raw) counted.destroy();
  };
  const guard = new LineGuard(path, limits);
  if (!gz) {
    counted.on('error', (e) => guard.destroy(e));
    return {
      stream: counted.pipe(guard),
      gz,
      close() {
        close();
        guard.destroy();
      },
    };
  }
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  counted.on('error', (e) => gunzip.destroy(e));
  gunzip.on('error', (e) => guard.destroy(e));
  return {
    stream: counted.pipe(gunzip).pipe(guard),
    gz,
    close() {
      close();
      gunzip.destroy();
      guard.destroy();
    },
  };
}

/**
 * Splits csv-parse's `raw` text of a record into the record's text and the number of line breaks it
 * spans. csv-parse keeps only the first character of the record delimiter in `raw` ("\n", or the "\r" of
 * "\r\n"), and the last record of a file may have none.
 */
function splitRaw(raw: string): { text: string; breaks: number } {
  let text = raw;
  let breaks = 0;
  const last = text.charCodeAt(text.length - 1);
  if (last === 10 || last === 13) {
    text = text.slice(0, -1);
    if (last === 10 && text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
    breaks = 1;
  }
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) breaks++;
  return { text, breaks };
}

type ParserOutput = { record: string[]; raw: string } | { skipped: CsvError & { raw?: string } };

/**
 * Streams the records of a delimited file, header included (the first record). Empty lines are skipped.
 * A record the parser cannot read (e.g. a quote never closed, which swallows the rest of the file) comes
 * back as a `CsvBadRecord` instead of stopping the read. Quotes inside unquoted fields are kept as text.
 *
 * Line numbers are counted here from each record's raw text (csv-parse's `info` costs about as much as the
 * parse itself, and its line count takes a CRLF inside quotes for two lines), so a skipped record is fed
 * into the same object stream, in order, by the 'skip' handler.
 */
export async function* readCsvRecords(path: string, options: CsvReadOptions): AsyncGenerator<CsvRecord | CsvBadRecord> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const { stream: source, gz, close } = await openDecompressed(path, options.onBytes, limits);
  const parser = parse({
    // A quote never closed would otherwise gather the rest of the file into one record.
    max_record_size: limits.maxLineBytes,
    delimiter: options.delimiter,
    encoding: options.encoding ?? 'utf8',
    bom: true,
    raw: true,
    relax_column_count: true,
    relax_quotes: true,
    record_delimiter: ['\r\n', '\n'],
    skip_records_with_error: true,
  });
  parser.on('skip', (err: CsvError & { raw?: string }) => {
    parser.push({ skipped: err } satisfies ParserOutput);
  });
  source.on('error', (e) => parser.destroy(e));
  source.pipe(parser);
  let lines = 0;
  try {
    for await (const out of parser as AsyncIterable<ParserOutput>) {
      const line = lines + 1;
      if ('skipped' in out) {
        const { text, breaks } = splitRaw(out.skipped.raw ?? '');
        lines += Math.max(breaks, 1);
        const marked = markedIn(text);
        const tooBig = out.skipped.code === 'CSV_MAX_RECORD_SIZE';
        if (marked) yield { ok: false, line, raw: marked.preview, error: marked.detail, reason: marked.reason };
        else if (tooBig) yield { ok: false, line, raw: text.slice(0, 200), error: out.skipped.message, reason: 'line_too_long' };
        else yield { ok: false, line, raw: text, error: out.skipped.message, reason: 'malformed_line' };
        continue;
      }
      const { text, breaks } = splitRaw(out.raw);
      lines += breaks;
      const marked = markedIn(text);
      if (marked) {
        yield { ok: false, line, raw: marked.preview, error: marked.detail, reason: marked.reason };
        continue;
      }
      if (out.record.length === 1 && out.record[0] === '' && text.trim() === '') continue; // empty line
      yield { ok: true, fields: out.record, line, raw: text };
    }
  } catch (err) {
    throw streamError(path, gz, err);
  } finally {
    close();
    parser.destroy();
  }
}

/** The guard's marker inside a record's text (a marker line may sit inside a quoted field that spans lines). */
function markedIn(text: string): MarkedLine | null {
  const at = text.indexOf(MARK);
  if (at === -1) return null;
  const end = text.indexOf('\n', at);
  return parseMarker(text.slice(at, end === -1 ? undefined : end).replace(/\r$/, ''));
}

/** Candidate delimiters, in tie-breaking order. */
const DELIMITERS = [',', '\t', ';', '|'] as const;

/** The candidate delimiter that occurs most often outside quotes in a header line (',' when none does). */
export function detectDelimiter(headerLine: string): string {
  const counts = new Map<string, number>(DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (const ch of headerLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1);
  }
  let best: string = ',';
  let max = 0;
  for (const d of DELIMITERS) {
    if (counts.get(d)! > max) {
      max = counts.get(d)!;
      best = d;
    }
  }
  return best;
}

/** Parses a `delimiter` option: a character, or "tab" / "\t" / "comma" / "semicolon" / "pipe". */
export function delimiterOption(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const named: Record<string, string> = { tab: '\t', '\\t': '\t', comma: ',', semicolon: ';', pipe: '|' };
  const d = named[value.toLowerCase()] ?? value;
  if (d.length !== 1 || d === '"' || d === '\n' || d === '\r') {
    throw ppError('PP_USAGE', `delimiter must be one character (or tab), got "${value}"`);
  }
  return d;
}

/**
 * Reads a file's first line synchronously (gunzipping a prefix if needed) and splits it into column
 * names with the given or detected delimiter. For `rules()`, which cannot await; null when unreadable.
 */
export function sniffHeaderSync(path: string, delimiter?: string): { columns: string[]; delimiter: string } | null {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(1 << 16);
    const n = readSync(fd, buf, 0, buf.length, 0);
    let bytes = buf.subarray(0, n);
    if (n >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
      bytes = gunzipSync(bytes, { finishFlush: zc.Z_SYNC_FLUSH });
    }
    let text = bytes.toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const nl = text.indexOf('\n');
    const line = splitRaw(nl === -1 ? text : text.slice(0, nl + 1)).text;
    const d = delimiter ?? detectDelimiter(line);
    const rows = parseSync(line, { delimiter: d, relax_quotes: true, relax_column_count: true }) as string[][];
    return { columns: rows[0] ?? [], delimiter: d };
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
