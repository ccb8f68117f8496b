import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { isPlotPointeError } from '../../errors.js';
import { LineGuard, parseMarker } from './line-guard.js';

/** Runs bytes, cut into the given chunk sizes, through a guard; returns the output lines. */
async function guarded(input: Buffer, cuts: number[], maxLineBytes: number, maxInputBytes = 0): Promise<string[]> {
  const chunks: Buffer[] = [];
  let at = 0;
  for (const c of cuts) {
    if (at >= input.length) break;
    chunks.push(input.subarray(at, at + c));
    at += c;
  }
  if (at < input.length) chunks.push(input.subarray(at));
  const guard = new LineGuard('test', { maxLineBytes, maxInputBytes });
  const out: Buffer[] = [];
  for await (const b of Readable.from(chunks, { objectMode: false }).pipe(guard)) out.push(b as Buffer);
  const text = Buffer.concat(out).toString('utf8');
  return text === '' ? [] : text.split('\n');
}

/** What the guard must produce per source line: the line itself, or a marker with the right reason. */
function expected(lines: Buffer[], cap: number): Array<string | { reason: string }> {
  return lines.map((l) => (l.length > cap ? { reason: 'line_too_long' } : !isUtf8(l) ? { reason: 'bad_encoding' } : l.toString('utf8')));
}

const lineBytes = fc.oneof(
  fc.string({ maxLength: 40 }).map((s) => Buffer.from(s.replace(/\n/g, ' '), 'utf8')),
  fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a.map((b) => (b === 10 ? 32 : b)))),
  fc.integer({ min: 50, max: 400 }).map((n) => Buffer.alloc(n, 0x61)),
);

test('every line comes out as itself, or as one marker (too long / not UTF-8), however the input is chunked', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(lineBytes, { maxLength: 30 }),
      fc.array(fc.integer({ min: 1, max: 97 }), { maxLength: 60 }),
      fc.integer({ min: 8, max: 120 }),
      fc.boolean(),
      async (lines, cuts, cap, finalNewline) => {
        const input = Buffer.concat(lines.flatMap((l, k) => (k < lines.length - 1 || finalNewline ? [l, Buffer.from('\n')] : [l])));
        const got = await guarded(input, cuts, cap);
        const want = expected(lines, cap);
        if (finalNewline && lines.length > 0) assert.equal(got.pop(), '');
        assert.equal(got.length, want.length);
        got.forEach((line, k) => {
          const w = want[k];
          if (typeof w === 'string') assert.equal(line, w);
          else assert.equal(parseMarker(line)?.reason, w.reason, `line ${k + 1}`);
        });
      },
    ),
    { seed: 14, numRuns: 300 },
  );
});

test('a line far over the cap is skipped without being held: the marker gives its length', async () => {
  const big = Buffer.alloc(5_000_000, 0x78);
  const got = await guarded(Buffer.concat([Buffer.from('a\n'), big, Buffer.from('\nb')]), Array(80).fill(65_536), 1000);
  assert.equal(got.length, 3);
  assert.equal(got[0], 'a');
  const m = parseMarker(got[1]);
  assert.equal(m?.reason, 'line_too_long');
  assert.match(m!.detail, /^5000000 bytes/);
  assert.equal(got[2], 'b');
});

test('two ids that differ only in invalid bytes never decode to the same text', async () => {
  const got = await guarded(Buffer.from([0x75, 0xff, 0x31, 10, 0x75, 0xfe, 0x31, 10]), [3, 5], 100);
  assert.deepEqual(got.slice(0, 2).map((l) => parseMarker(l)?.reason), ['bad_encoding', 'bad_encoding']);
  assert.notEqual(parseMarker(got[0])!.preview, parseMarker(got[1])!.preview);
});

test('more decompressed bytes than max_input_bytes fail the stream with PP_INGEST_TOO_LARGE', async () => {
  await assert.rejects(guarded(Buffer.alloc(10_000, 0x61), [1000], 1 << 20, 5000), (e) => isPlotPointeError(e, 'PP_INGEST_TOO_LARGE'));
});
