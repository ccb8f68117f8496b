/**
 * Delimited-text reading shared by the csv and movielens readers: RFC 4180 parsing through csv-parse
 * (quoted fields with embedded delimiters, quotes and newlines), plain or gzip input, the 1-based source
 * line where each record starts, and a synchronous header sniff for `FormatReader.rules`.
 */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { constants as zc, createGunzip, gunzipSync } from 'node:zlib';
import { parse, type CsvError, type Info } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { ppError } from '../../errors.js';
import { assertReadableFile, isGzipFile } from '../io/lines.js';

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
}

export interface CsvReadOptions {
  delimiter: string;
  /** Text encoding of the (decompressed) bytes; utf8 by default. */
  encoding?: BufferEncoding;
  onBytes?: (bytes: number) => void;
}

/** The file's bytes, gunzipped when it starts with the gzip magic; errors name the file. */
export async function openDecompressed(path: string, onBytes?: (bytes: number) => void): Promise<Readable> {
  await assertReadableFile(path);
  const gz = await isGzipFile(path);
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  if (onBytes) {
    let bytes = 0;
    raw.on('data', (c: string | Buffer) => {
      bytes += c.length;
      onBytes(bytes);
    });
  }
  if (!gz) return raw;
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  raw.on('error', (e) => gunzip.destroy(e));
  return raw.pipe(gunzip);
}

function stripTerminator(raw: string): string {
  raw = raw.replace(/^[\r\n]+/, ''); // csv-parse may keep part of a skipped empty line in front
  if (raw.endsWith('\r\n')) return raw.slice(0, -2);
  if (raw.endsWith('\n') || raw.endsWith('\r')) return raw.slice(0, -1);
  return raw;
}

function countChar(s: string, ch: string): number {
  let n = 0;
  for (let i = s.indexOf(ch); i !== -1; i = s.indexOf(ch, i + 1)) n++;
  return n;
}

/**
 * Streams the records of a delimited file, header included (the first record). Empty lines are skipped.
 * A record the parser cannot read (e.g. a quote never closed, which swallows the rest of the file) comes
 * back as a `CsvBadRecord` instead of stopping the read. Quotes inside unquoted fields are kept as text.
 */
export async function* readCsvRecords(path: string, options: CsvReadOptions): AsyncGenerator<CsvRecord | CsvBadRecord> {
  const source = await openDecompressed(path, options.onBytes);
  const gz = await isGzipFile(path);
  const parser = parse({
    delimiter: options.delimiter,
    encoding: options.encoding ?? 'utf8',
    bom: true,
    info: true,
    raw: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    record_delimiter: ['\r\n', '\n'],
    skip_records_with_error: true,
  });
  // csv-parse's line count (info.lines) counts every CR and every LF inside a quoted field as a line
  // break, so a CRLF inside quotes counts twice. `drift` holds the CRs seen so far inside records, to
  // turn its count into real (LF-terminated) source lines.
  let drift = 0;
  const startLine = (endLine: number, raw: string): number => {
    const crs = countChar(raw, '\r');
    const line = endLine - drift - crs - countChar(raw, '\n');
    drift += crs;
    return Math.max(1, line);
  };
  const skipped: CsvBadRecord[] = [];
  parser.on('skip', (err: CsvError & { raw?: string; lines?: number }) => {
    const raw = stripTerminator(err.raw ?? '');
    skipped.push({ ok: false, line: startLine(err.lines ?? 0, raw), raw, error: err.message });
  });
  source.on('error', (e) => parser.destroy(e));
  source.pipe(parser);
  try {
    for await (const out of parser as AsyncIterable<{ record: string[]; raw: string; info: Info }>) {
      const raw = stripTerminator(out.raw);
      const line = startLine(out.info.lines, raw);
      while (skipped.length > 0 && skipped[0].line < line) yield skipped.shift()!;
      yield { ok: true, fields: out.record, line, raw };
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code?.startsWith('PP_')) throw err;
    if (gz && (e.code?.startsWith('Z_') || /unexpected end of file|incorrect header|invalid/i.test(e.message))) {
      throw ppError('PP_INGEST_BAD_GZIP', `${path}: ${e.message}`, err);
    }
    throw ppError('PP_INPUT_UNREADABLE', `${path}: ${e.message}`, err);
  } finally {
    source.destroy();
  }
  while (skipped.length > 0) yield skipped.shift()!;
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
    const line = stripTerminator(nl === -1 ? text : text.slice(0, nl + 1));
    const d = delimiter ?? detectDelimiter(line);
    const rows = parseSync(line, { delimiter: d, relax_quotes: true, relax_column_count: true }) as string[][];
    return { columns: rows[0] ?? [], delimiter: d };
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
