/**
 * Test fixture of the serving tests: a small demo lake with two trained MF runs (different seeds), text
 * embeddings from a deterministic fake encoder (CountingEncoder, 16-d), image embeddings from a fake byte-hash
 * encoder (8-d, every 5th item missing), the text kNN graph (k = 10) and the serving bundles of both runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { plotpointeBin } from '../test-support/cli.js';
import { loadConfig } from '../config/load.js';
import { generateDemo } from '../data/demo/generate.js';
import { ingest } from '../data/ingest.js';
import { runSplit, splitOptionsFromConfig } from '../data/split/run-split.js';
import { runTraining } from '../orchestration/run-training.js';
import { embedItemsText } from '../embeddings/embed-items.js';
import { CountingEncoder } from '../embeddings/testkit.js';
import { silentProgress } from '../core/progress.js';
import { buildServingBundle } from '../index/build-serving.js';
import { tempDir } from '../test-support/fixtures.js';
import type { EncoderFactory } from './cold-start.js';
import type { Encoder } from '../embeddings/encoder.js';
import { writeEmbeddings } from '../embeddings/store.js';
import { openDb, sqlString } from '../lake/duckdb.js';
import { datasetPaths } from '../lake/paths.js';
import { ppError } from '../errors.js';
import { buildItemGraph } from '../orchestration/item-graphs.js';

export interface ServeFixture {
  dir: string;
  lake: string;
  name: string;
  runA: string;
  runB: string;
}

export const FAKE_TEXT_DIM = 16;
export const FAKE_IMAGE_DIM = 8;

/** A deterministic fake image encoder: the normalised FNV hash spread of the bytes (equal bytes → cosine 1). */
export class FakeImageEncoder implements Encoder<Buffer> {
  readonly name = 'fake-image';
  readonly id = 'fake-image@1';
  readonly modality = 'image' as const;
  readonly normalised = true;
  readonly dim = FAKE_IMAGE_DIM;
  async encode(batch: readonly Buffer[]): Promise<Float32Array> {
    const out = new Float32Array(batch.length * this.dim);
    batch.forEach((b, i) => out.set(fakeImageVector(b), i * this.dim));
    return out;
  }
  async dispose(): Promise<void> {}
}

export function fakeImageVector(bytes: Uint8Array): Float32Array {
  const v = new Float32Array(FAKE_IMAGE_DIM);
  let h = 2166136261;
  for (const x of bytes) {
    h = Math.imul(h ^ x, 16777619) >>> 0;
    v[h % FAKE_IMAGE_DIM] += 1 + (h >>> 24) / 255;
  }
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
}

/** Cold-start encoders for the fixture: the same fake encoders the lake was embedded with. */
export const fakeEncoderFactory: EncoderFactory = async (modality, spec) => {
  if (modality === 'text' && spec === 'fake') return new CountingEncoder(FAKE_TEXT_DIM);
  if (modality === 'image' && spec === 'fake-image') return new FakeImageEncoder();
  throw ppError('PP_EMBED_ENCODER_UNKNOWN', `no fake ${modality} encoder ${spec}`);
};

/** Image embeddings of the staged items: the fake encoder over the bytes of the item id (every 5th item has none). */
async function writeFakeImageEmbeddings(lake: string, name: string): Promise<void> {
  const db = await openDb();
  let ids: string[];
  try {
    ids = (await db.all<{ item_id: string }>(`SELECT item_id FROM read_parquet(${sqlString(datasetPaths(lake, name).stagingFiles.itemMap)}) ORDER BY iid`)).map((r) => r.item_id);
  } finally {
    db.close();
  }
  const data = new Float32Array(ids.length * FAKE_IMAGE_DIM);
  const present = new Uint8Array(ids.length);
  ids.forEach((id, i) => {
    if (i % 5 === 4) return;
    data.set(fakeImageVector(Buffer.from(id)), i * FAKE_IMAGE_DIM);
    present[i] = 1;
  });
  await writeEmbeddings(datasetPaths(lake, name).embeddings, 'image', { data, dim: FAKE_IMAGE_DIM, present, modality: 'image', encoder: 'fake-image', encoder_id: 'fake-image@1', normalised: true, seconds: 0, items_per_s: 0 });
}

export async function buildServeFixture(prefix: string): Promise<ServeFixture> {
  const dir = tempDir(prefix);
  const lake = join(dir, 'lake');
  const config = loadConfig({
    overrides: { 'lake.dir': lake },
  });
  const name = 'demo';
  const demo = await generateDemo({ out: join(dir, 'demo'), seed: 42, users: 200, items: 240, catalogItems: 240, images: false, format: 'amazon2018' });
  await ingest({ format: 'amazon2018', inputs: [demo.files.meta, demo.files.reviews], lake, name, progress: () => silentProgress });
  await runSplit(lake, name, config['split.name'], splitOptionsFromConfig(config));
  const params = { epochs: 8, eval_every: 4, lr: 0.01, batch: 256, dim: 32 };
  const a = await runTraining({ lake, name, split: config['split.name'], model: 'mf', params, seed: 1, ks: [20] });
  const b = await runTraining({ lake, name, split: config['split.name'], model: 'mf', params, seed: 2, ks: [20] });
  await embedItemsText({ lake, name, encoder: new CountingEncoder(FAKE_TEXT_DIM), cache: false, progress: () => silentProgress });
  await writeFakeImageEmbeddings(lake, name);
  await buildItemGraph({ lake, name, modality: 'text', k: 10, recallSample: 0, threads: 1 });
  for (const runId of [a.run_id, b.run_id]) await buildServingBundle({ lake, name, runId, threads: 1 });
  return { dir, lake, name, runA: a.run_id, runB: b.run_id };
}

/** A `plotpointe serve … --json` child process started through the real bin, up and listening. */
export interface ServeProcess {
  child: ChildProcess;
  /** Its `--json` listening line. */
  listening: { listening: string; variants: Record<string, string>; workers: number };
  /** Stdout lines so far (the last one is the summary once it has exited). */
  stdout: string[];
  /** Stderr so far (pino JSON lines). */
  stderr(): string;
  /** SIGTERM, then its exit code and summary line. */
  stop(): Promise<{ code: number | null; summary: Record<string, unknown> | null }>;
}

/** Starts `plotpointe serve <args> --port 0 --json` and waits (at most `timeoutMs`) for its listening line. */
export async function startServeProcess(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000, bin = plotpointeBin): Promise<ServeProcess> {
  const child = spawn(process.execPath, [bin, 'serve', ...args, '--port', '0', '--json'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (l) => stdout.push(l));
  const exited = once(child, 'exit') as Promise<[number | null]>;
  const stop = async () => {
    child.kill('SIGTERM');
    const [code] = await exited;
    const last = stdout[stdout.length - 1];
    return { code, summary: last && stdout.length > 1 ? (JSON.parse(last) as Record<string, unknown>) : null };
  };
  try {
    const [first] = (await once(lines, 'line', { signal: AbortSignal.timeout(timeoutMs) })) as [string];
    return { child, listening: JSON.parse(first) as ServeProcess['listening'], stdout, stderr: () => stderr, stop };
  } catch (err) {
    await stop();
    throw new Error(`plotpointe serve ${args.join(' ')}: no listening line (${(err as Error).message}); stderr: ${stderr.slice(-3000)}`);
  }
}

/** Child pids of a process (Linux /proc): the workers of a `serve --workers N` primary. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
    } catch {
      // the task ended meanwhile
    }
  }
  return out;
}
