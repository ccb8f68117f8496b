import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who owns a temporary or version folder: `<pid>-<start>-<host>`, where start is the process start time in clock
 * ticks since boot (field 22 of /proc/<pid>/stat), so a recycled pid is not taken for the dead owner, and host is
 * 6 hex digits of sha256(hostname): on a lake shared between machines only the owner's machine judges it (a pid
 * of another host is always taken as alive). Off Linux the start is 0 and only the pid is checked.
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

/** This machine's host tag (6 hex digits). */
export const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 6);

/** This process's owner token. */
export function ownerToken(): string {
  self ??= `${process.pid}-${startTicks(process.pid) ?? 0}-${HOST_TAG}`;
  return self;
}

/** Whether the process named by `pid`, `start` (0: unknown) and `host` (undefined: this one) is still running. */
export function ownerAlive(pid: number, start: number, host?: string): boolean {
  if (host !== undefined && host !== HOST_TAG) return true;
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
