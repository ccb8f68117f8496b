/**
 * MovieLens (GroupLens) releases, two layouts:
 *
 * - ml-latest / ml-latest-small (CSV, UTF-8, RFC 4180 quoting): `ratings.csv` (userId,movieId,rating,
 *   timestamp; ratings 0.5–5), `movies.csv` (movieId,title,genres with "A|B" genres), optional `tags.csv`
 *   (userId,movieId,tag,timestamp) and `links.csv` (movieId,imdbId,tmdbId).
 * - ml-100k: `u.data` (tab separated user item rating timestamp; ratings 1–5), `u.item` (pipe separated,
 *   latin1: id|title|release date|video release date|IMDb URL|19 genre flags), optional `u.genre`
 *   ("name|index", else the standard 19 names). Other files (u.user, ua.base, README, …) are ignored.
 *
 * Items: item_id = movie id, title as given (with the year), categories = the genres ("(no genres listed)"
 * and ml-100k's "unknown" genre → none). Interactions: explicit rating, ts in unix seconds, split null.
 *
 * Record accounting: every line of ratings.csv / u.data / movies.csv / u.item ends in exactly one sink call.
 * Lines of tags.csv and links.csv are attributes of an item, not records of their own: a line that is
 * merged into its movie's item ends in no sink call (the item's `extra.tag_lines` counts the tags.csv
 * lines merged into it, `extra.tags` holds the distinct tags, sorted; a links.csv line sets
 * `extra.imdbId` / `extra.tmdbId`), and a line that cannot be merged (malformed, empty tag, a movie missing
 * from the catalog, a second links line for a movie) is an item reject. So
 * tags.csv data lines = Σ extra.tag_lines + tags.csv rejects.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { ppError } from '../../errors.js';
import { assertReadableFile, readLines, rejectBadLine } from '../io/lines.js';
import type { ItemRecord, RecordKind, SourceRef } from '../records.js';
import { clipRaw } from '../records.js';
import type { FormatReader, FormatRules, InputFile, ReadContext } from './format.js';
import { readCsvRecords, type CsvRecord } from './delimited.js';

type Role = 'ratings' | 'movies' | 'tags' | 'links' | 'u.data' | 'u.item' | 'u.genre';

/** The role of a file by its name (case-insensitive, an optional .gz suffix ignored); null for others. */
export function movielensRole(name: string): Role | null {
  const n = name.toLowerCase().replace(/\.gz$/, '');
  switch (n) {
    case 'ratings.csv':
      return 'ratings';
    case 'movies.csv':
      return 'movies';
    case 'tags.csv':
      return 'tags';
    case 'links.csv':
      return 'links';
    case 'u.data':
    case 'u.item':
    case 'u.genre':
      return n;
    default:
      return null;
  }
}

/** ml-100k's genre names, by flag position, when u.genre is not given. */
export const ML100K_GENRES: readonly string[] = [
  'unknown',
  'Action',
  'Adventure',
  'Animation',
  "Children's",
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Fantasy',
  'Film-Noir',
  'Horror',
  'Musical',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Thriller',
  'War',
  'Western',
];

function rolesOf(inputs: readonly InputFile[]): Map<Role, InputFile> {
  const m = new Map<Role, InputFile>();
  for (const f of inputs) {
    const r = movielensRole(f.name);
    if (!r) continue;
    if (m.has(r)) throw ppError('PP_USAGE', `movielens: two ${r} files (${m.get(r)!.name}, ${f.name}); give one release`);
    m.set(r, f);
  }
  return m;
}

export const movielens: FormatReader = {
  name: 'movielens',
  description: 'MovieLens ml-latest(-small) CSVs (ratings, movies, tags, links) or ml-100k (u.data, u.item, u.genre)',
  accepts: (name) => movielensRole(name) !== null,
  rules(_options, inputs): FormatRules {
    const roles = rolesOf(inputs);
    const is100k = roles.has('u.data') && !roles.has('ratings');
    return {
      rating: is100k ? { min: 1, max: 5 } : { min: 0.5, max: 5 },
      requireTimestamp: true,
      catalogIsAuthoritative: roles.has('movies') || roles.has('u.item'),
      givenSplit: false,
    };
  },
  async read(inputs: readonly InputFile[], ctx: ReadContext): Promise<void> {
    const roles = rolesOf(inputs);
    if (roles.has('ratings') && roles.has('u.data')) {
      throw ppError('PP_USAGE', 'movielens: both ratings.csv and u.data given; give one release');
    }
    if (roles.has('u.data')) {
      const uitem = roles.get('u.item');
      if (uitem) await readUItem(uitem, roles.get('u.genre'), ctx);
      await readUData(roles.get('u.data')!, ctx);
      return;
    }
    const ratings = roles.get('ratings');
    if (!ratings) {
      throw ppError(
        'PP_INGEST_MISSING_INPUT',
        `movielens needs ratings.csv (ml-latest) or u.data (ml-100k) (got: ${inputs.map((f) => f.name).join(', ') || 'no files'})`,
      );
    }
    const movies = roles.get('movies');
    const catalog = movies ? await readMovies(movies, ctx) : null;
    const tags = roles.get('tags');
    if (tags) await readTags(tags, catalog, ctx);
    const links = roles.get('links');
    if (links) await readLinks(links, catalog, ctx);
    if (catalog) {
      for (const { record, src } of catalog.items) {
        const t = catalog.tags.get(record.item_id);
        if (t && catalog.first.get(record.item_id) === record) {
          record.extra = { ...(record.extra ?? {}), tags: [...t.tags].sort(), tag_lines: t.lines };
        }
        ctx.sink.item(record, src);
      }
    }
    await readRatingsCsv(ratings, ctx);
  },
};

// ---------------------------------------------------------------------------------------------------------
// ml-latest CSVs

/** The trimmed field of the current row by column name (one object per file: no closure per row). */
class FieldGetter {
  fields: string[] = [];
  constructor(private readonly cols: ReadonlyMap<string, number>) {}
  get(col: string): string {
    return (this.fields[this.cols.get(col)!] ?? '').trim();
  }
}

/** Reads a CSV with a header and required columns; calls `row` with the named fields of each data row. */
async function readCsvTable(
  file: InputFile,
  required: readonly string[],
  kind: RecordKind,
  ctx: ReadContext,
  row: (get: FieldGetter, src: SourceRef, rec: CsvRecord) => void,
): Promise<void> {
  let cols: Map<string, number> | null = null;
  let getter: FieldGetter | null = null;
  let width = 0;
  for await (const rec of readCsvRecords(file.path, { delimiter: ',', onBytes: ctx.onBytes, limits: ctx.limits })) {
    if (cols === null) {
      if (!rec.ok) throw ppError('PP_INGEST_BAD_HEADER', `${file.name}: the header cannot be parsed (${rec.error})`);
      const header = rec.fields.map((h) => h.trim());
      const missing = required.filter((c) => !header.includes(c));
      if (missing.length > 0) {
        throw ppError(
          'PP_INGEST_BAD_HEADER',
          `${file.name}: expected columns ${required.join(',')}, missing ${missing.join(',')}; found ${header.join(',')}`,
        );
      }
      cols = new Map(header.map((h, k) => [h, k]));
      getter = new FieldGetter(cols);
      width = header.length;
      continue;
    }
    const src = { file: file.name, line: rec.line };
    if (!rec.ok) {
      ctx.sink.reject(kind, src, rec.reason, rec.error, clipRaw(rec.raw));
      continue;
    }
    if (rec.fields.length !== width) {
      ctx.sink.reject(kind, src, 'malformed_line', `expected ${width} fields, found ${rec.fields.length}`, clipRaw(rec.raw));
      continue;
    }
    getter!.fields = rec.fields;
    row(getter!, src, rec);
  }
  if (cols === null) throw ppError('PP_INGEST_BAD_HEADER', `${file.name}: empty file, expected columns ${required.join(',')}`);
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/** Checks and emits one rating; shared by ratings.csv and u.data. */
function emitRating(ctx: ReadContext, src: SourceRef, raw: string, user: string, item: string, rating: string, ts: string): void {
  let reason: 'missing_field' | 'bad_field' | 'bad_timestamp' | null = null;
  let detail = '';
  if (user === '') [reason, detail] = ['missing_field', 'missing userId'];
  else if (item === '') [reason, detail] = ['missing_field', 'missing movieId'];
  else if (rating === '') [reason, detail] = ['missing_field', 'missing rating'];
  else if (!NUMBER.test(rating)) [reason, detail] = ['bad_field', `rating=${rating}`];
  else if (!INTEGER.test(ts)) [reason, detail] = ['bad_timestamp', ts === '' ? 'missing timestamp' : `timestamp=${ts}`];
  if (reason !== null) ctx.sink.reject('interaction', src, reason, detail, clipRaw(raw));
  else ctx.sink.interaction({ user_id: user, item_id: item, rating: Number(rating), ts: Number(ts), split: null }, src);
}

async function readRatingsCsv(file: InputFile, ctx: ReadContext): Promise<void> {
  await readCsvTable(file, ['userId', 'movieId', 'rating', 'timestamp'], 'interaction', ctx, (row, src, rec) =>
    emitRating(ctx, src, rec.raw, row.get('userId'), row.get('movieId'), row.get('rating'), row.get('timestamp')),
  );
}

interface Catalog {
  items: Array<{ record: ItemRecord; src: SourceRef }>;
  /** The first item record per movie id: the one tags and links are merged into. */
  first: Map<string, ItemRecord>;
  tags: Map<string, { tags: Set<string>; lines: number }>;
  linked: Set<string>;
}

function genres(text: string): string[] {
  if (text === '' || text === '(no genres listed)') return [];
  return [...new Set(text.split('|').map((g) => g.trim()).filter((g) => g !== ''))];
}

async function readMovies(file: InputFile, ctx: ReadContext): Promise<Catalog> {
  const catalog: Catalog = { items: [], first: new Map(), tags: new Map(), linked: new Set() };
  await readCsvTable(file, ['movieId', 'title', 'genres'], 'item', ctx, (row, src, rec) => {
    const id = row.get('movieId');
    if (id === '') {
      ctx.sink.reject('item', src, 'missing_field', 'missing movieId', clipRaw(rec.raw));
      return;
    }
    const record: ItemRecord = {
      item_id: id,
      title: row.get('title') || null,
      description: null,
      brand: null,
      categories: genres(row.get('genres')),
      price: null,
      image_url: null,
      image_path: null,
      extra: null,
    };
    catalog.items.push({ record, src });
    if (!catalog.first.has(id)) catalog.first.set(id, record);
  });
  return catalog;
}

async function readTags(file: InputFile, catalog: Catalog | null, ctx: ReadContext): Promise<void> {
  await readCsvTable(file, ['userId', 'movieId', 'tag'], 'item', ctx, (row, src, rec) => {
    const id = row.get('movieId');
    const tag = row.get('tag');
    const raw = clipRaw(rec.raw);
    if (id === '') return ctx.sink.reject('item', src, 'missing_field', 'missing movieId', raw);
    if (tag === '') return ctx.sink.reject('item', src, 'missing_field', 'missing tag', raw);
    if (!catalog?.first.has(id)) {
      const why = catalog ? 'is not in movies.csv' : 'cannot be attached: no movies.csv given';
      return ctx.sink.reject('item', src, 'unknown_item', `tag for movieId ${id} ${why}`, raw);
    }
    let t = catalog.tags.get(id);
    if (!t) catalog.tags.set(id, (t = { tags: new Set(), lines: 0 }));
    t.tags.add(tag);
    t.lines++;
  });
}

async function readLinks(file: InputFile, catalog: Catalog | null, ctx: ReadContext): Promise<void> {
  await readCsvTable(file, ['movieId', 'imdbId', 'tmdbId'], 'item', ctx, (row, src, rec) => {
    const id = row.get('movieId');
    const raw = clipRaw(rec.raw);
    if (id === '') return ctx.sink.reject('item', src, 'missing_field', 'missing movieId', raw);
    const item = catalog?.first.get(id);
    if (!item) {
      const why = catalog ? 'is not in movies.csv' : 'cannot be attached: no movies.csv given';
      return ctx.sink.reject('item', src, 'unknown_item', `links for movieId ${id} ${why}`, raw);
    }
    if (catalog!.linked.has(id)) return ctx.sink.reject('item', src, 'duplicate', `second links line for movieId ${id}`, raw);
    catalog!.linked.add(id);
    const extra: Record<string, unknown> = { ...(item.extra ?? {}) };
    if (row.get('imdbId') !== '') extra.imdbId = row.get('imdbId');
    if (row.get('tmdbId') !== '') extra.tmdbId = row.get('tmdbId');
    item.extra = Object.keys(extra).length > 0 ? extra : null;
  });
}

// ---------------------------------------------------------------------------------------------------------
// ml-100k

async function readUData(file: InputFile, ctx: ReadContext): Promise<void> {
  for await (const line of readLines(file.path, { onBytes: ctx.onBytes, limits: ctx.limits })) {
    if (rejectBadLine(line, ctx.sink, 'interaction', file.name)) continue;
    const { text, lineNo } = line;
    if (text.trim() === '') continue;
    const src = { file: file.name, line: lineNo };
    const f = text.trim().split(/\s+/);
    if (f.length !== 4) {
      ctx.sink.reject('interaction', src, 'malformed_line', `expected 4 fields (user item rating timestamp), found ${f.length}`, clipRaw(text));
      continue;
    }
    emitRating(ctx, src, text, f[0], f[1], f[2], f[3]);
  }
}

/** Most bytes a latin1 side file (u.item, u.genre: read whole) may hold when ingest.max_input_bytes sets no cap. */
const LATIN1_FILE_CAP = 64 * 1024 * 1024;

/** The lines of a small latin1 text file (plain or gzip), with 1-based numbers; too big a file is PP_INGEST_TOO_LARGE. */
async function latin1Lines(file: InputFile, ctx: ReadContext): Promise<Array<{ text: string; lineNo: number }>> {
  const size = await assertReadableFile(file.path);
  const cap = ctx.limits?.maxInputBytes || LATIN1_FILE_CAP;
  const tooLarge = () => ppError('PP_INGEST_TOO_LARGE', `${file.name} holds more than ${cap} bytes (a side file read whole)`);
  if (size > cap) throw tooLarge();
  let bytes = await readFile(file.path);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: cap });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
      throw ppError('PP_INGEST_BAD_GZIP', `${file.path}: ${(err as Error).message}`, err);
    }
  }
  ctx.onBytes(size);
  const lines = bytes.toString('latin1').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l, k) => ({ text: l.endsWith('\r') ? l.slice(0, -1) : l, lineNo: k + 1 }));
}

async function readUItem(file: InputFile, genreFile: InputFile | undefined, ctx: ReadContext): Promise<void> {
  let names = ML100K_GENRES;
  if (genreFile) {
    const g: string[] = [];
    for (const { text } of await latin1Lines(genreFile, ctx)) {
      const [name, idx] = text.split('|');
      if (name && idx !== undefined && INTEGER.test(idx.trim())) g[Number(idx)] = name.trim();
    }
    if (g.length > 0) names = g;
  }
  for (const { text, lineNo } of await latin1Lines(file, ctx)) {
    if (text.trim() === '') continue;
    const src = { file: file.name, line: lineNo };
    const f = text.split('|');
    if (f.length < 5) {
      ctx.sink.reject('item', src, 'malformed_line', `expected at least 5 fields (id|title|release date|video release date|IMDb URL), found ${f.length}`, clipRaw(text));
      continue;
    }
    const id = f[0].trim();
    if (id === '') {
      ctx.sink.reject('item', src, 'missing_field', 'missing movie id', clipRaw(text));
      continue;
    }
    const flags = f.slice(5).map((x) => x.trim());
    const badFlag = flags.findIndex((x) => x !== '0' && x !== '1');
    if (badFlag >= 0) {
      ctx.sink.reject('item', src, 'bad_field', `genre flag ${names[badFlag] ?? badFlag}=${flags[badFlag]}`, clipRaw(text));
      continue;
    }
    const categories = flags
      .map((x, k) => (x === '1' ? names[k] : undefined))
      .filter((g): g is string => g !== undefined && g !== '' && g !== 'unknown');
    const extra: Record<string, unknown> = {};
    if (f[2].trim() !== '') extra.release_date = f[2].trim();
    if (f[3].trim() !== '') extra.video_release_date = f[3].trim();
    if (f[4].trim() !== '') extra.imdb_url = f[4].trim();
    ctx.sink.item(
      {
        item_id: id,
        title: f[1].trim() || null,
        description: null,
        brand: null,
        categories: [...new Set(categories)],
        price: null,
        image_url: null,
        image_path: null,
        extra: Object.keys(extra).length > 0 ? extra : null,
      },
      src,
    );
  }
}

