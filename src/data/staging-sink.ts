import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { diskFullOr } from '../errors.js';
import type { InteractionRecord, ItemRecord, RecordKind, RecordSink, RejectReason, SourceRef } from './records.js';
import { clipRaw, MAX_RECORD_BYTES } from './records.js';
import { checkInteraction, checkItem, toWellFormed, type RecordProblem } from './record-checks.js';

/** Files the sink writes (newline-delimited JSON), read back by DuckDB in `validate.ts`. */
export const SINK_FILES = { items: 'items.ndjson', interactions: 'interactions.ndjson', rejects: 'rejects.ndjson' } as const;

/** Sink call counts: every input record ends in exactly one of them. */
export interface SinkCounts {
  items: number;
  interactions: number;
  itemRejects: number;
  interactionRejects: number;
}

/** DuckDB's `maximum_object_size` for reading the sink's files back: above any row the sink writes. */
export const SINK_MAX_OBJECT_BYTES = 2 * MAX_RECORD_BYTES;

class BufferedFile {
  private parts: string[] = [];
  private size = 0;
  private readonly fd: number;
  constructor(private readonly path: string) {
    this.fd = openSync(path, 'w');
  }
  write(line: string): void {
    this.parts.push(line);
    this.size += line.length;
    if (this.size > 1 << 22) this.flush();
  }
  flush(): void {
    if (this.parts.length === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    try {
      // A write can be short (a disk filling up): write the rest until done or until the OS says ENOSPC.
      const bytes = Buffer.from(text, 'utf8');
      for (let off = 0; off < bytes.length; ) off += writeSync(this.fd, bytes, off);
    } catch (err) {
      throw diskFullOr(err, `writing ${this.path}`);
    }
  }
  close(): void {
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
    }
  }
}

/** Longer than this many UTF-16 units, a row may be over MAX_RECORD_BYTES (at most 3 UTF-8 bytes per unit). */
const SURELY_SMALL = Math.floor(MAX_RECORD_BYTES / 3);

function oversize(line: string): boolean {
  return line.length > SURELY_SMALL && Buffer.byteLength(line) > MAX_RECORD_BYTES;
}

/** A record as text for a reject's `raw`: `extra` left out (it may be what is wrong: too deep, huge). */
function rawOf(r: ItemRecord | InteractionRecord): string {
  const shallow: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    shallow[k] = typeof v === 'string' ? clipRaw(v, 200) : k === 'extra' && v !== null ? '(left out)' : v;
  }
  try {
    return JSON.stringify(shallow);
  } catch {
    return '(not printable)';
  }
}

/**
 * The ingest sink: streams records to newline-delimited JSON files in a work folder, stamping each with its
 * source file, line and a global ordinal (`ord`, the tie-breaker for chronological order). It is also the last
 * gate (`record-checks.ts`): a record that cannot be stored as it is (lone surrogate, control character in an
 * id, non-finite number, timestamp out of range, nesting too deep, over MAX_RECORD_BYTES) becomes a reject
 * with its reason, never a null, a changed value or a failed ingest. Reject details and raw text are made
 * well-formed (lone surrogates → U+FFFD) so a reject can always be stored.
 */
export class StagingSink implements RecordSink {
  readonly counts: SinkCounts = { items: 0, interactions: 0, itemRejects: 0, interactionRejects: 0 };
  private ord = 0;
  private readonly items: BufferedFile;
  private readonly interactions: BufferedFile;
  private readonly rejects: BufferedFile;

  constructor(workDir: string) {
    this.items = new BufferedFile(join(workDir, SINK_FILES.items));
    this.interactions = new BufferedFile(join(workDir, SINK_FILES.interactions));
    this.rejects = new BufferedFile(join(workDir, SINK_FILES.rejects));
  }

  item(r: ItemRecord, src: SourceRef): void {
    const problem = checkItem(r);
    if (problem) return this.rejectRecord('item', src, problem, r);
    const line =
      JSON.stringify({
        item_id: r.item_id,
        title: r.title,
        description: r.description,
        brand: r.brand,
        categories: r.categories,
        price: r.price,
        image_url: r.image_url,
        image_path: r.image_path,
        extra: r.extra === null ? null : JSON.stringify(r.extra),
        src_file: src.file,
        src_line: src.line,
        ord: this.ord,
      }) + '\n';
    if (oversize(line)) return this.rejectRecord('item', src, { reason: 'too_large', detail: `${Buffer.byteLength(line)} bytes as JSON (at most ${MAX_RECORD_BYTES})` }, r);
    this.ord++;
    this.counts.items++;
    this.items.write(line);
  }

  interaction(r: InteractionRecord, src: SourceRef): void {
    const problem = checkInteraction(r);
    if (problem) return this.rejectRecord('interaction', src, problem, r);
    this.counts.interactions++;
    this.interactions.write(
      JSON.stringify({
        user_id: r.user_id,
        item_id: r.item_id,
        rating: r.rating,
        ts: r.ts === null ? null : Math.trunc(r.ts),
        split: r.split,
        src_file: src.file,
        src_line: src.line,
        ord: this.ord++,
      }) + '\n',
    );
  }

  reject(kind: RecordKind, src: SourceRef, reason: RejectReason, detail: string, raw: string): void {
    if (kind === 'item') this.counts.itemRejects++;
    else this.counts.interactionRejects++;
    const row = {
      kind,
      src_file: toWellFormed(src.file),
      src_line: src.line,
      reason,
      detail: toWellFormed(clipRaw(detail)),
      raw: toWellFormed(clipRaw(raw)),
      ord: this.ord++,
    };
    this.rejects.write(JSON.stringify(row) + '\n');
  }

  private rejectRecord(kind: RecordKind, src: SourceRef, problem: RecordProblem, r: ItemRecord | InteractionRecord): void {
    this.reject(kind, src, problem.reason, problem.detail, rawOf(r));
  }

  /** Closes all three files, even when one fails (a full disk); the first failure is thrown. */
  close(): void {
    let first: unknown = null;
    for (const f of [this.items, this.interactions, this.rejects]) {
      try {
        f.close();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== null) throw first;
  }
}
