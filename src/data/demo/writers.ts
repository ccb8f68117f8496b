/**
 * Output of the demo catalog: a buffered, streaming gzip line writer (deterministic bytes: zlib writes
 * no timestamp or file name in the gzip header, and our chunking does not depend on timing) that also
 * hashes what it writes, and the record shapes of the two Amazon formats:
 * - amazon2018 (Ni et al.): JSON lines `meta_*.json.gz` / `reviews_*.json.gz`;
 * - amazon2014 (McAuley et al.): JSON `reviews_*_5.json.gz` and Python-literal `meta_*.json.gz`.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import { constants, createGzip, type Gzip } from 'node:zlib';
import { pyFloat, toPythonLiteral, type PyValue } from './pyliteral.js';

/** JSON string literal; the common case (nothing to escape) without JSON.stringify. */
export function jsonStr(s: string): string {
  return NEEDS_JSON_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}
const NEEDS_JSON_ESCAPE = /["\\\x00-\x1f\ud800-\udfff]/;

export interface WrittenFile {
  bytes: number;
  sha256: string;
  lines: number;
}

/** Gzip level of the demo files (part of the byte-for-byte contract: changing it changes the hashes). */
export const GZIP_LEVEL = 4;
const CHUNK_BYTES = 1 << 20;
const MAX_QUEUED_BYTES = 8 << 20;

export class GzipLineWriter {
  private readonly gz: Gzip;
  private readonly done: Promise<void>;
  private readonly hash = createHash('sha256');
  private buf: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private lines = 0;
  private bytes = 0;
  private needDrain = false;
  private failure: unknown = null;

  constructor(readonly path: string) {
    this.gz = createGzip({ level: GZIP_LEVEL, memLevel: 8, strategy: constants.Z_DEFAULT_STRATEGY, chunkSize: 1 << 16 });
    const hash = this.hash;
    let bytes = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        bytes += chunk.length;
        cb(null, chunk);
      },
      flush: (cb) => {
        this.bytes = bytes;
        cb();
      },
    });
    this.done = pipeline(this.gz, tap, createWriteStream(path));
    this.done.catch((err: unknown) => {
      this.failure = err;
    });
  }

  /** Queues one line (without its newline), encoded straight into the current chunk. */
  write(line: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    if (this.used + line.length * 3 + 1 > this.buf.length) {
      this.flush();
      if (line.length * 3 + 1 > this.buf.length) this.buf = Buffer.allocUnsafe(line.length * 3 + 1);
    }
    this.used += this.buf.write(line, this.used, "utf8");
    this.buf[this.used++] = 10;
    this.lines++;
  }

  private flush(): void {
    if (this.used === 0) return;
    // zlib works on the chunk asynchronously: hand it over and start a fresh one.
    this.gz.write(this.buf.subarray(0, this.used));
    this.buf = Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
    // Let the compressor (zlib runs on the thread pool) fall behind by a few chunks, not more.
    if (this.gz.writableLength >= MAX_QUEUED_BYTES) this.needDrain = true;
  }

  /** Waits while the compressor is behind (call every few hundred lines). */
  async ready(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.needDrain) {
      this.needDrain = false;
      await Promise.race([once(this.gz, 'drain'), this.done]);
      if (this.failure) throw this.failure;
    }
  }

  async close(): Promise<WrittenFile> {
    this.flush();
    this.gz.end();
    await this.done;
    return { bytes: this.bytes, sha256: this.hash.digest('hex'), lines: this.lines };
  }

  /** Stops writing after an error elsewhere (the partial file stays). */
  abort(): void {
    this.gz.destroy();
  }
}

/** The fields every item record carries; the formats pick what they show. */
export interface MetaFields {
  asin: string;
  title: string;
  description: string;
  /** Full category path, "Electronics" first. */
  category: readonly string[];
  brand: string;
  priceCents: number;
  features: readonly string[];
  /** Relative image path, or null when images are off. */
  image: string | null;
  alsoBought: readonly string[];
  salesRank: number;
}

export interface ReviewFields {
  reviewerID: string;
  reviewerName: string;
  asin: string;
  rating: number;
  /** Unix seconds at 00:00 UTC of the review day (as in the Amazon dumps). */
  unixTime: number;
  /** "MM DD, YYYY". */
  reviewTime: string;
  text: string;
  summary: string;
  helpful: readonly [number, number];
}

function price2018(cents: number): string {
  const dollars = Math.floor(cents / 100);
  return `$${String(dollars).replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${String(cents % 100).padStart(2, '0')}`;
}

export function metaLine2018(m: MetaFields): string {
  return JSON.stringify({
    category: m.category,
    description: [m.description],
    title: m.title,
    also_buy: m.alsoBought,
    brand: m.brand,
    feature: m.features,
    main_cat: 'All Electronics',
    price: price2018(m.priceCents),
    asin: m.asin,
    imageURL: m.image ? [m.image] : [],
    imageURLHighRes: [],
  });
}

export function reviewLine2018(r: ReviewFields): string {
  let s =
    `{"overall": ${r.rating}.0, "verified": true, "reviewTime": ${jsonStr(r.reviewTime)}, ` +
    `"reviewerID": ${jsonStr(r.reviewerID)}, "asin": ${jsonStr(r.asin)}, ` +
    `"reviewerName": ${jsonStr(r.reviewerName)}, "reviewText": ${jsonStr(r.text)}, ` +
    `"summary": ${jsonStr(r.summary)}, "unixReviewTime": ${r.unixTime}`;
  if (r.helpful[0] >= 2) s += `, "vote": "${r.helpful[0]}"`;
  return s + '}';
}

export function metaLine2014(m: MetaFields): string {
  const rec: Record<string, PyValue> = {
    asin: m.asin,
    description: m.description,
    title: m.title,
    price: pyFloat(m.priceCents / 100),
  };
  if (m.image) rec.imUrl = m.image;
  if (m.alsoBought.length > 0) rec.related = { also_bought: m.alsoBought };
  rec.salesRank = { Electronics: m.salesRank };
  rec.brand = m.brand;
  rec.categories = [m.category];
  return toPythonLiteral(rec);
}

export function reviewLine2014(r: ReviewFields): string {
  return (
    `{"reviewerID": ${jsonStr(r.reviewerID)}, "asin": ${jsonStr(r.asin)}, ` +
    `"reviewerName": ${jsonStr(r.reviewerName)}, "helpful": [${r.helpful[0]}, ${r.helpful[1]}], ` +
    `"reviewText": ${jsonStr(r.text)}, "overall": ${r.rating}.0, "summary": ${jsonStr(r.summary)}, ` +
    `"unixReviewTime": ${r.unixTime}, "reviewTime": ${jsonStr(r.reviewTime)}}`
  );
}

/** "MM DD, YYYY" for a day number (days since the epoch, UTC). */
export function reviewTimeText(day: number): string {
  const d = new Date(day * 86_400_000);
  const mm = String(d.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(d.getUTCDate()).padStart(2, '0');
  return `${mm} ${dd}, ${d.getUTCFullYear()}`;
}

export const FILE_NAMES = {
  amazon2018: { meta: 'meta_Demo.json.gz', reviews: 'reviews_Demo.json.gz' },
  amazon2014: { meta: 'meta_Demo.json.gz', reviews: 'reviews_Demo_5.json.gz' },
} as const;
