import { mkdirSync, readdirSync, rmdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ppError } from '../errors.js';

/**
 * Opening a DuckDB file that another process holds, politely.
 *
 * DuckDB takes an exclusive OS lock on a database file opened read-write, and a second process's open fails
 * at once with an error that mentions a "lock". The opener here retries with exponential backoff and
 * jitter until a time budget runs out (then PP_RUN_STORE_LOCKED).
 *
 * Plain polling is not fair: a process that makes call after call reopens the file within microseconds of
 * closing it, and a poller almost never hits that gap, so it can starve. So a process that has to wait
 * announces it with a marker file `<db>.wait/<pid>` (touched on every retry, removed when done), and a
 * process about to open the file while another process's fresh marker exists first defers, for at most
 * `deferMs`, until the marker is gone. Waiters themselves never defer, so two waiters cannot block each
 * other; markers older than `staleMs` (a waiter that was killed) are ignored, and removed after a minute.
 */

export interface LockWaitOptions {
  /** Give up after waiting this long (ms). */
  timeoutMs: number;
  /** First backoff (ms), doubled per retry up to `maxBackoffMs`, each with ±50% jitter. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Longest deferral to another process's waiter before opening anyway (ms). */
  deferMs?: number;
  /** A marker not touched for this long belongs to no live waiter (ms). */
  staleMs?: number;
  /** Called before each backoff sleep. */
  onWait?: () => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function isLockError(err: unknown): boolean {
  return err instanceof Error && /lock/i.test(err.message);
}

/** Opens `path` with `open`, waiting out other processes' locks as described above. */
export async function openWithLockWait<T>(path: string, open: () => Promise<T>, o: LockWaitOptions): Promise<T> {
  const waitDir = `${path}.wait`;
  const marker = join(waitDir, String(process.pid));
  const staleMs = o.staleMs ?? 3000;
  await deferToWaiters(waitDir, String(process.pid), o.deferMs ?? 1000, staleMs);
  const t0 = Date.now();
  let marked = false;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        return await open();
      } catch (err) {
        if (!isLockError(err)) throw err;
        const waited = Date.now() - t0;
        if (waited >= o.timeoutMs) {
          throw ppError('PP_RUN_STORE_LOCKED', `${path} (waited ${(waited / 1000).toFixed(1)} s, ${attempt + 1} attempts): ${(err as Error).message}`, err);
        }
        marked = touchMarker(waitDir, marker) || marked;
        o.onWait?.();
        const base = Math.min(o.maxBackoffMs, o.backoffMs * 2 ** attempt);
        await sleep(Math.min(base * (0.5 + Math.random()), Math.max(1, o.timeoutMs - waited)));
      }
    }
  } finally {
    if (marked) {
      rmSync(marker, { force: true });
      try {
        rmdirSync(waitDir); // only when no other waiter is left
      } catch {
        // not empty, or gone
      }
    }
  }
}

function touchMarker(dir: string, marker: string): boolean {
  try {
    const now = new Date();
    try {
      utimesSync(marker, now, now);
    } catch {
      mkdirSync(dir, { recursive: true });
      writeFileSync(marker, '');
    }
    return true;
  } catch {
    return false; // a read-only lake: wait without announcing it
  }
}

/** Fresh markers of other processes; removes ones older than a minute. */
function otherWaiters(dir: string, self: string, staleMs: number): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let fresh = 0;
  const now = Date.now();
  for (const name of names) {
    if (name === self) continue;
    try {
      const age = now - statSync(join(dir, name)).mtimeMs;
      if (age < staleMs) fresh++;
      else if (age > 60_000) rmSync(join(dir, name), { force: true });
    } catch {
      // removed meanwhile
    }
  }
  return fresh;
}

async function deferToWaiters(dir: string, self: string, deferMs: number, staleMs: number): Promise<void> {
  const until = Date.now() + deferMs;
  while (otherWaiters(dir, self, staleMs) > 0 && Date.now() < until) await sleep(10);
}
