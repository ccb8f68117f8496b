import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withoutTfjsReRegistrationWarnings } from './tfjs-registration.js';
import { UseLiteEncoder } from './text/use-lite.js';
import { BundledImageEncoder } from './image/bundled-encoder.js';
import { solidPng } from './image/testkit.js';

/** console.warn calls made while `f` runs. */
async function warningsOf(f: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void seen.push(args.map(String).join(' '));
  try {
    await f();
  } finally {
    console.warn = warn;
  }
  return seen;
}

test('only the known re-registration lines are dropped, only while a load runs, also when loads overlap', async () => {
  const seen = await warningsOf(async () => {
    await Promise.all([
      withoutTfjsReRegistrationWarnings(async () => {
        console.warn("The kernel 'Add' for backend 'wasm' is already registered");
        await new Promise((r) => setTimeout(r, 20));
        console.warn('wasm backend was already registered. Reusing existing backend factory.');
        console.warn('something else went wrong');
      }),
      withoutTfjsReRegistrationWarnings(async () => {
        console.warn('Platform node has already been set. Overwriting the platform with node.');
        console.warn("The kernel 'Add' for backend 'wasm' is already registered", 'with a second argument');
      }),
    ]);
    console.warn("The kernel 'Add' for backend 'wasm' is already registered");
  });
  assert.deepEqual(seen, [
    "The kernel 'Add' for backend 'wasm' is already registered with a second argument",
    'something else went wrong',
    "The kernel 'Add' for backend 'wasm' is already registered",
  ]);
});

test('USE-lite and the bundled image encoder load in one process without re-registration warnings, and both still encode', async () => {
  const seen = await warningsOf(async () => {
    const text = await UseLiteEncoder.load();
    const image = await BundledImageEncoder.load();
    const t = await text.encode(['wireless over-ear headphones']);
    const i = await image.encode([await solidPng([200, 30, 30])]);
    assert.equal(t.length, text.dim);
    assert.equal(i.length, image.dim);
    assert.ok(t.every(Number.isFinite) && i.every(Number.isFinite));
    assert.ok(Math.abs(Math.hypot(...t) - 1) < 1e-3 && Math.abs(Math.hypot(...i) - 1) < 1e-3, 'unit vectors');
  });
  assert.deepEqual(seen.filter((w) => /already (registered|been set)/.test(w)), []);
});
