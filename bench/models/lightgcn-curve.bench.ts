/**
 * LightGCN's learning curve on a split with a validation part (Gowalla: the official split with 10 % of
 * train carved for valid): every `--eval-every` epochs one full-ranking pass gives valid NDCG@20 / Recall@20
 * (train masked; what selection sees) and test Recall@20 / NDCG@20 (train ∪ valid masked; reported, never
 * used to select), with the process's CPU-seconds (process.cpuUsage: main thread and the kernel pool's
 * worker threads) and the load average beside wall time — the machine may be shared.
 *
 *   node --import tsx bench/models/lightgcn-curve.bench.ts --lake L --name gowalla --split official \
 *     [--param batch=65536 lr=0.02 positives=user …] [--eval-every 25] [--epochs 1000] [--minutes 30] \
 *     [--cpu-minutes M] [--seed 42] [--out curve.jsonl]
 *
 * One JSON line per evaluation (also appended to --out); the last stdout line is the summary: the epoch with
 * the best valid NDCG@20 (selection as `plotpointe train` does it) and its test metrics, CPU-seconds and wall
 * seconds to reach it. On a split without a validation part (e.g. all of train.txt, `--valid-share 0`) it
 * records the test curve only, a diagnostic of what the carved validation share costs: nothing is selected.
 * Training stops at --epochs, the wall budget, the CPU budget, or after --patience
 * evaluations without a better valid NDCG@20.
 */
import { appendFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { loadSplit } from '../../src/graphs/split-data.js';
import { datasetPaths } from '../../src/lake/paths.js';
import { lightGcnSpec, LightGcnModel } from '../../src/models/lightgcn.js';
import { bprConfig } from '../../src/models/mf.js';
import { resolveParams } from '../../src/models/registry.js';
import { evaluateRecommenderParts } from '../../src/eval/evaluate-model.js';
import { shutdownPool } from '../../src/core/pool.js';

function arg(name: string, fallback?: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

function params(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const at = process.argv.indexOf('--param');
  if (at < 0) return out;
  for (let k = at + 1; k < process.argv.length && !process.argv[k].startsWith('--'); k++) {
    const [key, raw] = process.argv[k].split('=');
    out[key] = raw === 'true' ? true : raw === 'false' ? false : Number.isNaN(Number(raw)) ? raw : Number(raw);
  }
  return out;
}

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function main(): Promise<void> {
  const lake = arg('lake');
  const name = arg('name', 'gowalla')!;
  const split = arg('split', 'official')!;
  if (!lake) throw new Error('--lake is required');
  const evalEvery = Number(arg('eval-every', '25'));
  const maxEpochs = Number(arg('epochs', '1000'));
  const wallBudget = Number(arg('minutes', '30')) * 60;
  const cpuBudget = Number(arg('cpu-minutes', 'Infinity')) * 60;
  const patience = Number(arg('patience', '4'));
  const seed = Number(arg('seed', '42'));
  const out = arg('out');
  const data = await loadSplit(datasetPaths(lake, name).split(split));
  const hasValid = data.valid.indices.length > 0;
  const p = resolveParams(lightGcnSpec, params());
  const model = new LightGcnModel(data, bprConfig(p), seed, p, p.layers as number, p.rating_weighted as boolean);
  const emit = (row: Record<string, unknown>) => {
    const line = JSON.stringify(row);
    console.log(line);
    if (out) appendFileSync(out, line + '\n');
  };
  emit({ kind: 'config', lake, name, split, params: p, seed, evalEvery, maxEpochs, wallBudget, cpuBudget, users: data.numUsers, items: data.numItems, load: loadavg() });
  const t0 = performance.now();
  const c0 = cpuSeconds();
  let best: Record<string, number> | null = null;
  let bad = 0;
  let trainCpu = 0;
  for (let epoch = 1; epoch <= maxEpochs; epoch++) {
    const e0 = cpuSeconds();
    const loss = model.trainEpoch(epoch);
    trainCpu += cpuSeconds() - e0;
    const wall = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds() - c0;
    const last = epoch === maxEpochs || wall >= wallBudget || cpu >= cpuBudget;
    if (epoch % evalEvery !== 0 && !last) continue;
    const v0 = cpuSeconds();
    const [valid, test] = hasValid
      ? await evaluateRecommenderParts(model, data, ['valid', 'test'], { ks: [20] })
      : [null, (await evaluateRecommenderParts(model, data, ['test'], { ks: [20] }))[0]];
    const row = {
      kind: 'eval',
      epoch,
      loss,
      lr: model.learningRate(),
      valid_ndcg20: valid?.metrics['ndcg@20'] ?? null,
      valid_recall20: valid?.metrics['recall@20'] ?? null,
      test_recall20: test.metrics['recall@20'],
      test_ndcg20: test.metrics['ndcg@20'],
      wall_s: (performance.now() - t0) / 1000,
      cpu_s: cpuSeconds() - c0,
      train_cpu_s: trainCpu,
      eval_cpu_s: cpuSeconds() - v0,
      load1: loadavg()[0],
    };
    emit(row);
    if (!hasValid) {
      if (last) break;
      continue; // no validation part: a fixed-epoch test curve (a diagnostic, nothing is selected)
    }
    if (!best || row.valid_ndcg20! > best.valid_ndcg20) {
      best = row as unknown as Record<string, number>;
      bad = 0;
    } else if (++bad >= patience) {
      break;
    }
    if (last) break;
  }
  emit({ kind: 'summary', selected_on: hasValid ? 'valid ndcg@20' : 'nothing (no validation part: fixed-epoch test curve)', best, load: loadavg() });
  model.dispose();
  await shutdownPool();
}

await main();
