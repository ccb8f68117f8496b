import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { isPlotPointeError } from '../../errors.js';
import { collect, localInputs } from './collect.js';
import { orderTrainRows, unisrec } from './unisrec.js';

const SCIENTIFIC = fileURLToPath(new URL('../../../../shared/datasets/amazon-scientific', import.meta.url));
const INTER_HEADER = 'user_id:token\titem_id_list:token_seq\titem_id:token\n';

function fixture(files: Record<string, string | Buffer>): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'pp-unisrec-'));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  return Object.keys(files).map((n) => join(dir, n));
}

const ITEMS = Array.from({ length: 8 }, (_, k) => `ASIN${k}\t${k}`).join('\n') + '\n';
const USERS = 'ALICE\t0\nBOB\t1\n';

/** Alice: sequence 0 1 2 3 4 (train rows longest prefix first, as RecBole writes them); Bob: no train rows. */
const BASIC = {
  'X.item2index': ITEMS,
  'X.user2index': USERS,
  'X.text': 'item_id:token\ttext:token_seq\nASIN0\tGlue, 8 oz. Adhesives Glues. Gorilla. \nASIN1\t\n',
  'X.train.inter': INTER_HEADER + '0\t0 1\t2\n0\t0\t1\n',
  'X.valid.inter': INTER_HEADER + '0\t0 1 2\t3\n1\t5\t6\n',
  'X.test.inter': INTER_HEADER + '0\t0 1 2 3\t4\n1\t5 6\t7\n',
};

test('each user sequence is rebuilt in order: first item, train targets by prefix, valid target, test target', async () => {
  const out = await collect(unisrec, fixture(BASIC));
  assert.deepEqual(
    out.interactions.map((r) => [r.user_id, r.item_id, r.split, r.src.file, r.src.line]),
    [
      ['ALICE', 'ASIN0', 'train', 'X.train.inter', 3],
      ['ALICE', 'ASIN1', 'train', 'X.train.inter', 3],
      ['ALICE', 'ASIN2', 'train', 'X.train.inter', 2],
      ['ALICE', 'ASIN3', 'valid', 'X.valid.inter', 2],
      ['ALICE', 'ASIN4', 'test', 'X.test.inter', 2],
      // no train rows: the first items come from the valid history
      ['BOB', 'ASIN5', 'train', 'X.valid.inter', 3],
      ['BOB', 'ASIN6', 'valid', 'X.valid.inter', 3],
      ['BOB', 'ASIN7', 'test', 'X.test.inter', 3],
    ],
  );
  assert.ok(out.interactions.every((r) => r.rating === null && r.ts === null));
  assert.equal(out.rejects.length, 0);
});

test('.text rows become items with the whole trimmed text as title and the text format in extra', async () => {
  const out = await collect(unisrec, fixture(BASIC));
  assert.deepEqual(
    out.items.map((r) => [r.item_id, r.title, r.extra, r.src.line]),
    [
      ['ASIN0', 'Glue, 8 oz. Adhesives Glues. Gorilla.', { text_format: 'title. categories. brand.' }, 2],
      ['ASIN1', null, { text_format: 'title. categories. brand.' }, 3],
    ],
  );
});

test('bad .inter lines are rejected with their reason and line; every data line ends in a sink call', async () => {
  const files = fixture({
    ...BASIC,
    'X.train.inter': INTER_HEADER + '0\t0 1\t2\n0\t0\t1\n0\t0 x\t3\n9\t0\t1\n0\t0 1 2\t99\n0\t0\n',
  });
  const out = await collect(unisrec, files);
  assert.deepEqual(
    out.rejects.map((r) => [r.kind, r.reason, r.src.file, r.src.line]),
    [
      ['interaction', 'malformed_line', 'X.train.inter', 4],
      ['interaction', 'unknown_user', 'X.train.inter', 5],
      ['interaction', 'unknown_item', 'X.train.inter', 6],
      ['interaction', 'malformed_line', 'X.train.inter', 7],
    ],
  );
  assert.equal(out.rejects[0].raw, '0\t0 x\t3');
  const trainLines = new Set([...out.interactions, ...out.rejects].filter((r) => r.src.file === 'X.train.inter').map((r) => r.src.line));
  assert.deepEqual([...trainLines].sort(), [2, 3, 4, 5, 6, 7]);
  assert.equal(out.interactions.length, 8);
});

test('histories truncated to the same length are ordered by chaining, not by file order', async () => {
  // sequence 0 1 2 3 4 5 with histories cut to the 2 most recent items
  const files = fixture({
    ...BASIC,
    'X.user2index': 'ALICE\t0\n',
    'X.train.inter': INTER_HEADER + '0\t2 3\t4\n0\t0\t1\n0\t1 2\t3\n0\t0 1\t2\n',
    'X.valid.inter': INTER_HEADER + '0\t3 4\t5\n',
    'X.test.inter': INTER_HEADER,
  });
  const out = await collect(unisrec, files);
  assert.deepEqual(
    out.interactions.map((r) => `${r.item_id}:${r.split}`),
    ['ASIN0:train', 'ASIN1:train', 'ASIN2:train', 'ASIN3:train', 'ASIN4:train', 'ASIN5:valid'],
  );
  const rows = [
    { history: [7, 8], target: 9 },
    { history: [8, 9], target: 9 },
    { history: [7], target: 8 },
  ];
  assert.deepEqual(
    orderTrainRows(rows, 2).map((r) => r.target),
    [8, 9, 9],
  );
});

test('gzip-compressed files are read like plain ones', async () => {
  const gz = Object.fromEntries(Object.entries(BASIC).map(([n, b]) => [`${n}.gz`, gzipSync(b)]));
  const out = await collect(unisrec, fixture(gz));
  assert.equal(out.interactions.length, 8);
  assert.equal(out.items.length, 2);
  assert.equal(out.interactions[0].src.file, 'X.train.inter.gz');
});

test('missing index files are PP_INGEST_MISSING_INPUT; a wrong .inter header is PP_INGEST_BAD_HEADER', async () => {
  const { 'X.item2index': _drop, ...noItems } = BASIC;
  await assert.rejects(collect(unisrec, fixture(noItems)), (e) => isPlotPointeError(e, 'PP_INGEST_MISSING_INPUT'));
  const badHeader = fixture({ ...BASIC, 'X.test.inter': 'uid\titems\ttarget\n0\t0\t1\n' });
  await assert.rejects(collect(unisrec, badHeader), (e) => isPlotPointeError(e, 'PP_INGEST_BAD_HEADER') && /X\.test\.inter/.test(e.message));
});

test('rules: the .text file makes the catalog authoritative; implicit, given split, repeats are events', () => {
  const withText = unisrec.rules({}, localInputs(['/x/X.text', '/x/X.train.inter']));
  assert.deepEqual(withText, {
    rating: null,
    requireTimestamp: false,
    catalogIsAuthoritative: true,
    givenSplit: true,
    repeatsAllowed: true,
  });
  assert.equal(unisrec.rules({}, localInputs(['/x/X.train.inter'])).catalogIsAuthoritative, false);
});

test(
  'Amazon Scientific (real data): 8,442 users, 4,385 items, 59,427 interactions in sequence order',
  { skip: existsSync(SCIENTIFIC) ? false : `real data not found at ${SCIENTIFIC} (shared/datasets/amazon-scientific)` },
  async () => {
    const inputs = localInputs(readdirSync(SCIENTIFIC).map((f) => join(SCIENTIFIC, f)));
    const out = await collect(unisrec, inputs.map((f) => f.path));
    assert.equal(out.rejects.length, 0);
    assert.equal(out.items.length, 4_385);
    assert.equal(out.interactions.length, 59_427);
    const users = new Set(out.interactions.map((r) => r.user_id));
    const items = new Set(out.interactions.map((r) => r.item_id));
    assert.equal(users.size, 8_442);
    assert.equal(items.size, 4_385);
    const splits: Record<string, number> = {};
    for (const r of out.interactions) splits[r.split!] = (splits[r.split!] ?? 0) + 1;
    assert.deepEqual(splits, { train: 34_101 + 8_442, valid: 8_442, test: 8_442 });

    // The rebuilt sequence before the test target ends with the test history (the 50 most recent items).
    const asin = new Map<string, string>();
    for (const line of readFileSync(join(SCIENTIFIC, 'Scientific.item2index'), 'utf8').trim().split('\n')) {
      const [a, i] = line.split('\t');
      asin.set(i, a);
    }
    const seqs = new Map<string, string[]>();
    for (const r of out.interactions) {
      if (r.split === 'test') continue;
      const s = seqs.get(r.user_id) ?? [];
      s.push(r.item_id);
      seqs.set(r.user_id, s);
    }
    const userName = new Map<string, string>();
    for (const line of readFileSync(join(SCIENTIFIC, 'Scientific.user2index'), 'utf8').trim().split('\n')) {
      const [u, i] = line.split('\t');
      userName.set(i, u);
    }
    const testLines = readFileSync(join(SCIENTIFIC, 'Scientific.test.inter'), 'utf8').trim().split('\n').slice(1);
    for (const line of testLines) {
      const [u, hist] = line.split('\t');
      const expected = hist.split(' ').map((i) => asin.get(i));
      const seq = seqs.get(userName.get(u)!)!;
      assert.deepEqual(seq.slice(-expected.length), expected, `user ${u}`);
    }
  },
);
