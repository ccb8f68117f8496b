/**
 * Generic delimited files (csv, tsv, …) with a column mapping in the reader options (see
 * `column-mapping.ts`). Each file is classified by its header: user and item columns → one interaction per
 * row; only an item column → one catalog item per row (unmapped columns go to the item's `extra`).
 *
 * Files: those named *.csv, *.tsv, *.psv, *.tab (optionally .gz) are read and other names (README, …) are
 * skipped; when no input has such a name, every input is read. The delimiter is the `delimiter` option,
 * else detected per file from its header among , \t ; |. Quoting follows RFC 4180 (csv-parse), a row's
 * line is where it starts in the source; a row with a different number of fields than the header, or
 * that cannot be parsed, is a `malformed_line` reject.
 */
import { clipRaw } from '../records.js';
import { ppError } from '../../errors.js';
import type { FormatReader, FormatRules, InputFile, ReadContext } from './format.js';
import { classifyColumns, MAPPING_OPTIONS, mappingRules, mappingSettings, rowToRecord, type FileLayout } from './column-mapping.js';
import { delimiterOption, readCsvRecords, sniffHeaderSync } from './delimited.js';

const DELIMITED_NAME = /\.(csv|tsv|psv|tab)(\.gz)?$/i;

/** The inputs the csv reader reads (see the module comment). */
export function csvFiles(inputs: readonly InputFile[]): InputFile[] {
  const named = inputs.filter((f) => DELIMITED_NAME.test(f.name));
  return named.length > 0 ? named : [...inputs];
}

export const csv: FormatReader = {
  name: 'csv',
  description: 'generic delimited files (csv/tsv) with a column mapping: interactions and/or item files, classified by header',
  accepts: (name) => DELIMITED_NAME.test(name),
  options: {
    ...MAPPING_OPTIONS,
    delimiter: 'field delimiter: a character or "tab" (default: detected from each header among , tab ; |)',
  },
  rules(options, inputs): FormatRules {
    const settings = mappingSettings(options);
    const delimiter = delimiterOption(options.delimiter);
    const layouts = csvFiles(inputs).map((f): FileLayout | null => {
      const sniffed = sniffHeaderSync(f.path, delimiter);
      if (!sniffed) return null;
      try {
        return classifyColumns(f.name, sniffed.columns.map((h) => h.trim()), settings);
      } catch {
        return null; // read() reports the bad header
      }
    });
    return mappingRules(settings, layouts);
  },
  async read(inputs: readonly InputFile[], ctx: ReadContext): Promise<void> {
    const settings = mappingSettings(ctx.options);
    const explicitDelimiter = delimiterOption(ctx.options.delimiter);
    const files = csvFiles(inputs);
    if (files.length === 0) throw ppError('PP_INGEST_MISSING_INPUT', 'csv needs at least one delimited file');
    for (const file of files) {
      const delimiter = explicitDelimiter ?? sniffHeaderSync(file.path)?.delimiter ?? ',';
      let layout: FileLayout | null = null;
      for await (const rec of readCsvRecords(file.path, { delimiter, onBytes: ctx.onBytes, limits: ctx.limits })) {
        const src = { file: file.name, line: rec.line };
        if (layout === null) {
          if (!rec.ok) throw ppError('PP_INGEST_BAD_HEADER', `${file.name}: the header cannot be parsed (${rec.error})`);
          layout = classifyColumns(file.name, rec.fields.map((h) => h.trim()), settings);
          continue;
        }
        const kind = layout.kind === 'interactions' ? 'interaction' : 'item';
        if (!rec.ok) {
          ctx.sink.reject(kind, src, rec.reason, rec.error, clipRaw(rec.raw));
          continue;
        }
        if (rec.fields.length !== layout.header.length) {
          const detail = `expected ${layout.header.length} fields, found ${rec.fields.length}`;
          ctx.sink.reject(kind, src, 'malformed_line', detail, clipRaw(rec.raw));
          continue;
        }
        const out = rowToRecord(layout, rec.fields, settings, file.origin);
        if (out.kind === 'item') ctx.sink.item(out.record, src);
        else if (out.kind === 'interaction') ctx.sink.interaction(out.record, src);
        else ctx.sink.reject(out.recordKind, src, out.reason, out.detail, clipRaw(rec.raw));
      }
      if (layout === null) throw ppError('PP_INGEST_BAD_HEADER', `${file.name}: empty file, no header line`);
    }
  },
};
