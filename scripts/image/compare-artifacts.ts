// Compares the artifacts of two pipeline runs, file by file (sha256; JSON without volatile fields and with the
// train run id as RUN; usearch indexes left out — the same rules as the distributed pipeline test, through its
// artifactHashes). Used by compose:test: a run in containers on the BullMQ workers vs a local run.
// Usage: node --import tsx scripts/image/compare-artifacts.ts <report A.json> <lake A> <report B.json> <lake B>
// (a report is `pipeline run --json`'s last line; the lake arguments are where this host sees each run's lake).
// Prints one JSON line {"files": N, "steps": [...]} and exits 1 on any difference.
import { readFileSync } from 'node:fs';
import { artifactHashes } from '../../src/pipeline/testkit.js';
import type { PipelineReport } from '../../src/pipeline/report.js';

const [reportA, lakeA, reportB, lakeB] = process.argv.slice(2);
if (!lakeB) {
  console.error('usage: compare-artifacts.ts <report A.json> <lake A> <report B.json> <lake B>');
  process.exit(2);
}
const read = (file: string, lake: string): Partial<PipelineReport> => {
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  return { ...(JSON.parse(lines[lines.length - 1]!) as Partial<PipelineReport>), lake };
};
const a = await artifactHashes(read(reportA!, lakeA!));
const b = await artifactHashes(read(reportB!, lakeB!));
const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
const diff = keys.filter((k) => a[k] !== b[k]);
const steps = [...new Set(keys.map((k) => k.split(':')[0]!))];
if (diff.length > 0) {
  console.error(`${diff.length} of ${keys.length} files differ:\n${diff.slice(0, 30).map((k) => `  ${k}: ${a[k] ?? 'absent'} vs ${b[k] ?? 'absent'}`).join('\n')}`);
  process.exit(1);
}
console.log(JSON.stringify({ files: keys.length, steps }));
