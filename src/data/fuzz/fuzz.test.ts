import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzz } from './fuzz.js';
import { runCase } from './run.js';
import type { FuzzCase } from './cases.js';

test('a short seeded fuzz run over the readers breaks no ingest promise (coded errors only, nothing lost or merged, no temp left)', async () => {
  const tally = await fuzz({ seed: 14, seconds: 10, maxCases: 4 });
  assert.ok(tally.cases >= 1, 'at least one case ran');
  assert.deepEqual(tally.failures, []);
});

test('the checks are live: a case whose expectations are wrong is reported as a failure', async () => {
  const line = (s: string) => Buffer.from(s);
  const c: FuzzCase = {
    format: 'csv',
    asFolder: false,
    files: [
      {
        name: 'r.csv',
        gzip: false,
        lines: [line('user_id,item_id,rating,timestamp'), line('u1,i1,5,1500000000'), line('u2,i2,5,1500000000')],
        // Line 2 is valid but claimed to be bad_encoding; line 3 claimed not to be a record.
        info: [{ record: false }, { record: true, guard: 'bad_encoding' }, { record: false }],
      },
    ],
  };
  const o = await runCase(c, { maxRssMb: 768 });
  assert.equal(o.result, 'ok');
  assert.equal(o.failures.length, 2, o.failures.join('\n'));
  assert.match(o.failures.join('\n'), /r\.csv:2 should be rejected as bad_encoding/);
  assert.match(o.failures.join('\n'), /not a record: r\.csv:3/);
});
