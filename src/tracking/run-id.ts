import { randomBytes } from 'node:crypto';

/**
 * Run ids: `YYYYMMDD-HHMMSS-<model>-<4 hex>`, the start time in UTC. They sort chronologically to the
 * second as plain strings (ids of one second differ in their random suffix, whose order means nothing;
 * `RunStore.list` orders by the millisecond start time). The store checks a new id against the existing
 * ones and draws another suffix on a clash, so ids are unique within a lake. An id is also a valid lake
 * name (`assertName`), so it can name the run's artifact folder.
 */
export function makeRunId(model: string, at: Date = new Date(), suffix: string = randomBytes(2).toString('hex')): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${p(at.getUTCFullYear(), 4)}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}`;
  const time = `${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}`;
  return `${date}-${time}-${modelSlug(model)}-${suffix}`;
}

/** The model name as an id part: letters, digits, '.', '_' and '-', at most 40 characters. */
export function modelSlug(model: string): string {
  const slug = model
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^[._-]+/, '')
    .slice(0, 40);
  return slug || 'model';
}

export const RUN_ID_RE = /^\d{8}-\d{6}-[A-Za-z0-9][A-Za-z0-9._-]*-[0-9a-f]{4}$/;
