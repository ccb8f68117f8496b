import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isPlotPointeError } from '../../errors.js';
import { amazon2014 } from './amazon2014.js';
import { collect, localInputs } from './collect.js';
import type { RecordSink } from '../records.js';

let dir: string;

async function fixture(name: string, lines: string[], opts: { gzip?: boolean; eol?: string } = {}): Promise<string> {
  const text = lines.join(opts.eol ?? '\n') + '\n';
  const path = join(dir, name);
  await writeFile(path, opts.gzip ? gzipSync(text) : text);
  return path;
}

const META = [
  // 1: a full item; nested lists and dicts; a title with escaped and mixed quotes
  "{'asin': 'A1', 'title': 'Tutu \"Zebra\" it\\'s pink', 'description': \"It's a  tutu \", 'price': 12.99, " +
    "'imUrl': 'http://ecx.images-amazon.com/images/I/A1.jpg', 'brand': 'Acme', " +
    "'categories': [['Clothing', 'Girls'], ['Clothing', 'Tutus'], ['Girls']], " +
    "'related': {'also_bought': ['A2', 'A3'], 'bought_together': ['A2']}, 'salesRank': {'Toys & Games': 211836}}",
  // 2: blank line
  '',
  // 3: minimal item with unicode escapes and a backslash
  "{'asin': 'A2', 'title': u'Caf\\xe9 \\\\ \\u2014 \"x\"', 'categories': [['Books']]}",
  // 4: malformed literal (unterminated string)
  "{'asin': 'A3', 'title': 'unterminated}",
  // 5: missing asin
  "{'title': 'no asin'}",
  // 6: asin of the wrong type
  "{'asin': 42, 'title': 'numeric asin'}",
  // 7: a relative image path, a flat category string, price None, a blank description
  "{'asin': 'A4', 'categories': 'Books', 'imUrl': 'images/A4.png', 'price': None, 'description': '   '}",
  // 8: a non-string category
  "{'asin': 'A5', 'categories': [['X', 5]]}",
  // 9: a literal that is not a dict
  "['A6', 'not a dict']",
  // 10: a function call instead of a literal
  "{'asin': __import__('os').getcwd()}",
];

const REVIEWS = [
  // 1: full 2014 review
  '{"reviewerID": "U1", "asin": "A1", "reviewerName": "J. Doe", "helpful": [2, 3], "reviewText": "Great", ' +
    '"overall": 5.0, "summary": "Good", "unixReviewTime": 1252800000, "reviewTime": "09 13, 2009"}',
  // 2: no unixReviewTime: ts from reviewTime (day not zero-padded)
  '{"reviewerID": "U2", "asin": "A2", "overall": 3.0, "reviewTime": "06 2, 2013"}',
  // 3: non-numeric rating
  '{"reviewerID": "U3", "asin": "A1", "overall": "five", "unixReviewTime": 1252800000}',
  // 4: not JSON
  '{"reviewerID": "U4", "asin": ',
  // 5: missing reviewerID
  '{"asin": "A1", "overall": 4.0, "unixReviewTime": 1252800000}',
  // 6: empty asin
  '{"reviewerID": "U5", "asin": "", "overall": 4.0, "unixReviewTime": 1252800000}',
  // 7: out-of-range rating, unknown item, no time at all: not the reader's business
  '{"reviewerID": "U6", "asin": "A9", "overall": 9}',
  // 8: blank (whitespace only)
  '   ',
  // 9: unparsable reviewTime
  '{"reviewerID": "U7", "asin": "A1", "overall": 2, "reviewTime": "13 45, 2010"}',
  // 10: unixReviewTime as a string
  '{"reviewerID": "U8", "asin": "A1", "overall": 4, "unixReviewTime": "1252800000"}',
  // 11: JSON but not an object
  '[1, 2, 3]',
  // 12: missing rating
  '{"reviewerID": "U9", "asin": "A1", "unixReviewTime": 1252800000}',
];

describe('amazon2014 reader', () => {
  let metaGz: string;
  let reviewsPlain: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pp-amazon2014-'));
    metaGz = await fixture('meta_Clothing.json.gz', META, { gzip: true });
    reviewsPlain = await fixture('reviews_Clothing.json', REVIEWS, { eol: '\r\n' });
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('maps meta dict literals to items: flattened categories, price, image URL, the rest in extra', async () => {
    const { items } = await collect(amazon2014, [metaGz]);
    assert.deepEqual(items, [
      {
        item_id: 'A1',
        title: 'Tutu "Zebra" it\'s pink',
        description: "It's a  tutu",
        brand: 'Acme',
        categories: ['Clothing', 'Girls', 'Tutus'],
        price: 12.99,
        image_url: 'http://ecx.images-amazon.com/images/I/A1.jpg',
        image_path: null,
        extra: {
          related: { also_bought: ['A2', 'A3'], bought_together: ['A2'] },
          salesRank: { 'Toys & Games': 211836 },
        },
        src: { file: 'meta_Clothing.json.gz', line: 1 },
      },
      {
        item_id: 'A2',
        title: 'Café \\ — "x"',
        description: null,
        brand: null,
        categories: ['Books'],
        price: null,
        image_url: null,
        image_path: null,
        extra: null,
        src: { file: 'meta_Clothing.json.gz', line: 3 },
      },
      {
        item_id: 'A4',
        title: null,
        description: null,
        brand: null,
        categories: ['Books'],
        price: null,
        image_url: null,
        image_path: join(dir, 'images', 'A4.png'),
        extra: null,
        src: { file: 'meta_Clothing.json.gz', line: 7 },
      },
    ]);
  });

  it('keeps a malformed meta line as a malformed_literal reject with its line number', async () => {
    const { rejects } = await collect(amazon2014, [metaGz]);
    const r = rejects.find((x) => x.src.line === 4);
    assert.ok(r);
    assert.equal(r.kind, 'item');
    assert.equal(r.reason, 'malformed_literal');
    assert.match(r.detail, /unterminated string at offset 24/);
    assert.equal(r.raw, META[3]);
  });

  it('rejects meta lines with a missing or wrongly typed field, a non-dict literal and a call', async () => {
    const { rejects } = await collect(amazon2014, [metaGz]);
    assert.deepEqual(
      rejects.map((r) => [r.src.file, r.src.line, r.kind, r.reason, r.detail]),
      [
        ['meta_Clothing.json.gz', 4, 'item', 'malformed_literal', 'unterminated string at offset 24'],
        ['meta_Clothing.json.gz', 5, 'item', 'missing_field', 'missing asin'],
        ['meta_Clothing.json.gz', 6, 'item', 'bad_field', 'asin=42'],
        ['meta_Clothing.json.gz', 8, 'item', 'bad_field', 'categories has a non-string entry 5'],
        ['meta_Clothing.json.gz', 9, 'item', 'malformed_literal', 'expected a dict, got a list'],
        ['meta_Clothing.json.gz', 10, 'item', 'malformed_literal', "calls are not literals ('__import__(') at offset 9"],
      ],
    );
  });

  it('maps reviews to interactions and leaves review text, summary and helpful out', async () => {
    const { interactions } = await collect(amazon2014, [reviewsPlain]);
    assert.deepEqual(interactions, [
      { user_id: 'U1', item_id: 'A1', rating: 5, ts: 1252800000, split: null, src: { file: 'reviews_Clothing.json', line: 1 } },
      { user_id: 'U2', item_id: 'A2', rating: 3, ts: 1370131200, split: null, src: { file: 'reviews_Clothing.json', line: 2 } },
      { user_id: 'U6', item_id: 'A9', rating: 9, ts: null, split: null, src: { file: 'reviews_Clothing.json', line: 7 } },
    ]);
  });

  it('rejects review lines that are not JSON objects or lack or mistype fields, with line numbers', async () => {
    const { rejects } = await collect(amazon2014, [reviewsPlain]);
    assert.deepEqual(
      rejects.map((r) => [r.src.line, r.kind, r.reason, r.reason === 'malformed_json' ? '' : r.detail]),
      [
        [3, 'interaction', 'bad_field', 'overall="five"'],
        [4, 'interaction', 'malformed_json', ''],
        [5, 'interaction', 'missing_field', 'missing reviewerID'],
        [6, 'interaction', 'missing_field', 'empty asin'],
        [9, 'interaction', 'bad_field', 'reviewTime="13 45, 2010"'],
        [10, 'interaction', 'bad_field', 'unixReviewTime="1252800000"'],
        [11, 'interaction', 'malformed_json', ''],
        [12, 'interaction', 'missing_field', 'missing overall'],
      ],
    );
    assert.equal(rejects[1].raw, REVIEWS[3]);
    assert.equal(rejects[6].detail, 'expected a JSON object, got an array');
  });

  it('skips blank lines without producing records or rejects', async () => {
    const { items, interactions, rejects } = await collect(amazon2014, [metaGz, reviewsPlain]);
    const lines = [...items, ...interactions, ...rejects].map((r) => `${r.src.file}:${r.src.line}`);
    assert.ok(!lines.includes('meta_Clothing.json.gz:2'));
    assert.ok(!lines.includes('reviews_Clothing.json:8'));
    assert.equal(lines.length, META.length - 1 + REVIEWS.length - 1);
  });

  it('reads meta files before review files whatever the input order', async () => {
    const order: string[] = [];
    const sink: RecordSink = {
      item: (_r, src) => order.push(`item ${src.file}`),
      interaction: (_r, src) => order.push(`interaction ${src.file}`),
      reject: (kind, src) => order.push(`${kind} ${src.file}`),
    };
    await amazon2014.read(localInputs([reviewsPlain, metaGz]), { sink, options: {}, onBytes() {} });
    const firstReview = order.findIndex((s) => s.includes('reviews_'));
    const lastMeta = order.findLastIndex((s) => s.includes('meta_'));
    assert.ok(lastMeta < firstReview, order.join('\n'));
  });

  it('reads gzip review files and plain meta files alike', async () => {
    const reviewsGz = await fixture('reviews_Gz.json.gz', [REVIEWS[0]], { gzip: true });
    const metaPlain = await fixture('meta_Plain.json', ["{'asin': 'P1', 'price': 3}"]);
    const out = await collect(amazon2014, [reviewsGz, metaPlain]);
    assert.deepEqual(
      out.interactions.map((i) => [i.user_id, i.item_id, i.src.line]),
      [['U1', 'A1', 1]],
    );
    assert.deepEqual(
      out.items.map((i) => [i.item_id, i.price, i.src.file]),
      [['P1', 3, 'meta_Plain.json']],
    );
  });

  it('reports progress in bytes through onBytes', async () => {
    const seen: number[] = [];
    const sink: RecordSink = { item() {}, interaction() {}, reject() {} };
    await amazon2014.read(localInputs([metaGz]), { sink, options: {}, onBytes: (b) => seen.push(b) });
    assert.ok(seen.length > 0);
    assert.equal(seen.at(-1), (await stat(metaGz)).size);
  });

  it('fails with PP_INGEST_BAD_GZIP on a truncated gzip file', async () => {
    const full = gzipSync(REVIEWS.join('\n').repeat(20));
    const path = join(dir, 'reviews_Truncated.json.gz');
    await writeFile(path, full.subarray(0, full.length - 20));
    await assert.rejects(collect(amazon2014, [path]), (err: unknown) => isPlotPointeError(err, 'PP_INGEST_BAD_GZIP'));
  });

  it('fails with PP_INGEST_MISSING_INPUT when there is neither a review nor a meta file', async () => {
    await assert.rejects(collect(amazon2014, []), (err: unknown) => isPlotPointeError(err, 'PP_INGEST_MISSING_INPUT'));
  });

  it('has a 1–5 rating range, required timestamps, and an authoritative catalog only with a meta file', () => {
    const withMeta = amazon2014.rules({}, localInputs(['/x/reviews_A.json.gz', '/x/meta_A.json.gz']));
    assert.deepEqual(withMeta, {
      rating: { min: 1, max: 5 },
      requireTimestamp: true,
      catalogIsAuthoritative: true,
      givenSplit: false,
    });
    assert.equal(amazon2014.rules({}, localInputs(['/x/reviews_A.json.gz'])).catalogIsAuthoritative, false);
    assert.equal(amazon2014.name, 'amazon2014');
  });
});
