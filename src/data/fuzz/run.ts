/**
 * Runs one fuzz case through the real `ingest()` in a fresh temporary folder and checks what ingest promises:
 * 1. it ends with a summary or one coded error (a PlotPointeError other than PP_INTERNAL);
 * 2. records read = staged + rejected;
 * 3. no record lost: every generated record line is staged or rejected under its own line number (in CSV,
 *    a quote never closed makes the rest of the file one malformed record, RFC 4180), and no other line is;
 * 4. lines the guard must refuse (too long, not UTF-8) are rejected with exactly that reason;
 * 5. nothing merged: two different raw ids (whitespace-trimmed bytes) never become one staged id;
 * 6. no `.tmp-` folder is left in the lake (success or failure), and the case folder is removed;
 * 7. memory bounded: resident memory sampled every 20 ms stays under `maxRssMb` above the level before.
 */
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetPaths, stagingFiles } from '../../lake/paths.js';
import { gzipSync } from 'node:zlib';
import { isPlotPointeError } from '../../errors.js';
import { openDb, sqlString } from '../../lake/duckdb.js';
import { silentProgress } from '../../core/progress.js';
import { ingest, type IngestSummary } from '../ingest.js';
import { BOMB_LINE_BYTES, FUZZ_MAX_LINE_BYTES, type FuzzCase, type FuzzFile } from './cases.js';

export interface CaseOutcome {
  format: string;
  /** 'ok', or the error code the ingest ended with. */
  result: string;
  rejectsByReason: Record<string, number>;
  /** Broken promises (empty: the case passed). */
  failures: string[];
  peakRssDeltaMb: number;
}

/** The bomb member: one line of BOMB_LINE_BYTES 'a's, gzip-compressed once (a gzip file may hold several members). */
let bombMember: Buffer | null = null;
function bomb(): Buffer {
  bombMember ??= gzipSync(Buffer.alloc(BOMB_LINE_BYTES, 0x61), { level: 9 });
  return bombMember;
}

async function writeCaseFile(dir: string, f: FuzzFile): Promise<void> {
  const path = join(dir, f.name);
  if (f.table) {
    const nd = join(dir, `${f.name}.ndjson`);
    writeFileSync(nd, f.table.rows.map((r) => JSON.stringify(Object.fromEntries(f.table!.columns.map((c, k) => [c, r[k]])))).join('\n') + '\n');
    const db = await openDb();
    try {
      const cols = f.table.columns.map((c) => `${c}:'VARCHAR'`).join(', ');
      await db.run(`COPY (SELECT * FROM read_ndjson(${sqlString(nd)}, columns={${cols}})) TO ${sqlString(path)} (FORMAT parquet)`);
    } finally {
      db.close();
    }
    rmSync(nd);
    return;
  }
  const text = (lines: Buffer[]) => Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
  if (!f.gzip) {
    writeFileSync(path, text(f.lines));
    return;
  }
  if (f.bomb === undefined) {
    writeFileSync(path, gzipSync(text(f.lines)));
    return;
  }
  // Lines before the bomb, the bomb (its line ends with the next member's first "\n"), the rest.
  const before = f.lines.slice(0, f.bomb - 1);
  const after = f.lines.slice(f.bomb - 1);
  writeFileSync(path, Buffer.concat([gzipSync(text(before)), bomb(), gzipSync(Buffer.concat([Buffer.from('\n'), text(after)]))]));
}

/** Every `.<name>.tmp-*` entry (raw, staging or work files) left anywhere in the lake. */
export function tempLeft(lake: string): string[] {
  const left: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.includes('.tmp-')) left.push(join(d, e.name));
      else if (e.isDirectory()) walk(join(d, e.name));
    }
  };
  walk(lake);
  return left;
}

/** Whitespace-trimmed raw bytes as a key. */
function idKey(raw: Buffer): string {
  let s = 0;
  let e = raw.length;
  const ws = (c: number) => c === 32 || c === 9 || c === 13 || c === 10 || c === 11 || c === 12;
  while (s < e && ws(raw[s])) s++;
  while (e > s && ws(raw[e - 1])) e--;
  return raw.subarray(s, e).toString('hex');
}

async function checkStaged(c: FuzzCase, s: IngestSummary, failures: string[]): Promise<void> {
  if (!s.reconciled || s.records.total.read !== s.records.total.staged + s.records.total.rejected) {
    failures.push(`records do not reconcile: ${JSON.stringify(s.records.total)}`);
  }
  const db = await openDb();
  try {
    const files = stagingFiles(s.paths.staging);
    const q = (file: string, cols: string) => db.all<Record<string, unknown>>(`SELECT ${cols} FROM read_parquet(${sqlString(file)})`);
    const inter = await q(files.interactions, 'src_file, src_line, user_id, item_id');
    const items = (await q(files.items, 'src_file, src_line, item_id')).filter((r) => r.src_file !== null);
    const rejects = await q(files.rejects, 'src_file, src_line, reason');
    const covered = new Map<string, Set<string>>();
    const mark = (file: unknown, line: unknown, what: string) => {
      const k = `${file}:${Number(line)}`;
      if (!covered.has(k)) covered.set(k, new Set());
      covered.get(k)!.add(what);
    };
    for (const r of inter) mark(r.src_file, r.src_line, 'staged');
    for (const r of items) mark(r.src_file, r.src_line, 'staged');
    for (const r of rejects) mark(r.src_file, r.src_line, `reject:${r.reason}`);
    const expected = new Set<string>();
    const byKey = new Map<string, FuzzFile['info'][number]>();
    for (const f of c.files) {
      f.info.forEach((info, k) => {
        const line = f.bomb !== undefined && k + 1 >= f.bomb ? k + 2 : k + 1;
        byKey.set(`${f.name}:${line}`, info);
        if (info.record && !(f.lines[k]?.length === 0)) expected.add(`${f.name}:${line}`);
      });
      if (f.bomb !== undefined) {
        expected.add(`${f.name}:${f.bomb}`);
        byKey.set(`${f.name}:${f.bomb}`, { record: true, guard: 'line_too_long' });
      }
    }
    // RFC 4180: a quote never closed makes the rest of the file one malformed record (csv, movielens CSVs).
    const swallowed = (k: string): boolean => {
      if (c.format !== 'csv' && c.format !== 'movielens') return false;
      const at = k.lastIndexOf(':');
      const file = k.slice(0, at);
      const line = Number(k.slice(at + 1));
      return rejects.some((r) => {
        if (r.src_file !== file || r.reason !== 'malformed_line' || Number(r.src_line) >= line) return false;
        return (lineText(c, `${file}:${Number(r.src_line)}`).match(/"/g)?.length ?? 0) % 2 === 1;
      });
    };
    for (const k of expected) {
      const text = lineText(c, k);
      // Blank lines are no records; a lightgcn line needs a user and an item to hold a pair.
      const none = /^\s*$/.test(text) || (c.format === 'lightgcn' && text.split(/\s+/).filter((t) => t !== '').length < 2);
      if (!covered.has(k) && !none && !swallowed(k)) failures.push(`record lost: ${k}`);
    }
    for (const [k, what] of covered) {
      const info = byKey.get(k);
      if (!info?.record) failures.push(`staged or rejected a line that is not a record: ${k} (${[...what].join(', ')})`);
      else if (info.guard && !what.has(`reject:${info.guard}`)) failures.push(`${k} should be rejected as ${info.guard}, got ${[...what].join(', ')}`);
    }
    // Nothing merged: distinct raw ids → distinct staged ids.
    for (const [col, rows] of [
      ['user', inter],
      ['item', c.format === 'lightgcn' ? [] : [...inter, ...items]],
    ] as const) {
      const raws = new Map<string, Set<string>>();
      for (const r of rows) {
        const info = byKey.get(`${r.src_file}:${Number(r.src_line)}`);
        const raw = col === 'user' ? info?.user : info?.item;
        if (!raw || c.format === 'unisrec') continue;
        const id = String(col === 'user' ? r.user_id : r.item_id);
        if (!raws.has(id)) raws.set(id, new Set());
        raws.get(id)!.add(idKey(raw));
      }
      for (const [id, set] of raws) if (set.size > 1) failures.push(`${set.size} different raw ${col} ids merged into "${id.slice(0, 40)}"`);
    }
  } finally {
    db.close();
  }
}

function lineText(c: FuzzCase, key: string): string {
  const at = key.lastIndexOf(':');
  const f = c.files.find((x) => x.name === key.slice(0, at));
  const n = Number(key.slice(at + 1));
  if (!f || f.table) return 'x';
  const k = f.bomb !== undefined && n > f.bomb ? n - 2 : n - 1;
  return f.bomb === n ? 'x' : (f.lines[k]?.toString('latin1') ?? '');
}

export async function runCase(c: FuzzCase, opts: { maxRssMb: number }): Promise<CaseOutcome> {
  const dir = mkdtempSync(join(tmpdir(), 'pp-fuzz-'));
  const failures: string[] = [];
  let result = 'ok';
  let rejectsByReason: Record<string, number> = {};
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const stderrWrite = process.stderr.write;
  try {
    const data = join(dir, 'in');
    mkdirSync(data);
    for (const f of c.files) await writeCaseFile(data, f);
    if (c.asFolder) {
      writeFileSync(join(data, 'demo-manifest.json'), '{"not": "records"}\n');
      writeFileSync(join(data, 'README.md'), 'not records\n');
    }
    const inputs = c.asFolder ? [data] : c.files.map((f) => join(data, f.name));
    const lake = join(dir, 'lake');
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      const s = await ingest({
        format: c.format,
        inputs,
        lake,
        name: 'fuzz',
        limits: { maxLineBytes: FUZZ_MAX_LINE_BYTES, maxInputBytes: 0 },
        progress: () => silentProgress,
      });
      process.stderr.write = stderrWrite;
      rejectsByReason = s.rejects_by_reason;
      await checkStaged(c, s, failures);
    } catch (err) {
      process.stderr.write = stderrWrite;
      if (!isPlotPointeError(err) || err.code === 'PP_INTERNAL') failures.push(`uncoded error: ${(err as Error).stack ?? String(err)}`.slice(0, 2000));
      result = isPlotPointeError(err) ? err.code : 'uncoded';
      if (existsSync(datasetPaths(lake, 'fuzz').staging)) failures.push('a failed ingest left staging/fuzz');
    }
    const left = tempLeft(lake);
    if (left.length > 0) failures.push(`temp folders left: ${left.join(', ')}`);
  } finally {
    process.stderr.write = stderrWrite;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    rmSync(dir, { recursive: true, force: true });
  }
  const peakRssDeltaMb = Math.round((peak - base) / 1e6);
  if (peakRssDeltaMb > opts.maxRssMb) failures.push(`memory: resident set grew ${peakRssDeltaMb} MB (bound ${opts.maxRssMb} MB)`);
  return { format: c.format, result, rejectsByReason, failures, peakRssDeltaMb };
}
