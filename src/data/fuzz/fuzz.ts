/**
 * The ingest fuzzer behind `npm run fuzz`: fast-check draws cases over every reader (`cases.ts`) for a fixed
 * seed until a time budget or a case count is spent, runs each through `runCase` (`run.ts`), and tallies
 * cases per format and per result, rejects by reason, peak memory growth and failures (broken promises).
 */
import fc from 'fast-check';
import { anyCaseArb, caseArb, FORMATS_FUZZED } from './cases.js';
import { runCase, type CaseOutcome } from './run.js';

export interface FuzzOptions {
  seed: number;
  seconds: number;
  /** Stop after this many cases even if time is left. */
  maxCases?: number;
  /** Only these formats (default: all). */
  formats?: readonly string[];
  maxRssMb?: number;
  onCase?: (o: CaseOutcome, n: number) => void;
}

export interface FuzzTally {
  seed: number;
  seconds: number;
  cpu_seconds: number;
  cases: number;
  by_format: Record<string, number>;
  /** 'ok' or the coded error each case ended with. */
  by_result: Record<string, number>;
  rejects_by_reason: Record<string, number>;
  peak_rss_delta_mb: number;
  failures: Array<{ format: string; case: number; failures: string[]; input: string }>;
}

export async function fuzz(opts: FuzzOptions): Promise<FuzzTally> {
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const formats = (opts.formats ?? FORMATS_FUZZED) as Array<(typeof FORMATS_FUZZED)[number]>;
  const arb = opts.formats ? fc.constantFrom(...formats).chain((f) => caseArb(f)) : anyCaseArb;
  const tally: FuzzTally = {
    seed: opts.seed,
    seconds: 0,
    cpu_seconds: 0,
    cases: 0,
    by_format: {},
    by_result: {},
    rejects_by_reason: {},
    peak_rss_delta_mb: 0,
    failures: [],
  };
  const deadline = started + opts.seconds * 1000;
  const add = (m: Record<string, number>, k: string, n = 1) => (m[k] = (m[k] ?? 0) + n);
  await fc.check(
    fc.asyncProperty(arb, async (c) => {
      if (performance.now() > deadline) return true;
      const o = await runCase(c, { maxRssMb: opts.maxRssMb ?? 768 });
      tally.cases++;
      add(tally.by_format, o.format);
      add(tally.by_result, o.result);
      for (const [k, v] of Object.entries(o.rejectsByReason)) add(tally.rejects_by_reason, k, v);
      tally.peak_rss_delta_mb = Math.max(tally.peak_rss_delta_mb, o.peakRssDeltaMb);
      if (o.failures.length > 0) {
        const input = JSON.stringify(c.files.map((f) => ({ name: f.name, gzip: f.gzip, bomb: f.bomb, lines: f.lines.slice(0, 30).map((l) => l.toString('latin1').slice(0, 200)) })));
        tally.failures.push({ format: o.format, case: tally.cases, failures: o.failures, input });
      }
      opts.onCase?.(o, tally.cases);
      return true;
    }),
    { seed: opts.seed, numRuns: opts.maxCases ?? 1_000_000, interruptAfterTimeLimit: opts.seconds * 1000, markInterruptAsFailure: false },
  );
  const cpu = process.cpuUsage(cpu0);
  tally.seconds = Math.round(performance.now() - started) / 1000;
  tally.cpu_seconds = Math.round((cpu.user + cpu.system) / 1e3) / 1000;
  return tally;
}
