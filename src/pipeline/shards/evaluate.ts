import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ppError } from '../../errors.js';
import { writeFileAtomically } from '../../lake/atomic.js';
import { splitPart } from '../../eval/evaluate-model.js';
import { DEFAULT_DEGREE_BUCKETS, FullRankingTally, rankFullRankingParts, rowWidth, type FullRankingRows } from '../../eval/full-ranking.js';
import { normalizeKs } from '../../eval/metrics.js';
import { RunStore } from '../../tracking/index.js';
import { loadTrainedRun, recordFullRankingEval } from '../../orchestration/run-training.js';
import { lakePaths } from '../../lake/paths.js';

/**
 * The sharded form of the evaluate step (`plotpointe pipeline shard evaluate` / `pipeline merge evaluate`),
 * for the distributed executor: full-ranking evaluation of a trained run on one part, users split into
 * contiguous ranges.
 *
 * Shard i of n loads the run's model and ranks users [⌊iU/n⌋, ⌊(i+1)U/n⌋) exactly as `eval` does (same
 * masks, same scores: a user's scores and top K do not depend on its batch), keeping one row per evaluated
 * user — its metric values, Σ pop and |TopK| per K, its degree — and the best rank of every item. The merge
 * replays the rows in user order into one tally (the same additions in the same order as the local pass;
 * best ranks merge by min) and records the eval run through the code `eval` uses, so the recorded metrics,
 * coverage, popularity and degree buckets are bit-identical to the local step's.
 *
 * Part files, under `<lake>/pipeline/shards/evaluate/<run>-<part>/` (the folder is removed by the merge):
 *   part-<i>-of-<n>.bin   users i32[m] · degrees i32[m] · best ranks i32[items] · rows f64[m × width]
 *   part-<i>-of-<n>.json  PartHeader, written last
 */
export const EVAL_SHARD_FORMAT = 'plotpointe-evaluate-part/1';

export interface EvalShardOptions {
  lake: string;
  runId: string;
  part: 'valid' | 'test';
  ks: readonly number[];
}

interface PartHeader {
  format: typeof EVAL_SHARD_FORMAT;
  run: string;
  part: 'valid' | 'test';
  shard: number;
  of: number;
  ks: number[];
  split_hash: string | null;
  num_users: number;
  num_items: number;
  /** User range [start, end) of this shard. */
  start: number;
  end: number;
  considered: number;
  evaluated: number;
  seconds: number;
}

/** What a shard reports (its JSON result). */
export interface EvalShardSummary {
  step: 'evaluate';
  shard: number;
  of: number;
  start: number;
  end: number;
  evaluated: number;
  seconds: number;
  path: string;
}

export const evalShardDir = (lake: string, runId: string, part: string) => join(lakePaths(lake).pipeline.shards('evaluate'), `${runId}-${part}`);
const partBase = (o: EvalShardOptions, shard: number, of: number) => join(evalShardDir(o.lake, o.runId, o.part), `part-${shard}-of-${of}`);

/** User range [start, end) of shard `shard` of `of` over `users` users. */
export function shardUserRange(users: number, shard: number, of: number): { start: number; end: number } {
  if (!Number.isInteger(of) || of < 1) throw ppError('PP_USAGE', `--of must be a positive integer, got ${of}`);
  if (!Number.isInteger(shard) || shard < 0 || shard >= of) throw ppError('PP_USAGE', `--shard must be an integer in [0, ${of - 1}], got ${shard}`);
  return { start: Math.floor((shard * users) / of), end: Math.floor(((shard + 1) * users) / of) };
}

function checkPart(part: string): void {
  if (part !== 'valid' && part !== 'test') throw ppError('PP_USAGE', `--part must be valid or test, got ${part}`);
}

/** Shard `shard` of `of`: ranks its users and writes its part file. */
export async function runEvaluateShard(o: EvalShardOptions & { shard: number; of: number }): Promise<EvalShardSummary> {
  const started = performance.now();
  checkPart(o.part);
  const t = await loadTrainedRun(o.lake, o.runId);
  try {
    const { data, model } = t;
    const { start, end } = shardUserRange(data.numUsers, o.shard, o.of);
    const users = Int32Array.from({ length: end - start }, (_, i) => start + i);
    const ranked = await rankFullRankingParts(
      { numUsers: data.numUsers, numItems: data.numItems, scoreBatch: (u, out) => model.scoreUsers(u, out), ks: o.ks, users },
      [splitPart(data, o.part)],
      { record: true },
    );
    const rows = ranked.tallies[0].rows();
    const m = rows.users.length;
    const bin = new Uint8Array((2 * m + data.numItems) * 4 + rows.values.byteLength);
    let at = 0;
    for (const a of [rows.users, rows.degrees, rows.bestRank, rows.values]) {
      bin.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
      at += a.byteLength;
    }
    const base = partBase(o, o.shard, o.of);
    await writeFileAtomically(`${base}.bin`, bin);
    const seconds = (performance.now() - started) / 1000;
    const header: PartHeader = {
      format: EVAL_SHARD_FORMAT,
      run: o.runId,
      part: o.part,
      shard: o.shard,
      of: o.of,
      ks: rows.ks,
      split_hash: t.train.splitHash ?? null,
      num_users: data.numUsers,
      num_items: data.numItems,
      start,
      end,
      considered: rows.considered,
      evaluated: m,
      seconds,
    };
    await writeFileAtomically(`${base}.json`, JSON.stringify(header, null, 1) + '\n');
    return { step: 'evaluate', shard: o.shard, of: o.of, start, end, evaluated: m, seconds, path: `${base}.bin` };
  } finally {
    t.model.dispose?.();
  }
}

async function readPart(o: EvalShardOptions, shard: number, of: number): Promise<{ header: PartHeader; rows: FullRankingRows }> {
  const base = partBase(o, shard, of);
  let header: PartHeader;
  try {
    header = JSON.parse(await readFile(`${base}.json`, 'utf8')) as PartHeader;
  } catch (err) {
    throw ppError('PP_PIPELINE_STEP_FAILED', `evaluate: shard ${shard} of ${of} left no part file (${base}.json)`, err);
  }
  if (header.format !== EVAL_SHARD_FORMAT || header.shard !== shard || header.of !== of || header.run !== o.runId || header.part !== o.part) {
    throw ppError('PP_PIPELINE_STEP_FAILED', `${base}.json is not shard ${shard} of ${of} of run ${o.runId} on ${o.part}`);
  }
  const buf = await readFile(`${base}.bin`);
  const m = header.evaluated;
  const w = rowWidth(header.ks.length);
  const want = (2 * m + header.num_items) * 4 + m * w * 8;
  if (buf.length !== want) throw ppError('PP_PIPELINE_STEP_FAILED', `${base}.bin has ${buf.length} bytes, its header says ${want}`);
  // Copies into aligned arrays (a Buffer from readFile may sit at any offset).
  let at = 0;
  const take = <T extends Int32Array | Float64Array>(make: (n: number) => T, n: number): T => {
    const a = make(n);
    new Uint8Array(a.buffer).set(buf.subarray(at, at + a.byteLength));
    at += a.byteLength;
    return a;
  };
  const users = take((n) => new Int32Array(n), m);
  const degrees = take((n) => new Int32Array(n), m);
  const bestRank = take((n) => new Int32Array(n), header.num_items);
  const values = take((n) => new Float64Array(n), m * w);
  return { header, rows: { ks: header.ks, considered: header.considered, users, degrees, values, bestRank } };
}

/**
 * The merge: checks that the `of` parts tile the users of the same split with the same ks, replays them in
 * order and records the eval run as `eval` does. Returns the `eval` summary (with the shard count).
 */
export async function mergeEvaluateShards(o: EvalShardOptions & { of: number }) {
  const started = performance.now();
  checkPart(o.part);
  const ks = normalizeKs(o.ks);
  const store = await RunStore.open(o.lake);
  const train = await store.require(o.runId);
  const parts = [];
  for (let i = 0; i < o.of; i++) parts.push(await readPart(o, i, o.of));
  const first = parts[0]!.header;
  let next = 0;
  for (const { header: h } of parts) {
    const why =
      h.split_hash !== (train.splitHash ?? null) || h.num_users !== first.num_users || h.num_items !== first.num_items
        ? 'was computed on another split'
        : h.ks.length !== ks.length || h.ks.some((k, j) => k !== ks[j])
          ? `used ks [${h.ks.join(', ')}], the merge [${ks.join(', ')}]`
          : h.start !== next
            ? `starts at user ${h.start}, expected ${next}`
            : null;
    if (why) throw ppError('PP_PIPELINE_STEP_FAILED', `evaluate: shard ${h.shard} of ${o.of} ${why}`);
    next = h.end;
  }
  if (next !== first.num_users) throw ppError('PP_PIPELINE_STEP_FAILED', `evaluate: the shards cover users [0, ${next}) of ${first.num_users}`);
  const tally = new FullRankingTally(ks, DEFAULT_DEGREE_BUCKETS, first.num_items);
  for (const p of parts) tally.replay(p.rows);
  // Wall time of the sharded evaluation: its slowest shard, then the merge.
  const seconds = Math.max(...parts.map((p) => p.header.seconds)) + (performance.now() - started) / 1000;
  const report = tally.result({ maskTrain: true, rankedItems: first.num_items, candidateItems: null, rankAmong: 'all', seconds });
  const summary = await recordFullRankingEval({ store, train }, o.runId, o.part, ks, report, started);
  await rm(evalShardDir(o.lake, o.runId, o.part), { recursive: true, force: true });
  return { ...summary, shards: o.of };
}
