import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { tempDir } from '../test-support/fixtures.js';
import { readWholeFile } from './read-whole.js';
import { sha256Bytes, sha256File } from './hash.js';

test('a whole file comes back byte for byte in a buffer of its own, so a Float32Array view of it is valid', async () => {
  const path = join(tempDir('read-whole'), 'm.f32');
  const v = Float32Array.from({ length: 1001 }, (_, i) => i * 0.25 - 3);
  writeFileSync(path, new Uint8Array(v.buffer));
  const bytes = await readWholeFile(path);
  assert.equal(bytes.byteOffset, 0);
  assert.deepEqual(Buffer.from(bytes), readFileSync(path));
  assert.deepEqual(new Float32Array(bytes.buffer, 0, 1001), v);
  assert.equal(sha256Bytes(bytes), createHash('sha256').update(readFileSync(path)).digest('hex'));
});

test('files of 2 GiB and more are read and hashed whole (fs.readFile and one hash update refuse them)', async () => {
  // A sparse file: 2 GiB + 16 bytes of which only the last 16 are written (no disk blocks for the rest).
  const path = join(tempDir('read-whole-big'), 'big.f32');
  const size = 2 ** 31 + 16;
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, size);
    writeSync(fd, Buffer.from('0123456789abcdef'), 0, 16, size - 16);
  } finally {
    closeSync(fd);
  }
  const bytes = await readWholeFile(path);
  assert.equal(bytes.byteLength, size);
  assert.equal(Buffer.from(bytes.subarray(size - 16)).toString('latin1'), '0123456789abcdef');
  assert.equal(bytes[2 ** 30], 0);
  assert.equal(sha256Bytes(bytes), await sha256File(path));
});
