import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEMP_RE, VERSION_RE, writeFileAtomically } from '../lake/atomic.js';
import { sha256File, sha256Of } from '../lake/hash.js';
import { lakePaths } from '../lake/paths.js';
import type { ArtifactRef } from './dag.js';

/**
 * The content-addressed step cache and the run journal.
 *
 *   key(step) = sha256(step id, its config slice, sha256 of every input path's content, code version)
 *
 * A finished step writes `<lake>/pipeline/cache/<step>/<key>.json` (atomically) with the sha256 of each
 * output. A later run with the same key skips the step when every output still hashes to what was recorded
 * (a deleted or edited output makes the step run again). File hashes are memoised by (size, mtime, inode)
 * in `<lake>/pipeline/hash-cache.json`, so re-checking large artifacts costs a stat per file.
 */

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** One hashed path: a file's sha256, a folder's sha256 over its sorted (relative path, file sha256) lines, or "absent". */
export interface PathHash {
  path: string;
  sha256: string;
  bytes: number;
  files: number;
  /** Entries of a folder left out of its hash (relative prefixes). */
  exclude?: string[];
}

/** What a finished step leaves in the cache. */
export interface CacheRecord {
  step: string;
  key: string;
  outputs: PathHash[];
  /** The step command's JSON result (last stdout line). */
  result: Record<string, unknown>;
  usage: StepUsage;
  finished_at: string;
}

/** Measured cost of one step process (children's own process.resourceUsage()). */
export interface StepUsage {
  wall_s: number;
  cpu_s: number;
  peak_rss_mb: number;
}

/**
 * The code version in cache keys: sha256 over package-lock.json and every non-test source file under src/
 * (a hash of the code that runs, so an uncommitted edit invalidates too). `PLOTPOINTE_PIPELINE_CODE_VERSION`
 * overrides it (tests in a tree other people edit meanwhile pin it).
 */
export function pipelineCodeVersion(): string {
  const pinned = process.env.PLOTPOINTE_PIPELINE_CODE_VERSION;
  if (pinned) return pinned;
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|mjs|js|json)$/.test(e.name) && !/\.test\.ts$/.test(e.name)) files.push(p);
    }
  };
  walk(join(repoRoot, 'src'));
  files.sort();
  const h = createHash('sha256');
  for (const f of [join(repoRoot, 'package-lock.json'), ...files]) {
    if (!existsSync(f)) continue;
    h.update(relative(repoRoot, f) + '\0');
    h.update(readFileSync(f));
  }
  return h.digest('hex').slice(0, 16);
}

interface StatEntry {
  size: number;
  mtimeMs: number;
  ino: number;
  sha256: string;
}

/** Files of a folder stat'ed / hashed at once by {@link FileHasher.ref}. */
const HASH_CONCURRENCY = 16;

/** sha256 of files memoised by (size, mtime, inode); `save()` persists the memo. */
export class FileHasher {
  private memo: Record<string, StatEntry> = {};
  private dirty = false;

  constructor(private readonly memoPath: string | null) {
    if (memoPath && existsSync(memoPath)) {
      try {
        this.memo = JSON.parse(readFileSync(memoPath, 'utf8')) as Record<string, StatEntry>;
      } catch {
        this.memo = {};
      }
    }
  }

  async file(path: string): Promise<{ sha256: string; bytes: number }> {
    const st = await stat(path);
    const m = this.memo[path];
    if (m && m.size === st.size && m.mtimeMs === st.mtimeMs && m.ino === st.ino) return { sha256: m.sha256, bytes: st.size };
    const sha256 = await sha256File(path);
    this.memo[path] = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, sha256 };
    this.dirty = true;
    return { sha256, bytes: st.size };
  }

  /** Hashes a lake-relative path (file or folder, `exclude` prefixes dropped); "absent" when it does not exist. */
  async ref(lake: string, ref: ArtifactRef): Promise<PathHash> {
    const abs = join(lake, ref.path);
    let st;
    try {
      st = await stat(abs);
    } catch {
      return { path: ref.path, sha256: 'absent', bytes: 0, files: 0 };
    }
    if (!st.isDirectory()) {
      const f = await this.file(abs);
      return { path: ref.path, sha256: f.sha256, bytes: f.bytes, files: 1 };
    }
    const files = (await listFiles(abs)).filter((rel) => !isExcluded(rel, ref.exclude));
    // Files are stat'ed (and hashed when new) HASH_CONCURRENCY at a time — a folder of thousands of small files
    // (the demo's product images) is otherwise one file-system round trip after another — and folded in order.
    const hashes = new Array<{ sha256: string; bytes: number }>(files.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < files.length; i = next++) hashes[i] = await this.file(join(abs, files[i]));
    };
    await Promise.all(Array.from({ length: Math.min(HASH_CONCURRENCY, files.length) }, worker));
    const h = createHash('sha256');
    let bytes = 0;
    files.forEach((rel, i) => {
      bytes += hashes[i].bytes;
      h.update(`${rel}\0${hashes[i].sha256}\n`);
    });
    return { path: ref.path, sha256: h.digest('hex'), bytes, files: files.length, ...(ref.exclude?.length ? { exclude: [...ref.exclude] } : {}) };
  }

  async save(): Promise<void> {
    if (!this.memoPath || !this.dirty) return;
    // Drop entries whose files are gone, so the memo does not grow without bound.
    for (const p of Object.keys(this.memo)) if (!existsSync(p)) delete this.memo[p];
    await writeFileAtomically(this.memoPath, JSON.stringify(this.memo));
    this.dirty = false;
  }
}

/**
 * Files under `dir`, relative with '/' separators, sorted; temporary siblings (`.x.tmp-…`) and version folders
 * (`.x@…`) are skipped, and a published name (a symlink to its version, src/lake/atomic.ts) is listed under that
 * name, so `exclude` works on published names.
 */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (TEMP_RE.test(e.name) || VERSION_RE.test(e.name) || e.name.includes('.tmp-')) continue;
      const p = join(d, e.name);
      const target = e.isSymbolicLink() ? await stat(p).catch(() => null) : null;
      if (e.isDirectory() || target?.isDirectory()) await walk(p);
      else if (e.isFile() || target?.isFile()) out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  await walk(dir);
  return out.sort();
}

/** Whether `rel` (a path inside a folder ref) is one of its `exclude` prefixes or under one. */
export function isExcluded(rel: string, exclude: readonly string[] = []): boolean {
  return exclude.some((x) => rel === x || rel.startsWith(x + '/'));
}

/** The cache key of a step (see the file comment). */
export function stepKey(step: string, configSlice: Record<string, unknown>, inputs: PathHash[], codeVersion: string): string {
  return sha256Of({ step, config: configSlice, inputs: inputs.map((i) => [i.path, i.sha256]), code: codeVersion }).slice(0, 24);
}


export async function readCacheRecord(lake: string, step: string, key: string): Promise<CacheRecord | null> {
  try {
    return JSON.parse(await readFile(lakePaths(lake).pipeline.record(step, key), 'utf8')) as CacheRecord;
  } catch {
    return null;
  }
}

export async function writeCacheRecord(lake: string, record: CacheRecord): Promise<void> {
  await writeFileAtomically(lakePaths(lake).pipeline.record(record.step, record.key), JSON.stringify(record, null, 1) + '\n');
}

/** True when every recorded output still hashes to what the step wrote. */
export async function outputsIntact(lake: string, record: CacheRecord, hasher: FileHasher, refs: ArtifactRef[]): Promise<boolean> {
  if (refs.length !== record.outputs.length) return false;
  for (const ref of refs) {
    const want = record.outputs.find((o) => o.path === ref.path);
    if (!want) return false;
    const got = await hasher.ref(lake, ref);
    if (got.sha256 === 'absent' || got.sha256 !== want.sha256) return false;
  }
  return true;
}

/** One line of `<lake>/pipeline/<run>/journal.jsonl`. */
export type JournalEvent =
  | { event: 'run-start'; run: string; resumed: boolean; steps: string[]; executor: string; jobs: number; pid: number }
  | { event: 'step-start'; step: string; key: string; threads?: number; attempt?: number; shards?: number }
  | { event: 'step-cached'; step: string; key: string; from: 'cache' | 'journal' }
  | { event: 'step-done'; step: string; key: string; usage: StepUsage }
  | { event: 'step-failed'; step: string; key: string; error: string }
  | { event: 'run-interrupted'; signal: string }
  | { event: 'run-end'; status: 'ok' | 'failed'; seconds: number };

/** Append-only journal: one JSON object per line, written synchronously so a crash loses at most the line being written. */
export class Journal {
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  append(e: JournalEvent): void {
    appendFileSync(this.path, JSON.stringify({ ts: new Date().toISOString(), ...e }) + '\n');
  }

  static read(path: string): Array<JournalEvent & { ts: string }> {
    if (!existsSync(path)) return [];
    const out: Array<JournalEvent & { ts: string }> = [];
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        // A torn last line after a crash: ignore it.
      }
    }
    return out;
  }
}

/**
 * The run to resume: the newest run folder whose journal has no run-end (it crashed or was interrupted).
 * Returns null when every run ended.
 */
export function unfinishedRun(lake: string): string | null {
  const dir = lakePaths(lake).pipeline.dir;
  if (!existsSync(dir)) return null;
  const runs = readdirSync(dir)
    .filter((d) => /^\d{8}-\d{6}/.test(d) && statSync(join(dir, d)).isDirectory())
    .sort();
  const last = runs[runs.length - 1];
  if (!last) return null;
  const events = Journal.read(lakePaths(lake).pipeline.run(last).journal);
  return events.some((e) => e.event === 'run-end') ? null : last;
}
