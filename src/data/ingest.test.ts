import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ingest } from './ingest.js';
import { openDb } from '../lake/duckdb.js';
import { isPlotPointeError } from '../errors.js';
import { silentProgress } from '../core/progress.js';
import { sharedPath, tempDir, writeLines } from '../test-support/fixtures.js';
import { datasetPaths, stagingFiles } from '../lake/paths.js';

const quiet = { progress: () => silentProgress };
const meta = (asin: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ asin, title: `Product ${asin}`, brand: 'Acme', category: ['Electronics', 'Audio'], price: '$10.00', ...extra });
const review = (user: string, asin: string, overall: unknown, ts: unknown = 1_500_000_000) =>
  JSON.stringify({ reviewerID: user, asin, overall, unixReviewTime: ts, reviewText: 'ok' });

/** A 2018-format pair with every kind of bad line; comments give the expected fate of each line. */
function messyAmazon2018(dir: string): string[] {
  const metaPath = writeLines(dir, 'meta_Test.json.gz', [
    meta('B01'), // 1 staged
    meta('B02'), // 2 staged
    '{"asin": "B03", "title": ', // 3 malformed_json
    meta('B01', { title: 'again' }), // 4 duplicate item
    JSON.stringify({ title: 'no asin' }), // 5 missing_field
    meta('B04'), // 6 staged
  ]);
  const reviewPath = writeLines(dir, 'Test_5.json.gz', [
    review('U1', 'B01', 5), // 1 staged
    review('U1', 'B02', 4), // 2 staged
    review('U2', 'B01', 7), // 3 rating_out_of_range
    review('U2', 'B02', 3, -5), // 4 bad_timestamp
    review('U2', 'B99', 4), // 5 unknown_item
    review('U1', 'B01', 2), // 6 duplicate of line 1
    'not json at all', // 7 malformed_json
    JSON.stringify({ asin: 'B01', overall: 5 }), // 8 missing_field (reviewerID)
    review('U3', 'B04', 'five'), // 9 bad_field
    review('U3', 'B02', 1), // 10 staged
    '', // blank: not a record
  ]);
  return [metaPath, reviewPath];
}

test('ingests a messy file with exit 0, reconciles read = staged + rejected and keeps every bad line with its reason', async () => {
  const dir = tempDir('ingest');
  const lake = join(dir, 'lake');
  const s = await ingest({ format: 'amazon2018', inputs: messyAmazon2018(dir), lake, name: 'messy', ...quiet });
  assert.equal(s.reconciled, true);
  assert.deepEqual(s.records.items, { read: 6, staged: 3, rejected: 3 });
  assert.deepEqual(s.records.interactions, { read: 10, staged: 3, rejected: 7 });
  assert.equal(s.users, 2);
  assert.equal(s.items, 3);
  assert.equal(s.interactions, 3);

  const db = await openDb();
  try {
    const rejects = await db.all<{ src_file: string; src_line: number; reason: string; kind: string }>(
      `SELECT kind, src_file, src_line, reason FROM '${stagingFiles(s.paths.staging).rejects}' ORDER BY src_file, src_line`,
    );
    assert.deepEqual(
      rejects.map((r) => `${r.src_file}:${r.src_line} ${r.kind}/${r.reason}`),
      [
        'Test_5.json.gz:3 interaction/rating_out_of_range',
        'Test_5.json.gz:4 interaction/bad_timestamp',
        'Test_5.json.gz:5 interaction/unknown_item',
        'Test_5.json.gz:6 interaction/duplicate',
        'Test_5.json.gz:7 interaction/malformed_json',
        'Test_5.json.gz:8 interaction/missing_field',
        'Test_5.json.gz:9 interaction/bad_field',
        'meta_Test.json.gz:3 item/malformed_json',
        'meta_Test.json.gz:4 item/duplicate',
        'meta_Test.json.gz:5 item/missing_field',
      ],
    );
    const kept = await db.all<{ user_id: string; item_id: string; rating: number }>(
      `SELECT user_id, item_id, rating FROM '${stagingFiles(s.paths.staging).interactions}' ORDER BY src_line`,
    );
    assert.deepEqual(kept, [
      { user_id: 'U1', item_id: 'B01', rating: 5 },
      { user_id: 'U1', item_id: 'B02', rating: 4 },
      { user_id: 'U3', item_id: 'B02', rating: 1 },
    ]);
    const items = await db.all<{ item_id: string; title: string; price: number }>(
      `SELECT item_id, title, price FROM '${stagingFiles(s.paths.staging).items}' ORDER BY item_id`,
    );
    assert.deepEqual(items.map((i) => `${i.item_id}:${i.title}:${i.price}`), ['B01:Product B01:10', 'B02:Product B02:10', 'B04:Product B04:10']);
    const maps = await db.all<{ n: number; max: number }>(
      `SELECT count(*) AS n, max(uid) AS max FROM '${stagingFiles(s.paths.staging).userMap}'`,
    );
    assert.deepEqual(maps, [{ n: 2, max: 1 }]);
  } finally {
    db.close();
  }

  const card = JSON.parse(readFileSync(stagingFiles(s.paths.staging).datacardJson, 'utf8'));
  assert.equal(card.counts.interactions, 3);
  assert.equal(card.coverage.title, 1);
  assert.equal(card.integrity.interactions_with_unknown_item, 0);
  assert.equal(card.integrity.unknown_item_rejects, 1);
  assert.equal(card.integrity.items_without_interactions, 1);
  assert.equal(card.rejects_by_reason['interaction/duplicate'], 1);
  assert.deepEqual(card.user_degree, { min: 1, mean: 1.5, median: 1.5, p90: 1.9, p99: 1.99, max: 2 });
  assert.match(readFileSync(stagingFiles(s.paths.staging).datacardMd, 'utf8'), /# Data card: messy \(amazon2018\)/);

  const rawManifest = JSON.parse(readFileSync(join(s.paths.raw, 'manifest.json'), 'utf8'));
  assert.equal(rawManifest.inputs.length, 2);
  assert.match(rawManifest.inputs[0].sha256, /^[0-9a-f]{64}$/);
  const stagingManifest = JSON.parse(readFileSync(join(s.paths.staging, 'manifest.json'), 'utf8'));
  assert.equal(stagingManifest.stage, 'ingest');
  assert.equal(stagingManifest.code_version.package, 'plotpointe');
});

test('a truncated gzip fails with PP_INGEST_BAD_GZIP and leaves no staging or raw output, nor temporary folders', async () => {
  const dir = tempDir('ingest-gz');
  const lake = join(dir, 'lake');
  const [metaPath, reviewPath] = messyAmazon2018(dir);
  const whole = gzipSync(Buffer.from(Array.from({ length: 3000 }, (_, i) => review(`U${i}`, 'B01', 5)).join('\n')));
  writeFileSync(reviewPath, whole.subarray(0, whole.length - 40));
  await assert.rejects(
    ingest({ format: 'amazon2018', inputs: [metaPath, reviewPath], lake, name: 'broken', ...quiet }),
    (e: unknown) => isPlotPointeError(e, 'PP_INGEST_BAD_GZIP') && /Test_5\.json\.gz/.test(e.message),
  );
  assert.equal(existsSync(datasetPaths(lake, 'broken').staging), false);
  assert.equal(existsSync(datasetPaths(lake, 'broken').raw), false);
  for (const d of ['staging', 'raw', 'datasets']) {
    assert.deepEqual(existsSync(join(lake, d)) ? readdirSync(join(lake, d)) : [], [], `nothing left in ${d}/`);
  }
});

test('a failed re-ingest keeps the previous good staging untouched', async () => {
  const dir = tempDir('ingest-keep');
  const lake = join(dir, 'lake');
  const inputs = messyAmazon2018(dir);
  const first = await ingest({ format: 'amazon2018', inputs, lake, name: 'keep', ...quiet });
  const before = readFileSync(join(first.paths.staging, 'manifest.json'), 'utf8');
  await assert.rejects(
    ingest({ format: 'amazon2018', inputs: [join(dir, 'missing.json')], lake, name: 'keep', ...quiet }),
    (e: unknown) => isPlotPointeError(e, 'PP_INPUT_NOT_FOUND'),
  );
  assert.equal(readFileSync(join(first.paths.staging, 'manifest.json'), 'utf8'), before);
});

test('an unknown format is refused before anything is written', async () => {
  const dir = tempDir('ingest-fmt');
  await assert.rejects(
    ingest({ format: 'amazon2099', inputs: [dir], lake: join(dir, 'lake'), name: 'x', ...quiet }),
    (e: unknown) => isPlotPointeError(e, 'PP_INGEST_UNKNOWN_FORMAT'),
  );
  assert.equal(existsSync(join(dir, 'lake')), false);
});

test('formats without a catalog get bare items for every item their interactions name', async () => {
  const dir = tempDir('ingest-lgcn');
  writeLines(dir, 'train.txt', ['0 5 7', '1 7']);
  writeLines(dir, 'test.txt', ['0 9', '1 5']);
  const s = await ingest({ format: 'lightgcn', inputs: [dir], lake: join(dir, 'lake'), name: 'tiny', ...quiet });
  assert.equal(s.items, 3);
  assert.equal(s.items_without_metadata, 3);
  assert.deepEqual(s.given_split, { test: 2, train: 3 });
  const db = await openDb();
  try {
    const map = await db.all(`SELECT item_id, iid FROM '${stagingFiles(s.paths.staging).itemMap}' ORDER BY iid`);
    assert.deepEqual(map, [
      { item_id: '5', iid: 0 },
      { item_id: '7', iid: 1 },
      { item_id: '9', iid: 2 },
    ]);
  } finally {
    db.close();
  }
});

const gowalla = sharedPath('datasets', 'gowalla');
test('ingests the official Gowalla split: 29,858 users, 40,981 items, 810,128 train + 217,242 test', { skip: gowalla.skip }, async () => {
  const dir = tempDir('ingest-gowalla');
  const s = await ingest({ format: 'lightgcn', inputs: [gowalla.path], lake: join(dir, 'lake'), name: 'gowalla', ...quiet });
  assert.equal(s.users, 29_858);
  assert.equal(s.items, 40_981);
  assert.equal(s.interactions, 1_027_370);
  assert.deepEqual(s.given_split, { test: 217_242, train: 810_128 });
  assert.equal(s.records.total.rejected, 0);
});

const sci = sharedPath('datasets', 'amazon-scientific');
test('ingests Amazon Scientific (UniSRec): 8,442 users, 4,385 items, 59,427 interactions', { skip: sci.skip }, async () => {
  const dir = tempDir('ingest-sci');
  const s = await ingest({ format: 'unisrec', inputs: [sci.path], lake: join(dir, 'lake'), name: 'sci', ...quiet });
  assert.equal(s.users, 8_442);
  assert.equal(s.items, 4_385);
  assert.equal(s.interactions, 59_427);
  assert.equal(s.given_split?.valid, 8_442);
  assert.equal(s.given_split?.test, 8_442);
});

test('ingests http(s) inputs: downloaded into raw with their sha256, then read like local files', async () => {
  const { createServer } = await import('node:http');
  const files: Record<string, string> = { '/data/train.txt': '0 1 2\n1 2\n', '/data/test.txt': '0 3\n' };
  const server = createServer((req, res) => {
    const body = files[req.url ?? ''];
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  try {
    const dir = tempDir('ingest-url');
    const base = `http://127.0.0.1:${port}/data`;
    const s = await ingest({ format: 'lightgcn', inputs: [`${base}/train.txt`, `${base}/test.txt`], lake: join(dir, 'lake'), name: 'web', ...quiet });
    assert.equal(s.interactions, 4);
    const manifest = JSON.parse(readFileSync(join(s.paths.raw, 'manifest.json'), 'utf8'));
    assert.deepEqual(
      manifest.inputs.map((i: { name: string; origin: string }) => [i.name, i.origin]),
      [['train.txt', `${base}/train.txt`], ['test.txt', `${base}/test.txt`]],
    );
    await assert.rejects(
      ingest({ format: 'lightgcn', inputs: [`${base}/missing.txt`], lake: join(dir, 'lake'), name: 'web2', ...quiet }),
      (e: unknown) => isPlotPointeError(e, 'PP_DOWNLOAD_FAILED'),
    );
  } finally {
    server.close();
  }
});
