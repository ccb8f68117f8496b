/**
 * CPU pinning for benchmarks whose load generator and server share a small machine (bench:replay --pin): a
 * process and all its threads and descendants are bound to a CPU list with util-linux `taskset -a -p -c`. Threads
 * and processes started later inherit the binding of their parent.
 */
import { execFileSync } from 'node:child_process';
import { childPids } from '../src/serving/testkit.js';

/** Binds `pid`, its threads and its descendants (found now) to `cpus` ("0", "1-3", …); returns the pids bound. */
export function pinTree(pid: number, cpus: string): number[] {
  const pids: number[] = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop()!;
    pids.push(p);
    try {
      todo.push(...childPids(p));
    } catch {
      // the process ended meanwhile
    }
  }
  for (const p of pids) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(p)], { stdio: 'ignore' });
  return pids;
}
