/**
 * `npm run fuzz [-- --seconds N] [--seed S] [--format F …] [--max-cases N] [--json]`: runs the ingest fuzzer
 * and prints its tally (cases per format and result, rejects by reason, peak memory growth, failures);
 * `--json` prints the tally as one JSON object on the last line. Exit 0 when no case broke a promise, 1 otherwise.
 */
import { Command } from 'commander';
import { fuzz } from './fuzz.js';

const program = new Command('fuzz')
  .option('--seconds <n>', 'time budget', '60')
  .option('--seed <n>', 'fast-check seed (same seed, same cases)', '14')
  .option('--max-cases <n>', 'stop after this many cases')
  .option('--format <name...>', 'only these readers')
  .option('--max-rss-mb <n>', 'memory bound per case (resident set growth)', '768')
  .option('--json', 'print the tally as one JSON object (last line)')
  .parse();
const o = program.opts<{ seconds: string; seed: string; maxCases?: string; format?: string[]; maxRssMb: string; json?: boolean }>();
const tally = await fuzz({
  seed: Number(o.seed),
  seconds: Number(o.seconds),
  maxCases: o.maxCases === undefined ? undefined : Number(o.maxCases),
  formats: o.format,
  maxRssMb: Number(o.maxRssMb),
  onCase: o.json ? undefined : (c, n) => process.stderr.write(`\rcase ${n} ${c.format} ${c.result}${c.failures.length ? ' FAIL' : ''}          `),
});
if (o.json) console.log(JSON.stringify(tally));
else {
  process.stderr.write('\n');
  console.log(`fuzz: ${tally.cases} cases in ${tally.seconds} s (${tally.cpu_seconds} CPU-s), seed ${tally.seed}`);
  console.log(`  by format: ${JSON.stringify(tally.by_format)}`);
  console.log(`  by result: ${JSON.stringify(tally.by_result)}`);
  console.log(`  rejects by reason: ${JSON.stringify(tally.rejects_by_reason)}`);
  console.log(`  peak resident growth in a case: ${tally.peak_rss_delta_mb} MB`);
  console.log(`  failures: ${tally.failures.length}`);
  for (const f of tally.failures.slice(0, 10)) console.log(`    case ${f.case} (${f.format}): ${f.failures.slice(0, 5).join(' | ')}\n      input: ${f.input.slice(0, 600)}`);
}
process.exitCode = tally.failures.length > 0 ? 1 : 0;
