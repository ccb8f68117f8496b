import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPlotPointeError, ppError } from '../../errors.js';
import { IpcChannel } from './ipc.js';
import { pair } from './ipc.testkit.js';

test('a call resolves with the other side’s handler result, in both directions, concurrently', async () => {
  const [a, b] = pair();
  const left = new IpcChannel(a, { double: (x: number) => 2 * x });
  const right = new IpcChannel(b, { greet: async (n: string) => `hello ${n}` });
  const [g, d1, d2] = await Promise.all([left.call('greet', 'worker'), right.call('double', 21), right.call('double', 4)]);
  assert.equal(g, 'hello worker');
  assert.equal(d1, 42);
  assert.equal(d2, 8);
  assert.equal(await left.call('greet', 'again'), 'hello again');
});

test('a PlotPointeError raised by the handler is rethrown with the same code and message; other errors become PP_INTERNAL', async () => {
  const [a, b] = pair();
  const left = new IpcChannel(a);
  new IpcChannel(b, {
    unknownUser: () => {
      throw ppError('PP_SERVE_USER_UNKNOWN', 'U42');
    },
    bug: () => {
      throw new TypeError('x is undefined');
    },
  });
  await assert.rejects(left.call('unknownUser'), (err: unknown) => isPlotPointeError(err, 'PP_SERVE_USER_UNKNOWN') && err.message === 'unknown user: U42');
  await assert.rejects(left.call('bug'), (err: unknown) => isPlotPointeError(err, 'PP_INTERNAL') && /x is undefined/.test(err.message));
  await assert.rejects(left.call('nope'), (err: unknown) => isPlotPointeError(err, 'PP_INTERNAL') && /no cluster handler for nope/.test(err.message));
});

test('closing (or the other side disconnecting) rejects the pending calls and refuses new ones', async () => {
  const [a, b] = pair();
  const left = new IpcChannel(a);
  new IpcChannel(b, { slow: () => new Promise(() => undefined) });
  const pending = left.call('slow');
  await new Promise((r) => setImmediate(r));
  a.emit('disconnect');
  await assert.rejects(pending, (err: unknown) => isPlotPointeError(err, 'PP_SERVE_UNAVAILABLE'));
  await assert.rejects(left.call('slow'), (err: unknown) => isPlotPointeError(err, 'PP_SERVE_UNAVAILABLE'));
});

test('messages that are not calls or answers (cluster internals) are ignored', async () => {
  const [a, b] = pair();
  const left = new IpcChannel(a, { ping: () => 'pong' });
  const right = new IpcChannel(b);
  b.emit('message', { cmd: 'NODE_CLUSTER', act: 'online' });
  a.emit('message', 'text');
  a.emit('message', null);
  assert.equal(await right.call('ping'), 'pong');
  void left;
});

test('notify sends one way, in order with calls: a call sent after notes resolves after their handler ran; a throwing note handler is dropped', async () => {
  const [a, b] = pair();
  const left = new IpcChannel(a);
  const got: string[] = [];
  new IpcChannel(b, {
    row: (x: string) => {
      if (x === 'bad') throw new Error('boom');
      got.push(x);
    },
    ping: () => got.length,
  });
  for (const x of ['r1', 'bad', 'r2', 'r3']) assert.equal(left.notify('row', x), true);
  assert.equal(await left.call('ping'), 3);
  assert.deepEqual(got, ['r1', 'r2', 'r3']);
  left.close('done');
  assert.equal(left.notify('row', 'r4'), false);
});
