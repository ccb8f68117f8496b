/**
 * Parquet files with the same column mapping and classification as `csv` (see `column-mapping.ts`),
 * read through DuckDB as a stream of result chunks (about 2,048 rows each), so a large file is never
 * loaded whole. A row's "line" is its 1-based row number in the file (DuckDB keeps insertion order for a
 * plain scan). Typed columns are taken as they are: a TIMESTAMP/DATE timestamp column is read as a date
 * whatever `ts_unit` says, LIST columns of categories as lists.
 *
 * Files named *.parquet / *.pq are read, other names are skipped (all inputs when none has such a name).
 * `rules()` must answer synchronously, so it reads the column names from the Parquet footer itself.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ppError } from '../../errors.js';
import { openDb, sqlString } from '../../lake/duckdb.js';
import { assertReadableFile } from '../io/lines.js';
import { clipRaw } from '../records.js';
import type { FormatReader, FormatRules, InputFile, ReadContext } from './format.js';
import { classifyColumns, jsonValue, MAPPING_OPTIONS, mappingRules, mappingSettings, rowToRecord, type FileLayout } from './column-mapping.js';

const PARQUET_NAME = /\.(parquet|pq)$/i;

export function parquetFiles(inputs: readonly InputFile[]): InputFile[] {
  const named = inputs.filter((f) => PARQUET_NAME.test(f.name));
  return named.length > 0 ? named : [...inputs];
}

export const parquet: FormatReader = {
  name: 'parquet',
  description: 'Parquet files with a column mapping (as csv): interactions and/or item files, classified by their columns',
  accepts: (name) => PARQUET_NAME.test(name),
  options: { ...MAPPING_OPTIONS },
  rules(options, inputs): FormatRules {
    const settings = mappingSettings(options);
    const layouts = parquetFiles(inputs).map((f): FileLayout | null => {
      const columns = parquetColumnsSync(f.path);
      if (!columns) return null;
      try {
        return classifyColumns(f.name, columns, settings);
      } catch {
        return null; // read() reports the bad header
      }
    });
    return mappingRules(settings, layouts);
  },
  async read(inputs: readonly InputFile[], ctx: ReadContext): Promise<void> {
    const settings = mappingSettings(ctx.options);
    const files = parquetFiles(inputs);
    if (files.length === 0) throw ppError('PP_INGEST_MISSING_INPUT', 'parquet needs at least one .parquet file');
    const db = await openDb();
    try {
      await db.run('SET preserve_insertion_order = true');
      for (const file of files) {
        const size = await assertReadableFile(file.path);
        const source = `read_parquet(${sqlString(file.path)})`;
        let header: string[];
        try {
          header = (await db.all<{ column_name: string }>(`DESCRIBE SELECT * FROM ${source}`)).map((r) => r.column_name);
        } catch (err) {
          throw ppError('PP_INPUT_UNREADABLE', `${file.name} is not a readable Parquet file: ${(err as Error).message}`, err);
        }
        const layout = classifyColumns(file.name, header, settings);
        const kind = layout.kind === 'interactions' ? 'interaction' : 'item';
        const total = Number((await db.one<{ n: number }>(`SELECT count(*) AS n FROM ${source}`))?.n ?? 0);
        const result = await db.conn.stream(`SELECT * FROM ${source}`);
        let row = 0;
        for await (const rows of result.yieldRowsJs()) {
          for (const values of rows) {
            row++;
            const src = { file: file.name, line: row };
            const out = rowToRecord(layout, values, settings, file.origin);
            if (out.kind === 'item') ctx.sink.item(out.record, src);
            else if (out.kind === 'interaction') ctx.sink.interaction(out.record, src);
            else ctx.sink.reject(kind, src, out.reason, out.detail, clipRaw(rowJson(header, values)));
          }
          ctx.onBytes(total > 0 ? Math.round((size * row) / total) : size);
        }
      }
    } finally {
      db.close();
    }
  },
};

/** A row as JSON text, for the `raw` of a reject. */
function rowJson(header: readonly string[], values: readonly unknown[]): string {
  const o: Record<string, unknown> = {};
  header.forEach((h, k) => (o[h] = jsonValue(values[k])));
  return JSON.stringify(o);
}

/**
 * The top-level column names of a Parquet file, from its footer (FileMetaData, Thrift compact protocol),
 * read synchronously. Null when the file is not Parquet or cannot be read.
 */
export function parquetColumnsSync(path: string): string[] | null {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    if (size < 12) return null;
    const tail = Buffer.alloc(8);
    readSync(fd, tail, 0, 8, size - 8);
    if (tail.toString('latin1', 4) !== 'PAR1') return null;
    const len = tail.readUInt32LE(0);
    if (len <= 0 || len > size - 12) return null;
    const meta = Buffer.alloc(len);
    readSync(fd, meta, 0, len, size - 8 - len);
    return schemaNames(meta);
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Thrift compact protocol types. */
const T = { TRUE: 1, FALSE: 2, BYTE: 3, I16: 4, I32: 5, I64: 6, DOUBLE: 7, BINARY: 8, LIST: 9, SET: 10, MAP: 11, STRUCT: 12 } as const;

class CompactReader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  byte(): number {
    if (this.pos >= this.buf.length) throw new Error('truncated footer');
    return this.buf[this.pos++];
  }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
  }
  zigzag(): number {
    const n = this.varint();
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }
  binary(): string {
    const n = this.varint();
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  listHeader(): { size: number; type: number } {
    const h = this.byte();
    const size = h >> 4 === 15 ? this.varint() : h >> 4;
    return { size, type: h & 0x0f };
  }
  /** Reads struct fields, calling `onField` for each; it returns true when it consumed the value. */
  struct(onField: (id: number, type: number) => boolean): void {
    let last = 0;
    for (;;) {
      const h = this.byte();
      const type = h & 0x0f;
      if (type === 0) return;
      const delta = h >> 4;
      const id = delta === 0 ? this.zigzag() : last + delta;
      last = id;
      if (!onField(id, type)) this.skip(type);
    }
  }
  skip(type: number): void {
    switch (type) {
      case T.TRUE:
      case T.FALSE:
        return;
      case T.BYTE:
        this.pos++;
        return;
      case T.I16:
      case T.I32:
      case T.I64:
        this.varint();
        return;
      case T.DOUBLE:
        this.pos += 8;
        return;
      case T.BINARY:
        this.pos += this.varint();
        return;
      case T.LIST:
      case T.SET: {
        const { size, type: et } = this.listHeader();
        for (let i = 0; i < size; i++) {
          if (et === T.TRUE || et === T.FALSE) this.pos++;
          else this.skip(et);
        }
        return;
      }
      case T.MAP: {
        const size = this.varint();
        if (size === 0) return;
        const kv = this.byte();
        for (let i = 0; i < size; i++) {
          this.skip(kv >> 4);
          this.skip(kv & 0x0f);
        }
        return;
      }
      case T.STRUCT:
        this.struct(() => false);
        return;
      default:
        throw new Error(`unknown thrift type ${type}`);
    }
  }
}

/** FileMetaData field 2 is list<SchemaElement>; SchemaElement has name (4) and num_children (5). */
function schemaNames(meta: Buffer): string[] | null {
  const r = new CompactReader(meta);
  const elements: Array<{ name: string; children: number }> = [];
  r.struct((id, type) => {
    if (id !== 2 || type !== T.LIST) return false;
    const { size } = r.listHeader();
    for (let i = 0; i < size; i++) {
      const el = { name: '', children: 0 };
      r.struct((fid, ftype) => {
        if (fid === 4 && ftype === T.BINARY) el.name = r.binary();
        else if (fid === 5 && ftype === T.I32) el.children = r.zigzag();
        else return false;
        return true;
      });
      elements.push(el);
    }
    return true;
  });
  if (elements.length === 0) return null;
  // elements[0] is the root; walk its direct children, skipping each child's own subtree.
  const names: string[] = [];
  let i = 1;
  const skipSubtree = (): void => {
    const el = elements[i++];
    for (let k = 0; k < (el?.children ?? 0); k++) skipSubtree();
  };
  for (let c = 0; c < elements[0].children && i < elements.length; c++) {
    names.push(elements[i].name);
    skipSubtree();
  }
  return names;
}

