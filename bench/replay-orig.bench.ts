/**
 * `npm run bench:replay`: live feedback measured through the real `plotpointe serve` (issue 17).
 *
 * Per dataset (the demo catalog; ../shared/datasets/amazon-scientific ingested as unisrec, its given
 * leave-one-out split): train a model on the split's train part (valid selects the epoch), build its serving
 * bundle with the train part as the users' history (`historyParts: 'train'`: valid/test are the future), start
 * `plotpointe serve`, then replay per user, in time order:
 *
 *   context  the user's last train interaction, posted as a purchase event (what the user did just before)
 *   valid    each valid interaction (u, i): ask for u's top 20 once per arm, score where i ranks, then post it
 *   test     the same for the test interactions (the valid ones are now the user's recent events)
 *
 * Arms (one request each per step, same server state): `off` = feedback=false (the model alone, the list a
 * server without live feedback gives) and `α=x` = live feedback with blend x (α 0 = consumed items excluded, no
 * fold-in). Next-item Recall@20 = share of steps whose item is in the top 20; NDCG@20 = mean 1/log2(rank + 1)
 * (0 outside). The default blend is chosen on valid (best NDCG@20); test is reported for it. Users run
 * concurrently (`--concurrency`), each user's steps in order.
 *
 * Latency: afterwards, recommendations of random users at a fixed rate (`--rate` req/s, autocannon `overallRate`,
 * `--connections`, `--seconds`), four arms alternating in each of `--rounds` rounds: the replayed users (every one
 * has events by then) and as many users without events, each with feedback=false (the model alone) and with live
 * feedback. Per arm: client p50/p99 (autocannon), the server's own time per request (request-log latency_ms,
 * from the request's arrival in Fastify to its response; rows found by their x-request-id through POST
 * /v1/analytics/query) and the server's CPU ms per request (its process tree, /proc); added = median over rounds
 * of (with − without). `--pin` binds the server (primary and workers) to CPU 1 and this process, the load
 * generator, to CPU 0 (taskset), so that the generator does not take the server's core; a 2-core machine then
 * serves from one core (~2,500 req/s at most: use a lower --rate).
 *
 *   npm run bench:replay -- [--datasets demo,scientific] [--model lightgcn] [--budget-min 3] [--workers 2]
 *       [--blends 0,0.1,0.25,0.5,0.75,1] [--concurrency 8] [--rate 3000] [--connections 32] [--seconds 10] [--rounds 3]
 *       [--pin] [--users N] [--keep DIR]
 *
 * --users N replays a seeded sample of N users (default: all); --keep DIR reuses the trained runs there.
 *
 * Prints a table per dataset and one JSON line (`{"bench":"replay",…}`) last.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { silentProgress } from '../src/core/progress.js';
import { loadConfig } from '../src/config/load.js';
import { runSplit, splitOptionsFromConfig } from '../src/data/split/run-split.js';
import { shutdownPool } from '../src/core/index.js';
import { generateDemo } from '../src/data/demo/generate.js';
import { ingest } from '../src/data/ingest.js';
import { loadSplit, type PartCsr } from '../src/graphs/split-data.js';
import { buildServingBundle } from '../src/index/build-serving.js';
import { datasetPaths, lakePaths } from '../src/lake/paths.js';
import { runTraining } from '../src/orchestration/run-training.js';
import { startServeProcess } from '../src/serving/testkit.js';
import { treeCpuSeconds } from './proc-cpu.js';
import { loadServedModel } from '../src/serving/context.js';
import { recommendLive } from '../src/serving/feedback/recommend.js';
import { DEFAULT_FEEDBACK_SETTINGS } from '../src/serving/feedback/settings.js';
import { FeedbackStore } from '../src/serving/feedback/store.js';
import { liveProfile } from '../src/serving/feedback/profile.js';
import { pinTree } from './pin.js';

const arg = (name: string, fallback: string): string => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
};

const here = fileURLToPath(new URL('.', import.meta.url));
const SHARED = resolve(here, '..', '..', 'shared', 'datasets', 'amazon-scientific');
const K = 20;

interface Prepared {
  lake: string;
  name: string;
  run: string;
  split: string;
  train_seconds: number;
  valid_ndcg20_offline: number;
}

/** Builds (or reuses, with --keep) the lake, the trained run and its train-history bundle of one dataset. */
async function prepare(dataset: string, root: string, model: string, budgetMin: number): Promise<Prepared> {
  const dir = join(root, dataset);
  const marker = join(dir, 'prepared.json');
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, 'utf8')) as Prepared;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const lake = join(dir, 'lake');
  const progress = () => silentProgress;
  let name: string;
  let config;
  if (dataset === 'demo') {
    name = 'demo';
    config = loadConfig({ overrides: { 'lake.dir': lake } });
    const demo = await generateDemo({ out: join(dir, 'demo'), seed: config['demo.seed'], users: config['demo.users'], items: config['demo.items'], catalogItems: config['demo.catalog_items'], images: false, format: 'amazon2018' });
    await ingest({ format: 'amazon2018', inputs: [demo.files.meta, demo.files.reviews], lake, name, progress });
  } else if (dataset === 'scientific') {
    if (!existsSync(SHARED)) throw new Error(`${SHARED} is absent: the scientific replay needs ../shared`);
    name = 'scientific';
    config = loadConfig({ overrides: { 'lake.dir': lake, 'split.strategy': 'given' } });
    await ingest({ format: 'unisrec', inputs: [SHARED], lake, name, progress });
  } else {
    throw new Error(`unknown dataset ${dataset} (demo, scientific)`);
  }
  const split = config['split.name'];
  await runSplit(lake, name, split, splitOptionsFromConfig(config));
  const t0 = performance.now();
  const run = await runTraining({ lake, name, split, model, seed: 42, budgetMinutes: budgetMin, ks: [20] });
  const train_seconds = (performance.now() - t0) / 1000;
  await buildServingBundle({ lake, name, runId: run.run_id, threads: 2, historyParts: 'train' });
  const p: Prepared = { lake, name, run: run.run_id, split, train_seconds, valid_ndcg20_offline: run.valid['ndcg@20'] };
  writeFileSync(marker, JSON.stringify(p));
  return p;
}

interface Step {
  user: string;
  item: string;
  part: 'context' | 'valid' | 'test';
}

/** Rows of u in a part, in time order (ts, then the split's order). */
function rowsOf(part: PartCsr, u: number): number[] {
  const rows: number[] = [];
  for (let e = part.indptr[u]; e < part.indptr[u + 1]; e++) rows.push(e);
  return rows.sort((a, b) => (Number.isNaN(part.ts[a]) || Number.isNaN(part.ts[b]) ? a - b : part.ts[a] - part.ts[b] || a - b));
}

/** Per user (with valid or test interactions): context, valid…, test… steps. */
async function replayPlan(p: Prepared): Promise<Step[][]> {
  const data = await loadSplit(datasetPaths(p.lake, p.name).split(p.split));
  const bundle = datasetPaths(p.lake, p.name).run(p.run).serving;
  const userIds = JSON.parse(readFileSync(join(bundle, 'user_ids.json'), 'utf8')) as string[];
  const itemIds = JSON.parse(readFileSync(join(bundle, 'item_ids.json'), 'utf8')) as string[];
  const plans: Step[][] = [];
  for (let u = 0; u < data.numUsers; u++) {
    const valid = rowsOf(data.valid, u);
    const test = rowsOf(data.test, u);
    if (valid.length + test.length === 0) continue;
    const train = rowsOf(data.train, u);
    const steps: Step[] = [];
    if (train.length > 0) steps.push({ user: userIds[u], item: itemIds[data.train.indices[train[train.length - 1]]], part: 'context' });
    for (const e of valid) steps.push({ user: userIds[u], item: itemIds[data.valid.indices[e]], part: 'valid' });
    for (const e of test) steps.push({ user: userIds[u], item: itemIds[data.test.indices[e]], part: 'test' });
    plans.push(steps);
  }
  return plans;
}

interface ArmScore {
  steps: number;
  hits: number;
  ndcg: number;
}

async function getJson(url: string): Promise<{ items: { item_id: string }[] }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await fetch(url);
      if (r.status !== 200) throw new Error(`${url}: ${r.status} ${await r.text()}`);
      return (await r.json()) as { items: { item_id: string }[] };
    } catch (err) {
      if (attempt >= 2) throw err;
    }
  }
}

async function replay(base: string, plans: Step[][], arms: string[], concurrency: number): Promise<{ scores: Record<string, Record<string, ArmScore>>; events: number; requests: number; seconds: number }> {
  const scores: Record<string, Record<string, ArmScore>> = { valid: {}, test: {} };
  for (const part of ['valid', 'test']) for (const a of arms) scores[part][a] = { steps: 0, hits: 0, ndcg: 0 };
  let next = 0;
  let events = 0;
  let requests = 0;
  const t0 = performance.now();
  const worker = async () => {
    for (;;) {
      const plan = plans[next++];
      if (!plan) return;
      for (const s of plan) {
        if (s.part !== 'context') {
          await Promise.all(
            arms.map(async (a) => {
              const q = a === 'off' ? 'feedback=false' : `blend=${a}`;
              const r = await getJson(`${base}/v1/users/${encodeURIComponent(s.user)}/recommendations?k=${K}&explain=false&${q}`);
              requests++;
              const rank = r.items.findIndex((it) => it.item_id === s.item);
              const sc = scores[s.part][a];
              sc.steps++;
              if (rank >= 0) {
                sc.hits++;
                sc.ndcg += 1 / Math.log2(rank + 2);
              }
            }),
          );
        }
        const ev = await fetch(`${base}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'purchase', user_id: s.user, item_id: s.item }) });
        if (ev.status !== 201) throw new Error(`event: ${ev.status} ${await ev.text()}`);
        events++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { scores, events, requests, seconds: (performance.now() - t0) / 1000 };
}

interface Load {
  requests: number;
  req_per_s: number;
  /** client side (autocannon: from sending the request to the last byte of the response) */
  p50_ms: number;
  p99_ms: number;
  non2xx: number;
  errors: number;
  server_cpu_ms_per_req: number;
  /** 1-minute load average at the end of the load */
  load1: number;
}

/** The server's own time per request (request log latency_ms: from the request's arrival in Fastify to its response). */
interface ServerSide {
  n: number;
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
}

const quantile = (sorted: Float64Array, q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);

/**
 * A fixed-rate load of random users' recommendations (autocannon overallRate). Each request carries the
 * x-request-id `<tag>-<n>`, so that its row in the server's request log can be found afterwards (serverSide).
 */
function load(base: string, serverPid: number, users: string[], query: string, rate: number, seconds: number, connections: number, tag: string): Promise<Load> {
  return new Promise((resolveLoad, reject) => {
    const lat: number[] = [];
    const cpu0 = treeCpuSeconds(serverPid);
    const t0 = performance.now();
    let n = 0;
    const instance = autocannon(
      {
        url: base,
        connections,
        pipelining: 1,
        duration: seconds,
        overallRate: rate,
        timeout: 10,
        requests: [
          {
            method: 'GET',
            setupRequest: (req: Record<string, unknown>) => ({
              ...req,
              headers: { ...(req.headers as Record<string, string> | undefined), 'x-request-id': `${tag}-${n++}` },
              path: `/v1/users/${encodeURIComponent(users[Math.floor(Math.random() * users.length)])}/recommendations?k=${K}&${query}`,
            }),
          },
        ],
      },
      (err: Error | null, result: autocannon.Result) => {
        if (err) return reject(err);
        const wall = (performance.now() - t0) / 1000;
        const cpu = treeCpuSeconds(serverPid) - cpu0;
        const sorted = Float64Array.from(lat).sort();
        resolveLoad({ requests: lat.length, req_per_s: lat.length / wall, p50_ms: quantile(sorted, 0.5), p99_ms: quantile(sorted, 0.99), non2xx: result.non2xx, errors: result.errors, server_cpu_ms_per_req: (cpu * 1000) / Math.max(1, lat.length), load1: loadavg()[0] });
      },
    );
    instance.on('response', (_c: unknown, _s: number, _b: number, ms: number) => lat.push(ms));
  });
}

/** Server-side time per `<tag>` (request ids `<tag>-<n>`, tags without '-'), read from the request log through POST /v1/analytics/query. */
async function serverSide(base: string, token: string, prefix: string): Promise<Map<string, ServerSide>> {
  const sql =
    `SELECT regexp_extract(request_id, '^(.*)-[0-9]+$', 1) AS tag, count(*) AS n, quantile_disc(latency_ms, 0.5) AS p50, ` +
    `quantile_disc(latency_ms, 0.99) AS p99, avg(latency_ms) AS mean FROM requests WHERE starts_with(request_id, '${prefix}') GROUP BY ALL`;
  const r = await fetch(`${base}/v1/analytics/query`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ sql }) });
  if (r.status !== 200) throw new Error(`analytics query: ${r.status} ${await r.text()}`);
  const rows = ((await r.json()) as { rows: { tag: string; n: number; p50: number; p99: number; mean: number }[] }).rows;
  return new Map(rows.map((x) => [x.tag, { n: Number(x.n), p50_ms: Number(x.p50), p99_ms: Number(x.p99), mean_ms: Number(x.mean) }]));
}

const f4 = (x: number) => x.toFixed(4);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * The added cost of live feedback inside one process, free of HTTP and of the other processes' noise: CPU µs per
 * recommendation (k 20, explanations on) of the model alone vs with each user's replayed events (their whole
 * plan as purchases), the same users in turn; the two alternate in `rounds` passes and each figure is the median
 * over passes. `first_us`: computing a key's profile (its first request after an event; profile.ts liveProfile).
 * `no_events_us`: what the route adds for a user without events (the feedback store's lookup of a key it lacks).
 */
async function inProcessCost(p: Prepared, plans: Step[][], blend: number, rounds = 7): Promise<{ model_us: number; live_us: number; added_us: number; first_us: number; no_events_us: number; requests: number }> {
  const model = await loadServedModel(p.lake, p.name, p.run, 200);
  const settings = { ...DEFAULT_FEEDBACK_SETTINGS, blend };
  const store = new FeedbackStore({ maxKeys: 1e6, maxEvents: settings.maxEvents, maxConsumed: settings.maxConsumed, consumeTypes: new Set(settings.consumeTypes) });
  const now = Date.now();
  plans.forEach((pl, n) => pl.forEach((s, j) => store.add({ event_id: `${n}-${j}`, key: `u:${s.user}`, item_id: s.item, type: 'purchase', ts: now - 1000 * (pl.length - j), value: null })));
  const users = plans.map((pl) => model.userIndex.get(pl[0].user)!);
  const pass = (f: (u: number, id: string) => void): number => {
    const c0 = process.cpuUsage();
    for (let x = 0; x < users.length; x++) f(users[x], plans[x][0].user);
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / users.length;
  };
  const plain = (u: number) => {
    const h = model.history(u);
    model.recommend(model.userVector(u), K, h, { history: h, attentionFrom: model.bundle.history.indptr[u] });
  };
  const live = (u: number, id: string) =>
    recommendLive(model, { learned: model.userVector(u), known: model.history(u), attentionFrom: model.bundle.history.indptr[u], entry: store.get(`u:${id}`)!, settings, k: K, excludeSeen: true, explain: true, now: Date.now(), unknown: id });
  const first = (_u: number, id: string) => liveProfile(model, store.get(`u:${id}`)!, settings, Date.now());
  const lookup = (_u: number, id: string) => store.get(`u:${id}-none`);
  pass(plain);
  pass(live); // warm-up
  const t: Record<'plain' | 'live' | 'first' | 'lookup', number[]> = { plain: [], live: [], first: [], lookup: [] };
  for (let r = 0; r < rounds; r++) {
    t.plain.push(pass(plain));
    t.live.push(pass(live));
    t.first.push(pass(first));
    t.lookup.push(pass(lookup));
  }
  const model_us = median(t.plain);
  const live_us = median(t.live);
  return { model_us, live_us, added_us: median(t.live.map((l, r) => l - t.plain[r])), first_us: median(t.first), no_events_us: median(t.lookup), requests: rounds * users.length };
}

async function main(): Promise<void> {
  const datasets = arg('datasets', 'demo,scientific').split(',').filter(Boolean);
  const model = arg('model', 'lightgcn');
  const budgetMin = Number(arg('budget-min', '3'));
  const workers = arg('workers', '2');
  const blends = arg('blends', '0,0.1,0.25,0.5,0.75,1').split(',').map(Number);
  const concurrency = Number(arg('concurrency', '8'));
  const rate = Number(arg('rate', '3000'));
  const rounds = Math.max(1, Number(arg('rounds', '3')));
  const seconds = Number(arg('seconds', '10'));
  const connections = Number(arg('connections', '32'));
  const pin = process.argv.includes('--pin');
  const root = arg('keep', '') || mkdtempSync(join(tmpdir(), 'pp-bench-replay-'));
  const arms = ['off', ...blends.map(String)];
  const started = new Date().toISOString();
  const load0 = loadavg();
  console.log(`bench:replay ${started} on ${cpus().length} cores (${cpus()[0]?.model}); load average ${load0.map((x) => x.toFixed(2)).join(' ')} — the machine is shared: latency figures are upper bounds`);
  const results: Record<string, unknown>[] = [];
  for (const ds of datasets) {
    const cpuPrep0 = process.cpuUsage();
    const p = await prepare(ds, root, model, budgetMin);
    const prepCpu = process.cpuUsage(cpuPrep0);
    console.log(`${ds}: run ${p.run} (${model}, trained ${p.train_seconds.toFixed(0)} s, offline valid NDCG@20 ${f4(p.valid_ndcg20_offline)}; prepare CPU ${((prepCpu.user + prepCpu.system) / 1e6).toFixed(0)} s)`);
    const all = await replayPlan(p);
    // --users N: a seeded sample of N users (all by default), each replayed whole.
    const wanted = Number(arg('users', '0'));
    let seed = 42;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const plans = wanted > 0 && wanted < all.length ? all.map((pl) => ({ pl, r: rand() })).sort((a, b) => a.r - b.r).slice(0, wanted).map((x) => x.pl) : all;
    rmSync(lakePaths(p.lake).logs, { recursive: true, force: true });
    const token = randomUUID();
    const server = await startServeProcess(['--lake', p.lake, '--name', p.name, '--run', p.run, '--workers', workers, '--log-level', 'warn'], { PLOTPOINTE_ADMIN_TOKEN: token });
    try {
      const base = server.listening.listening;
      const pid = server.child.pid!;
      const cpu0 = treeCpuSeconds(pid);
      const r = await replay(base, plans, arms, concurrency);
      const replayCpu = treeCpuSeconds(pid) - cpu0;
      const m = (part: string, a: string) => {
        const s = r.scores[part][a];
        return { recall20: s.hits / Math.max(1, s.steps), ndcg20: s.ndcg / Math.max(1, s.steps), steps: s.steps };
      };
      let best = blends[0];
      for (const b of blends) if (m('valid', String(b)).ndcg20 > m('valid', String(best)).ndcg20) best = b;
      console.log(`\n${ds}: ${plans.length} of ${all.length} users, ${r.events} events, ${r.requests} requests in ${r.seconds.toFixed(1)} s (server CPU ${replayCpu.toFixed(1)} s)`);
      console.log('| arm | valid Recall@20 | valid NDCG@20 | test Recall@20 | test NDCG@20 |');
      console.log('|---|---|---|---|---|');
      for (const a of arms) {
        const v = m('valid', a);
        const t = m('test', a);
        console.log(`| ${a === 'off' ? 'without live feedback' : `α = ${a}`}${a === String(best) ? ' (chosen on valid)' : ''} | ${f4(v.recall20)} | ${f4(v.ndcg20)} | ${f4(t.recall20)} | ${f4(t.ndcg20)} |`);
      }
      const cost = await inProcessCost(p, plans, best);
      console.log(`\nin-process CPU per recommendation (k 20, explanations; ${cost.requests} requests): model alone ${cost.model_us.toFixed(1)} µs, with live feedback ${cost.live_us.toFixed(1)} µs, added ${cost.added_us.toFixed(1)} µs`);
      console.log(`first request after an event (the profile computed): ${cost.first_us.toFixed(1)} µs; a user without events: ${cost.no_events_us.toFixed(2)} µs (the store lookup)`);
      const users = [...new Set(plans.map((pl) => pl[0].user))];
      const replayed = new Set(users);
      const bundleUsers = JSON.parse(readFileSync(join(datasetPaths(p.lake, p.name).run(p.run).serving, 'user_ids.json'), 'utf8')) as string[];
      const fresh = bundleUsers.filter((u) => !replayed.has(u)).slice(0, users.length);
      // Four arms, alternating within each round so that a drift of the machine's load falls on all of them: the
      // replayed users (every one has events by now) and users without events, each with feedback=false (the model
      // alone: what a server without live feedback serves) and with live feedback.
      const latencyArms = [
        { name: 'off', label: 'model alone, users with events', users, q: 'feedback=false' },
        { name: 'on', label: `live feedback (α ${best}), users with events`, users, q: `blend=${best}` },
        ...(fresh.length > 0
          ? [
              { name: 'offnone', label: 'model alone, users without events', users: fresh, q: 'feedback=false' },
              { name: 'onnone', label: `live feedback (α ${best}), users without events`, users: fresh, q: `blend=${best}` },
            ]
          : []),
      ];
      if (pin) {
        // The server (primary and workers) on CPU 1, this process (the load generator) on CPU 0.
        pinTree(pid, '1');
        pinTree(process.pid, '0');
      }
      for (const a of latencyArms) await load(base, pid, a.users, a.q, rate, 2, connections, 'warm'); // warm-up
      const perRound: Record<string, Load[]> = Object.fromEntries(latencyArms.map((a) => [a.name, []]));
      for (let round = 0; round < rounds; round++) for (const a of latencyArms) perRound[a.name].push(await load(base, pid, a.users, a.q, rate, seconds, connections, `lat${a.name}r${round}`));
      const side = await serverSide(base, token, 'lat');
      const sideOf = (a: string, round: number) => side.get(`lat${a}r${round}`) ?? { n: 0, p50_ms: NaN, p99_ms: NaN, mean_ms: NaN };
      const la = loadavg();
      console.log(
        `\nlatency at ${rate} req/s, ${rounds} alternating rounds of ${seconds} s per arm (autocannon, ${connections} connections${pin ? '; server pinned to CPU 1, load generator to CPU 0' : '; server and load generator share the cores'}; medians over rounds; load average now ${la.map((x) => x.toFixed(2)).join(' ')}):`,
      );
      console.log('| arm | req/s | client p50 ms | client p99 ms | server p50 ms | server p99 ms | server mean ms | server CPU ms/req | load avg (1 min) | non-2xx |');
      console.log('|---|---|---|---|---|---|---|---|---|---|');
      const arms2: Record<string, Record<string, number>> = {};
      for (const a of latencyArms) {
        const ls = perRound[a.name];
        const ss = ls.map((_, r) => sideOf(a.name, r));
        const m = (f: (l: Load) => number) => median(ls.map(f));
        const ms = (f: (x: ServerSide) => number) => median(ss.map(f));
        arms2[a.name] = {
          req_per_s: m((l) => l.req_per_s),
          p50_ms: m((l) => l.p50_ms),
          p99_ms: m((l) => l.p99_ms),
          server_p50_ms: ms((x) => x.p50_ms),
          server_p99_ms: ms((x) => x.p99_ms),
          server_mean_ms: ms((x) => x.mean_ms),
          server_cpu_ms_per_req: m((l) => l.server_cpu_ms_per_req),
          load1: m((l) => l.load1),
          non2xx: m((l) => l.non2xx + l.errors),
        };
        const x = arms2[a.name];
        console.log(
          `| ${a.label} | ${x.req_per_s.toFixed(0)} | ${x.p50_ms.toFixed(2)} | ${x.p99_ms.toFixed(2)} | ${x.server_p50_ms.toFixed(3)} | ${x.server_p99_ms.toFixed(3)} | ${x.server_mean_ms.toFixed(3)} | ${x.server_cpu_ms_per_req.toFixed(3)} | ${x.load1.toFixed(1)} | ${x.non2xx} |`,
        );
      }
      /** Median over rounds of (with − without) of each figure. */
      const added = (on: string, off: string) => {
        const d = (f: (l: Load) => number) => median(perRound[on].map((w, r) => f(w) - f(perRound[off][r])));
        const ds = (f: (x: ServerSide) => number) => median(perRound[on].map((_, r) => f(sideOf(on, r)) - f(sideOf(off, r))));
        return {
          p50_ms: d((l) => l.p50_ms),
          p99_ms: d((l) => l.p99_ms),
          server_p50_ms: ds((x) => x.p50_ms),
          server_p99_ms: ds((x) => x.p99_ms),
          server_mean_ms: ds((x) => x.mean_ms),
          server_cpu_ms_per_req: d((l) => l.server_cpu_ms_per_req),
        };
      };
      const addedLatency = { with_events: added('on', 'off'), ...(fresh.length > 0 ? { without_events: added('onnone', 'offnone') } : {}) };
      for (const [who, a] of Object.entries(addedLatency))
        console.log(
          `added, users ${who.replace('_', ' ')} (median over rounds of with − without): client p50 ${a.p50_ms.toFixed(2)} ms, p99 ${a.p99_ms.toFixed(2)} ms; server p50 ${a.server_p50_ms.toFixed(3)} ms, p99 ${a.server_p99_ms.toFixed(3)} ms, mean ${a.server_mean_ms.toFixed(3)} ms; server CPU ${a.server_cpu_ms_per_req.toFixed(3)} ms/req`,
        );
      results.push({
        dataset: ds,
        run: p.run,
        model,
        users: plans.length,
        chosen_blend: best,
        metrics: Object.fromEntries(arms.map((a) => [a, { valid: m('valid', a), test: m('test', a) }])),
        replay: { events: r.events, requests: r.requests, seconds: r.seconds, server_cpu_s: replayCpu },
        latency: { rate, connections, pinned: pin, seconds, arms: arms2, rounds: perRound, server_side: Object.fromEntries(side), added: addedLatency },
        in_process_cpu_us: cost,
        load_average: la,
      });
    } finally {
      await server.stop();
    }
  }
  console.log(JSON.stringify({ bench: 'replay', started, load_before: load0, load_after: loadavg(), workers: Number(workers), results }));
}

await main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => shutdownPool());
