import { readFileSync } from 'node:fs';

/**
 * Who owns a temporary or version folder: `<pid>-<start>`, where start is the process start time in clock ticks
 * since boot (field 22 of /proc/<pid>/stat), so a recycled pid is not taken for the dead owner. Off Linux the
 * start is 0 and only the pid is checked.
 */
function startTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and ')': fields after it start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[19]);
  } catch {
    return null;
  }
}

let self: string | undefined;

/** This process's owner token. */
export function ownerToken(): string {
  self ??= `${process.pid}-${startTicks(process.pid) ?? 0}`;
  return self;
}

/** Whether the process named by `pid` and `start` (0: unknown) is still running. */
export function ownerAlive(pid: number, start: number): boolean {
  if (pid === process.pid) return start === 0 || String(start) === ownerToken().split('-')[1];
  const ticks = startTicks(pid);
  if (ticks !== null) return start === 0 || ticks === start;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
