import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERRORS, ppError } from './errors.js';

test('every registered code has a message, an exit status and an HTTP status', () => {
  for (const [code, spec] of Object.entries(ERRORS)) {
    assert.match(code, /^PP_[A-Z_]+$/);
    assert.ok(spec.message.length > 0, `${code}: message`);
    assert.ok(Number.isInteger(spec.exit) && spec.exit > 0 && spec.exit < 126, `${code}: exit ${spec.exit}`);
    assert.ok(Number.isInteger(spec.http) && spec.http >= 400 && spec.http <= 599, `${code}: http ${spec.http}`);
  }
});

test('an error carries the exit and HTTP status of its code', () => {
  const err = ppError('PP_LAKE_NOT_FOUND', 'lake/staging/x');
  assert.equal(err.exitCode, ERRORS.PP_LAKE_NOT_FOUND.exit);
  assert.equal(err.httpStatus, 404);
  assert.equal(ppError('PP_INTERNAL').httpStatus, 500);
});
