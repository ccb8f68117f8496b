import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isPlotPointeError } from '../../errors.js';
import { collect, localInputs } from './collect.js';
import { movielens } from './movielens.js';

function fixture(files: Record<string, string | Buffer>): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'pp-movielens-'));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  return Object.keys(files).map((n) => join(dir, n));
}

const MOVIES =
  'movieId,title,genres\n' +
  '1,Toy Story (1995),Adventure|Animation|Children\n' +
  '2,"American President, The (1995)",Comedy|Drama|Romance\n' +
  '3,"Quoted ""Title"" with a\nnewline (2000)",(no genres listed)\n' +
  ',No id,Drama\n';

const RATINGS =
  'userId,movieId,rating,timestamp\n' +
  '1,1,4.0,964982703\n' +
  '1,2,3.5,964981247\n' +
  '2,3,five,964982224\n' +
  '2,1,4.0,\n' +
  '2,1\n' +
  ',1,4.0,964982224\n' +
  '3,3,0.5,964982931\n';

const TAGS =
  'userId,movieId,tag,timestamp\n' +
  '2,1,pixar,1445714994\n' +
  '2,1,fun,1445714996\n' +
  '3,1,pixar,1445715000\n' +
  '2,99,orphan,1445714994\n' +
  '2,2,,1445714994\n' +
  '2,2,"politics, satire",1445714994\n';

const LINKS = 'movieId,imdbId,tmdbId\n1,0114709,862\n2,0112346,\n77,0000001,1\n';

test('ml-latest: ratings become explicit interactions with unix-second timestamps and source lines', async () => {
  const out = await collect(movielens, fixture({ 'ratings.csv': RATINGS, 'movies.csv': MOVIES }));
  assert.deepEqual(
    out.interactions.map((r) => [r.user_id, r.item_id, r.rating, r.ts, r.split, r.src.line]),
    [
      ['1', '1', 4, 964982703, null, 2],
      ['1', '2', 3.5, 964981247, null, 3],
      ['3', '3', 0.5, 964982931, null, 8],
    ],
  );
  assert.deepEqual(
    out.rejects.filter((r) => r.src.file === 'ratings.csv').map((r) => [r.kind, r.reason, r.src.line, r.raw]),
    [
      ['interaction', 'bad_field', 4, '2,3,five,964982224'],
      ['interaction', 'bad_timestamp', 5, '2,1,4.0,'],
      ['interaction', 'malformed_line', 6, '2,1'],
      ['interaction', 'missing_field', 7, ',1,4.0,964982224'],
    ],
  );
});

test('ml-latest: movies.csv rows become items; quoted titles with commas and newlines keep their start line', async () => {
  const out = await collect(movielens, fixture({ 'ratings.csv': RATINGS, 'movies.csv': MOVIES }));
  assert.deepEqual(
    out.items.map((r) => [r.item_id, r.title, r.categories, r.src.line]),
    [
      ['1', 'Toy Story (1995)', ['Adventure', 'Animation', 'Children'], 2],
      ['2', 'American President, The (1995)', ['Comedy', 'Drama', 'Romance'], 3],
      ['3', 'Quoted "Title" with a\nnewline (2000)', [], 4],
    ],
  );
  assert.deepEqual(
    out.rejects.filter((r) => r.src.file === 'movies.csv').map((r) => [r.kind, r.reason, r.src.line]),
    [['item', 'missing_field', 6]],
  );
});

test('ml-latest: tags are merged into their movie (distinct, sorted, with the line count) and links into extra', async () => {
  const out = await collect(movielens, fixture({ 'ratings.csv': RATINGS, 'movies.csv': MOVIES, 'tags.csv': TAGS, 'links.csv': LINKS }));
  const byId = new Map(out.items.map((r) => [r.item_id, r]));
  assert.deepEqual(byId.get('1')!.extra, { tags: ['fun', 'pixar'], tag_lines: 3, imdbId: '0114709', tmdbId: '862' });
  assert.deepEqual(byId.get('2')!.extra, { tags: ['politics, satire'], tag_lines: 1, imdbId: '0112346' });
  assert.equal(byId.get('3')!.extra, null);
  // tag and link lines that cannot be merged are item rejects; merged ones end in no sink call
  assert.deepEqual(
    out.rejects.filter((r) => r.src.file === 'tags.csv' || r.src.file === 'links.csv').map((r) => [r.src.file, r.kind, r.reason, r.src.line]),
    [
      ['tags.csv', 'item', 'unknown_item', 5],
      ['tags.csv', 'item', 'missing_field', 6],
      ['links.csv', 'item', 'unknown_item', 4],
    ],
  );
  // reconciliation: tags.csv data lines = Σ tag_lines + tags.csv rejects
  const merged = out.items.reduce((n, r) => n + Number((r.extra as { tag_lines?: number } | null)?.tag_lines ?? 0), 0);
  assert.equal(merged + out.rejects.filter((r) => r.src.file === 'tags.csv').length, 6);
});

test('ml-latest: gzip-compressed CSVs are read like plain ones', async () => {
  const out = await collect(movielens, fixture({ 'ratings.csv.gz': gzipSync(RATINGS), 'movies.csv.gz': gzipSync(MOVIES) }));
  assert.equal(out.interactions.length, 3);
  assert.equal(out.items.length, 3);
  assert.equal(out.items[2].src.line, 4);
  assert.equal(out.interactions[2].src.file, 'ratings.csv.gz');
});

test('ml-latest: a ratings.csv with other columns is PP_INGEST_BAD_HEADER; no ratings file is PP_INGEST_MISSING_INPUT', async () => {
  await assert.rejects(
    collect(movielens, fixture({ 'ratings.csv': 'user,item,stars\n1,2,3\n' })),
    (e) => isPlotPointeError(e, 'PP_INGEST_BAD_HEADER') && /ratings\.csv/.test(e.message),
  );
  await assert.rejects(collect(movielens, fixture({ 'movies.csv': MOVIES })), (e) => isPlotPointeError(e, 'PP_INGEST_MISSING_INPUT'));
});

const U_ITEM_LINES = [
  // 5 fields + 19 genre flags
  '1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0',
  '2|Misérables, Les (1995)|01-Jan-1995||http://us.imdb.com/x|0|0|0|0|0|0|0|0|1|0|0|0|1|0|0|0|0|0|0',
  '267|unknown||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0',
  '4|Broken',
  '5|Bad flag (1995)|01-Jan-1995||http://x|0|2|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0',
];

test('ml-100k: u.data tab-separated ratings, u.item latin1 items with genre flags named by u.genre', async () => {
  const uitem = Buffer.from(U_ITEM_LINES.join('\n') + '\n', 'latin1');
  const genres = 'unknown|0\nAction|1\nAdventure|2\nAnimation|3\nKids|4\nComedy|5\nCrime|6\nDocumentary|7\nDrama|8\nFantasy|9\n' +
    'Film-Noir|10\nHorror|11\nMusical|12\nMystery|13\nRomance|14\nSci-Fi|15\nThriller|16\nWar|17\nWestern|18\n\n';
  const out = await collect(
    movielens,
    fixture({ 'u.data': '196\t242\t3\t881250949\n186\t302\t3.x\t891717742\n22\t377\n\n244\t51\t2\t880606923\n', 'u.item': uitem, 'u.genre': genres, 'u.user': '1|24|M\n' }),
  );
  assert.deepEqual(
    out.interactions.map((r) => [r.user_id, r.item_id, r.rating, r.ts, r.src.line]),
    [
      ['196', '242', 3, 881250949, 1],
      ['244', '51', 2, 880606923, 5],
    ],
  );
  assert.deepEqual(
    out.items.map((r) => [r.item_id, r.title, r.categories, r.src.line]),
    [
      ['1', 'Toy Story (1995)', ['Animation', 'Kids', 'Comedy'], 1],
      ['2', 'Misérables, Les (1995)', ['Drama', 'Musical'], 2],
      ['267', 'unknown', [], 3],
    ],
  );
  assert.deepEqual(out.items[0].extra, { release_date: '01-Jan-1995', imdb_url: 'http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)' });
  assert.deepEqual(
    out.rejects.map((r) => [r.src.file, r.kind, r.reason, r.src.line]),
    [
      ['u.item', 'item', 'malformed_line', 4],
      ['u.item', 'item', 'bad_field', 5],
      ['u.data', 'interaction', 'bad_field', 2],
      ['u.data', 'interaction', 'malformed_line', 3],
    ],
  );
});

test('ml-100k: without u.genre the standard genre names are used', async () => {
  const out = await collect(movielens, fixture({ 'u.data': '1\t1\t5\t881250949\n', 'u.item': Buffer.from(U_ITEM_LINES[0] + '\n', 'latin1') }));
  assert.deepEqual(out.items[0].categories, ['Animation', "Children's", 'Comedy']);
});

test('rules: rating range by release, timestamps required, catalog authoritative only with a movie file', () => {
  assert.deepEqual(movielens.rules({}, localInputs(['/d/ratings.csv', '/d/movies.csv', '/d/tags.csv'])), {
    rating: { min: 0.5, max: 5 },
    requireTimestamp: true,
    catalogIsAuthoritative: true,
    givenSplit: false,
  });
  assert.deepEqual(movielens.rules({}, localInputs(['/d/u.data', '/d/u.item'])).rating, { min: 1, max: 5 });
  assert.equal(movielens.rules({}, localInputs(['/d/ratings.csv'])).catalogIsAuthoritative, false);
  assert.equal(movielens.rules({}, localInputs(['/d/u.data'])).catalogIsAuthoritative, false);
});
