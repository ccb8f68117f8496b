import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { InteractionRecord, ItemRecord, RecordKind, RecordSink, RejectReason, SourceRef } from './records.js';
import { clipRaw } from './records.js';

/** Files the sink writes (newline-delimited JSON), read back by DuckDB in `validate.ts`. */
export const SINK_FILES = { items: 'items.ndjson', interactions: 'interactions.ndjson', rejects: 'rejects.ndjson' } as const;

/** Sink call counts: every input record ends in exactly one of them. */
export interface SinkCounts {
  items: number;
  interactions: number;
  itemRejects: number;
  interactionRejects: number;
}

class BufferedFile {
  private parts: string[] = [];
  private size = 0;
  private readonly fd: number;
  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }
  write(line: string): void {
    this.parts.push(line);
    this.size += line.length;
    if (this.size > 1 << 22) this.flush();
  }
  flush(): void {
    if (this.parts.length === 0) return;
    writeSync(this.fd, this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

const finiteOrNull = (v: number | null): boolean => v === null || Number.isFinite(v);

/**
 * The ingest sink: streams records to newline-delimited JSON files in a work folder, stamping each with its
 * source file, line and a global ordinal (`ord`, the tie-breaker for chronological order). It is also the last
 * gate on types: a non-finite number (which JSON cannot carry) becomes a `bad_field` reject, never a null.
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
    if (!finiteOrNull(r.price)) return this.reject('item', src, 'bad_field', `price=${r.price}`, JSON.stringify(r));
    this.counts.items++;
    this.items.write(
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
        ord: this.ord++,
      }) + '\n',
    );
  }

  interaction(r: InteractionRecord, src: SourceRef): void {
    if (!finiteOrNull(r.rating)) return this.reject('interaction', src, 'bad_field', `rating=${r.rating}`, JSON.stringify(r));
    if (!finiteOrNull(r.ts)) return this.reject('interaction', src, 'bad_field', `ts=${r.ts}`, JSON.stringify(r));
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
    this.rejects.write(
      JSON.stringify({ kind, src_file: src.file, src_line: src.line, reason, detail, raw: clipRaw(raw), ord: this.ord++ }) + '\n',
    );
  }

  close(): void {
    this.items.close();
    this.interactions.close();
    this.rejects.close();
  }
}
