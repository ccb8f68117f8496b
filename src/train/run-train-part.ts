/**
 * The train part a run was fitted on, recorded so that everything that reloads the run's model (index build,
 * eval, the pipeline's index step) rebuilds exactly that part — graph models (lightgcn, gat, mmgat) propagate
 * their user/item vectors over the train graph, so a model reloaded over another graph is another model.
 *
 *   plain run:            train part = the split's train                         (nothing recorded)
 *   train --since run:    train part = the split's train + the added pairs      <run dir>/train-added.json
 *                         {split_hash, pairs: [[uid, iid, ts], …], train_edges, train_sha256}
 *
 * train_sha256 (sha256 over the part's indptr and indices, little-endian i32) names the derived train part: the
 * run's config records it too (`train_part`), and loading checks the rebuilt part against it
 * (PP_MODEL_LOAD when the record is missing or does not rebuild the same part).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ppError } from '../errors.js';
import { loadSplit, type PartCsr, type SplitData } from '../graphs/split-data.js';
import type { DatasetPaths, RunPaths } from '../lake/paths.js';
import { addTrainPairs, type AddedPair } from './live-events.js';


/** What a run's config records about its train part when it is not the split's own. */
export interface TrainPartRecord {
  added: number;
  train_edges: number;
  train_sha256: string;
}

interface TrainAddedFile extends TrainPartRecord {
  split_hash: string;
  pairs: [number, number, number | null][];
}

/** sha256 of a train part's graph (indptr, indices). */
export function trainPartSha256(p: PartCsr): string {
  const h = createHash('sha256');
  h.update(Buffer.from(p.indptr.buffer, p.indptr.byteOffset, p.indptr.byteLength));
  h.update(Buffer.from(p.indices.buffer, p.indices.byteOffset, p.indices.byteLength));
  return h.digest('hex');
}

/** The record of a train part with `added` pairs over `data` (the split's train + added). */
export function trainPartRecord(data: SplitData, added: readonly AddedPair[]): TrainPartRecord {
  return { added: added.length, train_edges: data.train.indices.length, train_sha256: trainPartSha256(data.train) };
}

/** Writes the run's `train-added.json` (call only when pairs were added; `data` is the augmented split). */
export async function writeTrainAdded(run: RunPaths, data: SplitData, added: readonly AddedPair[]): Promise<TrainPartRecord> {
  const record = trainPartRecord(data, added);
  const file: TrainAddedFile = { ...record, split_hash: data.manifest.split_hash, pairs: added.map((a) => [a.uid, a.iid, Number.isFinite(a.ts) ? a.ts : null]) };
  await writeFile(run.trainAdded, JSON.stringify(file) + '\n');
  return record;
}

/** A run as recorded in the run store (the fields this module reads). */
export interface RunForSplit {
  id: string;
  split: string;
  splitHash: string | null;
  config: Record<string, unknown>;
}

/**
 * The split data a run was trained on: its split (checked against the run's split hash) with the train part the
 * run recorded.
 */
export async function loadRunSplit(dataset: DatasetPaths, run: RunForSplit): Promise<SplitData> {
  const data = await loadSplit(dataset.split(run.split));
  if (run.splitHash && data.manifest.split_hash !== run.splitHash) {
    throw ppError('PP_MODEL_LOAD', `split ${run.split} changed since run ${run.id} (hash ${data.manifest.split_hash} ≠ ${run.splitHash})`);
  }
  const expected = run.config.train_part as TrainPartRecord | undefined;
  const path = dataset.run(run.id).trainAdded;
  if (!expected) return data;
  if (!existsSync(path)) throw ppError('PP_MODEL_LOAD', `run ${run.id} was trained on the split's train part plus ${expected.added} event pairs, and ${path} is missing`);
  const f = JSON.parse(await readFile(path, 'utf8')) as TrainAddedFile;
  const added = f.pairs.map(([uid, iid, ts]) => ({ uid, iid, ts: ts ?? NaN }));
  const out = addTrainPairs(data, added);
  const sha = trainPartSha256(out.train);
  if (sha !== expected.train_sha256 || out.train.indices.length !== expected.train_edges) {
    throw ppError('PP_MODEL_LOAD', `run ${run.id}: ${path} does not rebuild its train part (${out.train.indices.length} edges, sha256 ${sha.slice(0, 12)} ≠ ${expected.train_edges}, ${expected.train_sha256.slice(0, 12)})`);
  }
  return out;
}
