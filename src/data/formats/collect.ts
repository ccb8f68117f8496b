import { basename, resolve } from 'node:path';
import type { InteractionRecord, ItemRecord, RecordKind, RecordSink, RejectReason, SourceRef } from '../records.js';
import type { FormatReader, InputFile } from './format.js';

/** Everything a reader produced, in memory: for tests and small inputs. */
export interface Collected {
  items: Array<ItemRecord & { src: SourceRef }>;
  interactions: Array<InteractionRecord & { src: SourceRef }>;
  rejects: Array<{ kind: RecordKind; reason: RejectReason; detail: string; raw: string; src: SourceRef }>;
}

export function collectingSink(): RecordSink & { collected: Collected } {
  const collected: Collected = { items: [], interactions: [], rejects: [] };
  return {
    collected,
    item(record, src) {
      collected.items.push({ ...record, src });
    },
    interaction(record, src) {
      collected.interactions.push({ ...record, src });
    },
    reject(kind, src, reason, detail, raw) {
      collected.rejects.push({ kind, reason, detail, raw, src });
    },
  };
}

/** Local paths as `InputFile`s read in place (no raw copy): the shape `read` expects. */
export function localInputs(paths: readonly string[]): InputFile[] {
  return paths.map((p) => ({ path: resolve(p), name: basename(p), origin: resolve(p) }));
}

/** Runs a reader over local files into memory. */
export async function collect(
  reader: FormatReader,
  paths: readonly string[],
  options: Record<string, string> = {},
): Promise<Collected> {
  const sink = collectingSink();
  await reader.read(localInputs(paths), { sink, options, onBytes() {} });
  return sink.collected;
}
