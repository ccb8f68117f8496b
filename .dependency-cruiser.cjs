/**
 * The floors of src/ (README § Architecture, docs/decisions/100-floors.md), checked by dependency-cruiser:
 * `npm run floors`, in `npm test` (src/floors.test.ts) and in .ci/run. A module imports only from its own floor
 * and the floors below it; no import circle; test code may reach up (exceptions below, each with its reason).
 *
 * FLOORS is the one list of the layering, ground first. A rule is made per floor, named
 * `floor-<n>-<name>-imports-only-below`, so a violation names the floor it breaks.
 */

/** Ground first. `paths` are regexes on the path from the repository root. */
const FLOORS = [
  { name: 'core', paths: ['^src/core/', '^src/errors\\.ts$'], what: 'tensors, kernels, CSR, RNG, hash, progress interface, the error registry' },
  {
    name: 'foundation',
    paths: ['^src/lake/', '^src/config/', '^src/net/', '^src/data/', '^src/graphs/', '^src/tracking/'],
    what: 'lake layout and I/O, config, safe fetch, ingest and split, graphs and the ANN wrapper, the run store',
  },
  { name: 'train-embeddings', paths: ['^src/train/', '^src/embeddings/'], what: 'sampler, training loop, checkpoints; encoders and embedding runs' },
  { name: 'models', paths: ['^src/models/'], what: 'the models, propagation/, fusion/' },
  { name: 'eval-index', paths: ['^src/eval/', '^src/index/'], what: 'protocols and metrics; the serving bundle' },
  { name: 'analytics', paths: ['^src/analytics/'], what: 'SQL over the lake and the serving logs (owns the log schema)' },
  { name: 'serving', paths: ['^src/serving/'], what: 'the HTTP API; composes the plugins handed to buildApp' },
  { name: 'web', paths: ['^src/web/'], what: 'the dashboard plugin and its client' },
  { name: 'orchestration', paths: ['^src/orchestration/', '^src/pipeline/'], what: 'run drivers that span stages; the pipeline runner' },
  { name: 'cli', paths: ['^src/cli/'], what: 'parse flags, call one driver, print' },
];

/**
 * Test code: tests, testkits and src/test-support/. Exception 1 — it may import from any floor: a test of a lower
 * stage builds its fixture with the drivers above it (a trained run, a built lake) and checks the stage's output
 * where it is used (e.g. models' tests score through eval/, serving's testkit trains a run). It is not shipped
 * (package.json `files` leaves it out), so nothing in production depends on it.
 */
const TEST_CODE = '(\\.test\\.ts$|testkit|^src/test-support/)';

/**
 * Exception 2 — the model contract, types only: src/models/model.ts declares the interfaces every model meets
 * (Recommender, FitContext, ContentSource, ContentModality, …) and holds no code. The training loop (train/trainer.ts)
 * runs a FitContext and the content source (embeddings/split-content.ts) implements ContentSource, while models/
 * uses train/'s loop, sampler and checkpoints; so the contract sits on models' floor and is read upward as types
 * (`import type`), never as values (rule model-contract-types-only).
 */
const MODEL_CONTRACT = '^src/models/model\\.ts$';

const rx = (paths) => paths.join('|');
const floorRules = FLOORS.slice(0, -1).map((floor, i) => ({
  name: `floor-${i + 1}-${floor.name}-imports-only-below`,
  severity: 'error',
  comment:
    `${floor.paths.map((p) => p.replace(/^\^|\\|\$$/g, '')).join(', ')} (floor ${i + 1}: ${floor.what}) imports only from its floor and below; ` +
    `move the import's target down to where its users stand, or pass the behaviour in (README § Architecture)`,
  from: { path: rx(floor.paths), pathNot: TEST_CODE },
  to: { path: rx(FLOORS.slice(i + 1).flatMap((f) => f.paths)), ...(floor.name === 'train-embeddings' ? { pathNot: MODEL_CONTRACT } : {}) },
}));

module.exports = {
  forbidden: [
    ...floorRules,
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'an import circle: split out what both sides need into a module of its own (e.g. web/client/page.ts)',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'floor-unknown',
      severity: 'error',
      comment: 'a module outside every floor: add its folder to FLOORS in .dependency-cruiser.cjs and to the README table',
      from: { path: '^src/', pathNot: `${rx(FLOORS.flatMap((f) => f.paths))}|${TEST_CODE}|^src/[^/]+\\.test\\.ts$` },
      to: {},
    },
    {
      name: 'model-contract-types-only',
      severity: 'error',
      comment: 'train/ and embeddings/ read src/models/model.ts as types only (exception 2): use `import type`',
      from: { path: rx(FLOORS.find((f) => f.name === 'train-embeddings').paths), pathNot: TEST_CODE },
      to: { path: MODEL_CONTRACT, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'production-does-not-import-test-code',
      severity: 'error',
      comment: 'shipped code imports test code, which the package leaves out (package.json `files`): move what it needs into the stage',
      from: { path: '^src/', pathNot: TEST_CODE },
      to: { path: TEST_CODE },
    },
    {
      // Exception 1's limit: test code runs the CLI as a child process (src/test-support/cli.ts), never imports its
      // modules — the logic it needs lives in the stages (e.g. runSplit in data/split/).
      name: 'tests-do-not-import-cli',
      severity: 'error',
      comment: 'test code outside src/cli/ imports a CLI module: run the CLI (test-support/cli.ts) or import the stage it calls',
      from: { path: TEST_CODE, pathNot: '^src/cli/|^src/test-support/cli\\.ts$' },
      to: { path: '^src/cli/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
