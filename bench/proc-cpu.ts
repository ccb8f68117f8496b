/** CPU time of a process tree from Linux /proc, for benchmarks of servers that run as child processes (bench:serve, bench:replay). */
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU seconds used so far by process `pid` and all its descendants (Linux /proc): utime + stime + cutime + cstime
 * of every process in the tree, found by one scan of /proc/<n>/stat for parent pids. The server may be a cluster
 * primary whose workers do the serving, so its own utime + stime would miss most of the work; cutime + cstime
 * keep a worker that exits and is reaped during a run counted (its time moves to its parent's). NaN when `pid`
 * itself is gone; descendants that exit while being read count 0.
 */
export function treeCpuSeconds(pid: number): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state) of proc(5)
      stats.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
    } catch {
      // the process ended between readdir and read
    }
  }
  if (!stats.has(pid)) return NaN;
  const children = new Map<number, number[]>();
  for (const [p, s] of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), p]);
  let ticks = 0;
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop()!;
    ticks += stats.get(p)?.ticks ?? 0;
    todo.push(...(children.get(p) ?? []));
  }
  return ticks / 100; // clock ticks (USER_HZ = 100)
}
