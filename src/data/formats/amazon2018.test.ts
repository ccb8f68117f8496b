import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isPlotPointeError } from '../../errors.js';
import { amazon2018 } from './amazon2018.js';
import { collect, collectingSink } from './collect.js';

let dir: string;

async function fixture(name: string, lines: string[], opts: { gzip?: boolean } = {}): Promise<string> {
  const text = lines.join('\n') + '\n';
  const path = join(dir, name);
  await writeFile(path, opts.gzip ? gzipSync(text) : text);
  return path;
}

const B1 = {
  asin: 'B1',
  title: '  Desk "Pro" Lamp  ',
  description: ['Bright.', '  ', ' Warm \\ light. '],
  category: ['Home & Kitchen', 'Lighting', 'Home & Kitchen', ' '],
  brand: '',
  price: '$10.99 - $15.99',
  imageURL: ['https://images-na.ssl-images-amazon.com/B1._SS40_.jpg'],
  imageURLHighRes: ['https://images-na.ssl-images-amazon.com/B1.jpg', 'https://images-na.ssl-images-amazon.com/B1b.jpg'],
  also_buy: ['B2'],
  also_view: [],
  rank: '1,234 in Home & Kitchen (',
  main_cat: 'Amazon Home',
  feature: ['LED'],
  date: 'June 1, 2015',
  details: { Color: 'Red' },
  similar_item: '',
  tech1: '',
  tech2: '',
};

const META = [
  // 1: a full 2018 item
  JSON.stringify(B1),
  // 2: a relative local image (the demo catalog), a thousands separator, a string description
  JSON.stringify({ asin: 'B2', title: 'Chair', description: 'One string.', category: [], price: '$1,299.00', imageURL: ['images/B2.png'] }),
  // 3: an unparsable price (CSS junk, as found in the real dump)
  JSON.stringify({ asin: 'B3', price: '.a-box-inner{background-color:#fff}', imageURL: [], imageURLHighRes: [] }),
  // 4: a title of the wrong type
  JSON.stringify({ asin: 'B4', title: 5 }),
  // 5: a Python literal is not JSON
  "{'asin': 'B5', 'title': 'x'}",
  // 6: blank
  '',
  // 7: missing asin
  JSON.stringify({ title: 'no asin' }),
  // 8: a local high-res image and a remote low-res one
  JSON.stringify({ asin: 'B6', price: '$12.99', imageURLHighRes: ['images/B6.png'], imageURL: ['http://img.example/B6.jpg'] }),
  // 9: a description list with a non-string entry
  JSON.stringify({ asin: 'B7', description: ['ok', 3] }),
];

const REVIEWS = [
  // 1: full 2018 review
  JSON.stringify({
    overall: 5.0,
    vote: '1,234',
    verified: true,
    reviewTime: '09 13, 2009',
    reviewerID: 'U1',
    asin: 'B1',
    style: { 'Format:': ' Hardcover' },
    reviewerName: 'A',
    reviewText: 'Nice',
    summary: 'Five Stars',
    unixReviewTime: 1252800000,
    image: ['https://images-na.ssl-images-amazon.com/r1.jpg'],
  }),
  // 2: reviewTime only
  JSON.stringify({ overall: 1, reviewTime: '12 31, 2017', reviewerID: 'U2', asin: 'B2' }),
  // 3: non-numeric rating
  JSON.stringify({ overall: 'great', unixReviewTime: 1252800000, reviewerID: 'U3', asin: 'B1' }),
  // 4: truncated JSON
  '{"overall": 4.0, "reviewerID": "U4"',
  // 5: missing asin
  JSON.stringify({ overall: 4, unixReviewTime: 1252800000, reviewerID: 'U5' }),
  // 6: reviewerID of the wrong type
  JSON.stringify({ overall: 4, unixReviewTime: 1252800000, reviewerID: 17, asin: 'B1' }),
];

describe('amazon2018 reader', () => {
  let metaGz: string;
  let reviewsPlain: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pp-amazon2018-'));
    metaGz = await fixture('meta_Home.json.gz', META, { gzip: true });
    reviewsPlain = await fixture('Home.json', REVIEWS);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('maps meta JSON to items: trimmed text, joined description, first price of a range, high-res image first', async () => {
    const { items } = await collect(amazon2018, [metaGz]);
    assert.deepEqual(items[0], {
      item_id: 'B1',
      title: 'Desk "Pro" Lamp',
      description: 'Bright.\nWarm \\ light.',
      brand: null,
      categories: ['Home & Kitchen', 'Lighting'],
      price: 10.99,
      image_url: 'https://images-na.ssl-images-amazon.com/B1.jpg',
      image_path: null,
      extra: {
        also_buy: ['B2'],
        also_view: [],
        rank: '1,234 in Home & Kitchen (',
        main_cat: 'Amazon Home',
        feature: ['LED'],
        date: 'June 1, 2015',
        details: { Color: 'Red' },
        similar_item: '',
        tech1: '',
        tech2: '',
      },
      src: { file: 'meta_Home.json.gz', line: 1 },
    });
  });

  it('resolves a relative image path against the meta file folder and parses a price with a thousands separator', async () => {
    const { items } = await collect(amazon2018, [metaGz]);
    assert.deepEqual(items[1], {
      item_id: 'B2',
      title: 'Chair',
      description: 'One string.',
      brand: null,
      categories: [],
      price: 1299,
      image_url: null,
      image_path: join(dir, 'images', 'B2.png'),
      extra: null,
      src: { file: 'meta_Home.json.gz', line: 2 },
    });
  });

  it('keeps an unparsable price as null with the raw text in extra.price_raw', async () => {
    const { items } = await collect(amazon2018, [metaGz]);
    const b3 = items.find((i) => i.item_id === 'B3');
    assert.ok(b3);
    assert.equal(b3.price, null);
    assert.deepEqual(b3.extra, { price_raw: '.a-box-inner{background-color:#fff}' });
    assert.equal(b3.image_url, null);
    assert.equal(b3.image_path, null);
  });

  it('takes a remote low-res image as image_url and a local high-res image as image_path', async () => {
    const { items } = await collect(amazon2018, [metaGz]);
    const b6 = items.find((i) => i.item_id === 'B6');
    assert.ok(b6);
    assert.equal(b6.price, 12.99);
    assert.equal(b6.image_url, 'http://img.example/B6.jpg');
    assert.equal(b6.image_path, join(dir, 'images', 'B6.png'));
    assert.equal(b6.src.line, 8);
  });

  it('resolves a relative image against the download URL when the meta file came from the web', async () => {
    const sink = collectingSink();
    const input = { path: metaGz, name: 'meta_Home.json.gz', origin: 'https://example.org/amazon/meta_Home.json.gz' };
    await amazon2018.read([input], { sink, options: {}, onBytes() {} });
    const b2 = sink.collected.items.find((i) => i.item_id === 'B2');
    assert.ok(b2);
    assert.equal(b2.image_url, 'https://example.org/amazon/images/B2.png');
    assert.equal(b2.image_path, null);
  });

  it('keeps a non-JSON meta line as a malformed_json reject with its line number, and rejects bad fields', async () => {
    const { items, rejects } = await collect(amazon2018, [metaGz]);
    assert.deepEqual(
      items.map((i) => i.item_id),
      ['B1', 'B2', 'B3', 'B6'],
    );
    assert.deepEqual(
      rejects.map((r) => [r.src.file, r.src.line, r.kind, r.reason, r.reason === 'malformed_json' ? '' : r.detail]),
      [
        ['meta_Home.json.gz', 4, 'item', 'bad_field', 'title=5'],
        ['meta_Home.json.gz', 5, 'item', 'malformed_json', ''],
        ['meta_Home.json.gz', 7, 'item', 'missing_field', 'missing asin'],
        ['meta_Home.json.gz', 9, 'item', 'bad_field', 'description has a non-string entry 3'],
      ],
    );
    assert.equal(rejects[1].raw, META[4]);
  });

  it('maps reviews to interactions, ignoring vote, style, image and text', async () => {
    const { interactions, rejects } = await collect(amazon2018, [reviewsPlain]);
    assert.deepEqual(interactions, [
      { user_id: 'U1', item_id: 'B1', rating: 5, ts: 1252800000, split: null, src: { file: 'Home.json', line: 1 } },
      { user_id: 'U2', item_id: 'B2', rating: 1, ts: 1514678400, split: null, src: { file: 'Home.json', line: 2 } },
    ]);
    assert.deepEqual(
      rejects.map((r) => [r.src.line, r.kind, r.reason, r.reason === 'malformed_json' ? '' : r.detail]),
      [
        [3, 'interaction', 'bad_field', 'overall="great"'],
        [4, 'interaction', 'malformed_json', ''],
        [5, 'interaction', 'missing_field', 'missing asin'],
        [6, 'interaction', 'bad_field', 'reviewerID=17'],
      ],
    );
  });

  it('reads gzip reviews and plain meta files', async () => {
    const reviewsGz = await fixture('Books.json.gz', REVIEWS.slice(0, 2), { gzip: true });
    const metaPlain = await fixture('meta_Books.json', [META[1]]);
    const out = await collect(amazon2018, [reviewsGz, metaPlain]);
    assert.deepEqual(
      out.interactions.map((i) => [i.user_id, i.src.file, i.src.line]),
      [
        ['U1', 'Books.json.gz', 1],
        ['U2', 'Books.json.gz', 2],
      ],
    );
    assert.deepEqual(
      out.items.map((i) => [i.item_id, i.src.file]),
      [['B2', 'meta_Books.json']],
    );
  });

  it('fails with PP_INGEST_BAD_GZIP on a truncated gzip meta file', async () => {
    const full = gzipSync(META.join('\n').repeat(10));
    const path = join(dir, 'meta_Truncated.json.gz');
    await writeFile(path, full.subarray(0, full.length - 20));
    await assert.rejects(collect(amazon2018, [path]), (err: unknown) => isPlotPointeError(err, 'PP_INGEST_BAD_GZIP'));
  });

  it('fails with PP_INGEST_MISSING_INPUT when there is neither a review nor a meta file', async () => {
    await assert.rejects(collect(amazon2018, []), (err: unknown) => isPlotPointeError(err, 'PP_INGEST_MISSING_INPUT'));
  });

  it('uses the same rules as amazon2014', () => {
    assert.equal(amazon2018.name, 'amazon2018');
    assert.deepEqual(amazon2018.rules({}, [{ path: '/x/meta_A.json', name: 'meta_A.json', origin: '/x/meta_A.json' }]), {
      rating: { min: 1, max: 5 },
      requireTimestamp: true,
      catalogIsAuthoritative: true,
      givenSplit: false,
    });
    assert.equal(amazon2018.rules({}, [{ path: '/x/A.json', name: 'A.json', origin: '/x/A.json' }]).catalogIsAuthoritative, false);
  });
});
