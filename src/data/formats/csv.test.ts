import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isPlotPointeError } from '../../errors.js';
import { collect, localInputs } from './collect.js';
import { csv } from './csv.js';
import { asUnixSeconds } from './column-mapping.js';
import { detectDelimiter } from './delimited.js';

function fixture(files: Record<string, string | Buffer>): { dir: string; paths: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'pp-csv-'));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  return { dir, paths: Object.keys(files).map((n) => join(dir, n)) };
}

const INTERACTIONS =
  'user_id,item_id,rating,timestamp,comment\n' +
  'u1,i1,5,1600000000,"great, really"\n' +
  'u1,i2,3.5,1600000100,\n' +
  'u2,i1,abc,1600000200,\n' +
  ',i1,4,1600000300,\n' +
  'u3,i2,4,yesterday,\n' +
  'u3,i2\n' +
  'u4,i3,2,1600000400,"multi\nline"\n' +
  'u5,i3,,1600000500,\n';

const ITEMS =
  'item_id,title,description,brand,categories,price,image_path,color\n' +
  'i1,Red mug,"A mug, red",Acme,Kitchen|Mugs|Kitchen,"$1,299.00",img/i1.png,red\n' +
  'i2,Blue mug,,,,n/a,/abs/i2.png,\n' +
  ',No id,,,,,,\n';

test('files are classified by header: user+item columns → interactions, item column only → items', async () => {
  const { paths } = fixture({ 'ratings.csv': INTERACTIONS, 'items.csv': ITEMS });
  const out = await collect(csv, paths);
  assert.deepEqual(
    out.interactions.map((r) => [r.user_id, r.item_id, r.rating, r.ts, r.split, r.src.line]),
    [
      ['u1', 'i1', 5, 1600000000, null, 2],
      ['u1', 'i2', 3.5, 1600000100, null, 3],
      ['u4', 'i3', 2, 1600000400, null, 8],
    ],
  );
  assert.equal(out.items.length, 2);
  assert.deepEqual(out.items.map((r) => r.src.file), ['items.csv', 'items.csv']);
});

test('item rows map title, description, brand, categories (split, de-duplicated), price and image path; other columns go to extra', async () => {
  const { dir, paths } = fixture({ 'items.csv': ITEMS });
  const out = await collect(csv, paths);
  const [a, b] = out.items;
  assert.deepEqual(a, {
    item_id: 'i1',
    title: 'Red mug',
    description: 'A mug, red',
    brand: 'Acme',
    categories: ['Kitchen', 'Mugs'],
    price: 1299,
    image_url: null,
    image_path: join(dir, 'img/i1.png'),
    extra: { color: 'red' },
    src: { file: 'items.csv', line: 2 },
  });
  // An absolute image path outside the input folder is dropped, with the reason in extra.
  assert.deepEqual([b.description, b.brand, b.categories, b.price, b.image_path], [null, null, [], null, null]);
  assert.match(String(b.extra?.image_rejected), /^\/abs\/i2\.png: outside the input folder/);
  assert.deepEqual(out.rejects.map((r) => [r.kind, r.reason, r.detail, r.src.line]), [['item', 'missing_field', 'missing item_id', 4]]);
});

test('bad rows are rejects with exact reasons and the line where the row starts', async () => {
  const { paths } = fixture({ 'ratings.csv': INTERACTIONS + 'u6,"unclosed,4,1600000600,\nu7,i1,4,1600000700,\n' });
  const out = await collect(csv, paths);
  assert.deepEqual(
    out.rejects.map((r) => [r.kind, r.reason, r.src.line]),
    [
      ['interaction', 'bad_field', 4],
      ['interaction', 'missing_field', 5],
      ['interaction', 'bad_timestamp', 6],
      ['interaction', 'malformed_line', 7],
      ['interaction', 'missing_field', 10],
      ['interaction', 'malformed_line', 11],
    ],
  );
  assert.equal(out.rejects[0].detail, 'rating=abc');
  assert.equal(out.rejects[0].raw, 'u2,i1,abc,1600000200,');
  assert.equal(out.rejects[3].detail, 'expected 5 fields, found 2');
  assert.match(out.rejects[5].detail, /Quote Not Closed/);
});

test('a file with no item column is PP_INGEST_BAD_HEADER naming the file and its columns', async () => {
  const { paths } = fixture({ 'people.csv': 'name,age\nann,3\n' });
  await assert.rejects(
    collect(csv, paths),
    (e) => isPlotPointeError(e, 'PP_INGEST_BAD_HEADER') && /people\.csv/.test(e.message) && /"name", "age"/.test(e.message),
  );
});

test('an option naming a column the header lacks is PP_INGEST_BAD_HEADER', async () => {
  const { paths } = fixture({ 'r.csv': 'user_id,item_id\nu,i\n' });
  await assert.rejects(collect(csv, paths, { rating: 'stars' }), (e) => isPlotPointeError(e, 'PP_INGEST_BAD_HEADER') && /stars/.test(e.message));
});

test('explicit mapping, tab delimiter detected from the header, ISO-8601 timestamps', async () => {
  const { paths } = fixture({
    'log.tsv': 'who\twhat\twhen\tscore\nann\tx1\t2020-01-02T03:04:05Z\t4\nbob\tx2\t2020-01-02\t5\ncy\tx3\t2020-01-02 01:00:00+02:00\t1\ndee\tx4\t02/01/2020\t3\n',
  });
  const out = await collect(csv, paths, { user: 'who', item: 'what', ts: 'when', rating: 'score', ts_unit: 'iso' });
  assert.deepEqual(
    out.interactions.map((r) => [r.user_id, r.item_id, r.ts, r.rating]),
    [
      ['ann', 'x1', Date.UTC(2020, 0, 2, 3, 4, 5) / 1000, 4],
      ['bob', 'x2', Date.UTC(2020, 0, 2) / 1000, 5],
      ['cy', 'x3', Date.UTC(2020, 0, 1, 23) / 1000, 1],
    ],
  );
  assert.deepEqual(out.rejects.map((r) => [r.reason, r.src.line]), [['bad_timestamp', 5]]);
});

test('delimiters ; and | are detected, an explicit delimiter option wins, ts_unit=ms divides by 1000', async () => {
  const { paths } = fixture({ 'a.csv': 'userId;movieId;time\n1;2;1600000000999\n', 'b.csv': 'user|item\n3|4\n' });
  const out = await collect(csv, paths, { ts_unit: 'ms' });
  assert.deepEqual(
    out.interactions.map((r) => [r.user_id, r.item_id, r.ts]),
    [
      ['1', '2', 1600000000],
      ['3', '4', null],
    ],
  );
  // detection alone would pick ';' here
  const { paths: p2 } = fixture({ 'c.csv': 'u;v;w,item\n1;2;3,4\n' });
  const forced = await collect(csv, p2, { delimiter: ',', user: 'u;v;w' });
  assert.deepEqual(forced.interactions.map((r) => [r.user_id, r.item_id]), [['1;2;3', '4']]);
});

test('a split column gives train/valid/test; other values are bad_field', async () => {
  const { paths } = fixture({ 's.csv': 'user_id,item_id,split\na,1,train\na,2,VALID\na,3,test\na,4,holdout\n' });
  const out = await collect(csv, paths);
  assert.deepEqual(out.interactions.map((r) => r.split), ['train', 'valid', 'test']);
  assert.deepEqual(out.rejects.map((r) => [r.reason, r.src.line]), [['bad_field', 5]]);
  assert.equal(csv.rules({}, localInputs(paths)).givenSplit, true);
});

test('gzip-compressed files are read like plain ones; a truncated gzip is PP_INGEST_BAD_GZIP', async () => {
  const gz = gzipSync(INTERACTIONS);
  const { paths } = fixture({ 'ratings.csv.gz': gz });
  const out = await collect(csv, paths);
  assert.equal(out.interactions.length, 3);
  assert.equal(out.interactions[2].src.line, 8);
  assert.deepEqual(csv.rules({}, localInputs(paths)).rating, { min: 1, max: 5 });
  const rows = Array.from({ length: 20000 }, (_, k) => `u${k},i${k % 97},${(k % 5) + 1},${1600000000 + k}`);
  const big = gzipSync('user_id,item_id,rating,timestamp\n' + rows.join('\n'));
  const { paths: cut } = fixture({ 'r.csv.gz': big.subarray(0, big.length - 200) });
  await assert.rejects(collect(csv, cut), (e) => isPlotPointeError(e, 'PP_INGEST_BAD_GZIP'));
});

test('only delimited file names are read when there are some (README and the like are skipped)', async () => {
  const { paths } = fixture({ 'README.md': '# about\n', 'r.csv': 'user_id,item_id\nu,i\n' });
  const out = await collect(csv, paths);
  assert.equal(out.interactions.length, 1);
});

test('rules follow the mapping: implicit without a rating column, timestamps required with one, catalog with an items file', () => {
  const { paths } = fixture({ 'r.csv': 'user_id,item_id\nu,i\n' });
  assert.deepEqual(csv.rules({}, localInputs(paths)), {
    rating: null,
    requireTimestamp: false,
    catalogIsAuthoritative: false,
    givenSplit: false,
  });
  const { paths: both } = fixture({ 'r.csv': 'user_id,item_id,overall,unixReviewTime\nu,i,5,1\n', 'm.tsv': 'asin\ttitle\ni\tx\n' });
  assert.deepEqual(csv.rules({ rating_min: '0', rating_max: '10' }, localInputs(both)), {
    rating: { min: 0, max: 10 },
    requireTimestamp: true,
    catalogIsAuthoritative: true,
    givenSplit: false,
  });
  assert.throws(() => csv.rules({ ts_unit: 'days' }, []), (e) => isPlotPointeError(e, 'PP_USAGE'));
});

test('timestamp and delimiter helpers', () => {
  assert.equal(asUnixSeconds('1600000000', 's'), 1600000000);
  assert.equal(asUnixSeconds('2020-09-13T12:26:40', 'iso'), 1600000000);
  assert.ok(Number.isNaN(asUnixSeconds('13/09/2020', 'iso')));
  assert.equal(detectDelimiter('"a,b";c;d'), ';');
});
