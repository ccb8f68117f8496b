import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cliJson, runCli } from '../test-support/cli.js';
import { tempDir, writeLines } from '../test-support/fixtures.js';

test('data ingest --json prints one JSON object as the last stdout line and exits 0', () => {
  const dir = tempDir('cli');
  writeLines(dir, 'train.txt', ['0 1 2', '1 2']);
  writeLines(dir, 'test.txt', ['0 3']);
  const r = runCli(['data', 'ingest', '--format', 'lightgcn', '--input', dir, '--lake', join(dir, 'lake'), '--name', 'x', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = cliJson(r);
  assert.equal(out.interactions, 4);
  assert.equal(out.users, 2);
  assert.equal(out.reconciled, true);
});

test('a truncated gzip is one error line with its code, exit status 3 and no stack trace', () => {
  const dir = tempDir('cli-gz');
  const gz = gzipSync(Buffer.from(Array.from({ length: 2000 }, (_, i) => `${i} 1 2 3`).join('\n')));
  writeFileSync(join(dir, 'train.txt'), gz.subarray(0, gz.length - 30));
  const r = runCli(['data', 'ingest', '--format', 'lightgcn', '--input', dir, '--lake', join(dir, 'lake'), '--name', 'x']);
  assert.equal(r.status, 3);
  const errLines = r.stderr.split('\n').filter((l) => l.startsWith('error '));
  assert.equal(errLines.length, 1);
  assert.match(errLines[0], /^error PP_INGEST_BAD_GZIP: corrupt or truncated gzip input: .*train\.txt/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace without --debug');
});

test('--debug adds the stack trace; --json adds the error as the last stdout line', () => {
  const dir = tempDir('cli-debug');
  const r = runCli(['data', 'ingest', '--format', 'lightgcn', '--input', join(dir, 'nope'), '--lake', dir, '--name', 'x', '--debug', '--json']);
  assert.equal(r.status, 3);
  assert.match(r.stderr, /^error PP_INPUT_NOT_FOUND: /m);
  assert.match(r.stderr, /\n\s+at /);
  assert.equal(cliJson(r).error.code, 'PP_INPUT_NOT_FOUND');
});

test('usage mistakes are PP_USAGE with exit status 2', () => {
  const r = runCli(['data', 'ingest', '--format', 'lightgcn']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^error PP_USAGE: required option/m);
  const unknown = runCli(['nonsense', '--json']);
  assert.equal(unknown.status, 2);
  assert.equal(cliJson(unknown).error.code, 'PP_USAGE');
});

test('data formats lists every reader', () => {
  const r = runCli(['data', 'formats', '--json']);
  assert.equal(r.status, 0);
  const names = cliJson(r).formats.map((f: { name: string }) => f.name);
  assert.deepEqual(names, ['amazon2014', 'amazon2018', 'lightgcn', 'unisrec', 'movielens', 'csv', 'parquet']);
});

test('data formats prints the reader options without --json too', () => {
  const r = runCli(['data', 'formats']);
  assert.equal(r.status, 0);
  const csvOptions = Object.keys(cliJson(runCli(['data', 'formats', '--json'])).formats.find((f: { name: string }) => f.name === 'csv').options);
  assert.ok(csvOptions.length > 0);
  for (const k of csvOptions) assert.match(r.stdout, new RegExp(`--opt ${k}=`));
});
