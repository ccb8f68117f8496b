import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { open, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { StringDecoder } from 'node:string_decoder';
import { ppError } from '../../errors.js';
import type { RecordKind, RecordSink } from '../records.js';
import { DEFAULT_LIMITS, LineGuard, parseMarker, type InputLimits, type MarkedLine } from './line-guard.js';

export interface Line {
  /** The line's text without its terminator ("\n" or "\r\n"); for a `bad` line, its preview. */
  text: string;
  /** 1-based line number in the (decompressed) file. */
  lineNo: number;
  /** Set when the line was not read (too long, not UTF-8): the reader must reject it with this reason. */
  bad?: MarkedLine;
}

/** True when the file starts with the gzip magic bytes 1f 8b. */
export async function isGzipFile(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** Throws PP_INPUT_NOT_FOUND / PP_INPUT_UNREADABLE with the path when a file cannot be opened. */
export async function assertReadableFile(path: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw ppError('PP_INPUT_UNREADABLE', `${path} is not a file`);
    const fh = await open(path, 'r');
    await fh.close();
    return s.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw ppError('PP_INPUT_NOT_FOUND', path, err);
    if ((err as { code?: string }).code?.startsWith('PP_')) throw err;
    throw ppError('PP_INPUT_UNREADABLE', `${path}: ${(err as Error).message}`, err);
  }
}

export interface ReadLinesOptions {
  /** Called with the number of compressed bytes read so far (for progress). */
  onBytes?: (bytes: number) => void;
  /** Line and input size caps (default DEFAULT_LIMITS). */
  limits?: InputLimits;
}

/** A stream error as a coded error: PP_ codes kept, zlib errors PP_INGEST_BAD_GZIP, the rest PP_INPUT_UNREADABLE. */
export function streamError(path: string, gz: boolean, err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  if (e.code?.startsWith('PP_')) return err;
  if (gz && (e.code?.startsWith('Z_') || /unexpected end of file|incorrect header|invalid/i.test(e.message))) {
    return ppError('PP_INGEST_BAD_GZIP', `${path}: ${e.message}`, err);
  }
  return ppError('PP_INPUT_UNREADABLE', `${path}: ${e.message}`, err);
}

/**
 * Streams the lines of a plain or gzip file (detected by magic bytes) through a `LineGuard`: a line over
 * `limits.maxLineBytes` or not valid UTF-8 comes back with `bad` set (and only a preview as text), never
 * decoded whole. A corrupt or truncated gzip stream raises PP_INGEST_BAD_GZIP naming the file; the caller
 * has then seen only complete lines.
 */
export async function* readLines(path: string, options: ReadLinesOptions = {}): AsyncGenerator<Line> {
  await assertReadableFile(path);
  const gz = await isGzipFile(path);
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  let bytes = 0;
  if (options.onBytes) {
    const cb = options.onBytes;
    raw.on('data', (c: string | Buffer) => {
      bytes += c.length;
      cb(bytes);
    });
  }
  const inflated: Readable = gz ? raw.pipe(createGunzip({ chunkSize: 1 << 20 })) : raw;
  if (gz) raw.on('error', (e) => inflated.destroy(e));
  const source = inflated.pipe(new LineGuard(path, options.limits ?? DEFAULT_LIMITS));
  inflated.on('error', (e) => source.destroy(e));
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let lineNo = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      const text = carry + decoder.write(chunk);
      let start = 0;
      let nl = text.indexOf('\n', start);
      while (nl !== -1) {
        lineNo++;
        const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        const line = text.slice(start, end);
        const bad = parseMarker(line);
        yield bad ? { text: bad.preview, lineNo, bad } : { text: line, lineNo };
        start = nl + 1;
        nl = text.indexOf('\n', start);
      }
      carry = text.slice(start);
    }
  } catch (err) {
    throw streamError(path, gz, err);
  } finally {
    raw.destroy();
    inflated.destroy();
    source.destroy();
  }
  const rest = carry + decoder.end();
  if (rest.length > 0) {
    lineNo++;
    const line = rest.endsWith('\r') ? rest.slice(0, -1) : rest;
    const bad = parseMarker(line);
    yield bad ? { text: bad.preview, lineNo, bad } : { text: line, lineNo };
  }
}

/** Rejects a line the guard marked (too long, not UTF-8) as one `kind` record; true when it did, so the caller skips it. */
export function rejectBadLine(line: Line, sink: RecordSink, kind: RecordKind, file: string): boolean {
  if (!line.bad) return false;
  sink.reject(kind, { file, line: line.lineNo }, line.bad.reason, line.bad.detail, line.text);
  return true;
}
