import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { isPlotPointeError } from '../../errors.js';
import { collect, localInputs } from './collect.js';
import { lightgcn } from './lightgcn.js';

const GOWALLA = fileURLToPath(new URL('../../../../shared/datasets/gowalla', import.meta.url));

function fixture(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pp-lightgcn-'));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  return dir;
}

const paths = (dir: string, names: string[]) => names.map((n) => join(dir, n));

test('each (user, item) pair of train.txt and test.txt is one implicit interaction with the split of its file', async () => {
  const dir = fixture({ 'train.txt': '0 10 11 12\n1 11\n', 'test.txt': '0 13\n1 10 12\n' });
  const out = await collect(lightgcn, paths(dir, ['train.txt', 'test.txt']));
  assert.deepEqual(
    out.interactions.map((r) => [r.user_id, r.item_id, r.split, r.src.file, r.src.line]),
    [
      ['0', '10', 'train', 'train.txt', 1],
      ['0', '11', 'train', 'train.txt', 1],
      ['0', '12', 'train', 'train.txt', 1],
      ['1', '11', 'train', 'train.txt', 2],
      ['0', '13', 'test', 'test.txt', 1],
      ['1', '10', 'test', 'test.txt', 2],
      ['1', '12', 'test', 'test.txt', 2],
    ],
  );
  assert.ok(out.interactions.every((r) => r.rating === null && r.ts === null));
  assert.equal(out.rejects.length, 0);
  assert.equal(out.items.length, 0);
});

test('train is read before valid and test whatever the input order, and valid*.txt is the valid split', async () => {
  const dir = fixture({ 'test.txt': '0 3\n', 'valid_1.txt': '0 2\n', 'train.txt': '0 1\n' });
  const out = await collect(lightgcn, paths(dir, ['test.txt', 'valid_1.txt', 'train.txt']));
  assert.deepEqual(
    out.interactions.map((r) => [r.item_id, r.split]),
    [
      ['1', 'train'],
      ['2', 'valid'],
      ['3', 'test'],
    ],
  );
});

test('a line with a non-integer token is one malformed_line reject with its line number and text', async () => {
  const dir = fixture({ 'train.txt': '0 1 2\n1 x 3\n2 4.5\n\n3 5\n' });
  const out = await collect(lightgcn, paths(dir, ['train.txt']));
  assert.deepEqual(
    out.rejects.map((r) => [r.kind, r.reason, r.src.line, r.raw]),
    [
      ['interaction', 'malformed_line', 2, '1 x 3'],
      ['interaction', 'malformed_line', 3, '2 4.5'],
    ],
  );
  assert.match(out.rejects[0].detail, /"x"/);
  assert.deepEqual(
    out.interactions.map((r) => [r.user_id, r.item_id, r.src.line]),
    [
      ['0', '1', 1],
      ['0', '2', 1],
      ['3', '5', 5],
    ],
  );
});

test('ids are canonical integers, tabs and CRLF are tolerated, a user without items yields nothing', async () => {
  const dir = fixture({ 'train.txt': '007 010\t2\r\n5\n' });
  const out = await collect(lightgcn, paths(dir, ['train.txt']));
  assert.deepEqual(
    out.interactions.map((r) => [r.user_id, r.item_id]),
    [
      ['7', '10'],
      ['7', '2'],
    ],
  );
  assert.equal(out.rejects.length, 0);
});

test('gzip-compressed files are read like plain ones', async () => {
  const dir = fixture({ 'train.txt.gz': gzipSync('0 1 2\n1 x\n'), 'test.txt.gz': gzipSync('0 3\n') });
  const out = await collect(lightgcn, paths(dir, ['train.txt.gz', 'test.txt.gz']));
  assert.deepEqual(
    out.interactions.map((r) => [r.user_id, r.item_id, r.split]),
    [
      ['0', '1', 'train'],
      ['0', '2', 'train'],
      ['0', '3', 'test'],
    ],
  );
  assert.deepEqual(out.rejects.map((r) => [r.reason, r.src.file, r.src.line]), [['malformed_line', 'train.txt.gz', 2]]);
});

test('item_list.txt rows become items keyed by remap_id with org_id in extra; user_list.txt and other files are ignored', async () => {
  const dir = fixture({
    'train.txt': '0 0 1\n',
    'item_list.txt': 'org_id remap_id\n8975 0\n9190 1\nbad\n123 x\n',
    'user_list.txt': 'org_id remap_id\n343 0\n',
    'README.md': '# not data\n',
  });
  const out = await collect(lightgcn, paths(dir, ['README.md', 'user_list.txt', 'train.txt', 'item_list.txt']));
  assert.deepEqual(
    out.items.map((r) => ({ id: r.item_id, extra: r.extra, line: r.src.line, title: r.title, categories: r.categories })),
    [
      { id: '0', extra: { org_id: '8975' }, line: 2, title: null, categories: [] },
      { id: '1', extra: { org_id: '9190' }, line: 3, title: null, categories: [] },
    ],
  );
  assert.deepEqual(
    out.rejects.map((r) => [r.kind, r.reason, r.src.file, r.src.line]),
    [
      ['item', 'malformed_line', 'item_list.txt', 4],
      ['item', 'bad_field', 'item_list.txt', 5],
    ],
  );
  assert.equal(out.interactions.length, 2);
  // the catalog is read first
  assert.equal(out.items[0].src.file, 'item_list.txt');
});

test('a missing train.txt is PP_INGEST_MISSING_INPUT', async () => {
  const dir = fixture({ 'test.txt': '0 1\n' });
  await assert.rejects(collect(lightgcn, paths(dir, ['test.txt'])), (e) => isPlotPointeError(e, 'PP_INGEST_MISSING_INPUT'));
});

test('rules: implicit, no timestamps, non-authoritative catalog, given split', () => {
  assert.deepEqual(lightgcn.rules({}, []), {
    rating: null,
    requireTimestamp: false,
    catalogIsAuthoritative: false,
    givenSplit: true,
  });
});

test(
  'Gowalla (real data): 29,858 users, 40,981 items, 810,128 train + 217,242 test interactions',
  { skip: existsSync(GOWALLA) ? false : `real data not found at ${GOWALLA} (shared/datasets/gowalla)` },
  async (t) => {
    const inputs = localInputs(readdirSync(GOWALLA).map((f) => join(GOWALLA, f)));
    const users = new Set<string>();
    const items = new Set<string>();
    const splits = { train: 0, valid: 0, test: 0 };
    let catalog = 0;
    let rejects = 0;
    const t0 = performance.now();
    await lightgcn.read(inputs, {
      options: {},
      onBytes() {},
      sink: {
        interaction(r) {
          users.add(r.user_id);
          items.add(r.item_id);
          splits[r.split!]++;
        },
        item() {
          catalog++;
        },
        reject() {
          rejects++;
        },
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(users.size, 29_858);
    assert.equal(items.size, 40_981);
    assert.deepEqual(splits, { train: 810_128, valid: 0, test: 217_242 });
    assert.equal(catalog, 40_981);
    assert.equal(rejects, 0);
    assert.ok(seconds < 10, `reading Gowalla took ${seconds.toFixed(2)} s`);
    t.diagnostic(`lightgcn read Gowalla (1,027,370 pairs) in ${seconds.toFixed(2)} s`);
  },
);
