import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import pngjs from 'pngjs';
import { isPlotPointeError } from '../../errors.js';
import { amazon2014 } from '../formats/amazon2014.js';
import { parsePythonLiteral } from '../formats/python-literal.js';
import { amazon2018 } from '../formats/amazon2018.js';
import { collect } from '../formats/collect.js';
import { generateDemo, resolveDemoOptions, type DemoManifest, type DemoOptions } from './generate.js';

const SMALL = { users: 60, items: 80, catalogItems: 100, meanReviewsPerUser: 8, seed: 7, progress: false } as const;

const root = await mkdtemp(join(tmpdir(), 'plotpointe-demo-test-'));
after(() => rm(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `run-${++dirs}`);

async function gen(extra: Partial<DemoOptions> = {}) {
  const out = freshDir();
  const summary = await generateDemo({ ...SMALL, ...extra, out });
  return { out, summary };
}

async function gzLines(path: string): Promise<string[]> {
  const text = gunzipSync(await readFile(path)).toString('utf8');
  assert.ok(text.endsWith('\n'), 'the file ends with a newline');
  return text.slice(0, -1).split('\n');
}

/** sha256 of every file under `dir`, by relative path. */
async function hashTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(dir, p), createHash('sha256').update(await readFile(p)).digest('hex'));
    }
  };
  await walk(dir);
  return out;
}

const sha256 = async (p: string) => createHash('sha256').update(await readFile(p)).digest('hex');

// One shared default-format run for the read-only checks.
const base = await gen();
const metaLines = await gzLines(base.summary.files.meta);
const reviewLines = await gzLines(base.summary.files.reviews);
const meta = metaLines.map((l) => JSON.parse(l) as Record<string, unknown>);
const reviews = reviewLines.map((l) => JSON.parse(l) as Record<string, unknown>);

test('the same seed writes byte-identical files (data, images and manifest)', async () => {
  const again = await gen();
  const a = await hashTree(base.out);
  const b = await hashTree(again.out);
  assert.equal(a.size, 3 + SMALL.catalogItems);
  assert.deepEqual([...b.entries()].sort(), [...a.entries()].sort());
});

test('a different seed writes different data', async () => {
  const other = await gen({ seed: 8 });
  assert.notEqual(other.summary.sha256.meta, base.summary.sha256.meta);
  assert.notEqual(other.summary.sha256.reviews, base.summary.sha256.reviews);
  assert.notEqual(other.summary.sha256.images, base.summary.sha256.images);
  const asins = new Set(meta.map((m) => m.asin));
  const otherMeta = (await gzLines(other.summary.files.meta)).map((l) => JSON.parse(l) as { asin: string });
  assert.ok(otherMeta.filter((m) => asins.has(m.asin)).length < 5, 'ASINs are drawn from the seed');
});

test('counts match the options, the summary and the manifest (with each file hash)', async () => {
  const users = new Set(reviews.map((r) => r.reviewerID));
  const reviewed = new Set(reviews.map((r) => r.asin));
  const expectedReviews = SMALL.users * SMALL.meanReviewsPerUser;
  assert.equal(meta.length, SMALL.catalogItems);
  assert.equal(new Set(meta.map((m) => m.asin)).size, SMALL.catalogItems, 'ASINs are unique');
  assert.equal(reviews.length, expectedReviews);
  assert.equal(users.size, SMALL.users);
  assert.equal(reviewed.size, SMALL.items, 'exactly `items` items receive reviews');
  const perUser = new Map<unknown, number>();
  for (const r of reviews) perUser.set(r.reviewerID, (perUser.get(r.reviewerID) ?? 0) + 1);
  assert.ok(Math.min(...perUser.values()) >= 5, 'every user has at least 5 reviews');

  const counts = { users: SMALL.users, items: SMALL.items, catalogItems: SMALL.catalogItems, reviews: expectedReviews, images: SMALL.catalogItems };
  assert.deepEqual(base.summary.counts, counts);
  const manifest = JSON.parse(await readFile(base.summary.files.manifest, 'utf8')) as DemoManifest;
  assert.deepEqual(manifest.counts, counts);
  assert.equal(manifest.seed, SMALL.seed);
  assert.equal(manifest.format, 'amazon2018');
  assert.deepEqual(manifest.options, {
    seed: 7, preset: 'default', users: 60, items: 80, catalogItems: 100, reviews: expectedReviews, images: true, format: 'amazon2018',
  });
  for (const [name, path, lines] of [
    ['meta_Demo.json.gz', base.summary.files.meta, metaLines.length],
    ['reviews_Demo.json.gz', base.summary.files.reviews, reviewLines.length],
  ] as const) {
    assert.equal(manifest.files[name].sha256, await sha256(path), name);
    assert.equal(manifest.files[name].bytes, (await stat(path)).size, name);
    assert.equal(manifest.files[name].lines, lines, name);
  }
  assert.equal(manifest.images?.count, SMALL.catalogItems);
  assert.equal(manifest.images?.sha256, base.summary.sha256.images);
});

test('meta records have the amazon2018 shape', () => {
  const asins = new Set(meta.map((m) => m.asin as string));
  for (const m of meta) {
    assert.match(m.asin as string, /^B0[0-9A-Z]{8}$/);
    assert.equal(typeof m.title, 'string');
    assert.ok((m.title as string).startsWith(m.brand as string), 'titles start with the brand');
    const cat = m.category as string[];
    assert.equal(cat[0], 'Electronics');
    assert.ok(cat.length >= 3);
    const desc = m.description as string[];
    assert.equal(desc.length, 1);
    assert.ok(desc[0].split('. ').length >= 3, 'descriptions have several sentences');
    assert.ok((m.feature as string[]).length >= 3);
    assert.match(m.price as string, /^\$\d{1,3}(,\d{3})*\.\d\d$/);
    assert.deepEqual(m.imageURL, [`images/${m.asin}.png`]);
    assert.deepEqual(m.imageURLHighRes, []);
    for (const a of m.also_buy as string[]) assert.ok(asins.has(a) && a !== m.asin);
  }
  assert.ok(meta.filter((m) => (m.also_buy as string[]).length > 0).length > SMALL.items / 2, 'reviewed items have co-purchases');
});

test('every review names a catalog item and has the amazon2018 shape', () => {
  const asins = new Set(meta.map((m) => m.asin));
  const lo = Date.UTC(2014, 0, 1) / 1000;
  const hi = Date.UTC(2018, 11, 31) / 1000;
  const daysByUser = new Map<unknown, Set<number>>();
  const pairs = new Set<string>();
  for (const r of reviews) {
    assert.ok(asins.has(r.asin), `unknown asin ${String(r.asin)}`);
    assert.match(r.reviewerID as string, /^A[0-9A-Z]{13}$/);
    assert.ok([1, 2, 3, 4, 5].includes(r.overall as number));
    assert.equal(r.verified, true);
    const ts = r.unixReviewTime as number;
    assert.ok(Number.isInteger(ts) && ts >= lo && ts <= hi && ts % 86_400 === 0);
    const d = new Date(ts * 1000);
    const expected = `${String(d.getUTCMonth() + 1).padStart(2, '0')} ${String(d.getUTCDate()).padStart(2, '0')}, ${d.getUTCFullYear()}`;
    assert.equal(r.reviewTime, expected);
    assert.ok((r.reviewText as string).length > 10 && (r.summary as string).length > 0);
    if (r.vote !== undefined) assert.match(r.vote as string, /^\d+$/);
    const days = daysByUser.get(r.reviewerID) ?? new Set<number>();
    assert.ok(!days.has(ts), 'a user reviews at most once a day (histories are strictly increasing)');
    days.add(ts);
    daysByUser.set(r.reviewerID, days);
    const key = `${String(r.reviewerID)} ${String(r.asin)}`;
    assert.ok(!pairs.has(key), 'no user reviews the same item twice');
    pairs.add(key);
  }
});

test('every product has a PNG that decodes at 128×128 RGB', async () => {
  const files = await readdir(join(base.out, 'images'));
  assert.equal(files.length, SMALL.catalogItems);
  for (const m of meta) {
    const png = pngjs.PNG.sync.read(await readFile(join(base.out, (m.imageURL as string[])[0])));
    assert.equal(png.width, 128);
    assert.equal(png.height, 128);
  }
});

test('images: false renders nothing and leaves imageURL empty', async () => {
  const { out, summary } = await gen({ images: false });
  assert.equal(existsSync(join(out, 'images')), false);
  assert.equal(summary.files.images, null);
  assert.equal(summary.counts.images, 0);
  for (const line of await gzLines(summary.files.meta)) assert.deepEqual((JSON.parse(line) as { imageURL: unknown }).imageURL, []);
  // The data itself does not depend on whether images are rendered.
  assert.equal(summary.sha256.reviews, base.summary.sha256.reviews);
});

test('amazon2014 output: Python-literal meta lines and McAuley review lines', async () => {
  const { out, summary } = await gen({ format: 'amazon2014' });
  assert.ok(summary.files.reviews.endsWith('reviews_Demo_5.json.gz'));
  assert.ok(existsSync(join(out, 'meta_Demo.json.gz')));
  const lines = await gzLines(summary.files.meta);
  assert.equal(lines.length, SMALL.catalogItems);
  for (const l of lines) assert.match(l, /^\{'asin': 'B0[0-9A-Z]{8}', /);
  const revs = (await gzLines(summary.files.reviews)).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(revs.length, SMALL.users * SMALL.meanReviewsPerUser);
  for (const r of revs) {
    assert.deepEqual(Object.keys(r), ['reviewerID', 'asin', 'reviewerName', 'helpful', 'reviewText', 'overall', 'summary', 'unixReviewTime', 'reviewTime']);
    const [a, b] = r.helpful as [number, number];
    assert.ok(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && a <= b);
  }
  const asins = new Set<string>();
  for (const l of lines) {
    const m = parsePythonLiteral(l) as Record<string, unknown>;
    asins.add(m.asin as string);
    assert.equal(typeof m.price, 'number');
    assert.equal((m.categories as string[][])[0][0], 'Electronics');
    assert.equal(m.imUrl, `images/${String(m.asin)}.png`);
    assert.ok(Number.isInteger((m.salesRank as { Electronics: number }).Electronics));
  }
  for (const r of revs) assert.ok(asins.has(r.asin as string));
});

test("the project's amazon readers ingest the output without a single reject", async () => {
  const run14 = await gen({ format: 'amazon2014' });
  for (const [reader, s] of [
    [amazon2018, base.summary],
    [amazon2014, run14.summary],
  ] as const) {
    const got = await collect(reader, [s.files.meta, s.files.reviews]);
    assert.deepEqual(got.rejects, [], reader.name);
    assert.equal(got.items.length, SMALL.catalogItems, reader.name);
    assert.equal(got.interactions.length, SMALL.users * SMALL.meanReviewsPerUser, reader.name);
    for (const it of got.items) {
      assert.ok(it.image_path && existsSync(it.image_path), `${reader.name}: image of ${it.item_id}`);
      assert.equal(it.categories[0], 'Electronics');
      assert.ok(it.price !== null && it.price > 0);
    }
    for (const r of got.interactions) assert.ok(r.ts !== null && r.rating !== null);
  }
});

test('an exact total of reviews is honoured', async () => {
  const { summary } = await gen({ reviews: 517, images: false });
  assert.equal(summary.counts.reviews, 517);
  assert.equal((await gzLines(summary.files.reviews)).length, 517);
});

test('defaults and the reference preset resolve to the documented sizes', () => {
  assert.deepEqual(resolveDemoOptions({ out: 'x' }), {
    out: 'x', seed: 42, preset: 'default', users: 1500, items: 2000, catalogItems: 2000, reviews: 30_000, images: true, format: 'amazon2018', progress: true,
  });
  const ref = resolveDemoOptions({ out: 'x', preset: 'reference', images: false });
  assert.equal(ref.users, 192_403);
  assert.equal(ref.items, 63_001);
  assert.equal(ref.catalogItems, 498_196);
  assert.equal(ref.reviews, 1_689_188);
  assert.equal(resolveDemoOptions({ out: 'x', preset: 'reference', reviews: 2_000_000 }).reviews, 2_000_000);
  assert.equal(resolveDemoOptions({ out: 'x', users: 100, items: 500, meanReviewsPerUser: 12.5 }).reviews, 1250);
  assert.equal(resolveDemoOptions({ out: 'x', items: 3000 }).catalogItems, 3000);
});

test('invalid settings are refused with PP_DEMO_INVALID before anything is written', async () => {
  const bad: Array<Record<string, unknown>> = [
    {},
    { out: '' },
    { out: 'x', seed: -1 },
    { out: 'x', seed: 1.5 },
    { out: 'x', users: 0 },
    { out: 'x', users: '100' },
    { out: 'x', items: 4 },
    { out: 'x', items: 100, catalogItems: 50 },
    { out: 'x', meanReviewsPerUser: 3 },
    { out: 'x', users: 10, items: 20, reviews: 49 },
    { out: 'x', users: 10, items: 20, reviews: 201 },
    { out: 'x', users: 100, items: 1000, reviews: 999 },
    { out: 'x', format: 'amazon2023' },
    { out: 'x', preset: 'huge' },
    { out: 'x', images: 'yes' },
    { out: 'x', itmes: 10 },
  ];
  for (const o of bad) {
    await assert.rejects(generateDemo({ ...o, out: o.out === 'x' ? freshDir() : o.out } as DemoOptions), (err: unknown) => {
      assert.ok(isPlotPointeError(err, 'PP_DEMO_INVALID'), `${JSON.stringify(o)}: ${String(err)}`);
      return true;
    });
  }
  const before = await readdir(root);
  await assert.rejects(generateDemo({ out: join(root, 'never'), users: 0 }));
  assert.deepEqual(await readdir(root), before);
});
