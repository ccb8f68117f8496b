import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { strToU8, zipSync } from 'fflate';
import { isPlotPointeError } from '../errors.js';
import {
  AMAZON_2014_CATEGORIES,
  AMAZON_2018_CATEGORIES,
  fetchCatalog,
  resolveFetchTarget,
  type FetchTarget,
} from './fetch-catalog.js';
import { FETCH_BASE_URL_ENV, FETCH_MANIFEST, fetchDataset, type FetchManifest } from './fetch.js';

/** A loopback server serving fixed bodies by path and logging request paths; bounded to 200 requests. */
async function startServer(files: Map<string, Buffer>): Promise<{ base: string; log: string[]; close(): Promise<void> }> {
  const log: string[] = [];
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    log.push(path);
    const body = files.get(path);
    if (log.length > 200 || !body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const sha = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

const RATINGS = 'userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.0,964981247\n2,1,5.0,964982224\n';
const MOVIES = 'movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n3,Grumpier Old Men (1995),Comedy|Romance\n';
const ML_ZIP = Buffer.from(
  zipSync({
    'ml-latest-small/': {},
    'ml-latest-small/ratings.csv': strToU8(RATINGS),
    'ml-latest-small/movies.csv': strToU8(MOVIES),
    'ml-latest-small/README.txt': strToU8('test copy'),
  }),
);
const EVIL_ZIP = Buffer.from(zipSync({ 'ok.txt': strToU8('fine'), '../evil.txt': strToU8('escape') }));
const REVIEWS = gzipSync('{"reviewerID":"A1","asin":"B1","overall":5.0,"unixReviewTime":1400000000}\n');
const META = gzipSync("{'asin': 'B1', 'title': 'Cable'}\n");

const noSleep = { backoffMs: 1, timeoutMs: 2000, retries: 1 };

describe('fetchDataset', () => {
  let srv: Awaited<ReturnType<typeof startServer>>;
  let dir: string;
  before(async () => {
    srv = await startServer(
      new Map([
        ['/mirror/ml-latest-small.zip', ML_ZIP],
        ['/mirror/evil.zip', EVIL_ZIP],
        ['/a14/reviews_Electronics_5.json.gz', REVIEWS],
        ['/a14/meta_Electronics.json.gz', META],
        ['/a18/categoryFilesSmall/Industrial_and_Scientific_5.json.gz', REVIEWS],
        ['/a18/metaFiles2/meta_Industrial_and_Scientific.json.gz', META],
        ['/gowalla/train.txt', Buffer.from('0 1 2\n')],
        ['/second/only.txt', Buffer.from('from the mirror\n')],
      ]),
    );
    dir = await mkdtemp(join(tmpdir(), 'pp-fetch-'));
  });
  after(async () => {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('downloads and extracts a MovieLens zip and writes the manifest', async () => {
    const out = join(dir, 'ml');
    const seen: string[] = [];
    const s = await fetchDataset('movielens:ml-latest-small', out, {
      baseUrlOverride: `${srv.base}/mirror/`,
      download: noSleep,
      onProgress: (file, bytes, total) => seen.push(`${file}:${bytes}/${total}`),
    });
    assert.equal(s.target, 'movielens:ml-latest-small');
    assert.equal(s.format, 'movielens');
    assert.equal(s.outDir, out);
    assert.deepEqual(s.ingestInputs, [join(out, 'ml-latest-small/ratings.csv'), join(out, 'ml-latest-small/movies.csv')]);
    assert.equal(await readFile(s.ingestInputs[0], 'utf8'), RATINGS);
    assert.equal(await readFile(s.ingestInputs[1], 'utf8'), MOVIES);
    assert.match(s.ingestCommand, /^plotpointe data ingest --format movielens --input \S+ratings\.csv \S+movies\.csv --lake LAKE --name NAME$/);
    assert.equal(s.files.length, 1);
    assert.deepEqual(s.files[0].extracted?.sort(), [
      'ml-latest-small/README.txt',
      'ml-latest-small/movies.csv',
      'ml-latest-small/ratings.csv',
    ]);
    assert.ok(seen.includes(`ml-latest-small.zip:${ML_ZIP.length}/${ML_ZIP.length}`));

    const manifest = JSON.parse(await readFile(join(out, FETCH_MANIFEST), 'utf8')) as FetchManifest;
    assert.equal(manifest.target, 'movielens:ml-latest-small');
    assert.equal(manifest.format, 'movielens');
    const [f] = manifest.files;
    assert.equal(f.url, `${srv.base}/mirror/ml-latest-small.zip`);
    assert.equal(f.file, 'ml-latest-small.zip');
    assert.equal(f.bytes, ML_ZIP.length);
    assert.equal(f.sha256, sha(ML_ZIP));
    assert.ok(!Number.isNaN(Date.parse(f.time)));
  });

  it('fetches both files of an Amazon 2014 category from the override base', async () => {
    const out = join(dir, 'a14');
    const s = await fetchDataset('amazon2014:electronics', out, { baseUrlOverride: `${srv.base}/a14`, download: noSleep });
    assert.equal(s.target, 'amazon2014:Electronics');
    assert.equal(s.format, 'amazon2014');
    assert.deepEqual(
      s.files.map((f) => [f.file, f.url, f.bytes, f.sha256, f.reused]),
      [
        ['reviews_Electronics_5.json.gz', `${srv.base}/a14/reviews_Electronics_5.json.gz`, REVIEWS.length, sha(REVIEWS), false],
        ['meta_Electronics.json.gz', `${srv.base}/a14/meta_Electronics.json.gz`, META.length, sha(META), false],
      ],
    );
    assert.ok((await readFile(join(out, 'reviews_Electronics_5.json.gz'))).equals(REVIEWS));
    assert.ok((await readFile(join(out, 'meta_Electronics.json.gz'))).equals(META));
    assert.deepEqual(s.ingestInputs, [join(out, 'reviews_Electronics_5.json.gz'), join(out, 'meta_Electronics.json.gz')]);
  });

  it('keeps complete files from an earlier fetch and downloads again with force', async () => {
    const out = join(dir, 'a18');
    const opts = { baseUrlOverride: `${srv.base}/a18`, download: noSleep };
    const first = await fetchDataset('amazon2018:Industrial_and_Scientific', out, opts);
    assert.deepEqual(first.files.map((f) => f.reused), [false, false]);
    const requests = srv.log.length;
    const again = await fetchDataset('amazon2018:Industrial_and_Scientific', out, opts);
    assert.deepEqual(again.files.map((f) => f.reused), [true, true]);
    assert.equal(srv.log.length, requests);
    const forced = await fetchDataset('amazon2018:Industrial_and_Scientific', out, { ...opts, force: true });
    assert.deepEqual(forced.files.map((f) => f.reused), [false, false]);
    assert.equal(srv.log.length, requests + 2);
    assert.deepEqual(srv.log.slice(-2), [
      '/a18/categoryFilesSmall/Industrial_and_Scientific_5.json.gz',
      '/a18/metaFiles2/meta_Industrial_and_Scientific.json.gz',
    ]);
  });

  it('takes the base URL from PLOTPOINTE_FETCH_BASE_URL when no override is given', async () => {
    const saved = process.env[FETCH_BASE_URL_ENV];
    process.env[FETCH_BASE_URL_ENV] = `${srv.base}/a14/`;
    try {
      const s = await fetchDataset('amazon2014:Electronics', join(dir, 'env'), { download: noSleep });
      assert.equal(s.files[0].url, `${srv.base}/a14/reviews_Electronics_5.json.gz`);
    } finally {
      if (saved === undefined) delete process.env[FETCH_BASE_URL_ENV];
      else process.env[FETCH_BASE_URL_ENV] = saved;
    }
  });

  it('falls back to a mirror when the primary location fails', async () => {
    const target: FetchTarget = {
      id: 'test:mirror',
      title: 'mirror test',
      format: 'csv',
      homepage: srv.base,
      citation: '',
      base: `${srv.base}/first/`,
      mirrors: [`${srv.base}/second/`],
      files: [{ url: `${srv.base}/first/only.txt`, relPath: 'only.txt', file: 'only.txt' }],
      ingestInputs: ['only.txt'],
    };
    const saved = process.env[FETCH_BASE_URL_ENV];
    delete process.env[FETCH_BASE_URL_ENV];
    try {
      const s = await fetchDataset(target, join(dir, 'mirror'), { download: noSleep });
      assert.equal(s.files[0].url, `${srv.base}/second/only.txt`);
      assert.equal(await readFile(join(dir, 'mirror', 'only.txt'), 'utf8'), 'from the mirror\n');
    } finally {
      if (saved !== undefined) process.env[FETCH_BASE_URL_ENV] = saved;
    }
  });

  it('enforces the sizes and checksums the catalog knows (Gowalla)', async () => {
    const out = join(dir, 'gowalla');
    await assert.rejects(
      fetchDataset('gowalla', out, { baseUrlOverride: `${srv.base}/gowalla`, download: noSleep }),
      (err) => isPlotPointeError(err, 'PP_DOWNLOAD_CHECKSUM'),
    );
    assert.equal(existsSync(join(out, 'train.txt')), false);
    assert.equal(existsSync(join(out, FETCH_MANIFEST)), false);
  });

  it('refuses a zip entry that would escape the output folder', async () => {
    const target: FetchTarget = {
      ...resolveFetchTarget('movielens:ml-100k'),
      files: [{ url: `${srv.base}/mirror/evil.zip`, relPath: 'evil.zip', file: 'evil.zip', extract: 'zip' }],
    };
    const out = join(dir, 'evil', 'inner');
    await assert.rejects(
      fetchDataset(target, out, { baseUrlOverride: `${srv.base}/mirror`, download: noSleep }),
      (err) => isPlotPointeError(err, 'PP_DOWNLOAD_FAILED') && /outside/.test(err.message),
    );
    assert.equal(existsSync(join(dir, 'evil', 'evil.txt')), false);
    assert.equal(existsSync(join(out, 'ok.txt')), false);
  });

  it('rejects an unknown target with PP_FETCH_UNKNOWN_DATASET listing the known ones', async () => {
    await assert.rejects(
      fetchDataset('imagenet', join(dir, 'none')),
      (err) =>
        isPlotPointeError(err, 'PP_FETCH_UNKNOWN_DATASET') &&
        /amazon2014:<category>/.test(err.message) &&
        /gowalla/.test(err.message) &&
        /movielens:<ml-latest-small\|ml-100k>/.test(err.message),
    );
    assert.throws(
      () => resolveFetchTarget('amazon2014:Industrial_and_Scientific'),
      (err) => isPlotPointeError(err, 'PP_FETCH_UNKNOWN_DATASET') && /Cell_Phones_and_Accessories/.test(err.message),
    );
    assert.throws(() => resolveFetchTarget('amazon2018'), (err) => isPlotPointeError(err, 'PP_FETCH_UNKNOWN_DATASET'));
    assert.throws(() => resolveFetchTarget('gowalla:big'), (err) => isPlotPointeError(err, 'PP_FETCH_UNKNOWN_DATASET'));
  });
});

describe('fetch catalog', () => {
  it('lists the published Amazon categories: 24 for 2014, 29 for 2018', () => {
    assert.equal(new Set(AMAZON_2014_CATEGORIES).size, 24);
    assert.equal(new Set(AMAZON_2018_CATEGORIES).size, 29);
    assert.ok(AMAZON_2014_CATEGORIES.includes('Cell_Phones_and_Accessories'));
    assert.ok(AMAZON_2018_CATEGORIES.includes('Industrial_and_Scientific'));
    assert.deepEqual(
      fetchCatalog().map((d) => [d.name, d.format]),
      [
        ['amazon2014', 'amazon2014'],
        ['amazon2018', 'amazon2018'],
        ['movielens', 'movielens'],
        ['gowalla', 'lightgcn'],
      ],
    );
  });

  it('resolves targets to the published URLs with their ingest format', () => {
    const a14 = resolveFetchTarget('amazon2014:Electronics');
    assert.deepEqual(
      a14.files.map((f) => f.url),
      [
        'https://snap.stanford.edu/data/amazon/productGraph/categoryFiles/reviews_Electronics_5.json.gz',
        'https://snap.stanford.edu/data/amazon/productGraph/categoryFiles/meta_Electronics.json.gz',
      ],
    );
    const a18 = resolveFetchTarget('AMAZON2018:industrial_and_scientific');
    assert.equal(a18.id, 'amazon2018:Industrial_and_Scientific');
    assert.equal(a18.format, 'amazon2018');
    assert.deepEqual(
      a18.files.map((f) => [f.relPath, f.file]),
      [
        ['categoryFilesSmall/Industrial_and_Scientific_5.json.gz', 'Industrial_and_Scientific_5.json.gz'],
        ['metaFiles2/meta_Industrial_and_Scientific.json.gz', 'meta_Industrial_and_Scientific.json.gz'],
      ],
    );
    for (const f of a18.files) assert.equal(f.url, a18.base + f.relPath);
    assert.equal(resolveFetchTarget('ml-100k').files[0].url, 'https://files.grouplens.org/datasets/movielens/ml-100k.zip');
    assert.equal(resolveFetchTarget('movielens').id, 'movielens:ml-latest-small');
    const gowalla = resolveFetchTarget('lightgcn:gowalla');
    assert.equal(gowalla.format, 'lightgcn');
    assert.deepEqual(
      gowalla.files.map((f) => f.url),
      ['train', 'test', 'user_list', 'item_list'].map(
        (n) => `https://raw.githubusercontent.com/kuandeng/LightGCN/master/Data/gowalla/${n}.txt`,
      ),
    );
    assert.ok(gowalla.files.every((f) => f.bytes !== undefined && /^[0-9a-f]{64}$/.test(f.sha256 ?? '')));
    // No checksums are made up for files nobody has verified.
    assert.ok([...a14.files, ...a18.files].every((f) => f.sha256 === undefined && f.bytes === undefined));
  });
});
