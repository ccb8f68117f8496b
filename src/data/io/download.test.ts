import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isPlotPointeError } from '../../errors.js';
import { download, seededRandom } from './download.js';
import { sha256File } from '../../lake/hash.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;

interface TestServer {
  base: string;
  /** Requests seen per path, in order. */
  seen: Map<string, http.IncomingHttpHeaders[]>;
  route(path: string, handler: Handler): void;
  close(): Promise<void>;
}

/** A loopback server with per-path handlers; `n` is the 1-based request count for that path. Bounded: it
 * answers at most 200 requests and every test closes it. */
async function startServer(): Promise<TestServer> {
  const routes = new Map<string, Handler>();
  const seen = new Map<string, http.IncomingHttpHeaders[]>();
  let total = 0;
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const list = seen.get(path) ?? [];
    list.push(req.headers);
    seen.set(path, list);
    const handler = routes.get(path);
    if (++total > 200 || !handler) {
      res.writeHead(404).end('not found');
      return;
    }
    handler(req, res, list.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    seen,
    route: (path, handler) => routes.set(path, handler),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const DATA = randomBytes(300_000);
const DATA_SHA = createHash('sha256').update(DATA).digest('hex');
const ETAG = '"v1"';

/** Serves DATA, honouring `Range: bytes=N-` with a 206. */
function serveWithRange(req: http.IncomingMessage, res: http.ServerResponse): void {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (m) {
    const from = Number(m[1]);
    if (from >= DATA.length) {
      res.writeHead(416, { 'content-range': `bytes */${DATA.length}` }).end();
      return;
    }
    res.writeHead(206, {
      'content-length': DATA.length - from,
      'content-range': `bytes ${from}-${DATA.length - 1}/${DATA.length}`,
      etag: ETAG,
    });
    res.end(DATA.subarray(from));
    return;
  }
  res.writeHead(200, { 'content-length': DATA.length, etag: ETAG });
  res.end(DATA);
}

/** Sends the headers for the whole file and the first half of the body, then closes the connection. */
function dropHalfway(_req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(200, { 'content-length': DATA.length, etag: ETAG });
  res.write(DATA.subarray(0, DATA.length / 2), () => res.socket?.destroy());
}

const fast = { backoffMs: 5, timeoutMs: 2000, random: seededRandom(1) };

describe('download', () => {
  let srv: TestServer;
  let dir: string;
  before(async () => {
    srv = await startServer();
    dir = await mkdtemp(join(tmpdir(), 'pp-download-'));
  });
  after(async () => {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('downloads a file, reports progress and leaves no part file', async () => {
    srv.route('/plain', serveWithRange);
    const dest = join(dir, 'sub', 'plain.bin');
    const progress: Array<[number, number | undefined]> = [];
    const r = await download(`${srv.base}/plain`, dest, {
      ...fast,
      sha256: DATA_SHA.toUpperCase(),
      expectedBytes: DATA.length,
      onProgress: (b, t) => progress.push([b, t]),
    });
    assert.deepEqual(
      { bytes: r.bytes, sha256: r.sha256, attempts: r.attempts, resumed: r.resumed, path: r.path },
      { bytes: DATA.length, sha256: DATA_SHA, attempts: 1, resumed: false, path: dest },
    );
    assert.ok((await readFile(dest)).equals(DATA));
    assert.equal(existsSync(`${dest}.part`), false);
    assert.deepEqual(progress.at(-1), [DATA.length, DATA.length]);
  });

  it('resumes with a Range request after the connection drops half-way', async () => {
    srv.route('/drop', (req, res, n) => (n === 1 ? dropHalfway(req, res) : serveWithRange(req, res)));
    const dest = join(dir, 'drop.bin');
    const r = await download(`${srv.base}/drop`, dest, { ...fast, sha256: DATA_SHA });
    assert.equal(r.resumed, true);
    assert.equal(r.attempts, 2);
    assert.equal(r.bytes, DATA.length);
    assert.equal(r.sha256, DATA_SHA);
    assert.equal(await sha256File(dest), DATA_SHA);
    const headers = srv.seen.get('/drop')!;
    assert.equal(headers.length, 2);
    assert.equal(headers[0].range, undefined);
    const from = Number(/^bytes=(\d+)-$/.exec(headers[1].range ?? '')?.[1]);
    assert.ok(from > 0 && from <= DATA.length / 2, `resumed from ${headers[1].range}`);
    assert.equal(headers[1]['if-range'], ETAG);
  });

  it('retries 503 answers and succeeds on the third attempt', async () => {
    srv.route('/busy', (req, res, n) => {
      if (n <= 2) res.writeHead(503, { 'retry-after': '0' }).end('busy');
      else serveWithRange(req, res);
    });
    const r = await download(`${srv.base}/busy`, join(dir, 'busy.bin'), fast);
    assert.equal(r.attempts, 3);
    assert.equal(r.sha256, DATA_SHA);
  });

  it('caps a long Retry-After on 429 at retryAfterCapMs', async () => {
    srv.route('/slowdown', (req, res, n) => {
      if (n === 1) res.writeHead(429, { 'retry-after': '3600' }).end();
      else serveWithRange(req, res);
    });
    const t0 = Date.now();
    const r = await download(`${srv.base}/slowdown`, join(dir, 'slowdown.bin'), { ...fast, retryAfterCapMs: 20 });
    assert.equal(r.attempts, 2);
    assert.ok(Date.now() - t0 < 2000);
  });

  it('restarts from zero when the server ignores Range and answers 200', async () => {
    srv.route('/norange', (req, res, n) => {
      if (n === 1) return dropHalfway(req, res);
      res.writeHead(200, { 'content-length': DATA.length });
      res.end(DATA);
    });
    const dest = join(dir, 'norange.bin');
    const r = await download(`${srv.base}/norange`, dest, { ...fast, sha256: DATA_SHA });
    assert.equal(r.resumed, false);
    assert.equal(r.attempts, 2);
    assert.ok((await readFile(dest)).equals(DATA));
    assert.match(srv.seen.get('/norange')![1].range ?? '', /^bytes=\d+-$/);
  });

  it('fails with PP_DOWNLOAD_CHECKSUM on wrong bytes and leaves neither file nor part', async () => {
    srv.route('/corrupt', (_req, res) => {
      const bad = Buffer.from(DATA);
      bad[1000] ^= 0xff;
      res.writeHead(200, { 'content-length': bad.length }).end(bad);
    });
    const dest = join(dir, 'corrupt.bin');
    await assert.rejects(
      download(`${srv.base}/corrupt`, dest, { ...fast, sha256: DATA_SHA }),
      (err) => isPlotPointeError(err, 'PP_DOWNLOAD_CHECKSUM') && /sha256/.test(err.message),
    );
    assert.equal(existsSync(dest), false);
    assert.equal(existsSync(`${dest}.part`), false);
    assert.equal(srv.seen.get('/corrupt')!.length, 1);
  });

  it('fails with PP_DOWNLOAD_CHECKSUM before the body when the announced size differs from expectedBytes', async () => {
    srv.route('/size', serveWithRange);
    const dest = join(dir, 'size.bin');
    await assert.rejects(
      download(`${srv.base}/size`, dest, { ...fast, expectedBytes: DATA.length + 1 }),
      (err) => isPlotPointeError(err, 'PP_DOWNLOAD_CHECKSUM'),
    );
    assert.equal(existsSync(dest), false);
    assert.equal(existsSync(`${dest}.part`), false);
  });

  it('fails at once on 404 with PP_DOWNLOAD_FAILED naming the status', async () => {
    srv.route('/missing', (_req, res) => res.writeHead(404).end('nope'));
    await assert.rejects(
      download(`${srv.base}/missing`, join(dir, 'missing.bin'), fast),
      (err) => isPlotPointeError(err, 'PP_DOWNLOAD_FAILED') && /HTTP 404/.test(err.message),
    );
    assert.equal(srv.seen.get('/missing')!.length, 1);
  });

  it('follows a chain of absolute and relative redirects', async () => {
    srv.route('/r1', (_req, res) => res.writeHead(301, { location: `${srv.base}/r2` }).end());
    srv.route('/r2', (_req, res) => res.writeHead(302, { location: '/r3' }).end());
    srv.route('/r3', (_req, res) => res.writeHead(307, { location: 'target' }).end());
    srv.route('/target', serveWithRange);
    const r = await download(`${srv.base}/r1`, join(dir, 'redirected.bin'), { ...fast, sha256: DATA_SHA });
    assert.equal(r.finalUrl, `${srv.base}/target`);
    assert.equal(r.attempts, 1);
  });

  it('refuses more than maxRedirects redirects', async () => {
    srv.route('/loop', (_req, res) => res.writeHead(302, { location: '/loop' }).end());
    await assert.rejects(
      download(`${srv.base}/loop`, join(dir, 'loop.bin'), { ...fast, maxRedirects: 3 }),
      (err) => isPlotPointeError(err, 'PP_DOWNLOAD_FAILED') && /more than 3 redirects/.test(err.message),
    );
    assert.equal(srv.seen.get('/loop')!.length, 4);
  });

  it('retries a response that stalls past the inactivity timeout', async () => {
    srv.route('/stall', (req, res, n) => {
      if (n > 1) return serveWithRange(req, res);
      res.writeHead(200, { 'content-length': DATA.length, etag: ETAG });
      res.write(DATA.subarray(0, 1000)); // …and nothing more
    });
    srv.route('/stall-headers', (req, res, n) => {
      if (n > 1) serveWithRange(req, res); // the first request never gets an answer
    });
    const t0 = Date.now();
    const r = await download(`${srv.base}/stall`, join(dir, 'stall.bin'), { ...fast, timeoutMs: 150, sha256: DATA_SHA });
    assert.equal(r.attempts, 2);
    assert.equal(r.resumed, true);
    const r2 = await download(`${srv.base}/stall-headers`, join(dir, 'stall2.bin'), { ...fast, timeoutMs: 150 });
    assert.equal(r2.attempts, 2);
    assert.equal(r2.sha256, DATA_SHA);
    assert.ok(Date.now() - t0 < 3000);
  });

  it('gives up after the retries with PP_DOWNLOAD_FAILED and keeps the part for a later resume', async () => {
    srv.route('/flaky', dropHalfway);
    const dest = join(dir, 'flaky.bin');
    await assert.rejects(
      download(`${srv.base}/flaky`, dest, { ...fast, retries: 2 }),
      (err) => isPlotPointeError(err, 'PP_DOWNLOAD_FAILED') && /after 3 attempts/.test(err.message),
    );
    assert.equal(srv.seen.get('/flaky')!.length, 3);
    assert.ok(existsSync(`${dest}.part`));
    // A later run continues the part left behind.
    srv.route('/flaky', serveWithRange);
    const r = await download(`${srv.base}/flaky`, dest, { ...fast, resumePartial: true, sha256: DATA_SHA });
    assert.equal(r.resumed, true);
    assert.match(srv.seen.get('/flaky')![3].range ?? '', /^bytes=\d+-$/);
  });

  it('treats 416 as complete when the part already holds the whole file', async () => {
    srv.route('/complete', serveWithRange);
    const dest = join(dir, 'complete.bin');
    await writeFile(`${dest}.part`, DATA);
    const r = await download(`${srv.base}/complete`, dest, { ...fast, resumePartial: true, sha256: DATA_SHA });
    assert.equal(r.resumed, true);
    assert.equal(r.bytes, DATA.length);
    assert.equal(srv.seen.get('/complete')![0].range, `bytes=${DATA.length}-`);
  });

  it('starts from zero without resumePartial even when a stale part exists', async () => {
    srv.route('/fresh', serveWithRange);
    const dest = join(dir, 'fresh.bin');
    await writeFile(`${dest}.part`, Buffer.from('stale'));
    const r = await download(`${srv.base}/fresh`, dest, { ...fast, sha256: DATA_SHA });
    assert.equal(r.resumed, false);
    assert.equal(srv.seen.get('/fresh')![0].range, undefined);
  });

  it('rejects schemes other than http and https', async () => {
    for (const url of ['ftp://127.0.0.1/x', 'file:///etc/hosts', 'not a url']) {
      await assert.rejects(download(url, join(dir, 'x.bin'), fast), (err) => isPlotPointeError(err, 'PP_DOWNLOAD_FAILED'));
    }
  });

  it('draws jitter from a reproducible seeded source', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 5 }, () => a());
    assert.deepEqual(xs, Array.from({ length: 5 }, () => b()));
    assert.ok(xs.every((x) => x >= 0 && x < 1));
  });
});
