/**
 * The fusion's cost per phase at a given size, on a synthetic split (no lake needed): random content of the
 * reference widths (text 512-d, image 1,280-d), `--users` users with `--per-user` train items each over
 * `--items` items. Measures, in CPU seconds of this process (process.cpuUsage: the core pool's threads included)
 * and wall seconds:
 *   build      FusionBprModel construction (standardisation of the content, parameters)
 *   train      `--steps` BPR steps of `--batch` triples (one trainEpoch with stepsPerEpoch = steps; the mean user
 *              tower adds its history refresh, one MLP pass over the items, once an epoch)
 *   items      one MLP pass over every item (what each validation and the final write do)
 *   score      `--eval-users` users scored against every item (each validation's ranking product)
 *
 *   node --import tsx bench/models/fuse-step.bench.ts [--items 12600] [--users 38481] [--per-user 16]
 *        [--steps 16] [--batch 2048] [--text 512] [--image 1280] [--image-present 1] [--eval-users 2000] [--user-tower mean|free]
 *
 * Defaults: about 1/5 of the reference split (63,001 items, 192,403 users). The last stdout line is JSON.
 */
import { loadavg } from 'node:os';
import { Rng, shutdownPool, startPool } from '../../src/core/index.js';
import { csrFromLists } from '../../src/core/csr-pattern.js';
import type { PartCsr, SplitData } from '../../src/graphs/split-data.js';
import { FUSION_TRAIN_DEFAULTS, FusionBprModel, type FusionUserTower } from '../../src/models/fusion/fusion-bpr.js';
import type { FusionModality } from '../../src/models/fusion/fusion-mlp.js';

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? Number(process.argv[at + 1]) : fallback;
}

const items = arg('items', 12600);
const users = arg('users', 38481);
const perUser = arg('per-user', 16);
const steps = arg('steps', 16);
const batch = arg('batch', 2048);
const textDim = arg('text', 512);
const imageDim = arg('image', 1280);
const imagePresent = arg('image-present', 1);
const evalUsers = arg('eval-users', 2000);
const towerAt = process.argv.indexOf('--user-tower');
const userTower = towerAt >= 0 ? (process.argv[towerAt + 1] as FusionUserTower) : FUSION_TRAIN_DEFAULTS.userTower;

function part(lists: number[][]): PartCsr {
  const csr = csrFromLists(lists);
  return { ...csr, ratings: new Float32Array(csr.indices.length).fill(NaN), ts: new Float64Array(csr.indices.length).fill(NaN) };
}

const rng = new Rng(7);
const train: number[][] = [];
for (let u = 0; u < users; u++) {
  const s = new Set<number>();
  while (s.size < perUser) s.add(rng.int(items));
  train.push([...s]);
}
const empty = Array.from({ length: users }, () => [] as number[]);
const data: SplitData = {
  dir: '(memory)',
  numUsers: users,
  numItems: items,
  train: part(train),
  valid: part(empty),
  test: part(empty),
  coldItems: new Uint8Array(items),
  manifest: { split_hash: 'bench' },
} as SplitData;
const modality = (name: string, dim: number, share: number): FusionModality => {
  const vectors = new Float32Array(items * dim);
  const present = new Uint8Array(items);
  for (let i = 0; i < items; i++) {
    if (rng.next() >= share) continue;
    present[i] = 1;
    for (let k = 0; k < dim; k++) vectors[i * dim + k] = rng.normal();
  }
  return { name, dim, vectors, present };
};
const inputs = [modality('text', textDim, 1), ...(imageDim > 0 ? [modality('image', imageDim, imagePresent)] : [])];

await startPool();
const phases: Record<string, { cpu_s: number; wall_s: number }> = {};
async function phase<T>(name: string, f: () => T | Promise<T>): Promise<T> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await f();
  const c = process.cpuUsage(c0);
  phases[name] = { cpu_s: (c.user + c.system) / 1e6, wall_s: (performance.now() - t0) / 1000 };
  console.log(`${name}: ${phases[name].cpu_s.toFixed(2)} CPU-s, ${phases[name].wall_s.toFixed(2)} s wall`);
  return out;
}

const load0 = loadavg()[0];
const model = await phase('build', () => new FusionBprModel(data, inputs, { ...FUSION_TRAIN_DEFAULTS, userTower, batchSize: batch, stepsPerEpoch: steps }, 1));
await phase('train', () => model.trainEpoch());
await phase('items', () => model.itemVectors().length);
const sample = Int32Array.from({ length: Math.min(evalUsers, users) }, (_, k) => k);
const out = new Float32Array(sample.length * items);
await phase('score', () => model.scoreUsers(sample, out));
model.dispose();
await shutdownPool();
const result = {
  items, users, per_user: perUser, user_tower: userTower, steps, batch, input_dim: textDim + imageDim, image_present: imagePresent,
  phases,
  train_cpu_s_per_step: phases.train.cpu_s / steps,
  load_avg: [load0, loadavg()[0]],
  shared_machine: true,
};
console.log(JSON.stringify(result));
