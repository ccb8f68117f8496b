import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, openSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ingest, type IngestSummary } from './ingest.js';
import { gatherInputs } from './inputs.js';
import { StagingSink } from './staging-sink.js';
import { bareItem } from './records.js';
import { openDb } from '../lake/duckdb.js';
import { diskFullOr, isPlotPointeError } from '../errors.js';
import { silentProgress } from '../core/progress.js';
import { tempDir, writeLines } from '../test-support/fixtures.js';
import { tempLeft } from './fuzz/run.js';
import { datasetPaths, stagingFiles, type StagingFiles } from '../lake/paths.js';

const quiet = { progress: () => silentProgress };

async function rejects(s: IngestSummary): Promise<Array<{ src_file: string; src_line: number; reason: string }>> {
  const db = await openDb();
  try {
    return await db.all(`SELECT src_file, src_line, reason FROM '${stagingFiles(s.paths.staging).rejects}' ORDER BY src_file, src_line`);
  } finally {
    db.close();
  }
}

async function staged(s: IngestSummary, table: keyof StagingFiles, cols: string): Promise<Array<Record<string, unknown>>> {
  const db = await openDb();
  try {
    return await db.all(`SELECT ${cols} FROM '${stagingFiles(s.paths.staging)[table]}' ORDER BY ALL`);
  } finally {
    db.close();
  }
}

/** No `.<name>.tmp-*` folder (raw, staging or work files) is left in the lake. */
function assertNoTemp(lake: string): void {
  assert.deepEqual(tempLeft(lake), []);
}

test('a timestamp of 1e20 or 2^63 is a bad_timestamp reject in every reader, and the ingest goes on', async () => {
  const dir = tempDir('guard-ts');
  const csvPath = writeLines(dir, 'r.csv', ['user_id,item_id,rating,timestamp', 'u1,i1,5,1500000000', 'u2,i2,5,1e20', 'u3,i3,4,9223372036854775808']);
  const s = await ingest({ format: 'csv', inputs: [csvPath], lake: join(dir, 'lake'), name: 'c', ...quiet });
  assert.equal(s.interactions, 1);
  assert.deepEqual((await rejects(s)).map((r) => [r.src_line, r.reason]), [[3, 'bad_timestamp'], [4, 'bad_timestamp']]);

  const rev = (u: string, ts: string) => `{"reviewerID": "${u}", "asin": "B1", "overall": 5.0, "unixReviewTime": ${ts}}`;
  const amazon = writeLines(dir, 'reviews_T.json', [rev('U1', '1500000000'), rev('U2', '1e20'), rev('U3', '9223372036854775808')]);
  const a = await ingest({ format: 'amazon2018', inputs: [amazon], lake: join(dir, 'lake'), name: 'a', ...quiet });
  assert.equal(a.interactions, 1);
  assert.deepEqual((await rejects(a)).map((r) => r.reason), ['bad_timestamp', 'bad_timestamp']);
});

test('a meta line nested 10,000 levels deep is a too_deep reject, not a stack overflow', async () => {
  const dir = tempDir('guard-deep');
  const deep = '['.repeat(10_000) + ']'.repeat(10_000);
  const metaPath = writeLines(dir, 'meta_T.json', [
    JSON.stringify({ asin: 'B1', title: 'fine' }),
    `{"asin": "B2", "title": "deep", "also_buy": ${deep}}`,
  ]);
  const reviews = writeLines(dir, 'reviews_T.json', ['{"reviewerID": "U1", "asin": "B1", "overall": 5.0, "unixReviewTime": 1500000000}']);
  const s = await ingest({ format: 'amazon2018', inputs: [metaPath, reviews], lake: join(dir, 'lake'), name: 'd', ...quiet });
  assert.deepEqual(s.records.items, { read: 2, staged: 1, rejected: 1 });
  assert.deepEqual((await rejects(s)).map((r) => [r.src_line, r.reason]), [[2, 'too_deep']]);
});

test('a 50 MB id is a reject (line_too_long under the line cap, too_large above it), and the ingest goes on', async () => {
  const dir = tempDir('guard-big');
  const huge = 'x'.repeat(50_000_000);
  const csvPath = join(dir, 'r.csv');
  writeFileSync(csvPath, `user_id,item_id,rating,timestamp\nu1,i1,5,1500000000\n${huge},i2,5,1500000000\nu3,i3,4,1500000000\n`);
  const s = await ingest({ format: 'csv', inputs: [csvPath], lake: join(dir, 'lake'), name: 'b', ...quiet });
  assert.equal(s.interactions, 2);
  assert.deepEqual((await rejects(s)).map((r) => [r.src_line, r.reason]), [[3, 'line_too_long']]);
  const t = await ingest({
    format: 'csv',
    inputs: [csvPath],
    lake: join(dir, 'lake'),
    name: 'b2',
    limits: { maxLineBytes: 64 << 20, maxInputBytes: 0 },
    ...quiet,
  });
  assert.equal(t.interactions, 2);
  assert.deepEqual((await rejects(t)).map((r) => [r.src_line, r.reason]), [[3, 'too_large']]);
});

test('a gzip bomb line is rejected unread; max_input_bytes stops a bomb with PP_INGEST_TOO_LARGE and leaves no temp folder', async () => {
  const dir = tempDir('guard-bomb');
  const lake = join(dir, 'lake');
  const bomb = join(dir, 'r.csv.gz');
  // 64 MiB of one line inside ~64 KB of gzip, between two good rows.
  writeFileSync(
    bomb,
    gzipSync(Buffer.concat([Buffer.from('user_id,item_id,rating,timestamp\nu1,i1,5,1500000000\n'), Buffer.alloc(64 << 20, 0x61), Buffer.from('\nu2,i2,4,1500000000\n')])),
  );
  const s = await ingest({ format: 'csv', inputs: [bomb], lake, name: 'bomb', limits: { maxLineBytes: 1 << 20, maxInputBytes: 0 }, ...quiet });
  assert.equal(s.interactions, 2);
  assert.deepEqual((await rejects(s)).map((r) => [r.src_line, r.reason]), [[3, 'line_too_long']]);
  await assert.rejects(
    ingest({ format: 'csv', inputs: [bomb], lake, name: 'bomb2', limits: { maxLineBytes: 1 << 20, maxInputBytes: 8 << 20 }, ...quiet }),
    (e) => isPlotPointeError(e, 'PP_INGEST_TOO_LARGE'),
  );
  assert.equal(existsSync(datasetPaths(lake, 'bomb2').staging), false);
  assertNoTemp(lake);
});

test('ids that differ only in invalid UTF-8 bytes are rejected as bad_encoding, never merged into one user', async () => {
  const dir = tempDir('guard-utf8');
  const csvPath = join(dir, 'r.csv');
  writeFileSync(
    csvPath,
    Buffer.concat([
      Buffer.from('user_id,item_id,rating,timestamp\nu0,i1,5,1500000000\n'),
      Buffer.from([0x75, 0xff, 0x31]),
      Buffer.from(',i1,5,1500000000\n'),
      Buffer.from([0x75, 0xfe, 0x31]),
      Buffer.from(',i1,5,1500000000\n'),
    ]),
  );
  const s = await ingest({ format: 'csv', inputs: [csvPath], lake: join(dir, 'lake'), name: 'u', ...quiet });
  assert.equal(s.users, 1);
  assert.deepEqual((await rejects(s)).map((r) => [r.src_line, r.reason]), [[3, 'bad_encoding'], [4, 'bad_encoding']]);
  // JSON escapes can carry lone surrogates into any string: rejected per row too.
  const rev = (u: string) => `{"reviewerID": "${u}", "asin": "B1", "overall": 5.0, "unixReviewTime": 1500000000}`;
  const amazon = writeLines(dir, 'reviews_T.json', [rev('U1'), rev('U\\ud8001'), rev('U\\udc001')]);
  const a = await ingest({ format: 'amazon2018', inputs: [amazon], lake: join(dir, 'lake'), name: 'a', ...quiet });
  assert.equal(a.users, 1);
  assert.deepEqual((await rejects(a)).map((r) => r.reason), ['bad_encoding', 'bad_encoding']);
});

test('a NUL byte in an id, a price of 1e400, NaN, text or below zero are bad_field rejects (the whole item: csv and amazon alike)', async () => {
  const dir = tempDir('guard-fields');
  const items = writeLines(dir, 'items.csv', ['item_id,title,price', 'i1,ok,3.5', 'i2,inf,1e400', 'i3,nan,NaN', 'i4,neg,-3', 'i5,text,call us', 'i\u00006,nul,1', 'i7,free,']);
  const inter = writeLines(dir, 'r.csv', ['user_id,item_id,rating', 'u1,i1,5', 'u\u00002,i1,4', 'u3,i7,4']);
  const s = await ingest({ format: 'csv', inputs: [items, inter], lake: join(dir, 'lake'), name: 'f', ...quiet });
  assert.deepEqual(s.records.items, { read: 7, staged: 2, rejected: 5 });
  assert.equal(s.users, 2);
  const r = await rejects(s);
  assert.deepEqual(r.map((x) => [x.src_file, x.src_line, x.reason]), [
    ['items.csv', 3, 'bad_field'],
    ['items.csv', 4, 'bad_field'],
    ['items.csv', 5, 'bad_field'],
    ['items.csv', 6, 'bad_field'],
    ['items.csv', 7, 'bad_field'],
    ['r.csv', 3, 'bad_field'],
  ]);
  const metaPath = writeLines(dir, 'meta_T.json', [
    JSON.stringify({ asin: 'B1', price: 12.5 }),
    '{"asin": "B2", "price": 1e400}',
    JSON.stringify({ asin: 'B3', price: -5 }),
    JSON.stringify({ asin: 'B\u00004' }),
  ]);
  const a = await ingest({ format: 'amazon2018', inputs: [metaPath], lake: join(dir, 'lake'), name: 'a', ...quiet });
  assert.deepEqual(a.records.items, { read: 4, staged: 1, rejected: 3 });
  assert.deepEqual((await rejects(a)).map((x) => x.reason), ['bad_field', 'bad_field', 'bad_field']);
});

test('local image paths stay inside the input folder: ../ escapes, absolute paths and links out are dropped with the reason', async () => {
  const dir = tempDir('guard-img');
  const data = join(dir, 'data');
  mkdirSync(join(data, 'images'), { recursive: true });
  writeFileSync(join(data, 'images', 'ok.png'), 'png');
  symlinkSync('/etc/hostname', join(data, 'images', 'link.png'));
  const metaPath = writeLines(data, 'meta_T.json', [
    JSON.stringify({ asin: 'B1', imUrl: 'images/ok.png' }),
    JSON.stringify({ asin: 'B2', imUrl: '../../../../etc/shadow.png' }),
    JSON.stringify({ asin: 'B3', imUrl: '/etc/shadow.png' }),
    JSON.stringify({ asin: 'B4', imUrl: 'file:///etc/shadow.png' }),
    JSON.stringify({ asin: 'B5', imUrl: 'images/link.png' }),
  ]);
  const s = await ingest({ format: 'amazon2014', inputs: [metaPath], lake: join(dir, 'lake'), name: 'i', ...quiet });
  assert.equal(s.items, 5);
  const rows = (await staged(s, 'items', 'item_id, image_path, extra')) as Array<{ item_id: string; image_path: string | null; extra: string | null }>;
  assert.equal(rows[0].image_path, join(data, 'images', 'ok.png'));
  for (const r of rows.slice(1)) {
    assert.equal(r.image_path, null, r.item_id);
    assert.match(JSON.parse(r.extra!).image_rejected, /outside the input folder/, r.item_id);
  }
  const csvItems = writeLines(data, 'items.csv', ['item_id,image_path', 'i1,images/ok.png', 'i2,../../../../etc/shadow.png']);
  const c = await ingest({ format: 'csv', inputs: [csvItems], lake: join(dir, 'lake'), name: 'c', ...quiet });
  const crow = (await staged(c, 'items', 'item_id, image_path')) as Array<{ image_path: string | null }>;
  assert.deepEqual(crow.map((r) => r.image_path), [join(data, 'images', 'ok.png'), null]);
});

test("a folder's files are matched by the format's names: demo-manifest.json beside the dumps is skipped, not read as reviews", async () => {
  const dir = tempDir('guard-folder');
  const data = join(dir, 'demo');
  mkdirSync(data);
  writeFileSync(join(data, 'meta_Demo.json.gz'), gzipSync(JSON.stringify({ asin: 'B1', title: 't' }) + '\n'));
  writeFileSync(join(data, 'reviews_Demo.json.gz'), gzipSync('{"reviewerID": "U1", "asin": "B1", "overall": 5.0, "unixReviewTime": 1500000000}\n'));
  writeFileSync(join(data, 'demo-manifest.json'), JSON.stringify({ preset: 'reference', files: ['a', 'b'] }, null, 2) + '\n');
  const s = await ingest({ format: 'amazon2018', inputs: [data], lake: join(dir, 'lake'), name: 'demo', ...quiet });
  assert.deepEqual(s.records.total, { read: 2, staged: 2, rejected: 0 });
  assert.deepEqual(s.skipped_files, [join(data, 'demo-manifest.json')]);
});

test("disk full is PP_DISK_FULL: the sink's work files (written to /dev/full) and DuckDB's message", async () => {
  const dir = tempDir('guard-full');
  // Writing to /dev/full fails with ENOSPC.
  const sink = new StagingSink(dir);
  (sink as unknown as { items: { fd: number } }).items.fd = openSync('/dev/full', 'w');
  sink.item(bareItem('i1'), { file: 'f', line: 1 });
  assert.throws(() => sink.close(), (e) => isPlotPointeError(e, 'PP_DISK_FULL'));

  const duck = new Error('IO Error: Could not write file "x.parquet": No space left on device');
  assert.ok(isPlotPointeError(diskFullOr(duck, 'validating'), 'PP_DISK_FULL'));
  assert.ok(!isPlotPointeError(diskFullOr(new Error('other'), 'x')));
});

/** A 256 KiB tmpfs as the lake (root only: skipped with the reason elsewhere). */
function smallDisk(): { dir: string; skip: string | false; release(): void } {
  const dir = tempDir('guard-disk');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { stdio: 'pipe' });
    return { dir, skip: false, release: () => {
        try {
          execFileSync('umount', [dir], { stdio: 'pipe' });
        } catch (err) {
          execFileSync('umount', ['-l', dir]);
          assert.fail(`a file in the lake is still open after the failed ingest: ${(err as Error).message}`);
        }
      }, };
  } catch (err) {
    return { dir, skip: `cannot mount a small tmpfs to fill (${(err as Error).message.split('\n')[0]})`, release() {} };
  }
}

test('a full disk while copying raw files or writing work files fails with PP_DISK_FULL and leaves no temp folder', async (t) => {
  const disk = smallDisk();
  if (disk.skip) return t.skip(disk.skip);
  try {
    const src = tempDir('guard-disk-src');
    const rows = (n: number) => ['user_id,item_id,rating,timestamp', ...Array.from({ length: n }, (_, k) => `u${k},i${k % 50},5,1500000000`)];
    // 400 KB does not fit the raw copy.
    const big = writeLines(src, 'big.csv', rows(16_000));
    await assert.rejects(
      ingest({ format: 'csv', inputs: [big], lake: disk.dir, name: 'copy', ...quiet }),
      (e) => isPlotPointeError(e, 'PP_DISK_FULL') && /copying/.test((e as Error).message),
    );
    assertNoTemp(disk.dir);
    // 60 KB fits, its work files (about 6x the input) do not.
    const mid = writeLines(src, 'mid.csv', rows(2_500));
    await assert.rejects(ingest({ format: 'csv', inputs: [mid], lake: disk.dir, name: 'parse', ...quiet }), (e) => isPlotPointeError(e, 'PP_DISK_FULL'));
    assertNoTemp(disk.dir);
  } finally {
    disk.release();
  }
});

test('/proc/self/mem as input is unreadable (not an empty file); a size-0 pseudo-file with content is copied whole', async () => {
  const dir = tempDir('guard-proc');
  await assert.rejects(
    ingest({ format: 'csv', inputs: ['/proc/self/mem'], lake: join(dir, 'lake'), name: 'm', ...quiet }),
    (e) => isPlotPointeError(e, 'PP_INPUT_UNREADABLE') && /cannot be read/.test((e as Error).message),
  );
  assertNoTemp(join(dir, 'lake'));
  const raw = join(dir, 'raw');
  mkdirSync(raw);
  const got = await gatherInputs(['/proc/self/status'], raw);
  assert.ok(got.manifest[0].bytes > 0, 'the copy of /proc/self/status is not empty');
});
