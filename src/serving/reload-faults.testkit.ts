/**
 * The serving cases of the fault-injection suite (`npm run faults`, scripts/faults.ts; the lake cases are in
 * src/lake/faults.ts): `plotpointe serve --workers 2` serves run A under load (recommendation requests and
 * POST /v1/events from 4 clients) while `plotpointe index build` publishes run B's bundle and POST
 * /v1/admin/reload switches to it; workers are SIGKILLed during the reload — at a failpoint of the worker's
 * reload (PLOTPOINTE_FAILPOINT serve.reload-prepared / serve.reload-committed in every worker, or `.worker-1`
 * in one) — and the primary replaces them. Then, per case:
 *
 *   whole      every worker answers /readyz with one (model_version, bundle_created_at): run A's bundle or run
 *              B's, never both across workers (mixed); /similar and /recommendations answer 200
 *   no loss    after a graceful stop (SIGTERM), the request log holds ≥ the recommendation responses the clients
 *              received, and the event table ≥ the 201s (acknowledged = durable)
 *   restart    a new `serve` (no failpoint) on the lake serves a whole bundle
 *   stranded   no temporary or unnamed version folder in the lake (strandedEntries), no temp file in logs/
 */
import { datasetPaths, lakePaths } from '../lake/paths.js';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { openDb } from '../lake/duckdb.js';
import { strandedEntries } from '../lake/faults.js';
import { plotpointeBin } from '../test-support/cli.js';
import { buildServeFixture, startServeProcess, type ServeFixture, type ServeProcess } from './testkit.js';

export interface ServeFaultCase {
  id: string;
  /** PLOTPOINTE_FAILPOINT of the served workers. */
  failpoint: string;
}

export interface ServeFaultResult {
  id: string;
  stage: 'serve';
  /** Workers killed (replaced by the primary). */
  killed: boolean;
  /** What the workers served after the kill: old (run A), new (run B), mixed, or missing (not answering). */
  after_kill: 'old' | 'new' | 'mixed' | 'missing';
  reload_status: number | string;
  acknowledged: { recommendations: number; events: number };
  logged: { recommendations: number; events: number };
  lost_rows: number;
  lost_events: number;
  rerun_ok: boolean;
  after_rerun: 'old' | 'new' | 'mixed' | 'missing';
  stranded: string[];
  ok: boolean;
  detail?: string;
}

export function serveCases(): ServeFaultCase[] {
  return [
    { id: 'serve@reload-prepared', failpoint: 'serve.reload-prepared' },
    { id: 'serve@reload-committed', failpoint: 'serve.reload-committed' },
    { id: 'serve@reload-committed.one-worker', failpoint: 'serve.reload-committed.worker-1' },
    { id: 'serve@reload-prepared.one-worker', failpoint: 'serve.reload-prepared.worker-1' },
  ];
}

const TOKEN = 'faults-token';
/** How long a server may take to listen: minutes when the shared machine is at load 30–40 (the default 120 s was not enough). */
const START_MS = 400_000;

/** What the workers serve: /readyz asked `n` times (connections spread over the workers). */
async function servedState(url: string, fx: ServeFixture, n = 24): Promise<{ state: ServeFaultResult['after_kill']; seen: string[] }> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    try {
      // a fresh connection each time: the cluster hands each to the next worker
      const r = await fetch(`${url}/readyz`, { headers: { connection: 'close' } });
      if (r.status !== 200) return { state: 'missing', seen: [...seen] };
      const v = ((await r.json()) as { variants: Record<string, { model_version: string; bundle_created_at: string }> }).variants.default;
      seen.add(`${v.model_version}@${v.bundle_created_at}`);
    } catch {
      return { state: 'missing', seen: [...seen] };
    }
  }
  if (seen.size !== 1) return { state: 'mixed', seen: [...seen] };
  const run = [...seen][0].split('@')[0];
  return { state: run === fx.runA ? 'old' : run === fx.runB ? 'new' : 'mixed', seen: [...seen] };
}

async function until(f: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

async function wholeAnswers(url: string, user: string, item: string): Promise<boolean> {
  for (let i = 0; i < 8; i++) {
    const a = await fetch(`${url}/v1/users/${encodeURIComponent(user)}/recommendations?k=5`, { headers: { connection: 'close' } }).catch(() => null);
    const b = await fetch(`${url}/v1/items/${encodeURIComponent(item)}/similar?k=5`, { headers: { connection: 'close' } }).catch(() => null);
    if (a?.status !== 200 || b?.status !== 200) return false;
    await a.arrayBuffer();
    await b.arrayBuffer();
  }
  return true;
}

/** Files under logs/ that are not the store itself (its .wal is transient but named): temporaries left behind. */
function logTemps(lake: string): string[] {
  const dir = lakePaths(lake).logs;
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => !/^serving\.duckdb(\.wal)?$/.test(f)).map((f) => relative(lake, join(dir, f)));
}

async function runServeCase(template: ServeFixture, work: string, c: ServeFaultCase): Promise<ServeFaultResult> {
  const lake = join(work, c.id.replace(/[^A-Za-z0-9.-]+/g, '_'));
  rmSync(lake, { recursive: true, force: true });
  cpSync(template.lake, lake, { recursive: true, verbatimSymlinks: true });
  const fx: ServeFixture = { ...template, lake };
  const res: ServeFaultResult = {
    id: c.id, stage: 'serve', killed: false, after_kill: 'missing', reload_status: 0, acknowledged: { recommendations: 0, events: 0 }, logged: { recommendations: 0, events: 0 },
    lost_rows: 0, lost_events: 0, rerun_ok: false, after_rerun: 'missing', stranded: [], ok: false,
  };
  const lakeArgs = ['--lake', lake, '--name', fx.name];
  const { users, items } = idsOf(fx);
  let server: ServeProcess | null = await startServeProcess([...lakeArgs, '--run', fx.runA, '--workers', '2'], { PLOTPOINTE_ADMIN_TOKEN: TOKEN, PLOTPOINTE_FAILPOINT: c.failpoint }, START_MS);
  try {
    const url = server.listening.listening;
    let stop = false;
    const load = Promise.all(
      Array.from({ length: 4 }, async (_, k) => {
        for (let i = 0; !stop; i++) {
          try {
            if (i % 5 === 4) {
              const r = await fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'click', user_id: users[(k * 7 + i) % users.length], item_id: items[i % items.length] }) });
              await r.arrayBuffer();
              if (r.status === 201) res.acknowledged.events++;
            } else {
              const r = await fetch(`${url}/v1/users/${encodeURIComponent(users[(k * 13 + i) % users.length])}/recommendations?k=5`);
              await r.arrayBuffer();
              if (r.status === 200) res.acknowledged.recommendations++;
            }
          } catch {
            // a connection cut by the kill: not acknowledged
          }
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 300));
    // A new index published while requests run, then the reload that switches to it.
    const built = spawnSync(process.execPath, [plotpointeBin, 'index', 'build', ...lakeArgs, '--run', fx.runB, '--connectivity', '12', '--json', '--quiet'], { encoding: 'utf8', env: { ...process.env, PLOTPOINTE_FAILPOINT: '' } });
    if (built.status !== 0) throw new Error(`index build failed: ${built.stderr.slice(-500)}`);
    const pidsBefore = server.stderr();
    const reload = await fetch(`${url}/v1/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ run_id: fx.runB }) }).catch((e: Error) => e);
    res.reload_status = reload instanceof Error ? reload.message : reload.status;
    // Replacements up: the primary says so on stderr.
    res.killed = await until(async () => /replacement worker \d+ is serving/.test(server!.stderr().slice(pidsBefore.length)), 300_000); // a loaded machine starts a worker in minutes
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await load;
    const served = await servedState(url, fx);
    res.after_kill = served.state;
    if (served.state === 'mixed') res.detail = `workers serve ${served.seen.join(' and ')}`;
    if (!(await wholeAnswers(url, users[0], items[0]))) res.detail = `${res.detail ?? ''} not every request answered 200 after the kill`.trim();
    const stopped = await server.stop();
    server = null;
    if (stopped.code !== 0) res.detail = `${res.detail ?? ''} the server exited ${stopped.code} at SIGTERM`.trim();
  } finally {
    if (server) await server.stop();
  }
  const db = await openDb({ path: lakePaths(lake).servingLog });
  try {
    const [row] = await db.all<{ n: bigint; e: bigint }>("SELECT (SELECT count(*) FROM requests WHERE route = '/v1/users/:userId/recommendations' AND status = 200) AS n, (SELECT count(*) FROM events) AS e");
    res.logged = { recommendations: Number(row.n), events: Number(row.e) };
  } finally {
    db.close();
  }
  res.lost_rows = Math.max(0, res.acknowledged.recommendations - res.logged.recommendations);
  res.lost_events = Math.max(0, res.acknowledged.events - res.logged.events);
  // Restart: a fresh server serves a whole bundle (the run the lake's reload left: A, or B once committed).
  const again = await startServeProcess([...lakeArgs, '--run', fx.runB, '--workers', '2'], { PLOTPOINTE_ADMIN_TOKEN: TOKEN }, START_MS);
  try {
    const url = again.listening.listening;
    res.rerun_ok = await wholeAnswers(url, users[0], items[0]);
    res.after_rerun = (await servedState(url, fx, 8)).state;
  } finally {
    await again.stop();
  }
  res.stranded = [...strandedEntries(lake).map((p) => p.slice(lake.length + 1)), ...logTemps(lake)];
  res.ok = res.killed && (res.after_kill === 'old' || res.after_kill === 'new') && !res.detail && res.lost_rows === 0 && res.lost_events === 0 && res.rerun_ok && res.after_rerun === 'new' && res.stranded.length === 0;
  if (res.ok) rmSync(lake, { recursive: true, force: true });
  return res;
}

function idsOf(fx: ServeFixture): { users: string[]; items: string[] } {
  const dir = datasetPaths(fx.lake, fx.name).run(fx.runA).serving;
  return { users: JSON.parse(readFileSync(join(dir, 'user_ids.json'), 'utf8')) as string[], items: JSON.parse(readFileSync(join(dir, 'item_ids.json'), 'utf8')) as string[] };
}

/** Runs the serving cases in `work` (the template lake is built once: a demo dataset, two trained runs with bundles). */
export async function runServeFaults(cases: ServeFaultCase[], work: string, onResult?: (r: ServeFaultResult) => void): Promise<ServeFaultResult[]> {
  if (cases.length === 0) return [];
  const template = await buildServeFixture('pp-faults-serve');
  const results: ServeFaultResult[] = [];
  try {
    for (const c of cases) {
      let r: ServeFaultResult;
      try {
        r = await runServeCase(template, work, c);
      } catch (err) {
        r = {
          id: c.id, stage: 'serve', killed: false, after_kill: 'missing', reload_status: 0, acknowledged: { recommendations: 0, events: 0 }, logged: { recommendations: 0, events: 0 },
          lost_rows: 0, lost_events: 0, rerun_ok: false, after_rerun: 'missing', stranded: [], ok: false, detail: String(err),
        };
      }
      results.push(r);
      onResult?.(r);
    }
  } finally {
    rmSync(template.dir, { recursive: true, force: true });
  }
  return results;
}
