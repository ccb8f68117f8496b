import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PartCsr } from '../graphs/split-data.js';
import { evalUserSample } from './user-sample.js';

/** A part where users u ≡ 0 (mod 3) have no items. */
function part(numUsers: number): PartCsr {
  const indptr = new Int32Array(numUsers + 1);
  for (let u = 0; u < numUsers; u++) indptr[u + 1] = indptr[u] + (u % 3 === 0 ? 0 : 2);
  const nnz = indptr[numUsers];
  return { indptr, indices: new Int32Array(nnz), ratings: new Float32Array(nnz).fill(NaN), ts: new Float64Array(nnz).fill(NaN) } as unknown as PartCsr;
}

test('the evaluation sample holds only users with items in the part, is seeded, and is skipped when the part is small', () => {
  const p = part(3000);
  const a = evalUserSample(p, 3000, 500, 42)!;
  assert.equal(a.length, 500);
  assert.ok(a.every((u) => u % 3 !== 0));
  assert.equal(new Set(a).size, 500);
  assert.deepEqual(evalUserSample(p, 3000, 500, 42), a);
  assert.notDeepEqual(evalUserSample(p, 3000, 500, 7), a);
  assert.equal(evalUserSample(p, 3000, 2000, 42), null, '2,000 users have items: no sampling');
  assert.equal(evalUserSample(p, 3000, 0, 42), null, '0 = all users');
});
