import { ppError } from '../errors.js';

/**
 * The pipeline as data: steps with declared dependencies, inputs, outputs, the config keys they read and a
 * resource class. The runner (run.ts) walks this graph; executors (executors/) run one step's command.
 */

/** cpu: takes one slot of the CPU budget (`--jobs`); io: runs beside cpu steps within `pipeline.io_jobs`. */
export type ResourceClass = 'cpu' | 'io';

/** What a step's functions see: the lake, the dataset, the effective config and the results of finished steps. */
export interface StepContext {
  /** Absolute lake folder. */
  lake: string;
  /** Dataset name in the lake. */
  name: string;
  /** The effective config, flat dotted keys (plotpointe keys and the pipeline file's step settings). */
  config: Readonly<Record<string, unknown>>;
  /** The JSON result (last stdout line) of every finished or cached dependency, by step id. */
  results: Readonly<Record<string, Record<string, unknown>>>;
  /** Extra arguments for this step from the pipeline file (`steps.<id>.args`). */
  args: readonly string[];
}

/** A path the step reads or writes, relative to the lake; `exclude` drops entries of a folder by relative prefix. */
export interface ArtifactRef {
  path: string;
  exclude?: readonly string[];
  /** Inputs only: a path that may be absent (hashed as "absent"). */
  optional?: boolean;
}

export interface StepSpec {
  id: string;
  /** One line: what the step does. */
  title: string;
  /** Steps that must finish first. */
  needs: readonly string[];
  resource: ResourceClass;
  /** The config keys this step reads: their values are part of its cache key. */
  configKeys: readonly string[];
  /** Of {@link configKeys}, those this config makes the step ignore (left out of the key: changing them re-runs nothing). */
  unusedKeys?(config: Readonly<Record<string, unknown>>): readonly string[];
  /** Files/folders it reads (beyond its dependencies' outputs, which the runner adds). */
  inputs(ctx: StepContext): ArtifactRef[];
  /** Files/folders it writes; verified after the step and before a cache hit is trusted. */
  outputs(ctx: StepContext): ArtifactRef[];
  /** The plotpointe command line of the step (without the global --json/--quiet, which the runner adds). */
  command(ctx: StepContext): string[];
  /**
   * The step split for the distributed executor (`pipeline.shards` > 0): `count` independent shard commands
   * and a merge command that assembles their parts into exactly the outputs `command` writes (so the cache key
   * is the same either way). Absent: the step runs whole.
   */
  sharded?: ShardedForm;
}

/** A step's sharded form: shard command lines (run in any order, on any workers) and the merge after them all. */
export interface ShardedForm {
  shards(ctx: StepContext, count: number): string[][];
  merge(ctx: StepContext, count: number): string[];
}

/** Checks ids, dependencies and acyclicity; returns the steps in a topological order (declaration order among ties). */
export function topoOrder(steps: readonly StepSpec[]): StepSpec[] {
  const byId = new Map<string, StepSpec>();
  for (const s of steps) {
    if (byId.has(s.id)) throw ppError('PP_PIPELINE_INVALID', `step "${s.id}" is declared twice`);
    byId.set(s.id, s);
  }
  for (const s of steps) {
    for (const d of s.needs) if (!byId.has(d)) throw ppError('PP_PIPELINE_INVALID', `step "${s.id}" needs unknown step "${d}"`);
  }
  const order: StepSpec[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: StepSpec, path: string[]) => {
    const st = state.get(s.id);
    if (st === 'done') return;
    if (st === 'visiting') throw ppError('PP_PIPELINE_INVALID', `dependency cycle: ${[...path, s.id].join(' → ')}`);
    state.set(s.id, 'visiting');
    for (const d of s.needs) visit(byId.get(d)!, [...path, s.id]);
    state.set(s.id, 'done');
    order.push(s);
  };
  for (const s of steps) visit(s, []);
  return order;
}

/** Every step that depends on `id`, directly or not. */
export function downstreamOf(steps: readonly StepSpec[], id: string): Set<string> {
  const out = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of steps) {
      if (out.has(s.id)) continue;
      if (s.needs.some((d) => d === id || out.has(d))) {
        out.add(s.id);
        grew = true;
      }
    }
  }
  return out;
}

/**
 * The critical path: the longest chain of dependent steps by `seconds` (longest path in a DAG by dynamic
 * programming over the topological order: finish(s) = seconds(s) + max over needs d of finish(d)).
 * It bounds any parallel schedule from below; the sum of all step times is the sequential time.
 */
export function criticalPath(steps: readonly StepSpec[], seconds: (id: string) => number): { seconds: number; path: string[] } {
  const finish = new Map<string, number>();
  const via = new Map<string, string | null>();
  for (const s of topoOrder(steps)) {
    let best = 0;
    let from: string | null = null;
    for (const d of s.needs) {
      const f = finish.get(d)!;
      if (f > best) [best, from] = [f, d];
    }
    finish.set(s.id, best + seconds(s.id));
    via.set(s.id, from);
  }
  let end: string | null = null;
  for (const [id, f] of finish) if (end === null || f > finish.get(end)!) end = id;
  const path: string[] = [];
  for (let cur = end; cur !== null; cur = via.get(cur) ?? null) path.unshift(cur);
  return { seconds: end === null ? 0 : finish.get(end)!, path };
}

/** Keeps the steps named in `only` and what they need (transitively); all steps when `only` is empty. */
export function selectSteps(steps: readonly StepSpec[], only: readonly string[]): StepSpec[] {
  if (only.length === 0) return [...steps];
  const byId = new Map(steps.map((s) => [s.id, s]));
  const keep = new Set<string>();
  const add = (id: string) => {
    const s = byId.get(id);
    if (!s) throw ppError('PP_PIPELINE_INVALID', `unknown step "${id}" (steps: ${steps.map((x) => x.id).join(', ')})`);
    if (keep.has(id)) return;
    keep.add(id);
    s.needs.forEach(add);
  };
  only.forEach(add);
  return steps.filter((s) => keep.has(s.id));
}
