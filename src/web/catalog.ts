import { existsSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ppError } from '../errors.js';
import { openDb, sqlString, type Db } from '../lake/duckdb.js';
import { datasetPaths, type DatasetPaths } from '../lake/paths.js';
import { listSplits } from '../analytics/source.js';
import type { DataCard } from '../data/datacard.js';
import { ID_RE } from '../serving/schemas.js';

/**
 * What the dashboard reads straight from the lake (not from the serving bundle): the data card, degree
 * distributions, user and item search, a user's training history and item metadata, all from the staged
 * Parquet tables of one dataset and one split, through an in-memory DuckDB that materialises them on first
 * use (demo: ~0.1 s; sci, 59K interactions: ~0.2 s).
 *
 * Queries are serialised on the one connection (DuckDB connections run one statement at a time).
 */

/** One (degree, number of users or items with that degree) pair; sorted by degree. */
export interface DegreePoint {
  degree: number;
  count: number;
}

export interface DashboardSummary {
  dataset: string;
  split: string | null;
  card: DataCard | null;
  /** Train/valid/test interaction counts of the split (from its manifest), null without a split. */
  splitCounts: Record<string, number> | null;
  userDegree: DegreePoint[];
  itemDegree: DegreePoint[];
}

export interface UserRow {
  userId: string;
  /** Interactions of the user in the split's train part (what the model saw). */
  trainCount: number;
}

export interface ItemMeta {
  itemId: string;
  title: string | null;
  brand: string | null;
  categories: string[];
  price: number | null;
  description: string | null;
  /** True when the item has a local image the image route serves. */
  hasImage: boolean;
  /** A remote image URL from the metadata (not fetched or proxied by the dashboard). */
  imageUrl: string | null;
}

export interface HistoryRow extends ItemMeta {
  rating: number | null;
  /** Unix seconds, or null. */
  ts: number | null;
}

/** Ids accepted by the dashboard routes: the API's one id pattern (src/serving/schemas.ts), so every id the API serves opens here. */
export const ITEM_ID_RE = ID_RE;
export const USER_ID_RE = ID_RE;

/** Picks the split the dashboard shows: the requested one, else `default`, else the first one on disk. */
export function pickSplit(paths: DatasetPaths, requested?: string): string | null {
  if (requested) return requested;
  const names = listSplits(paths);
  if (names.includes('default')) return 'default';
  return names[0] ?? null;
}

export class DashboardCatalog {
  readonly paths: DatasetPaths;
  readonly split: string | null;
  private db: Db | null = null;
  private ready: Promise<Db> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private summaryCache: DashboardSummary | null = null;
  private roots: Promise<string[]> | null = null;

  constructor(lake: string, name: string, split?: string) {
    this.paths = datasetPaths(lake, name);
    if (!existsSync(this.paths.stagingFiles.items)) {
      throw ppError('PP_LAKE_NOT_FOUND', `no staged dataset at ${this.paths.staging}`);
    }
    this.split = pickSplit(this.paths, split);
  }

  /** Opens DuckDB and materialises items, interactions, the split's train part and id maps (once). */
  private open(): Promise<Db> {
    this.ready ??= (async () => {
      const db = await openDb({ threads: 1 });
      const s = this.paths.stagingFiles;
      const pq = (p: string) => `read_parquet(${sqlString(p)})`;
      await db.run(`CREATE TABLE items AS SELECT item_id, title, description, brand, categories, price, image_url, image_path
        FROM ${pq(s.items)}`);
      await db.run(`CREATE TABLE interactions AS SELECT user_id, item_id, rating, ts FROM ${pq(s.interactions)}`);
      if (this.split) {
        const d = this.paths.split(this.split);
        await db.run(`CREATE TABLE train AS SELECT um.user_id, im.item_id, t.rating, t.ts
          FROM ${pq(d.part('train'))} t
          JOIN ${pq(d.userMap)} um USING (uid)
          JOIN ${pq(d.itemMap)} im USING (iid)`);
      } else {
        await db.run(`CREATE TABLE train AS SELECT user_id, item_id, rating, ts FROM interactions`);
      }
      await db.run(`CREATE TABLE user_counts AS SELECT user_id, count(*)::INTEGER AS n FROM train GROUP BY user_id`);
      this.db = db;
      return db;
    })();
    return this.ready;
  }

  /** Runs `job` after every earlier query of this catalog. */
  private serial<T>(job: (db: Db) => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => job(await this.open()));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The data card, split counts and full degree distributions (cached after the first call). */
  async summary(): Promise<DashboardSummary> {
    if (this.summaryCache) return this.summaryCache;
    const cardPath = this.paths.stagingFiles.datacardJson;
    const card = existsSync(cardPath) ? (JSON.parse(await readFile(cardPath, 'utf8')) as DataCard) : null;
    let splitCounts: Record<string, number> | null = null;
    if (this.split) {
      const m = this.paths.split(this.split).manifest;
      if (existsSync(m)) {
        const manifest = JSON.parse(await readFile(m, 'utf8')) as { counts?: { interactions?: Record<string, number> } };
        splitCounts = manifest.counts?.interactions ?? null;
      }
    }
    const degrees = (column: 'user_id' | 'item_id') =>
      this.serial((db) =>
        db.all<DegreePoint>(`SELECT d::INTEGER AS degree, count(*)::INTEGER AS count
          FROM (SELECT count(*) AS d FROM interactions GROUP BY ${column}) GROUP BY d ORDER BY d`),
      );
    this.summaryCache = {
      dataset: this.paths.name,
      split: this.split,
      card,
      splitCounts,
      userDegree: await degrees('user_id'),
      itemDegree: await degrees('item_id'),
    };
    return this.summaryCache;
  }

  /**
   * Users of the split whose id contains `q` (case-insensitive), most active first; all users when `q` is
   * empty. Only users with training history are listed (the ones the model can serve).
   */
  searchUsers(q: string, limit: number): Promise<UserRow[]> {
    const where = q ? `WHERE user_id ILIKE ${sqlString(`%${escapeLike(q)}%`)} ESCAPE '\\'` : '';
    return this.serial(async (db) =>
      (await db.all<{ user_id: string; n: number }>(
        `SELECT user_id, n FROM user_counts ${where} ORDER BY n DESC, user_id LIMIT ${Math.trunc(limit)}`,
      )).map((r) => ({ userId: r.user_id, trainCount: r.n })),
    );
  }

  /** The user's training interactions (newest first, at most `limit`) with item metadata; null for an unknown user. */
  history(userId: string, limit: number): Promise<{ userId: string; total: number; items: HistoryRow[] } | null> {
    return this.serial(async (db) => {
      const count = await db.one<{ n: number }>(`SELECT n FROM user_counts WHERE user_id = ${sqlString(userId)}`);
      if (!count) return null;
      const rows = await db.all<RawItem & { rating: number | null; ts: number | bigint | null }>(`
        SELECT t.rating, t.ts, t.item_id, i.title, i.description, i.brand, i.categories, i.price, i.image_url, i.image_path
        FROM train t LEFT JOIN items i ON i.item_id = t.item_id
        WHERE t.user_id = ${sqlString(userId)} ORDER BY t.ts DESC NULLS LAST, t.item_id LIMIT ${Math.trunc(limit)}`);
      return {
        userId,
        total: count.n,
        items: rows.map((r) => ({ ...toMeta(r), rating: r.rating === null ? null : Number(r.rating), ts: r.ts === null ? null : Number(r.ts) })),
      };
    });
  }

  /** Items whose id equals `q` or whose title contains it, by popularity; the most popular items when `q` is empty. */
  searchItems(q: string, limit: number): Promise<ItemMeta[]> {
    const like = sqlString(`%${escapeLike(q)}%`);
    const where = q ? `WHERE i.item_id = ${sqlString(q)} OR i.title ILIKE ${like} ESCAPE '\\'` : '';
    return this.serial(async (db) =>
      (await db.all<RawItem>(`
        SELECT i.* FROM items i LEFT JOIN (SELECT item_id, count(*) AS n FROM interactions GROUP BY item_id) c USING (item_id)
        ${where} ORDER BY (i.item_id = ${sqlString(q)}) DESC, coalesce(c.n, 0) DESC, i.item_id LIMIT ${Math.trunc(limit)}`)).map(toMeta),
    );
  }

  /** Metadata of the given items, in the order asked (unknown ids are left out). */
  items(ids: string[]): Promise<ItemMeta[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.serial(async (db) => {
      const rows = await db.all<RawItem>(`SELECT * FROM items WHERE item_id IN (${ids.map(sqlString).join(',')})`);
      const byId = new Map(rows.map((r) => [r.item_id, toMeta(r)]));
      return ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
    });
  }

  /**
   * The local image file of an item as its metadata names it (absolute, or relative to the staging folder);
   * null when the item is unknown or has no local image. Never a path taken from the request.
   */
  imagePath(itemId: string): Promise<string | null> {
    return this.serial(async (db) => {
      const r = await db.one<{ image_path: string | null }>(`SELECT image_path FROM items WHERE item_id = ${sqlString(itemId)}`);
      if (!r?.image_path) return null;
      return isAbsolute(r.image_path) ? r.image_path : resolve(this.paths.staging, r.image_path);
    });
  }

  /**
   * The folders a local image may be served from: the lake and the folders of the dataset's ingested inputs
   * (`origin` of each input in the staging manifest), as real paths (links resolved). An image whose real path
   * is outside all of them — `../../etc/shadow.png` in the metadata, or a link out of the input folder — is not
   * served.
   */
  async imageRoots(): Promise<string[]> {
    this.roots ??= (async () => {
      const candidates = [this.paths.lake];
      try {
        const m = JSON.parse(await readFile(this.paths.stagingFiles.manifest, 'utf8')) as { inputs?: { origin?: unknown }[] };
        for (const i of m.inputs ?? []) if (typeof i.origin === 'string' && isAbsolute(i.origin)) candidates.push(dirname(i.origin));
      } catch {
        // no manifest: the lake only
      }
      const real = await Promise.all(candidates.map((c) => realpath(c).catch(() => null)));
      return [...new Set(real.filter((r): r is string => r !== null))];
    })();
    return this.roots;
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }
}

interface RawItem {
  item_id: string;
  title: string | null;
  description: string | null;
  brand: string | null;
  categories: string[] | null;
  price: number | null;
  image_url: string | null;
  image_path: string | null;
}

function toMeta(r: RawItem): ItemMeta {
  return {
    itemId: r.item_id,
    title: r.title ?? null,
    brand: r.brand ?? null,
    categories: r.categories ?? [],
    price: r.price === null || r.price === undefined ? null : Number(r.price),
    description: r.description ?? null,
    hasImage: Boolean(r.image_path),
    imageUrl: r.image_url ?? null,
  };
}

/** Escapes LIKE wildcards so a search for "50%" matches the text "50%". */
function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
