import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPublishedName, TEMP_RE, VERSION_RE } from './atomic.js';

/**
 * The fault-injection suite behind `npm run faults` (scripts/faults.ts; a short run in faults.test.ts): each case
 * builds a lake holding an OLD version, runs a command that would publish a NEW one and SIGKILLs it — at a named
 * failpoint (PLOTPOINTE_FAILPOINT, src/core/failpoint.ts) or, for `pipeline run`, while a given step runs — then checks
 * the lake holds the old version or the new one, whole (raw and staging of one ingest; a split's files match its
 * manifest; a serving bundle has every file its manifest names), that no step process outlived its runner, and,
 * after a rerun without the fault, that the new version is published and nothing is stranded (no temporary, no
 * version folder that no pointer names).
 */

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(repoRoot, 'bin', 'plotpointe.mjs');

export type FaultStage = 'ingest' | 'split' | 'index' | 'pipeline';

export interface FaultCase {
  id: string;
  stage: FaultStage;
  /** PLOTPOINTE_FAILPOINT of the faulted command. */
  failpoint?: string;
  /** pipeline: SIGKILL the runner once this step's process runs (its command line holds `data <step>`), + 300 ms. */
  killDuring?: string;
}

export interface FaultResult {
  id: string;
  stage: FaultStage;
  /** The faulted command died by SIGKILL (false: it finished or failed otherwise — noted, not a failure). */
  killed: boolean;
  /** What the lake held right after the kill. */
  after_kill: 'old' | 'new' | 'mixed' | 'missing';
  /** Step processes still alive 5 s after their runner was killed. */
  orphans: number;
  rerun_ok: boolean;
  after_rerun: 'old' | 'new' | 'mixed' | 'missing';
  stranded: string[];
  ok: boolean;
  detail?: string;
}

export interface FaultTally {
  cases: number;
  passed: number;
  failed: number;
  killed: number;
  mixed_states: number;
  missing_states: number;
  stranded_entries: number;
  orphan_processes: number;
}

export const FAILPOINT_CASES: Record<Exclude<FaultStage, 'pipeline'>, string[]> = {
  ingest: ['ingest.after-gather', 'ingest.after-parse', 'ingest.before-swap', 'publish.before-rename', 'publish.before-swap', 'publish.after-swap', 'ingest.before-links'],
  split: ['publish.before-rename', 'publish.before-swap', 'publish.after-swap'],
  index: ['publish.before-rename', 'publish.before-swap', 'publish.after-swap'],
};

/** Every case of the full suite. */
export function allCases(): FaultCase[] {
  const cases: FaultCase[] = [];
  for (const [stage, fps] of Object.entries(FAILPOINT_CASES)) for (const fp of fps) cases.push({ id: `${stage}@${fp}`, stage: stage as FaultStage, failpoint: fp });
  for (const step of ['demo', 'ingest', 'split']) cases.push({ id: `pipeline@kill-during-${step}`, stage: 'pipeline', killDuring: step });
  cases.push({ id: 'pipeline@ingest.before-swap', stage: 'pipeline', failpoint: 'ingest.before-swap' });
  return cases;
}

interface Ran {
  code: number | null;
  signal: string | null;
  json: Record<string, unknown> | null;
  stderr: string;
  pid: number;
}

function cli(args: string[], o: { env?: Record<string, string>; killWhen?: () => boolean } = {}): Promise<Ran> {
  const env = { ...process.env, ...o.env };
  if (!o.env?.PLOTPOINTE_FAILPOINT) delete env.PLOTPOINTE_FAILPOINT;
  const child = spawn(process.execPath, [BIN, ...args, '--json', '--quiet'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += String(b)));
  child.stderr.on('data', (b: Buffer) => (err = (err + String(b)).slice(-4000)));
  const timer = !o.killWhen
    ? null
    : setInterval(() => {
        if (!o.killWhen!()) return;
        clearInterval(timer!);
        setTimeout(() => child.kill('SIGKILL'), 300);
      }, 50);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      if (timer) clearInterval(timer);
      let json: Record<string, unknown> | null = null;
      try {
        json = JSON.parse(out.trimEnd().split('\n').pop() ?? '') as Record<string, unknown>;
      } catch {
        json = null;
      }
      resolve({ code, signal, json, stderr: err, pid: child.pid ?? 0 });
    });
  });
}

async function must(args: string[]): Promise<Record<string, unknown>> {
  const r = await cli(args);
  if (r.code !== 0 || !r.json) throw new Error(`plotpointe ${args.join(' ')} failed (${r.code ?? r.signal}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return r.json;
}


/** Temporaries and version folders no pointer names, anywhere under `root` (symlinks not followed). */
export function strandedEntries(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (TEMP_RE.test(e.name)) {
        out.push(p);
        continue;
      }
      const v = VERSION_RE.exec(e.name);
      if (v) {
        let target: string | null = null;
        try {
          target = readlinkSync(join(dir, v[1]!));
        } catch {
          target = null;
        }
        if (target !== e.name) {
          out.push(p);
          continue;
        }
      }
      if (e.isDirectory()) walk(p);
    }
  };
  if (existsSync(root)) walk(root);
  return out;
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

/** Which ingest the dataset holds: the inputs' sha256 of raw and of staging must agree (one version), and name A or B. */
function datasetState(lake: string, name: string, sigs: { old: string; new: string }): FaultResult['after_kill'] {
  let raw: string;
  let staged: string;
  try {
    const sig = (m: Record<string, unknown>) => (m.inputs as { sha256: string }[]).map((i) => i.sha256).sort().join(',');
    raw = sig(readJson(join(lake, 'raw', name, 'manifest.json')));
    const sm = readJson(join(lake, 'staging', name, 'manifest.json'));
    staged = sig(sm);
    for (const f of Object.values(sm.files as Record<string, string>)) if (!existsSync(join(lake, 'staging', name, f))) return 'mixed';
  } catch {
    return 'missing';
  }
  if (raw !== staged) return 'mixed';
  return raw === sigs.old ? 'old' : raw === sigs.new ? 'new' : 'mixed';
}

/** A split is whole when its parts match the sha256 in its manifest; old/new by its seed. */
function splitState(dir: string, seeds: { old: number; new: number }): FaultResult['after_kill'] {
  let m: Record<string, unknown>;
  try {
    m = readJson(join(dir, 'manifest.json'));
    for (const [file, f] of Object.entries(m.files as Record<string, { sha256?: string }>)) {
      if (!existsSync(join(dir, file))) return 'mixed';
      if (f.sha256 && sha(join(dir, file)) !== f.sha256) return 'mixed';
    }
  } catch {
    return 'missing';
  }
  return m.seed === seeds.old ? 'old' : m.seed === seeds.new ? 'new' : 'mixed';
}

/** A serving bundle is whole when every file is present and its manifest names the build (by connectivity). */
function bundleState(dir: string, conn: { old: number; new: number }): FaultResult['after_kill'] {
  let m: Record<string, unknown>;
  try {
    m = readJson(join(dir, 'manifest.json'));
    const names = readdirSync(dir).filter(isPublishedName);
    for (const f of ['users.f32', 'items.f32', 'user_ids.json', 'item_ids.json', 'items.json', 'history.indptr.i32', 'history.indices.i32']) {
      if (!names.includes(f)) return 'mixed';
    }
  } catch {
    return 'missing';
  }
  const c = (m.index as { connectivity?: number } | undefined)?.connectivity ?? (m.ann as { connectivity?: number } | undefined)?.connectivity;
  const text = JSON.stringify(m);
  if (c === conn.old || text.includes(`"connectivity":${conn.old}`)) return 'old';
  if (c === conn.new || text.includes(`"connectivity":${conn.new}`)) return 'new';
  return 'mixed';
}

/** Live processes whose command line names `needle` (a lake path): a step that outlived its runner. */
function processesNaming(needle: string, also?: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes(needle) && (also === undefined || cmd.includes(also))) pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function orphansAfter(needle: string, ms: number): Promise<number[]> {
  const until = performance.now() + ms;
  let left = processesNaming(needle);
  while (left.length && performance.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    left = processesNaming(needle);
  }
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  return left;
}

interface Fixture {
  work: string;
  srcA: string[];
  srcB: string[];
  /** Template lakes per stage, copied for each case. */
  templates: Partial<Record<FaultStage, string>>;
  sigs?: { old: string; new: string };
  runId?: string;
}

const NAME = 'faults';
const SPLIT = 'default';
const lakeArgs = (lake: string) => ['--lake', lake, '--name', NAME];
const inputSig = (lake: string) =>
  (readJson(join(lake, 'raw', NAME, 'manifest.json')).inputs as { sha256: string }[]).map((i) => i.sha256).sort().join(',');

async function demoInputs(out: string, seed: number): Promise<string[]> {
  const r = await must(['data', 'demo', '--out', out, '--seed', String(seed), '--users', '40', '--items', '30', '--catalog-items', '30', '--no-images']);
  const files = r.files as { meta: string; reviews: string };
  return [files.meta, files.reviews];
}

const ingestArgs = (lake: string, inputs: string[]) => ['data', 'ingest', '--format', 'amazon2018', '--input', ...inputs, ...lakeArgs(lake)];
const splitArgs = (lake: string, seed: number) => ['data', 'split', ...lakeArgs(lake), '--split', SPLIT, '--strategy', 'ratio', '--seed', String(seed)];
const indexArgs = (lake: string, run: string, connectivity: number) => ['index', 'build', ...lakeArgs(lake), '--run', run, '--connectivity', String(connectivity), '--similar-k', '0'];

async function template(fx: Fixture, stage: FaultStage): Promise<string> {
  const have = fx.templates[stage];
  if (have) return have;
  const lake = join(fx.work, `template-${stage}`);
  rmSync(lake, { recursive: true, force: true });
  if (stage === 'pipeline') {
    mkdirSync(lake, { recursive: true });
  } else {
    await must(ingestArgs(lake, fx.srcA));
    if (!fx.sigs) {
      const probe = join(fx.work, 'probe-new');
      await must(ingestArgs(probe, fx.srcB));
      fx.sigs = { old: inputSig(lake), new: inputSig(probe) };
      rmSync(probe, { recursive: true, force: true });
    }
    if (stage !== 'ingest') await must(splitArgs(lake, 1));
    if (stage === 'index') {
      const t = await must(['train', ...lakeArgs(lake), '--split', SPLIT, '--model', 'mf', '--param', 'epochs=2', 'dim=8']);
      fx.runId = String(t.run_id);
      await must(indexArgs(lake, fx.runId, 8));
    }
  }
  fx.templates[stage] = lake;
  return lake;
}

const PIPELINE_CONFIG = (lake: string) => [
  `lake:\n  dir: ${lake}`,
  `dataset:\n  name: ${NAME}`,
  'pipeline:\n  source: demo\n  jobs: 1\n  io_jobs: 1',
  'demo:\n  users: 40\n  items: 30\n  catalog_items: 30\n  images: false',
  'split:\n  strategy: ratio\n  seed: 2',
].join('\n') + '\n';

async function runCase(fx: Fixture, c: FaultCase): Promise<FaultResult> {
  const lake = join(fx.work, c.id.replace(/[^A-Za-z0-9.-]+/g, '_'));
  rmSync(lake, { recursive: true, force: true });
  cpSync(await template(fx, c.stage), lake, { recursive: true, verbatimSymlinks: true });
  const env = c.failpoint ? { PLOTPOINTE_FAILPOINT: c.failpoint } : undefined;
  const res: FaultResult = { id: c.id, stage: c.stage, killed: false, after_kill: 'missing', orphans: 0, rerun_ok: false, after_rerun: 'missing', stranded: [], ok: false };
  let state: () => FaultResult['after_kill'];
  let rerun: string[];
  let faulted: Ran;
  switch (c.stage) {
    case 'ingest':
      state = () => datasetState(lake, NAME, fx.sigs!);
      rerun = ingestArgs(lake, fx.srcB);
      faulted = await cli(rerun, { env });
      break;
    case 'split':
      state = () => splitState(join(lake, 'staging', NAME, 'splits', SPLIT), { old: 1, new: 2 });
      rerun = splitArgs(lake, 2);
      faulted = await cli(rerun, { env });
      break;
    case 'index':
      state = () => bundleState(join(lake, 'artifacts', NAME, fx.runId!, 'serving'), { old: 8, new: 12 });
      rerun = indexArgs(lake, fx.runId!, 12);
      faulted = await cli(rerun, { env });
      break;
    case 'pipeline': {
      const { writeFileSync } = await import('node:fs');
      const config = join(lake, 'pipeline-faults.yaml');
      writeFileSync(config, PIPELINE_CONFIG(lake));
      // Old = nothing published yet (a first run); new = the split of seed 2 over the demo ingest.
      state = () => {
        const d = existsSync(join(lake, 'datasets', NAME)) || existsSync(join(lake, 'staging', NAME)) ? 'ds' : 'none';
        if (d === 'none') return 'old';
        const s = splitState(join(lake, 'staging', NAME, 'splits', SPLIT), { old: -1, new: 2 });
        const m = existsSync(join(lake, 'staging', NAME, 'manifest.json')) && existsSync(join(lake, 'raw', NAME, 'manifest.json'));
        if (!m) return 'mixed';
        return s === 'missing' ? 'old' : s; // ingested, not split yet: the split is still at its old (absent) version
      };
      rerun = ['pipeline', 'run', '--config', config, '--only', 'split'];
      const step = c.killDuring;
      faulted = await cli(rerun, { env, killWhen: step ? () => processesNaming(lake, `data\0${step}\0`).length > 0 : undefined });
      break;
    }
  }
  res.killed = faulted.signal === 'SIGKILL' || (c.stage === 'pipeline' && faulted.code !== 0);
  res.orphans = (await orphansAfter(lake, 5000)).length;
  res.after_kill = state();
  const again = await cli(rerun);
  res.rerun_ok = again.code === 0;
  if (!res.rerun_ok) res.detail = again.stderr.trim().split('\n').slice(-2).join(' | ');
  res.after_rerun = state();
  res.stranded = strandedEntries(lake).map((p) => p.slice(lake.length + 1));
  res.ok = (res.after_kill === 'old' || res.after_kill === 'new') && res.orphans === 0 && res.rerun_ok && res.after_rerun === 'new' && res.stranded.length === 0;
  if (res.ok) rmSync(lake, { recursive: true, force: true });
  return res;
}

/** Runs the cases in `work` (a scratch folder), reporting each result as it comes. */
export async function runFaults(cases: FaultCase[], work: string, onResult?: (r: FaultResult) => void): Promise<{ results: FaultResult[]; tally: FaultTally }> {
  mkdirSync(work, { recursive: true });
  const fx: Fixture = { work, srcA: await demoInputs(join(work, 'src-a'), 1), srcB: await demoInputs(join(work, 'src-b'), 2), templates: {} };
  const results: FaultResult[] = [];
  for (const c of cases) {
    let r: FaultResult;
    try {
      r = await runCase(fx, c);
    } catch (err) {
      r = { id: c.id, stage: c.stage, killed: false, after_kill: 'missing', orphans: 0, rerun_ok: false, after_rerun: 'missing', stranded: [], ok: false, detail: String(err) };
    }
    results.push(r);
    onResult?.(r);
  }
  const tally: FaultTally = {
    cases: results.length,
    passed: results.filter((r) => r.ok).length,
    failed: results.filter((r) => !r.ok).length,
    killed: results.filter((r) => r.killed).length,
    mixed_states: results.filter((r) => r.after_kill === 'mixed' || r.after_rerun === 'mixed').length,
    missing_states: results.filter((r) => r.after_kill === 'missing' || r.after_rerun === 'missing').length,
    stranded_entries: results.reduce((s, r) => s + r.stranded.length, 0),
    orphan_processes: results.reduce((s, r) => s + r.orphans, 0),
  };
  return { results, tally };
}
