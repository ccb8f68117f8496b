/**
 * Core kernel benchmark at Gowalla size (`npm run bench:core`).
 *
 * Prints GFLOP/s (2·nnz·d / time) of SpMM forward (Y = Â·X) and transpose (dX = Âᵀ·dY through the
 * transposed CSR, with stored weights and with per-edge weights read through the permutation) for
 * the JS and wasm kernels, serial and over the worker pool; then the time of one LightGCN BPR step
 * (batch 2048, 64-d, 3 layers, layer mean, gathers, BPR + L2, backward, Adam) beside PyTorch's,
 * then dense products at GAT shapes and one GAT layer forward + backward.
 * PyTorch is measured too when `python3` with torch is importable (bench/core/lightgcn_step_torch.py).
 *
 * Every figure is the median of several runs (the machine is shared). Options:
 *   --reps N    repetitions per SpMM figure (default 9)
 *   --steps N   timed LightGCN steps per configuration (default 9)
 *   --quick     fewer repetitions, skip the slow JS-serial step
 *   --no-torch  skip the PyTorch run
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadBenchGraph } from './graph.js';
import { transpose, nnz, type Csr, type CsrTransposed } from '../../src/core/csr.js';
import { spmm, spmmTransposed, sddmm } from '../../src/core/sparse.js';
import { allocF32, free } from '../../src/core/heap.js';
import { configureCore, startPool, shutdownPool, coreConfig, type BackendName } from '../../src/core/pool.js';
import { Tape, parameter, constant, zeroGrad, type Tensor } from '../../src/core/autograd.js';
import { matmul, matmulTN } from '../../src/core/dense.js';
import { Adam } from '../../src/core/optim.js';
import { Rng } from '../../src/core/random.js';

const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(name);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const quick = flag('--quick');
const REPS = opt('--reps', quick ? 5 : 9);
const STEPS = opt('--steps', quick ? 5 : 9);
const D = 64;
const BATCH = 2048;
const LAYERS = 3;
const TORCH_REFERENCE_S = 0.45;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function timeMedian(f: () => void, reps: number): number {
  f(); // warm-up
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

interface Mode {
  label: string;
  backend: BackendName;
  threads: number;
}

async function useThreads(threads: number): Promise<void> {
  await configureCore({ threads });
  await startPool();
}

async function benchSpmm(a: Csr, at: CsrTransposed, maxThreads: number): Promise<void> {
  const n = a.rows;
  const rng = new Rng(1);
  const x = allocF32(n * D);
  for (let i = 0; i < x.length; i++) x[i] = rng.next() - 0.5;
  const y = allocF32(n * D);
  const w = allocF32(nnz(a));
  for (let i = 0; i < w.length; i++) w[i] = rng.next();
  const flops = 2 * nnz(a) * D;
  const gf = (ms: number): string => (flops / ms / 1e6).toFixed(2).padStart(6);
  const modes: Mode[] = [
    { label: 'js   serial', backend: 'js', threads: 1 },
    { label: `js   ${maxThreads} threads`, backend: 'js', threads: maxThreads },
    { label: 'wasm serial', backend: 'wasm', threads: 1 },
    { label: `wasm ${maxThreads} threads`, backend: 'wasm', threads: maxThreads },
  ];
  console.log(`\nSpMM, d = ${D}: GFLOP/s (ms), median of ${REPS}`);
  console.log('mode            forward Â·X      transpose Âᵀ·dY   transpose, per-edge weights   SDDMM');
  for (const m of modes) {
    await useThreads(m.threads);
    const reps = m.backend === 'js' ? Math.max(3, Math.ceil(REPS / 3)) : REPS;
    const f = timeMedian(() => spmm(a, x, D, { out: y, backend: m.backend }), reps);
    const t = timeMedian(() => spmmTransposed(at, x, D, { out: y, backend: m.backend }), reps);
    const tw = timeMedian(() => spmmTransposed(at, x, D, { out: y, values: w, backend: m.backend }), reps);
    const s = timeMedian(() => sddmm(a, x, x, D, { out: w, backend: m.backend }), reps);
    const fmt = (ms: number): string => `${gf(ms)} (${ms.toFixed(1).padStart(5)})`;
    console.log(`${m.label.padEnd(15)} ${fmt(f)}   ${fmt(t)}     ${fmt(tw)}                ${fmt(s)}`);
  }
  // the cost of passing plain (non-heap) arrays: staged copies in and out
  await useThreads(maxThreads);
  const plainX = new Float32Array(x);
  const plainY = new Float32Array(y.length);
  const st = timeMedian(() => spmm(a, plainX, D, { out: plainY }), REPS);
  console.log(`wasm ${maxThreads} threads, plain Float32Array operands (copied into the heap per call): ${gf(st)} (${st.toFixed(1)} ms)`);
  free(x);
  free(y);
  free(w);
}

interface StepTimes {
  step: number;
  /** CPU time of the process (all threads) during the step */
  cpu: number;
  forward: number;
  backward: number;
  adam: number;
  loss: number;
}

function lightgcnStepper(a: Csr, at: CsrTransposed, nUsers: number, nItems: number): () => StepTimes {
  const n = nUsers + nItems;
  const rng = new Rng(3);
  const data = allocF32(n * D);
  for (let i = 0; i < data.length; i++) data[i] = 0.1 * rng.normal();
  const emb = parameter(data, [n, D]);
  const opt = new Adam([emb], { lr: 1e-3 });
  const u = new Int32Array(BATCH);
  const p = new Int32Array(BATCH);
  const q = new Int32Array(BATCH);
  return () => {
    for (let r = 0; r < BATCH; r++) {
      u[r] = rng.int(nUsers);
      p[r] = nUsers + rng.int(nItems);
      q[r] = nUsers + rng.int(nItems);
    }
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const tape = new Tape();
    const layers: Tensor[] = [emb];
    let x: Tensor = emb;
    for (let l = 0; l < LAYERS; l++) {
      x = tape.spmm(a, at, x);
      layers.push(x);
    }
    const fin = tape.mean(layers);
    const eu = tape.gatherRows(fin, u);
    const bpr = tape.bprLoss(tape.rowDot(eu, tape.gatherRows(fin, p)), tape.rowDot(eu, tape.gatherRows(fin, q)));
    const reg = tape.l2([tape.gatherRows(emb, u), tape.gatherRows(emb, p), tape.gatherRows(emb, q)], 1e-4, BATCH);
    const loss = tape.add(bpr, reg);
    const t1 = performance.now();
    tape.backward(loss);
    const t2 = performance.now();
    opt.step();
    const lossValue = loss.item();
    zeroGrad([emb]);
    tape.dispose();
    const t3 = performance.now();
    const c = process.cpuUsage(c0);
    return { step: t3 - t0, cpu: (c.user + c.system) / 1000, forward: t1 - t0, backward: t2 - t1, adam: t3 - t2, loss: lossValue };
  };
}

async function benchLightgcn(a: Csr, at: CsrTransposed, nUsers: number, nItems: number, maxThreads: number): Promise<number> {
  console.log(`\nLightGCN BPR step (batch ${BATCH}, ${D}-d, ${LAYERS} layers, Adam), median of ${STEPS} steps`);
  console.log('mode              step ms   forward  backward  adam+free   CPU ms (all threads)   loss');
  const modes: Mode[] = [
    ...(quick ? [] : [{ label: `js   ${maxThreads} threads`, backend: 'js' as const, threads: maxThreads }]),
    { label: 'wasm serial', backend: 'wasm', threads: 1 },
    { label: `wasm ${maxThreads} threads`, backend: 'wasm', threads: maxThreads },
  ];
  let best = Infinity;
  for (const m of modes) {
    await useThreads(m.threads);
    await configureCore({ backend: m.backend });
    const step = lightgcnStepper(a, at, nUsers, nItems);
    step();
    const runs: StepTimes[] = [];
    const steps = m.backend === 'js' ? Math.max(3, Math.ceil(STEPS / 3)) : STEPS;
    for (let s = 0; s < steps; s++) runs.push(step());
    const med = (k: keyof StepTimes): number => median(runs.map((r) => r[k]));
    const stepMs = med('step');
    if (m.backend === 'wasm' && m.threads === maxThreads) best = stepMs;
    console.log(
      `${m.label.padEnd(16)} ${stepMs.toFixed(1).padStart(8)} ${med('forward').toFixed(1).padStart(9)} ${med('backward').toFixed(1).padStart(9)} ${med('adam').toFixed(1).padStart(10)} ${med('cpu').toFixed(1).padStart(12)}             ${runs[runs.length - 1].loss.toFixed(4)}`,
    );
  }
  await configureCore({ backend: 'wasm' });
  return best;
}

/** Dense products at GAT/MLP shapes and one GAT layer (forward + backward) on the same graph. */
async function benchOthers(a: Csr, at: CsrTransposed, maxThreads: number): Promise<void> {
  await useThreads(maxThreads);
  const n = a.rows;
  const rng = new Rng(5);
  const x = allocF32(n * D);
  for (let i = 0; i < x.length; i++) x[i] = 0.1 * rng.normal();
  const w = allocF32(D * D);
  for (let i = 0; i < w.length; i++) w[i] = 0.1 * rng.normal();
  const flops = 2 * n * D * D;
  const c = allocF32(n * D);
  const mm = timeMedian(() => matmul(x, w, n, D, D, { out: c }), REPS);
  const tn = timeMedian(() => free(matmulTN(x, c, n, D, D)), REPS);
  console.log(`\nDense, wasm ${maxThreads} threads: X·W [${n}×${D}]·[${D}×${D}] ${(flops / mm / 1e6).toFixed(1)} GFLOP/s (${mm.toFixed(1)} ms); Xᵀ·G ${(flops / tn / 1e6).toFixed(1)} GFLOP/s (${tn.toFixed(1)} ms)`);
  const W = parameter(w, [D, D]);
  const aSrc = parameter(allocF32(D).map(() => 0.1 * rng.normal()), [D, 1]);
  const aDst = parameter(allocF32(D).map(() => 0.1 * rng.normal()), [D, 1]);
  const xt = constant(x, [n, D]);
  const gat = timeMedian(() => {
    const t = new Tape();
    const h = t.matmul(xt, W);
    const logits = t.leakyRelu(t.edgeScoreSum(a, at, t.matmul(h, aDst), t.matmul(h, aSrc)), 0.2);
    const out = t.elu(t.spmm(a, at, h, t.segmentSoftmax(a, logits)));
    t.backward(t.sum(out));
    zeroGrad([W, aSrc, aDst]);
    t.dispose();
  }, Math.max(3, Math.ceil(STEPS / 2)));
  console.log(`GAT layer (1 head, ${D}-d: XW, additive attention, LeakyReLU, segment softmax, weighted SpMM, ELU), forward + backward: ${gat.toFixed(1)} ms`);
  free(x);
  free(w);
  free(c);
}

function runTorch(): { step_s: number; spmm_s: number; threads: number; torch: string } | null {
  if (flag('--no-torch')) return null;
  const script = fileURLToPath(new URL('./lightgcn_step_torch.py', import.meta.url));
  for (const py of ['/usr/bin/python3', 'python3']) {
    if (py.startsWith('/') && !existsSync(py)) continue;
    const probe = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    if (probe.status !== 0) continue;
    const r = spawnSync(py, [script, process.env.GOWALLA_TRAIN ?? '/work/shared/datasets/gowalla/train.txt', '2'], {
      encoding: 'utf8',
      env: { ...process.env, STEPS: String(STEPS) },
    });
    if (r.status !== 0) {
      console.log(`PyTorch run failed: ${r.stderr.slice(-500)}`);
      return null;
    }
    const line = r.stdout.trim().split('\n').pop() ?? '';
    return JSON.parse(line);
  }
  return null;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const g = loadBenchGraph();
  const at = transpose(g.adj);
  const maxThreads = Math.max(2, coreConfig().threads);
  console.log(`graph: ${g.source}`);
  console.log(`machine: ${availableParallelism()} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (other jobs slow every figure down; compare side-by-side runs)`);
  console.log(`${g.nUsers} users + ${g.nItems} items = ${g.adj.rows} nodes, ${nnz(g.adj)} directed edges (built in ${(performance.now() - t0).toFixed(0)} ms)`);
  await benchSpmm(g.adj, at, maxThreads);
  const best = await benchLightgcn(g.adj, at, g.nUsers, g.nItems, maxThreads);
  await benchOthers(g.adj, at, maxThreads);
  await shutdownPool();
  console.log(`(load average now ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);
  const torch = runTorch();
  console.log('\nLightGCN step, side by side');
  console.log(`  plotpointe core (wasm, ${maxThreads} threads): ${(best / 1000).toFixed(3)} s`);
  console.log(`  PyTorch 1.13 CPU, 2 threads, reference from STACK-NOTES (quiet machine): ${TORCH_REFERENCE_S.toFixed(2)} s  → ${(TORCH_REFERENCE_S / (best / 1000)).toFixed(1)}× faster`);
  if (torch) {
    console.log(
      `  PyTorch ${torch.torch}, ${torch.threads} threads, measured now: ${torch.step_s.toFixed(3)} s per step (torch.sparse.mm ${(torch.spmm_s * 1000).toFixed(1)} ms)  → ${(torch.step_s / (best / 1000)).toFixed(1)}× faster`,
    );
  } else if (!flag('--no-torch')) console.log('  (python3 with torch not importable: PyTorch not measured)');
}

await main();
