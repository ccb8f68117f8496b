import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { isPlotPointeError } from '../errors.js';
import { classifyAddress, parseIpv6 } from './address-policy.js';
import { safeFetch, safeFetchWithPolicy } from './safe-fetch.js';

describe('classifyAddress', () => {
  const cases: Array<[string, string]> = [
    ['8.8.8.8', 'public'],
    ['93.184.216.34', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.1.2', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link-local'], // NAT64 of 169.254.169.254
    ['2002:c0a8:0101::1', 'private'], // 6to4 of 192.168.1.1
    ['2001:db8::1', 'reserved'],
    ['2606:4700:4700::1111', 'public'],
    ['[::1]', 'loopback'],
    ['not-an-ip', 'invalid'],
    ['999.1.1.1', 'invalid'],
  ];
  for (const [address, expected] of cases) {
    test(`${address} is ${expected}`, () => assert.equal(classifyAddress(address), expected));
  }

  test('parseIpv6 expands :: and a trailing dotted quad', () => {
    assert.deepEqual([...parseIpv6('::ffff:1.2.3.4')!], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4]);
    assert.deepEqual([...parseIpv6('1::2')!], [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    assert.equal(parseIpv6('1:2'), null);
  });
});

describe('safeFetch against a local server', () => {
  let server: Server;
  let base: string;
  let port: number;
  let hits = 0;
  let flaky = 0;
  const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();

  before(async () => {
    server = createServer((req, res) => {
      hits++;
      const route = routes.get(new URL(req.url ?? '/', 'http://x').pathname);
      if (route) route(req, res);
      else {
        res.statusCode = 404;
        res.end('nope');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
    routes.set('/ok', (_q, s) => s.end(Buffer.from('hello image')));
    routes.set('/big', (_q, s) => {
      // No Content-Length: the cap must trip while streaming.
      s.setHeader('transfer-encoding', 'chunked');
      let sent = 0;
      const push = () => {
        if (sent >= 1024 * 1024 || s.destroyed) return s.end();
        sent += 16 * 1024;
        s.write(Buffer.alloc(16 * 1024, 7), () => setImmediate(push));
      };
      push();
    });
    routes.set('/declared-big', (_q, s) => {
      s.setHeader('content-length', String(10_000_000));
      s.write('x');
      setTimeout(() => s.destroy(), 50);
    });
    routes.set('/slow', (_q, s) => {
      const t = setTimeout(() => s.end('late'), 3000);
      s.on('close', () => clearTimeout(t));
    });
    routes.set('/slow-body', (_q, s) => {
      s.write('first bytes');
      const t = setTimeout(() => s.end('rest'), 3000);
      s.on('close', () => clearTimeout(t));
    });
    routes.set('/flaky', (_q, s) => {
      flaky++;
      if (flaky < 3) {
        s.statusCode = 503;
        s.end('busy');
      } else s.end('third time');
    });
    routes.set('/always-500', (_q, s) => {
      s.statusCode = 500;
      s.end();
    });
    routes.set('/to-ok', (_q, s) => {
      s.statusCode = 302;
      s.setHeader('location', '/ok');
      s.end();
    });
    routes.set('/to-metadata', (_q, s) => {
      s.statusCode = 302;
      s.setHeader('location', 'http://169.254.169.254/latest/meta-data/');
      s.end();
    });
    routes.set('/to-other-loopback', (_q, s) => {
      s.statusCode = 301;
      s.setHeader('location', `http://127.0.0.2:${port}/ok`);
      s.end();
    });
    routes.set('/to-localhost-name', (_q, s) => {
      s.statusCode = 307;
      s.setHeader('location', `http://localhost:${port}/ok`);
      s.end();
    });
    routes.set('/to-file', (_q, s) => {
      s.statusCode = 302;
      s.setHeader('location', 'file:///etc/passwd');
      s.end();
    });
    routes.set('/loop', (_q, s) => {
      s.statusCode = 302;
      s.setHeader('location', '/loop');
      s.end();
    });
  });

  after(() => new Promise<void>((r) => server.close(() => r())));

  /** Allows exactly the test server's address, refusing every other non-public one (as production does). */
  const onlyOurServer = (a: string) => a === '127.0.0.1' || classifyAddress(a) === 'public';

  async function rejectsWith(p: Promise<unknown>, code: string): Promise<Error> {
    try {
      await p;
    } catch (err) {
      assert.ok(isPlotPointeError(err), `expected a PlotPointeError, got ${String(err)}`);
      assert.equal(err.code, code, err.message);
      return err;
    }
    assert.fail(`expected ${code}, but the fetch succeeded`);
  }

  test('refuses loopback by default without connecting (IP literal and DNS name)', async () => {
    const before = hits;
    await rejectsWith(safeFetch(`${base}/ok`), 'PP_FETCH_BLOCKED');
    const err = await rejectsWith(safeFetch(`http://localhost:${port}/ok`), 'PP_FETCH_BLOCKED');
    assert.match(err.message, /loopback/);
    await rejectsWith(safeFetch(`http://[::ffff:127.0.0.1]:${port}/ok`), 'PP_FETCH_BLOCKED');
    assert.equal(hits, before, 'no request reached the server');
  });

  test('refuses non-http schemes and private/link-local literals', async () => {
    await rejectsWith(safeFetch('file:///etc/passwd'), 'PP_FETCH_BLOCKED');
    await rejectsWith(safeFetch('ftp://example.com/x.jpg'), 'PP_FETCH_BLOCKED');
    await rejectsWith(safeFetch('http://169.254.169.254/latest/meta-data/'), 'PP_FETCH_BLOCKED');
    await rejectsWith(safeFetch('http://10.0.0.1/x.jpg'), 'PP_FETCH_BLOCKED');
    await rejectsWith(safeFetch('http://[fd00::1]/x.jpg'), 'PP_FETCH_BLOCKED');
    await rejectsWith(safeFetch('not a url'), 'PP_FETCH_BLOCKED');
  });

  test('allowPrivate fetches from loopback', async () => {
    const body = await safeFetch(`${base}/ok`, { allowPrivate: true });
    assert.equal(body.toString(), 'hello image');
  });

  test('follows a redirect to an allowed address', async () => {
    const body = await safeFetchWithPolicy(`${base}/to-ok`, {}, onlyOurServer);
    assert.equal(body.toString(), 'hello image');
  });

  test('a redirect to a private or loopback address is refused, by literal or by name', async () => {
    await rejectsWith(safeFetchWithPolicy(`${base}/to-metadata`, {}, onlyOurServer), 'PP_FETCH_BLOCKED');
    await rejectsWith(safeFetchWithPolicy(`${base}/to-other-loopback`, {}, onlyOurServer), 'PP_FETCH_BLOCKED');
    await rejectsWith(safeFetchWithPolicy(`${base}/to-file`, {}, onlyOurServer), 'PP_FETCH_BLOCKED');
    // localhost resolves to 127.0.0.1 and/or ::1; the policy only allows 127.0.0.1, so a name that also maps
    // to ::1 is refused, while a name mapping only to 127.0.0.1 is allowed: check both against the resolver.
    const { lookup } = await import('node:dns/promises');
    const answers = await lookup('localhost', { all: true });
    if (answers.some((a) => !onlyOurServer(a.address))) {
      await rejectsWith(safeFetchWithPolicy(`${base}/to-localhost-name`, {}, onlyOurServer), 'PP_FETCH_BLOCKED');
    }
    // And with the strict default policy, even the name is refused at connect time.
    await rejectsWith(safeFetchWithPolicy(`http://localhost:${port}/ok`, {}, (a) => classifyAddress(a) === 'public'), 'PP_FETCH_BLOCKED');
  });

  test('more than 3 redirects fail', async () => {
    const err = await rejectsWith(safeFetch(`${base}/loop`, { allowPrivate: true }), 'PP_FETCH_FAILED');
    assert.match(err.message, /redirects/);
  });

  test('the size cap trips while streaming and on a declared Content-Length', async () => {
    const err = await rejectsWith(safeFetch(`${base}/big`, { allowPrivate: true, maxBytes: 100_000 }), 'PP_FETCH_TOO_LARGE');
    assert.match(err.message, /more than the cap/);
    await rejectsWith(safeFetch(`${base}/declared-big`, { allowPrivate: true, maxBytes: 100_000 }), 'PP_FETCH_TOO_LARGE');
    const whole = await safeFetch(`${base}/big`, { allowPrivate: true, maxBytes: 2 * 1024 * 1024 });
    assert.equal(whole.length, 1024 * 1024);
  });

  test('times out a slow server', async () => {
    const t0 = Date.now();
    await rejectsWith(safeFetch(`${base}/slow`, { allowPrivate: true, timeoutMs: 200, retries: 0 }), 'PP_FETCH_TIMEOUT');
    assert.ok(Date.now() - t0 < 2500, 'gave up well before the server answered');
    const t1 = Date.now();
    await rejectsWith(safeFetch(`${base}/slow-body`, { allowPrivate: true, timeoutMs: 200, retries: 0 }), 'PP_FETCH_TIMEOUT');
    assert.ok(Date.now() - t1 < 2500, 'a body that stalls after the headers times out too');
  });

  test('retries 5xx and succeeds on the third attempt; gives up after the retries', async () => {
    flaky = 0;
    const body = await safeFetch(`${base}/flaky`, { allowPrivate: true, retries: 2 });
    assert.equal(body.toString(), 'third time');
    assert.equal(flaky, 3);
    flaky = 0;
    await rejectsWith(safeFetch(`${base}/flaky`, { allowPrivate: true, retries: 1 }), 'PP_FETCH_FAILED');
    assert.equal(flaky, 2);
    const before = hits;
    await rejectsWith(safeFetch(`${base}/always-500`, { allowPrivate: true, retries: 2 }), 'PP_FETCH_FAILED');
    assert.equal(hits - before, 3);
  });

  test('a 404 is not retried', async () => {
    const before = hits;
    const err = await rejectsWith(safeFetch(`${base}/missing`, { allowPrivate: true, retries: 3 }), 'PP_FETCH_FAILED');
    assert.match(err.message, /HTTP 404/);
    assert.equal(hits - before, 1);
  });
});
