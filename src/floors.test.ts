import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './test-support/fixtures.js';

// The floors of src/ (.dependency-cruiser.cjs, README § Architecture): the tree keeps them, and a fixture tree with
// one import of each forbidden kind shows that each is caught under the rule that names it.

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const config = join(root, '.dependency-cruiser.cjs');
const depcruise = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
  cycle?: { name: string }[];
}

/** The violations depcruise finds under `cwd`/src with the repository's rules (json reporter: exit status 0 either way). */
function cruise(cwd: string): { violations: Violation[]; stderr: string } {
  const r = spawnSync(process.execPath, [depcruise, 'src', '--config', config, '--output-type', 'json'], { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  return { violations: (JSON.parse(r.stdout) as { summary: { violations: Violation[] } }).summary.violations, stderr: r.stderr };
}

/** What `npm run floors` (and .ci/run) sees: the err reporter, whose exit status is the number of errors. */
function cruiseAsCi(cwd: string): { status: number | null; stdout: string } {
  const r = spawnSync(process.execPath, [depcruise, 'src', '--config', config, '--output-type', 'err'], { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout };
}

test('src/ keeps its floors: no upward import, no circle, no module outside a floor', () => {
  const r = cruise(root);
  const lines = r.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
  assert.deepEqual(lines, [], `run \`npm run floors\` for the rules' messages\n${r.stderr}`);
});

test('each forbidden import in a fixture tree fails under the rule that names it, and the listed exceptions pass', () => {
  const dir = tempDir('floors');
  try {
    const files: Record<string, string> = {
      'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, allowImportingTsExtensions: true }, include: ['src'] }),
      'src/eval/metric.ts': 'export const ndcg = 1;\n',
      'src/cli/flags.ts': 'export const flag = 1;\n',
      'src/models/model.ts': 'export interface Recommender { k: number }\nexport const DEFAULT_K = 20;\n',
      // upward: models (floor 4) → eval (floor 5)
      'src/models/upward.ts': "import { ndcg } from '../eval/metric.js';\nexport const x = ndcg;\n",
      // upward as a type only is still upward (types cross only where a rule says why)
      'src/core/typed-upward.ts': "import type { Recommender } from '../models/model.js';\nexport type R = Recommender;\n",
      // exception 2: the model contract read as types from train/ …
      'src/train/loop.ts': "import type { Recommender } from '../models/model.js';\nexport type R = Recommender;\n",
      // … but not as a value
      'src/embeddings/content.ts': "import { DEFAULT_K } from '../models/model.js';\nexport const k = DEFAULT_K;\n",
      // a circle inside one floor
      'src/web/client/a.ts': "import { b } from './b.js';\nexport const a = (): number => b();\n",
      'src/web/client/b.ts': "import { a } from './a.js';\nexport const b = (): number => a();\n",
      // exception 1: test code may reach up …
      'src/models/upward.test.ts': "import { ndcg } from '../eval/metric.js';\nexport const y = ndcg;\n",
      // … but never into the CLI's modules
      'src/serving/lake.testkit.ts': "import { flag } from '../cli/flags.js';\nexport const z = flag;\n",
      // shipped code never imports test code (the package leaves it out)
      'src/serving/uses-kit.ts': "import { z } from './lake.testkit.js';\nexport const v = z;\n",
      // a folder no floor names
      'src/newstage/step.ts': "import { ndcg } from '../eval/metric.js';\nexport const w = ndcg;\n",
    };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const r = cruise(dir);
    const got = r.violations
      .map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)
      .sort();
    assert.deepEqual(got, [
      'floor-1-core-imports-only-below: src/core/typed-upward.ts → src/models/model.ts',
      'floor-4-models-imports-only-below: src/models/upward.ts → src/eval/metric.ts',
      'floor-unknown: src/newstage/step.ts → src/eval/metric.ts',
      'model-contract-types-only: src/embeddings/content.ts → src/models/model.ts',
      'no-circular: src/web/client/a.ts → src/web/client/b.ts',
      'production-does-not-import-test-code: src/serving/uses-kit.ts → src/serving/lake.testkit.ts',
      'tests-do-not-import-cli: src/serving/lake.testkit.ts → src/cli/flags.ts',
    ]);
    const ci = cruiseAsCi(dir);
    assert.equal(ci.status, 7, ci.stdout);
    assert.match(ci.stdout, /error floor-4-models-imports-only-below: src\/models\/upward\.ts → src\/eval\/metric\.ts/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
