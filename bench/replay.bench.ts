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
 * Latency (bench/replay-latency.ts): afterwards, recommendations of random users at a fixed rate (`--rate` req/s,
 * autocannon `overallRate`, `--connections`, `--seconds`, after `--warmup` s per arm), four arms alternating in
 * each of `--rounds` rounds: the replayed users (every one has events by then) and as many users without events,
 * each with feedback=false (the model alone) and with live feedback. Per arm: client p50/p99 (autocannon), the
 * server's own time per request (request-log latency_ms, rows found by x-request-id), the server's CPU ms per
 * request (its process tree, /proc); added = median over rounds of (with − without). `--pin` binds the server
 * (primary and workers) to CPU 1 and this process, the load generator, to CPU 0 (taskset), so that the generator
 * does not take the server's core; a 2-core machine then serves from one core (use a lower --rate).
 *
 * `--latency-only`: no quality replay — the sampled users' whole plans are posted as purchase events (the state
 * the replay leaves), then the in-process cost and the latency section, with α = `--blend` (default: the
 * serving default, serve.feedback.blend). With `--keep DIR` holding a prepared run, that is ~1–2 minutes.
 *
 *   npm run bench:replay -- [--datasets demo,scientific] [--model lightgcn] [--budget-min 3] [--workers 2]
 *       [--blends 0,0.1,0.25,0.5,0.75,1] [--concurrency 8] [--rate 3000] [--connections 32] [--seconds 10]
 *       [--rounds 3] [--warmup 2] [--pin] [--users N] [--keep DIR] [--latency-only [--blend 0.25]]
 *
 * --users N replays a seeded sample of N users (default: all); --keep DIR reuses the trained runs there
 * (DIR/<dataset>/prepared.json; a fresh DIR is prepared, i.e. trained, first).
 *
 * Prints a table per dataset and one JSON line (`{"bench":"replay",…}`) last. If the process would end without
 * it (an awaited promise that nothing can settle), it prints `error bench:replay: …` and exits 1 (replay-guard.ts).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
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
import { childPids, startServeProcess } from '../src/serving/testkit.js';
import { treeCpuSeconds } from './proc-cpu.js';
import { loadServedModel } from '../src/serving/context.js';
import { recommendLive } from '../src/serving/feedback/recommend.js';
import { DEFAULT_FEEDBACK_SETTINGS } from '../src/serving/feedback/settings.js';
import { FeedbackStore } from '../src/serving/feedback/store.js';
import { liveProfile } from '../src/serving/feedback/profile.js';
import { pinTree } from './pin.js';
import { added, K, latencyTable, measureLatency, median, type LatencyArm } from './replay-latency.js';
import { guardMain } from './replay-guard.js';

const arg = (name: string, fallback: string): string => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
};

const here = fileURLToPath(new URL('.', import.meta.url));
const SHARED = resolve(here, '..', '..', 'shared', 'datasets', 'amazon-scientific');

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

/** Posts step s as a purchase event (201 once it is stored and on every worker). */
async function postPurchase(base: string, s: Step): Promise<void> {
  const ev = await fetch(`${base}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'purchase', user_id: s.user, item_id: s.item }) });
  if (ev.status !== 201) throw new Error(`event: ${ev.status} ${await ev.text()}`);
}

/** --latency-only: every step of every plan posted as a purchase, users concurrently, each user's steps in order. */
async function postPlans(base: string, plans: Step[][], concurrency: number): Promise<{ events: number; seconds: number }> {
  let next = 0;
  let events = 0;
  const t0 = performance.now();
  const worker = async () => {
    for (let plan = plans[next++]; plan; plan = plans[next++])
      for (const s of plan) {
        await postPurchase(base, s);
        events++;
      }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { events, seconds: (performance.now() - t0) / 1000 };
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
        await postPurchase(base, s);
        events++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { scores, events, requests, seconds: (performance.now() - t0) / 1000 };
}

const f4 = (x: number) => x.toFixed(4);

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

const guard = guardMain('bench:replay');

async function main(): Promise<void> {
  const datasets = arg('datasets', 'demo,scientific').split(',').filter(Boolean);
  const model = arg('model', 'lightgcn');
  const budgetMin = Number(arg('budget-min', '3'));
  const workers = arg('workers', '2');
  const latencyOnly = process.argv.includes('--latency-only');
  const blends = latencyOnly ? [Number(arg('blend', String(DEFAULT_FEEDBACK_SETTINGS.blend)))] : arg('blends', '0,0.1,0.25,0.5,0.75,1').split(',').map(Number);
  const concurrency = Number(arg('concurrency', '8'));
  const rate = Number(arg('rate', '3000'));
  const rounds = Math.max(1, Number(arg('rounds', '3')));
  const seconds = Number(arg('seconds', '10'));
  const warmupSeconds = Number(arg('warmup', '2'));
  const connections = Number(arg('connections', '32'));
  const pin = process.argv.includes('--pin');
  const root = arg('keep', '') || mkdtempSync(join(tmpdir(), 'pp-bench-replay-'));
  const arms = ['off', ...blends.map(String)];
  const started = new Date().toISOString();
  const load0 = loadavg();
  console.log(`bench:replay ${started} on ${cpus().length} cores (${cpus()[0]?.model}); load average ${load0.map((x) => x.toFixed(2)).join(' ')} — the machine is shared: latency figures are upper bounds`);
  const results: Record<string, unknown>[] = [];
  for (const ds of datasets) {
    guard.step(`${ds}: prepare`);
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
    guard.step(`${ds}: starting plotpointe serve`);
    // the server-side figures come from one SQL query over every logged request of the rounds (tens of thousands
    // of rows at 3,000 req/s): give it more than the interactive 5-s limit
    const serveConfig = join(mkdtempSync(join(tmpdir(), 'pp-replay-serve-')), 'serve.json');
    writeFileSync(serveConfig, JSON.stringify({ analytics: { query_timeout_ms: 120_000 } }));
    const server = await startServeProcess(['--lake', p.lake, '--name', p.name, '--run', p.run, '--workers', workers, '--log-level', 'warn', '--config', serveConfig], { PLOTPOINTE_ADMIN_TOKEN: token });
    // Should this process end abnormally, the server must not outlive it; should the server end first, say so now.
    guard.onAbort(() => server.child.kill('SIGTERM'));
    let stopping = false;
    server.child.once('exit', (code, signal) => {
      if (!stopping) console.error(`bench:replay: plotpointe serve exited (${code ?? signal}) before the bench stopped it; its stderr ends: ${server.stderr().slice(-2000)}`);
    });
    try {
      const base = server.listening.listening;
      const pid = server.child.pid!;
      const cpu0 = treeCpuSeconds(pid);
      let best = blends[0];
      let quality: Record<string, unknown> = {};
      if (latencyOnly) {
        guard.step(`${ds}: posting the users' events`);
        const posted = await postPlans(base, plans, concurrency);
        console.log(`\n${ds}: --latency-only, ${plans.length} of ${all.length} users, ${posted.events} events posted in ${posted.seconds.toFixed(1)} s (server CPU ${(treeCpuSeconds(pid) - cpu0).toFixed(1)} s); α ${best}`);
        quality = { events_posted: posted.events };
      } else {
        guard.step(`${ds}: quality replay`);
        const r = await replay(base, plans, arms, concurrency);
        const replayCpu = treeCpuSeconds(pid) - cpu0;
        const m = (part: string, a: string) => {
          const s = r.scores[part][a];
          return { recall20: s.hits / Math.max(1, s.steps), ndcg20: s.ndcg / Math.max(1, s.steps), steps: s.steps };
        };
        for (const b of blends) if (m('valid', String(b)).ndcg20 > m('valid', String(best)).ndcg20) best = b;
        console.log(`\n${ds}: ${plans.length} of ${all.length} users, ${r.events} events, ${r.requests} requests in ${r.seconds.toFixed(1)} s (server CPU ${replayCpu.toFixed(1)} s)`);
        console.log('| arm | valid Recall@20 | valid NDCG@20 | test Recall@20 | test NDCG@20 |');
        console.log('|---|---|---|---|---|');
        for (const a of arms) {
          const v = m('valid', a);
          const t = m('test', a);
          console.log(`| ${a === 'off' ? 'without live feedback' : `α = ${a}`}${a === String(best) ? ' (chosen on valid)' : ''} | ${f4(v.recall20)} | ${f4(v.ndcg20)} | ${f4(t.recall20)} | ${f4(t.ndcg20)} |`);
        }
        quality = {
          metrics: Object.fromEntries(arms.map((a) => [a, { valid: m('valid', a), test: m('test', a) }])),
          replay: { events: r.events, requests: r.requests, seconds: r.seconds, server_cpu_s: replayCpu },
        };
      }
      guard.step(`${ds}: in-process cost`);
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
      const latencyArms: LatencyArm[] = [
        { name: 'off', label: 'model alone, users with events', users, query: 'feedback=false' },
        { name: 'on', label: `live feedback (α ${best}), users with events`, users, query: `blend=${best}` },
        ...(fresh.length > 0
          ? [
              { name: 'offnone', label: 'model alone, users without events', users: fresh, query: 'feedback=false' },
              { name: 'onnone', label: `live feedback (α ${best}), users without events`, users: fresh, query: `blend=${best}` },
            ]
          : []),
      ];
      let pinned = '';
      if (pin) {
        // This process (the load generator) on CPU 0, then the server (primary and workers) on CPU 1. In this
        // order: the server is a child of this process, so pinning this process's tree last (as before) put
        // the server on CPU 0 as well, beside the load generator.
        pinTree(process.pid, '0');
        pinTree(pid, '1');
        const allowed = (p: number) => /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? '?';
        pinned = `load generator on CPU ${allowed(process.pid)}, server on CPU ${[pid, ...childPids(pid)].map(allowed).join('/')} (primary/workers)`;
      }
      const cpuBench0 = process.cpuUsage();
      const lat = await measureLatency({ base, pid, token, arms: latencyArms, rate, seconds, rounds, connections, warmupSeconds, onStep: (s) => guard.step(`${ds}: ${s}`) });
      const benchCpu = process.cpuUsage(cpuBench0);
      const addedLatency = { with_events: added(lat, 'on', 'off'), ...(fresh.length > 0 ? { without_events: added(lat, 'onnone', 'offnone') } : {}) };
      console.log(
        `\nlatency at ${rate} req/s asked, ${rounds} alternating rounds of ${seconds} s per arm (autocannon, ${connections} connections${pin ? `; ${pinned}` : '; server and load generator share the cores'}; medians over rounds; load average now ${lat.load_average.map((x) => x.toFixed(2)).join(' ')}; the load generator used ${((benchCpu.user + benchCpu.system) / 1e6).toFixed(1)} CPU-s):`,
      );
      for (const line of latencyTable(lat, latencyArms, Object.entries(addedLatency).map(([who, a]) => ({ label: `users ${who.replace('_', ' ')} (median of on − off)`, added: a })))) console.log(line);
      results.push({
        dataset: ds,
        run: p.run,
        model,
        users: plans.length,
        latency_only: latencyOnly,
        chosen_blend: best,
        ...quality,
        latency: { rate, connections, pinned: pin ? pinned : false, seconds, warmup_seconds: warmupSeconds, rounds, load_generator_cpu_s: (benchCpu.user + benchCpu.system) / 1e6, arms: lat.arms, per_round: lat.rounds, server_side: lat.server_side, added: addedLatency },
        in_process_cpu_us: cost,
        load_average: lat.load_average,
      });
    } finally {
      guard.step(`${ds}: stopping plotpointe serve`);
      stopping = true;
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
  .finally(() => {
    guard.settled();
    return shutdownPool();
  });
