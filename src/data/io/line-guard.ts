/**
 * The byte-level guard between a (decompressed) input stream and every line or CSV parser. It passes the
 * bytes through unchanged, except for lines the parsers must never see:
 * - a line longer than `maxLineBytes` is never held in memory: its bytes are counted and dropped as they
 *   stream by, and one marker line takes its place;
 * - a line that is not valid UTF-8 (checked with `isUtf8` on whole runs of lines, per line only when a run
 *   fails) is replaced by a marker line too, so that no decoder turns two different byte strings into the same
 *   U+FFFD text (`u\xff1` and `u\xfe1` would otherwise both read as `u\uFFFD1`).
 * A marker line is `MARK reason \0 detail \0 preview` (no quote, delimiter or newline, so it stays one CSV
 * record); `parseMarker` turns it back into a reject for the reader. Memory is bounded by `maxLineBytes`
 * plus one chunk. More than `maxInputBytes` in all (0: no cap) fails the stream with PP_INGEST_TOO_LARGE.
 */
import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';
import { ppError } from '../../errors.js';
import type { RejectReason } from '../records.js';

export interface InputLimits {
  /** Longest line in bytes after decompression; a longer line is a `line_too_long` reject, skipped unread. */
  maxLineBytes: number;
  /** Most bytes one input may decompress to; 0 = no cap. More fails the ingest with PP_INGEST_TOO_LARGE. */
  maxInputBytes: number;
}

/** Defaults of `ingest.max_line_bytes` (16 MiB) and `ingest.max_input_bytes` (no cap). */
export const DEFAULT_LIMITS: InputLimits = { maxLineBytes: 16 * 1024 * 1024, maxInputBytes: 0 };

/** Starts every marker line. A source line starting with these bytes is read as a marker, i.e. rejected. */
export const MARK = '\u0000PP-REJECT\u0000';

export interface MarkedLine {
  reason: Extract<RejectReason, 'line_too_long' | 'bad_encoding'>;
  detail: string;
  /** The line's first bytes, printable ASCII kept and every other byte as \xNN. */
  preview: string;
}

const PREVIEW_BYTES = 160;

/** Bytes as printable text: [A-Za-z0-9 _.:/=+-] kept, everything else \xNN (no quote, delimiter or NUL). */
export function previewBytes(b: Buffer): string {
  let s = '';
  const n = Math.min(b.length, PREVIEW_BYTES);
  for (let i = 0; i < n; i++) {
    const c = b[i];
    const keep = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || ' _.:/=+-'.includes(String.fromCharCode(c));
    s += keep ? String.fromCharCode(c) : '\\x' + c.toString(16).padStart(2, '0');
  }
  return b.length > n ? s + '...' : s;
}

function markerLine(reason: MarkedLine['reason'], detail: string, preview: string): Buffer {
  return Buffer.from(`${MARK}${reason}\u0000${detail}\u0000${preview}`, 'utf8');
}

/** The reject a marker line stands for; null for an ordinary line. */
export function parseMarker(text: string): MarkedLine | null {
  if (text.charCodeAt(0) !== 0 || !text.startsWith(MARK)) return null;
  const [reason, detail = '', preview = ''] = text.slice(MARK.length).split('\u0000');
  return { reason: reason === 'line_too_long' ? 'line_too_long' : 'bad_encoding', detail, preview };
}

export class LineGuard extends Transform {
  /** Bytes seen so far (after decompression). */
  bytes = 0;
  /** Marker lines written (0: the stream is passed through unchanged). */
  marked = 0;
  private carry: Buffer[] = [];
  private carryLen = 0;
  private dropping = false;
  private dropLen = 0;
  private dropPreview = '';

  constructor(
    private readonly path: string,
    private readonly limits: InputLimits = DEFAULT_LIMITS,
  ) {
    super();
  }

  /** One complete line (without its "\n") that was held in `carry`, or a run of complete lines. */
  private pushChecked(region: Buffer): void {
    if (region.length === 0) return;
    if (isUtf8(region)) {
      this.push(region);
      return;
    }
    // Find the bad lines of the run; good ones go through as they are.
    let start = 0;
    while (start < region.length) {
      let nl = region.indexOf(10, start);
      if (nl === -1) nl = region.length;
      const line = region.subarray(start, nl);
      const end = nl < region.length ? nl + 1 : nl;
      if (isUtf8(line)) this.push(region.subarray(start, end));
      else {
        this.marked++;
        this.push(markerLine('bad_encoding', `${line.length} bytes, not valid UTF-8`, previewBytes(line)));
        if (nl < region.length) this.push(Buffer.from('\n'));
      }
      start = end;
    }
  }

  private pushTooLong(length: number, preview: string, newline: boolean): void {
    this.marked++;
    this.push(markerLine('line_too_long', `${length} bytes (ingest.max_line_bytes = ${this.limits.maxLineBytes})`, preview));
    if (newline) this.push(Buffer.from('\n'));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    const { maxLineBytes: cap, maxInputBytes } = this.limits;
    if (maxInputBytes > 0 && this.bytes > maxInputBytes) {
      done(ppError('PP_INGEST_TOO_LARGE', `${this.path} holds more than ${maxInputBytes} bytes after decompression (ingest.max_input_bytes)`));
      return;
    }
    let start = 0;
    let nl = chunk.indexOf(10);
    // The first line may continue one begun in an earlier chunk.
    if (nl !== -1 && (this.dropping || this.carryLen > 0)) {
      if (this.dropping) {
        this.pushTooLong(this.dropLen + nl, this.dropPreview, true);
        this.dropping = false;
      } else if (this.carryLen + nl > cap) {
        this.pushTooLong(this.carryLen + nl, previewBytes(Buffer.concat(this.carry)), true);
      } else {
        this.pushChecked(Buffer.concat([...this.carry, chunk.subarray(0, nl + 1)]));
      }
      this.carry = [];
      this.carryLen = 0;
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    let emitFrom = start;
    while (nl !== -1) {
      if (nl - start > cap) {
        this.pushChecked(chunk.subarray(emitFrom, start));
        this.pushTooLong(nl - start, previewBytes(chunk.subarray(start, start + PREVIEW_BYTES + 1)), true);
        emitFrom = nl + 1;
      }
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    this.pushChecked(chunk.subarray(emitFrom, start));
    // The unfinished last line.
    const rest = chunk.length - start;
    if (rest > 0) {
      if (this.dropping) this.dropLen += rest;
      else if (this.carryLen + rest > cap) {
        this.dropping = true;
        this.dropLen = this.carryLen + rest;
        this.dropPreview = previewBytes(Buffer.concat([...this.carry, chunk.subarray(start, start + PREVIEW_BYTES + 1)]));
        this.carry = [];
        this.carryLen = 0;
      } else {
        this.carry.push(chunk.subarray(start));
        this.carryLen += rest;
      }
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.dropping) this.pushTooLong(this.dropLen, this.dropPreview, false);
    else if (this.carryLen > 0) this.pushChecked(Buffer.concat(this.carry));
    this.carry = [];
    done();
  }
}
