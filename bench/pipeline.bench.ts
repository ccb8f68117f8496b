/**
 * bench:pipeline — the demo pipeline from scratch twice, with a CPU budget of 1 (steps one after another)
 * and of N cores (independent steps in parallel), each on a fresh lake; prints both per-step tables and the
 * measured saving 1 − T(parallel)/T(sequential), next to the saving the parallel run's own report estimates
 * (makespan vs the sum of its step times). Usage:
 *   npm run bench:pipeline -- [--users 300] [--items 200] [--model mf] [--params epochs=10,eval_every=5] [--jobs 2]
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cliAsync } from '../src/pipeline/testkit.js';
import { renderReport, type PipelineReport } from '../src/pipeline/report.js';

const { values: a } = parseArgs({
  options: {
    users: { type: 'string', default: '300' },
    items: { type: 'string', default: '200' },
    model: { type: 'string', default: 'mf' },
    params: { type: 'string', default: 'epochs=10,eval_every=5' },
    jobs: { type: 'string', default: String(cpus().length) },
  },
});

async function run(jobs: number): Promise<PipelineReport> {
  const dir = mkdtempSync(join(tmpdir(), `pp-bench-pipeline-j${jobs}-`));
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(
    file,
    [
      `lake: { dir: ${JSON.stringify(join(dir, 'lake'))} }`,
      `demo: { users: ${a.users}, items: ${a.items}, catalog_items: ${a.items} }`,
      `pipeline: { model: ${a.model}, model_params: ${JSON.stringify(a.params)}, jobs: ${jobs} }`,
      'steps: { fuse: { args: ["--epochs", "20"] } }',
    ].join('\n') + '\n',
  );
  const started = performance.now();
  const r = await cliAsync(['pipeline', 'run', '--config', file, '--json'], process.env);
  if (r.status !== 0) throw new Error(r.stderr);
  const report = r.json as unknown as PipelineReport;
  process.stdout.write(`\n--jobs ${jobs}: ${((performance.now() - started) / 1000).toFixed(1)} s (runner process included)\n${renderReport(report)}\n`);
  return report;
}

process.stdout.write(`bench:pipeline — demo ${a.users} users × ${a.items} items, model ${a.model} (${a.params}); ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
const seq = await run(1);
const par = await run(Number(a.jobs));
const measured = 1 - par.seconds / seq.seconds;
process.stdout.write(
  [
    '',
    `sequential (--jobs 1): ${seq.seconds.toFixed(1)} s; parallel (--jobs ${a.jobs}): ${par.seconds.toFixed(1)} s → measured saving ${(100 * measured).toFixed(0)} %`,
    `the parallel run's own estimate: makespan ${par.parallel.makespan_s.toFixed(1)} s vs Σ step time ${par.parallel.sequential_s.toFixed(1)} s (${(100 * (par.parallel.saving ?? 0)).toFixed(0)} %), critical path ${par.parallel.critical_path_s.toFixed(1)} s`,
    `load after: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`,
  ].join('\n') + '\n',
);
