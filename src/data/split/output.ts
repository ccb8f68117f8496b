import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { sqlString, type Db } from '../../lake/duckdb.js';
import { PART_NAMES, type PartName } from './sql.js';

/**
 * Writing a split: the files go into a hidden temporary sibling of the split folder, which replaces the
 * split folder by rename only once everything is written. A failure leaves neither a partial split nor
 * a temporary folder, and an existing split of the same name survives untouched until the new one is
 * complete.
 */

/** Runs `write(tmpDir)` and moves the result to `outDir` atomically (see the module comment). */
export async function writeDirAtomically(outDir: string, write: (tmpDir: string) => Promise<void>): Promise<void> {
  const target = resolve(outDir);
  const parent = dirname(target);
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const firstCreated = await mkdir(parent, { recursive: true });
  const tmp = join(parent, `.${basename(target)}.tmp-${tag}`);
  try {
    await mkdir(tmp);
    await write(tmp);
    const old = join(parent, `.${basename(target)}.old-${tag}`);
    const hadOld = await exists(target);
    if (hadOld) await rename(target, old);
    try {
      await rename(tmp, target);
    } catch (err) {
      if (hadOld) await rename(old, target);
      throw err;
    }
    if (hadOld) await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if (firstCreated) await removeEmptyDirs(parent, firstCreated);
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Removes `dir` and its parents up to and including `top` while they are empty (folders this run created). */
async function removeEmptyDirs(dir: string, top: string): Promise<void> {
  let d = dir;
  for (;;) {
    try {
      await rmdir(d);
    } catch {
      return;
    }
    if (d === resolve(top) || relative(top, d).startsWith('..')) return;
    d = dirname(d);
  }
}

/**
 * Writes train/valid/test.parquet (uid INTEGER, iid INTEGER, rating DOUBLE, ts BIGINT, and `cold BOOLEAN`
 * in valid/test when `withCold`), user_map.parquet and item_map.parquet from the working tables.
 * Rows are sorted (parts by uid, ts, ord; maps by dense id) so the files are byte-identical for the same
 * data and seed.
 */
export async function writeSplitFiles(db: Db, dir: string, table: string, withCold: boolean): Promise<Record<PartName, string>> {
  const paths = {} as Record<PartName, string>;
  for (const [code, part] of PART_NAMES.entries()) {
    const path = join(dir, `${part}.parquet`);
    const cold = withCold && part !== 'train' ? ', cold' : '';
    await copy(
      db,
      `SELECT uid, iid, rating, ts${cold} FROM ${table} WHERE part = ${code} ORDER BY uid, ts NULLS FIRST, ord`,
      path,
    );
    paths[part] = path;
  }
  await copy(db, 'SELECT user_id, uid FROM user_map ORDER BY uid', join(dir, 'user_map.parquet'));
  await copy(db, 'SELECT item_id, iid, cold FROM item_map ORDER BY iid', join(dir, 'item_map.parquet'));
  return paths;
}

async function copy(db: Db, select: string, path: string): Promise<void> {
  await db.run(`COPY (${select}) TO ${sqlString(path)} (FORMAT parquet, COMPRESSION zstd)`);
}
