import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname, uptime } from 'node:os';

/**
 * Who runs a run, and whether it still does.
 *
 * A run is recorded `running` when it starts and `finished`/`failed` by its own process at the end, so a
 * process that dies without a word (SIGKILL, the OOM killer, a reboot, a power cut) leaves it `running`.
 * `startRun` therefore records its owner — the process identity below — and the owner writes a heartbeat
 * every 30 s (`DEFAULT_HEARTBEAT_MS`, an unref'd timer). A reader judges every `running` run:
 *
 *   same process space (same hostname, and on Linux the same boot id and pid namespace):
 *     the owner pid is gone, a zombie, or now another process (its start time in clock ticks since boot,
 *     /proc/<pid>/stat field 22, differs: pids get reused)                    → interrupted, for certain;
 *     the owner process is there with the recorded start time                → running;
 *     the start time cannot be read (no /proc, another user's process hidden) → the heartbeat rule;
 *   another host, container or boot:
 *     heartbeat rule: no sign of life (a heartbeat, a logged epoch, the start) for longer than
 *     `DEFAULT_STALE_MS` (10 min) by the reader's clock                       → interrupted.
 *   a run recorded before owners were (no owner pid; schema version 1):
 *     same hostname and started before this machine last booted              → interrupted; else running.
 *
 * The heartbeat timer runs on the main thread, and an epoch of the numeric core is synchronous, so a
 * process busy with one epoch longer than the stale timeout looks silent to another host; its next
 * heartbeat or epoch then marks the run `running` again (see RunStore, "revive").
 */

/** The owner of a run as recorded in the `runs` table (schema version 2). */
export interface RunOwner {
  /** os.hostname() of the owner. */
  hostname: string | null;
  pid: number | null;
  /** A random token per process: equal tokens, same process. */
  token: string | null;
  /** `<boot id>/<pid namespace>` on Linux, where pids are comparable; null elsewhere. */
  space: string | null;
  /** The process start time in clock ticks since boot (Linux /proc/<pid>/stat field 22); null elsewhere. */
  start: string | null;
}

/** How often a running run's process writes its heartbeat (ms). */
export const DEFAULT_HEARTBEAT_MS = 30_000;
/** After how long without a sign of life a run of another host counts as interrupted (ms). */
export const DEFAULT_STALE_MS = 10 * 60_000;

/** The owner record of this process. */
export const thisProcess: Readonly<RunOwner> & { pid: number; token: string } = Object.freeze({
  hostname: hostname(),
  pid: process.pid,
  token: randomBytes(8).toString('hex'),
  space: processSpace(),
  start: processStart(process.pid),
});

function processSpace(): string | null {
  if (process.platform !== 'linux') return null;
  try {
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const pidNs = readlinkSync('/proc/self/ns/pid');
    return bootId && pidNs ? `${bootId}/${pidNs}` : null;
  } catch {
    return null;
  }
}

/** What /proc/<pid>/stat says about a process: gone, a zombie, or alive with its start time. */
type ProcStat = { state: 'absent' } | { state: 'zombie' } | { state: 'alive'; start: string } | { state: 'unreadable' };

function readProcStat(pid: number): ProcStat {
  if (process.platform !== 'linux') return { state: 'unreadable' };
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? { state: 'absent' } : { state: 'unreadable' };
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const start = fields[19]; // field 22 of the whole line; fields[0] is field 3
  if (state === 'Z' || state === 'X' || state === 'x') return { state: 'zombie' };
  return start ? { state: 'alive', start } : { state: 'unreadable' };
}

function processStart(pid: number): string | null {
  const s = readProcStat(pid);
  return s.state === 'alive' ? s.start : null;
}

/** kill(pid, 0): false when no such process exists, true when one does (ours or, EPERM, another user's). */
function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** The wall-clock time this machine booted (ms since the epoch). */
export function bootTimeMs(now: number = Date.now()): number {
  return now - uptime() * 1000;
}

/** What a reader knows about a `running` run. */
export interface RunningRun {
  owner: RunOwner;
  startedAt: Date;
  /** The newest heartbeat; null when the owner does not write heartbeats. */
  heartbeatAt: Date | null;
  /** When the run last logged an epoch; null when none. */
  lastEpochAt: Date | null;
}

export type Verdict = { interrupted: false } | { interrupted: true; reason: string; lastSeen: Date };

export interface JudgeContext {
  self: Readonly<RunOwner>;
  now: Date;
  staleMs: number;
  bootTimeMs: number;
  /** Reads a process's state (injectable for tests). */
  probe: (pid: number) => ProcStat;
  exists: (pid: number) => boolean;
}

export function defaultJudgeContext(staleMs: number = DEFAULT_STALE_MS): JudgeContext {
  const now = new Date();
  return { self: thisProcess, now, staleMs, bootTimeMs: bootTimeMs(now.getTime()), probe: readProcStat, exists: pidExists };
}

/** A clock step back or a slow `uptime` read must not make a run started at boot look older than the boot. */
const BOOT_SLACK_MS = 60_000;

/** Is a `running` run's owner gone? See the file comment for the rules. */
export function judgeRunning(run: RunningRun, ctx: JudgeContext): Verdict {
  const o = run.owner;
  const lastSeen = new Date(Math.max(run.startedAt.getTime(), run.heartbeatAt?.getTime() ?? 0, run.lastEpochAt?.getTime() ?? 0));
  const gone = (reason: string): Verdict => ({ interrupted: true, reason, lastSeen });
  const who = `process ${o.pid ?? '?'} on ${o.hostname ?? 'an unknown host'}`;
  if (o.token !== null && o.token === ctx.self.token) return { interrupted: false };
  const sameHost = o.hostname !== null && o.hostname === ctx.self.hostname;

  if (o.pid === null || o.token === null) {
    // Recorded before owners were: only a reboot since its start is certain.
    if (sameHost && run.startedAt.getTime() < ctx.bootTimeMs - BOOT_SLACK_MS) return gone(`${who} started before the machine last booted`);
    return { interrupted: false };
  }

  if (sameHost && o.space === ctx.self.space) {
    const p = o.space !== null ? ctx.probe(o.pid) : ({ state: 'unreadable' } as const);
    if (p.state === 'alive' && o.start !== null) {
      if (p.start === o.start) return { interrupted: false };
      return gone(`${who} is gone (pid ${o.pid} now belongs to another process)`);
    }
    if (p.state === 'zombie') return gone(`${who} was killed (a zombie now)`);
    if (!ctx.exists(o.pid)) return gone(`${who} is gone`);
    // The pid exists but its start time is unknown: it may be a reused pid, so the heartbeat decides.
  }

  if (run.heartbeatAt === null) return { interrupted: false };
  const silentMs = ctx.now.getTime() - lastSeen.getTime();
  if (silentMs > ctx.staleMs) {
    return gone(`no heartbeat from ${who} for ${duration(silentMs)} (the limit is ${duration(ctx.staleMs)})`);
  }
  return { interrupted: false };
}

const duration = (ms: number) => (ms < 120_000 ? `${Math.round(ms / 1000)} s` : ms < 2 * 3600_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3600_000).toFixed(1)} h`);
