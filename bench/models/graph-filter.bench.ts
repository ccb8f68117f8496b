/**
 * The non-gradient models on Gowalla (official NGCF/LightGCN split: 29,858 users × 40,981 items, 810,128
 * train and 217,242 test interactions): pop, itemknn, gfcf and bspm, each fitted with its documented
 * defaults and evaluated on test by full ranking over all items with seen items masked (Recall@20,
 * NDCG@20). Prints fit seconds, evaluation seconds and peak RSS per model; each model runs in its own
 * process so the peak RSS is its own. Published: GF-CF 0.1849 / 0.1518, BSPM ≈ 0.19 / 0.16 (paper),
 * ItemCF 0.1570 / 0.1214 (BARS).
 *
 * Two splits: `official` (`--valid-share 0`, the papers' protocol: fit on all of train.txt) and `valid10`
 * (`--valid-share 0.1`, what the pipeline does: 10% of train carved out for model selection, so the model
 * sees less data; test masks train and valid).
 *
 *   node --import tsx bench/models/graph-filter.bench.ts [--models pop,itemknn,gfcf,bspm]
 *        [--splits official,valid10] [--lake DIR] [--param gfcf.k=256 ...]
 *
 * The ingest and splits are made through the real CLI when the lake does not have them yet. The last
 * stdout line is the table as JSON.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetPaths } from '../../src/lake/paths.js';

const repoRoot = new URL('../..', import.meta.url).pathname;
const gowalla = join(repoRoot, '..', 'shared', 'datasets', 'gowalla');
const MODELS = ['pop', 'itemknn', 'gfcf', 'bspm'];
const SPLITS: Record<string, string> = { official: '0', valid10: '0.1' };

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

/** `--param model.key=value` overrides (repeatable). */
function paramOverrides(model: string): Record<string, string> {
  const out: Record<string, string> = {};
  process.argv.forEach((a, at) => {
    if (a !== '--param') return;
    const m = /^([^.=]+)\.([^=]+)=(.*)$/.exec(process.argv[at + 1] ?? '');
    if (m && m[1] === model) out[m[2]] = m[3];
  });
  return out;
}

interface Row {
  model: string;
  split: string;
  'recall@20': number;
  'ndcg@20': number;
  fit_s: number;
  eval_s: number;
  peak_rss_mb: number;
  load_avg: number;
  params: Record<string, unknown>;
}

/** Child process: fit one model on one split, evaluate on test, print the row as JSON. */
async function child(model: string, splitDir: string, split: string, overrides: Record<string, string>): Promise<void> {
  const { loadSplit } = await import('../../src/graphs/split-data.js');
  const { evaluateRecommender } = await import('../../src/eval/evaluate-model.js');
  const { getModel, resolveParams } = await import('../../src/models/index.js');
  const { startPool } = await import('../../src/core/index.js');
  const { silentProgress } = await import('../../src/core/progress.js');
  await startPool();
  const data = await loadSplit(splitDir);
  const spec = getModel(model);
  const params = resolveParams(spec, overrides);
  const load0 = loadavg()[0];
  let t = performance.now();
  const fitted = await spec.fit({
    data,
    params,
    seed: 42,
    budgetSeconds: Infinity,
    workDir: tmpdir(),
    resume: false,
    validate: async () => ({}),
    onEpoch() {},
    progress: () => silentProgress,
  });
  const fitS = (performance.now() - t) / 1000;
  t = performance.now();
  const result = await evaluateRecommender(fitted, data, 'test', { ks: [20] });
  const evalS = (performance.now() - t) / 1000;
  const row: Row = {
    model,
    split,
    'recall@20': result.metrics['recall@20'],
    'ndcg@20': result.metrics['ndcg@20'],
    fit_s: fitS,
    eval_s: evalS,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    load_avg: (load0 + loadavg()[0]) / 2,
    params: { ...params },
  };
  console.log(JSON.stringify(row));
  process.exit(0);
}

function cli(args: string[]): void {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'plotpointe.mjs'), ...args, '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`plotpointe ${args.join(' ')} failed (${r.status})`);
}

function main(): void {
  if (!existsSync(gowalla)) {
    console.log(`skipped: ${gowalla} is absent (../shared beside the checkout)`);
    return;
  }
  const lake = arg('lake', join(tmpdir(), 'plotpointe-graph-filter-bench'));
  const models = arg('models', MODELS.join(',')).split(',');
  const splits = arg('splits', Object.keys(SPLITS).join(',')).split(',');
  console.log(`graph-filter bench: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load ${loadavg()[0].toFixed(1)}, lake ${lake}`);
  const splitDir = (s: string) => datasetPaths(lake, 'gowalla').split(s).dir;
  if (!existsSync(datasetPaths(lake, 'gowalla').stagingFiles.datacardMd)) {
    cli(['data', 'ingest', '--format', 'lightgcn', '--input', gowalla, '--lake', lake, '--name', 'gowalla']);
  }
  for (const s of splits) {
    if (!(s in SPLITS)) throw new Error(`unknown split ${s} (known: ${Object.keys(SPLITS).join(', ')})`);
    if (!existsSync(datasetPaths(lake, 'gowalla').split(s).manifest)) {
      cli(['data', 'split', '--lake', lake, '--name', 'gowalla', '--strategy', 'given', '--valid-share', SPLITS[s], '--split', s]);
    }
  }
  const rows: Row[] = [];
  console.log('model     split     recall@20  ndcg@20  fit s  eval s  peak RSS MB  load');
  for (const s of splits) {
    for (const model of models) {
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', new URL(import.meta.url).pathname, '--child', model, splitDir(s), s, JSON.stringify(paramOverrides(model))],
        { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      if (r.status !== 0) throw new Error(`${model} on ${s} failed (${r.status})`);
      const lines = r.stdout.trimEnd().split('\n');
      const row = JSON.parse(lines[lines.length - 1]) as Row;
      rows.push(row);
      console.log(
        `${model.padEnd(9)} ${s.padEnd(9)} ${row['recall@20'].toFixed(4).padStart(9)} ${row['ndcg@20'].toFixed(4).padStart(8)} ` +
          `${row.fit_s.toFixed(1).padStart(6)} ${row.eval_s.toFixed(1).padStart(7)} ${String(row.peak_rss_mb).padStart(12)} ${row.load_avg.toFixed(1).padStart(5)}`,
      );
    }
  }
  console.log(JSON.stringify({ bench: 'graph-filter', rows }));
}

const at = process.argv.indexOf('--child');
if (at >= 0) {
  const [model, dir, split, overrides] = process.argv.slice(at + 1, at + 5);
  await child(model, dir, split, JSON.parse(overrides) as Record<string, string>);
} else {
  main();
}
